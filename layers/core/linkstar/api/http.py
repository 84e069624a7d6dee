"""Route plumbing shared by every blueprint: error mapping (one place), JSON bodies, queries,
and what each route promises (its documentation, from which ``linkstar.api.openapi`` builds the
OpenAPI document).

Chalice turns any exception a view raises into an opaque 500, so each view is wrapped here and
domain errors become ``{"code": ..., "message": ...}`` with the error's HTTP status.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from chalice import Blueprint, Response
from pydantic import BaseModel, ValidationError

from linkstar import clock, text
from linkstar.errors import BadRequest, LinkStarError
from linkstar.observability import logger
from linkstar.text import Text

M = TypeVar("M", bound=BaseModel)
_SENTENCE = re.compile(r"(.+?\.)(?:\s|$)")


class Auth(StrEnum):
    """Who may call a route, as the OpenAPI document states it."""

    API_KEY = "api_key"  # a tenant's key: Authorization: Bearer <key>
    ADMIN_TOKEN = "admin_token"  # noqa: S105 (a name) the operator's token, also Bearer
    NONE = "none"  # public (health, the document itself, an unsubscribe link's signed token)
    PLATFORM_SIGNATURE = "platform_signature"  # a marketplace or Meta signs the body


@dataclass(frozen=True)
class Content:
    """A body that is not a JSON document described by a model: CSV, HTML, plain text, or JSON
    whose shape is given as a JSON schema."""

    media_type: str
    description: str = ""
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})


@dataclass(frozen=True)
class Param:
    """A query parameter a view reads through :func:`query_params`."""

    name: str
    description: str = ""
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "string"})
    required: bool = False


# The period a report covers, as linkstar.kpis.scoring names periods (a day, an ISO week, a month
# or a quarter), of a year from FIRST_YEAR to LAST_YEAR: a report also reads the periods before
# its own (trends, the previous year) and the days after it (a repeat window closing), which the
# calendar's own ends (years 1 and 9999) can't hold. :func:`period_param` reads and checks it.
FIRST_YEAR, LAST_YEAR = 1970, 2999
PERIOD = Param(
    "period",
    f"YYYY-MM-DD, YYYY-Www, YYYY-MM or YYYY-Qn, of a year from {FIRST_YEAR} to {LAST_YEAR} "
    "(default: this month)",
    {
        "type": "string",
        "pattern": r"^(19[7-9][0-9]|2[0-9]{3})-([0-9]{2}|[0-9]{2}-[0-9]{2}|W[0-9]{2}|Q[1-4])$",
    },
)

# A body: a model (JSON); a model's name, resolved only when the document is built so that
# declaring it costs the API's cold start nothing ("Dashboard" in linkstar.api.schemas, or
# "package.module:Model"); or another content type.
Body = type[BaseModel] | str | Content
# A status's answer: one body, any of several (JSON or CSV), or None for an empty body.
Answer = Body | tuple[Body, ...] | None


@dataclass(frozen=True)
class RouteDoc:
    """One operation (method and path) as :func:`route` recorded it."""

    method: str
    path: str
    view: str
    module: str
    summary: str
    description: str
    tags: tuple[str, ...]
    auth: Auth | None
    request: tuple[Body, ...]
    responses: dict[int, tuple[Body, ...]]  # an empty tuple: no body
    params: tuple[Param, ...]

    @property
    def documented(self) -> bool:
        """A route says who may call it and what a success answers with."""
        return self.auth is not None and any(200 <= status < 300 for status in self.responses)


# Every route any blueprint declared, by (METHOD, path); openapi.py reads it.
ROUTES: dict[tuple[str, str], RouteDoc] = {}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    return Response(
        body=json.dumps(body, default=str),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error_response(error: LinkStarError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": str(error.message)}
    if error.details:
        body["details"] = error.details
    return json_response(body, error.status)


def _bodies(given: Answer) -> tuple[Body, ...]:
    if given is None:
        return ()
    return given if isinstance(given, tuple) else (given,)


def _record(
    view: Callable[..., Any],
    path: str,
    methods: list[str],
    response: Answer | dict[int, Answer],
    request: Answer,
    summary: str | None,
    tags: Sequence[str],
    auth: Auth | None,
    params: Sequence[Param],
) -> None:
    # reStructuredText's ``code`` is Markdown's `code` in the document.
    doc = " ".join((view.__doc__ or "").split()).replace("``", "`")
    # The summary is the docstring's first sentence; the description is the whole docstring.
    first = _SENTENCE.match(doc)
    headline = summary or (first.group(1) if first else doc) or view.__name__.replace("_", " ")
    if isinstance(response, dict):
        responses = {status: _bodies(body) for status, body in response.items()}
    else:
        responses = {200: _bodies(response)} if response is not None else {}
    for method in methods:
        ROUTES[(method.upper(), path)] = RouteDoc(
            method=method.upper(),
            path=path,
            view=view.__name__,
            module=view.__module__,
            summary=headline.rstrip("."),
            description=doc if doc != headline else "",
            tags=tuple(tags),
            auth=auth,
            request=_bodies(request),
            responses=responses,
            params=tuple(params),
        )


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """pydantic's errors for an answer: a validator's own message (a :class:`Text` it raised,
    see :func:`linkstar.text.reason_of`) is the error's ``msg`` in the reader's language, without
    pydantic's English "Value error, " before it; context values are strings."""
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        context = error.get("ctx") or {}
        cause = context.get("error")
        said = text.reason_of(cause) if isinstance(cause, BaseException) else None
        shown: dict[str, Any] = dict(error)
        if said is not None:
            shown["msg"] = str(said)
        if context:
            shown["ctx"] = {
                k: v if isinstance(v, str | int | float | bool) or v is None else str(v)
                for k, v in context.items()
            }
        errors.append(shown)
    return errors


