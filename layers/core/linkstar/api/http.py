"""Route plumbing shared by every blueprint: error mapping (one place), JSON bodies, queries.

Chalice turns any exception a view raises into an opaque 500, so each view is wrapped here and
domain errors become ``{"code": ..., "message": ...}`` with the error's HTTP status.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from chalice import Blueprint, Response
from pydantic import BaseModel, ValidationError

from linkstar.errors import BadRequest, LinkStarError
from linkstar.observability import logger

M = TypeVar("M", bound=BaseModel)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    if isinstance(body, BaseModel):
        body = body.model_dump(mode="json")
    return Response(
        body=json.dumps(body, default=str),
        status_code=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def error_response(error: LinkStarError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details:
        body["details"] = error.details
    return json_response(body, error.status)


def route(bp: Blueprint, path: str, methods: list[str], **kwargs: Any) -> Callable:
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kw: Any) -> Response:
            try:
                result = view(*args, **kw)
            except LinkStarError as exc:
                return error_response(exc)
            except ValidationError as exc:
                return json_response(
                    {
                        "code": "validation_error",
                        "message": "the request body is not valid",
                        "errors": json.loads(exc.json(include_url=False, include_input=False)),
                    },
                    400,
                )
            except Exception:
                logger.exception("unhandled error", extra={"path": path})
                return json_response(
                    {"code": "internal_error", "message": "something went wrong on our side"},
                    500,
                )
            return result if isinstance(result, Response) else json_response(result)

        return bp.route(path, methods=methods, **kwargs)(wrapped)

    return decorate


def json_object(bp: Blueprint) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is ``{}``)."""
    raw = bp.current_request.raw_body or b""
    try:
        data = json.loads(raw or b"{}")
    except ValueError as exc:
        raise BadRequest("the request body is not JSON", code="invalid_json") from exc
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object", code="invalid_json")
    return data


def parse_body(bp: Blueprint, model: type[M]) -> M:
    return model.model_validate(json_object(bp))


def query_params(bp: Blueprint) -> dict[str, str]:
    return dict(bp.current_request.query_params or {})


def int_param(params: dict[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise BadRequest(f"{name} must be a whole number", code="invalid_query") from exc
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}", code="invalid_query")
    return value
