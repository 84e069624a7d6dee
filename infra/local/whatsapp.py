"""``FakeWhatsApp``: the WhatsApp Business Cloud API's send endpoint on loopback, answering in
the documented shapes (see ``linkstar.outreach.providers.whatsapp`` for the citations).
Standard library only: the local stack supervisor starts it as
``python -m infra.local.whatsapp --port N``; tests use ``FakeWhatsApp().start()``.

What it serves: ``POST /{version}/{phone_number_id}/messages``. It checks, like the real API:

- ``Authorization: Bearer <token>`` for that phone number id: missing or wrong → 401, code 190
  (``OAuthException``);
- the phone number id: unknown → 400, code 100 with error_subcode 33 (Graph's "Unsupported post
  request. Object with ID … does not exist");
- the version: not ``vNN.N`` → 400, code 2500 (Graph's "Unknown path components"; the fake's
  choice of wording);
- the body: ``messaging_product`` ``"whatsapp"``, ``recipient_type`` ``"individual"`` if given,
  ``to`` a phone number, ``type`` ``text`` (``text.body``, at most 4096 characters) or
  ``template`` (``name``, ``language.code``, ``components`` of ``{type, parameters}``) → else
  400, code 100 with the reason in ``error_data.details``;
- templates, when any are registered (``add_template``): an unknown name or language → 132001,
  a wrong number of body parameters → 132000. With none registered every template is accepted.

An accepted message answers ``{"messaging_product", "contacts": [{"input", "wa_id"}],
"messages": [{"id": "wamid.…"}]}`` (templates also carry ``"message_status": "accepted"``, as
documented for template pacing) and is recorded.

Control API (``/_fake``), also callable in process (``fail_next``, ``add_template`` …):

- ``GET /_fake/messages``: every accepted message, ``{"messages": [{id, phone_number_id, to,
  type, payload, received_at}]}``;
- ``POST /_fake/failures`` ``{count, status, code[, message, details, retry_after]}``: the next
  ``count`` send requests answer that error (before any other check), with ``Retry-After`` when
  ``retry_after`` is given;
- ``POST /_fake/templates`` ``{name, language, body_parameters}``: register an approved template;
- ``POST /_fake/phone_numbers`` ``{phone_number_id, access_token}``: another sending number;
- ``POST /_fake/reset``: forget messages and pending failures.

HTTP statuses of injected errors are whatever the test asks for: Meta documents a status for
some codes only, and answers 400 for many (throttling included), which is why the client
classifies by code.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infra.local.fake_server import Answer, FakeServer, JsonRequestHandler, standalone_parser

DEFAULT_PHONE_NUMBER_ID = "106540352242922"  # the id Meta's examples use
DEFAULT_ACCESS_TOKEN = "fake-whatsapp-access-token"  # noqa: S105 - the fake's own, not a secret
TEXT_LIMIT = 4096  # text.body, per the Messages reference

_MESSAGES_PATH = re.compile(r"^/(?P<version>[^/]+)/(?P<phone_number_id>[^/]+)/messages$")
_VERSION = re.compile(r"^v\d+\.\d+$")
_PHONE = re.compile(r"^\+?[1-9]\d{6,14}$")

# Titles of the codes tests inject most; Graph puts "(#code) title" in ``message``.
TITLES: dict[int, tuple[str, str]] = {
    2: ("Service temporarily unavailable", "OAuthException"),
    4: ("Application request limit reached", "OAuthException"),
    100: ("Invalid parameter", "OAuthException"),
    190: ("Invalid OAuth access token - Cannot parse access token", "OAuthException"),
    80007: ("Rate limit issues", "OAuthException"),
    130429: ("Rate limit hit", "OAuthException"),
    131000: ("Something went wrong", "OAuthException"),
    131026: ("Message undeliverable", "OAuthException"),
    131047: ("Re-engagement message", "OAuthException"),
    131048: ("Spam rate limit hit", "OAuthException"),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", "OAuthException"),
    132000: ("Number of parameters does not match the expected number of params", "OAuthException"),
    132001: ("Template name does not exist in the translation", "OAuthException"),
}


@dataclass
class Failure:
    status: int
    code: int
    message: str | None = None
    details: str | None = None
    retry_after: int | None = None


@dataclass
class SentMessage:
    id: str
    phone_number_id: str
    to: str
    type: str
    payload: dict[str, Any]
    received_at: float = field(default_factory=time.time)


class FakeWhatsApp(FakeServer):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
        access_token: str = DEFAULT_ACCESS_TOKEN,
    ) -> None:
        self.phone_number_id = phone_number_id
        self.access_token = access_token
        self._tokens: dict[str, str] = {phone_number_id: access_token}
        self._templates: dict[tuple[str, str], int] = {}
        self._messages: list[SentMessage] = []
        self._failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        super().__init__(host, port, _Handler, "fake-whatsapp")

    def config(self) -> dict[str, str]:
        """The fields of a ``WhatsAppConfig`` that sends through this fake."""
        return {
            "base_url": self.url,
            "phone_number_id": self.phone_number_id,
            "access_token": self.access_token,
        }

    # ----------------------------------------------------------------------- control

    def add_phone_number(self, phone_number_id: str, access_token: str) -> None:
        with self._lock:
            self._tokens[phone_number_id] = access_token

    def add_template(self, name: str, language: str, body_parameters: int = 0) -> None:
        """An approved template; once any is registered, unknown ones answer 132001."""
        with self._lock:
            self._templates[(name, language)] = body_parameters

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int,
        code: int,
        message: str | None = None,
        details: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """The next ``count`` send requests answer this error instead of being processed."""
        if status < 400 or status > 599:
            raise ValueError(f"a failure needs an HTTP error status, not {status}")
        with self._lock:
            for _ in range(count):
                self._failures.append(Failure(status, code, message, details, retry_after))

    def messages(self) -> list[SentMessage]:
        with self._lock:
            return list(self._messages)

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._failures.clear()

    # ----------------------------------------------------------------------- routing

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Answer:
        if path == "/_fake" or path.startswith("/_fake/"):
            return self._control(method, path[len("/_fake") :], body)
        match = _MESSAGES_PATH.match(path)
        if match is None:
            return _graph_error(400, 2500, f"Unknown path components: {path}")
        if method != "POST":
            return _graph_error(400, 100, "Unsupported get request.")
        return self._send(match["version"], match["phone_number_id"], headers, body)

    def _control(self, method: str, path: str, body: bytes) -> Answer:
        if method == "GET" and path == "/messages":
            return Answer(200, {"messages": [vars(m) for m in self.messages()]})
        if method != "POST":
            return Answer(405, {"message": "GET /_fake/messages, or POST to change the fake"})
        try:
            data = json.loads(body or b"{}")
            if path == "/failures":
                self.fail_next(
                    int(data.get("count", 1)),
                    status=int(data["status"]),
                    code=int(data["code"]),
                    message=data.get("message"),
                    details=data.get("details"),
                    retry_after=data.get("retry_after"),
                )
                return Answer(201, {"queued": int(data.get("count", 1))})
            if path == "/templates":
                self.add_template(
                    data["name"], data["language"], int(data.get("body_parameters", 0))
                )
                return Answer(201, {"registered": True})
            if path == "/phone_numbers":
                self.add_phone_number(str(data["phone_number_id"]), data["access_token"])
                return Answer(201, {"registered": True})
            if path == "/reset":
                self.reset()
                return Answer(200, {"reset": True})
        except (KeyError, TypeError, ValueError) as exc:
            return Answer(400, {"message": f"bad control request: {exc!r}"})
        return Answer(404, {"message": f"no control endpoint {path}"})

    # -------------------------------------------------------------------- the API

    def _send(
        self, version: str, phone_number_id: str, headers: Mapping[str, str], body: bytes
    ) -> Answer:
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            return _injected(failure)
        if not _VERSION.match(version):
            return _graph_error(400, 2500, f"Unknown path components: /{version}")
        with self._lock:
            expected = self._tokens.get(phone_number_id)
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        # A token is checked before the object it names, as Graph does.
        if scheme.lower() != "bearer" or not token or token not in self._tokens.values():
            return _graph_error(401, 190, TITLES[190][0])
        if expected is None or token != expected:
            return _graph_error(
                400,
                100,
                f"Unsupported post request. Object with ID '{phone_number_id}' does not exist, "
                "cannot be loaded due to missing permissions, or does not support this operation.",
                subcode=33,
            )
        try:
            payload = json.loads(body)
        except ValueError:
            return _invalid("the request body is not JSON")
        problem = self._validate(payload)
        if problem is not None:
            return problem
        to = str(payload["to"])
        digits = to.removeprefix("+")
        wamid = "wamid." + base64.b64encode(f"{digits}:{uuid.uuid4().hex}".encode()).decode()
        with self._lock:
            self._messages.append(
                SentMessage(wamid, phone_number_id, digits, payload["type"], payload)
            )
        message: dict[str, Any] = {"id": wamid}
        if payload["type"] == "template":
            message["message_status"] = "accepted"
        return Answer(
            200,
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": digits}],
                "messages": [message],
            },
        )

    def _validate(self, payload: Any) -> Answer | None:
        if not isinstance(payload, dict):
            return _invalid("the request body must be a JSON object")
        if payload.get("messaging_product") != "whatsapp":
            return _invalid("The parameter messaging_product is required.")
        if payload.get("recipient_type", "individual") != "individual":
            return _invalid("recipient_type must be individual")
        to = payload.get("to")
        if not isinstance(to, str) or not _PHONE.match(to):
            return _invalid("The parameter to is required and must be a phone number.")
        kind = payload.get("type", "text")
        if kind == "text":
            text = payload.get("text")
            message_body = text.get("body") if isinstance(text, dict) else None
            if not isinstance(message_body, str) or not message_body:
                return _invalid("The parameter text['body'] is required.")
            if len(message_body) > TEXT_LIMIT:
                return _invalid(f"text['body'] is longer than {TEXT_LIMIT} characters")
            payload["type"] = "text"
            return None
        if kind == "template":
            return self._validate_template(payload.get("template"))
        return _invalid(f"the fake sends text and template messages, not {kind!r}")

    def _validate_template(self, template: Any) -> Answer | None:
        if not isinstance(template, dict) or not isinstance(template.get("name"), str):
            return _invalid("The parameter template['name'] is required.")
        language = template.get("language")
        code = language.get("code") if isinstance(language, dict) else None
        if not isinstance(code, str) or not code:
            return _invalid("The parameter template['language']['code'] is required.")
        components = template.get("components", [])
        body_count = 0
        if not isinstance(components, list):
            return _invalid("template['components'] must be an array")
        for component in components:
            parameters = component.get("parameters") if isinstance(component, dict) else None
            if not isinstance(component, dict) or not isinstance(component.get("type"), str):
                return _invalid("each template component needs a type")
            if not isinstance(parameters, list) or not all(
                isinstance(p, dict) and isinstance(p.get("type"), str) for p in parameters
            ):
                return _invalid("each template component needs parameters with a type")
            for p in parameters:
                if p["type"] == "text" and not isinstance(p.get("text"), str):
                    return _invalid("a text parameter needs text")
            if component["type"] == "body":
                body_count += len(parameters)
        with self._lock:
            known = dict(self._templates)
        if known:
            expected = known.get((template["name"], code))
            if expected is None:
                return _graph_error(
                    404,
                    132001,
                    TITLES[132001][0],
                    details=f"template name ({template['name']}) does not exist in {code}",
                )
            if expected != body_count:
                return _graph_error(
                    400,
                    132000,
                    TITLES[132000][0],
                    details=f"body: number of localizable_params ({body_count}) does not match "
                    f"the expected number of params ({expected})",
                )
        return None


# ---------------------------------------------------------------------------- answers


def _graph_error(
    status: int,
    code: int,
    title: str,
    *,
    details: str | None = None,
    subcode: int | None = None,
    error_type: str = "OAuthException",
    headers: dict[str, str] | None = None,
) -> Answer:
    """Graph's error envelope. ``error_subcode`` is only sent when given: Meta stopped sending
    it to WhatsApp clients in v16.0."""
    error: dict[str, Any] = {"message": f"(#{code}) {title}", "type": error_type, "code": code}
    if details:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = "A" + uuid.uuid4().hex[:22]
    return Answer(status, {"error": error}, headers or {})


def _invalid(details: str) -> Answer:
    return _graph_error(400, 100, TITLES[100][0], details=details)


def _injected(failure: Failure) -> Answer:
    title, error_type = TITLES.get(failure.code, ("Injected failure", "OAuthException"))
    headers = {}
    if failure.retry_after is not None:
        headers["Retry-After"] = str(failure.retry_after)
    return _graph_error(
        failure.status,
        failure.code,
        failure.message or title,
        details=failure.details or title,
        error_type=error_type,
        headers=headers,
    )


class _Handler(JsonRequestHandler):
    server_version = "FakeWhatsApp/1.0"
    ensure_ascii = False  # Graph answers in UTF-8, not \u escapes


# ---------------------------------------------------------------------------- standalone


def main(argv: Sequence[str] | None = None) -> int:
    parser = standalone_parser(
        "infra.local.whatsapp",
        "Run a fake WhatsApp Business Cloud API on loopback.",
    )
    parser.add_argument("--phone-number-id", default=DEFAULT_PHONE_NUMBER_ID)
    parser.add_argument(
        "--access-token", default=DEFAULT_ACCESS_TOKEN, help="the bearer token it accepts"
    )
    args = parser.parse_args(argv)
    fake = FakeWhatsApp(
        args.host, args.port, phone_number_id=args.phone_number_id, access_token=args.access_token
    )
    # The token is not announced: whoever started the fake chose it.
    fake.serve_until_signalled({"url": fake.url, "phone_number_id": fake.phone_number_id})
    return 0


if __name__ == "__main__":
    sys.exit(main())