def _answer(view: Callable[..., Any], path: str, args: Any, kw: Any) -> Response:
    try:
        result = view(*args, **kw)
    except LinkStarError as exc:
        return error_response(exc)
    except ValidationError as exc:
        return json_response(
            {
                "code": "validation_error",
                "message": Text("api.validation_error"),
                "errors": validation_errors(exc),
            },
            400,
        )
    except Exception:
        logger.exception("unhandled error", extra={"path": path})
        return json_response({"code": "internal_error", "message": Text("api.internal_error")}, 500)
    return result if isinstance(result, Response) else json_response(result)


def route(
    bp: Blueprint,
    path: str,
    methods: list[str],
    *,
    response: Answer | dict[int, Answer] = None,
    request: Answer = None,
    summary: str | None = None,
    tags: Sequence[str] = (),
    auth: Auth | None = None,
    params: Sequence[Param] = (),
    **kwargs: Any,
) -> Callable:
    """``bp.route`` with error mapping, recording what the route promises for the OpenAPI
    document: ``response`` (the 200 body, or bodies by status; ``None`` in that mapping is an
    empty body), ``request`` (the body, or a tuple of the content types it accepts), ``auth``,
    ``params`` (the query string) and ``tags``. The summary is the view docstring's first
    paragraph unless given; errors need no declaring (every status >= 400 is :class:`Error`)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        _record(view, path, methods, response, request, summary, tags, auth, params)

        @functools.wraps(view)
        def wrapped(*args: Any, **kw: Any) -> Response:
            request = bp.current_request
            headers: Any = request.headers if request else None
            wanted = headers.get("accept-language") if headers else None
            with text.use_locale(text.negotiate(wanted)) as locale:
                answer = _answer(view, path, args, kw)
                # Sentences in the body are in the locale asked for: caches must key on it.
                answer.headers["Content-Language"] = locale
                vary = answer.headers.get("Vary")
                answer.headers["Vary"] = f"{vary}, Accept-Language" if vary else "Accept-Language"
                return answer

        return bp.route(path, methods=methods, **kwargs)(wrapped)

    return decorate


def public_base_url(bp: Blueprint) -> str:
    """Public base URL of this API: PUBLIC_BASE_URL if set, else derived from the request
    (API Gateway's execute-api host needs the stage in the path)."""
    configured = os.environ.get("PUBLIC_BASE_URL")
    if configured:
        return configured.rstrip("/")
    request = bp.current_request
    host = request.headers.get("host", "localhost")
    proto = request.headers.get("x-forwarded-proto", "https" if "amazonaws" in host else "http")
    stage = (request.context or {}).get("stage")
    prefix = f"/{stage}" if stage and "execute-api" in host else ""
    return f"{proto}://{host}{prefix}"


def json_object(bp: Blueprint) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is ``{}``)."""
    raw = bp.current_request.raw_body or b""
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise BadRequest(Text("api.body_not_json"), code="invalid_json") from exc
    if not isinstance(data, dict):
        raise BadRequest(Text("api.body_not_object"), code="invalid_json")
    return data


def parse_body(bp: Blueprint, model: type[M]) -> M:
    return model.model_validate(json_object(bp))


def query_params(bp: Blueprint) -> dict[str, str]:
    return dict(bp.current_request.query_params or {})


def period_param(params: dict[str, str], today: date) -> str:
    """The ``period`` query parameter (:data:`PERIOD`), ``today``'s month when absent;
    ``BadRequest`` unless it is a real day, week, month or quarter of a year it may name."""
    from linkstar.kpis import scoring

    label = params.get("period") or today.strftime("%Y-%m")
    # The year first: the calendar's ends are where working out a period's days would overflow.
    valid = label.isascii() and label[:4].isdigit() and FIRST_YEAR <= int(label[:4]) <= LAST_YEAR
    if valid:
        try:
            scoring.bounds(label)
        except ValueError:
            valid = False
    if not valid:
        raise BadRequest(
            Text("api.invalid_period", first=FIRST_YEAR, last=LAST_YEAR), code="invalid_query"
        )
    return label


def report_period(params: dict[str, str]) -> tuple[str, date]:
    """A report's ``period`` (:func:`period_param`) and the day it is read on (the clock's today),
    which the report takes as its "now"."""
    today = clock.now().date()
    return period_param(params, today), today


def int_param(params: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(Text("api.not_whole_number", name=name), code="invalid_query") from exc
    if not lo <= value <= hi:
        raise BadRequest(Text("api.out_of_range", name=name, lo=lo, hi=hi), code="invalid_query")
    return value
