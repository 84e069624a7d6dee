"""``FakeSmsVoice``: AWS End User Messaging SMS's ``SendMediaMessage`` (API
``pinpoint-sms-voice-v2``) on loopback, because moto 5.2.5 does not implement that API.

The sender's boto3 client reaches it through botocore's per-service endpoint variable,
``AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2=<url>`` (``env()``), which wins over
``AWS_ENDPOINT_URL``: everything else still goes to moto. The local stack's supervisor starts
it and sets that variable for the functions; tests use ``FakeSmsVoice().start()``. Standard
library only (``python -m infra.local.sms_voice --port N`` runs it alone).

What it serves: the AWS JSON 1.0 protocol as botocore speaks it - ``POST /`` with
``X-Amz-Target: PinpointSMSVoiceV2.<Operation>`` and a JSON body; answers are JSON, errors
``{"__type": <code>, "message": …}`` plus the error's modelled fields (``Reason``). Only
``SendMediaMessage``; another operation answers ``UnknownOperationException``. It checks, as
the API model (botocore 1.44.5) and the API reference say:

- a SigV4 ``Authorization`` header for the ``sms-voice`` service (not the signature itself);
- ``DestinationPhoneNumber`` and ``OriginationIdentity`` present and of the model's patterns;
  the origination identity is one this fake owns (``origination_identities``), else
  ``ResourceNotFoundException``;
- ``MediaUrls``: at most one, each ``s3://bucket/key``; ``MessageBody`` 1-1600 characters and
  not blank; at least one of the two; ``Context`` at most five entries;
- with ``media_type`` given (a callable ``(bucket, key) -> content type or None``), the file
  exists and is of an MMS type (``ValidationException``, reasons ``RESOURCE_NOT_ACCESSIBLE``
  and ``MEDIA_TYPE_NOT_SUPPORTED``).

An accepted message answers ``{"MessageId": …}`` and is recorded (``messages()``).

Control API (``/_fake``), also callable in process: ``GET /_fake/messages``,
``POST /_fake/failures`` ``{count, status, code[, message, reason]}`` (the next ``count`` sends
answer that error), ``POST /_fake/reset``.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from infra.local.fake_server import Answer, FakeServer, JsonRequestHandler, standalone_parser

ENDPOINT_ENV = "AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2"
DEFAULT_ORIGINATION = "+18005550100"
TARGET_PREFIX = "PinpointSMSVoiceV2."
MAX_BODY = 1600

_PHONE = re.compile(r"^\+?[1-9][0-9]{1,18}$")
_ORIGINATION = re.compile(r"^[A-Za-z0-9_:/+-]{1,256}$")
_MEDIA_URL = re.compile(r"^s3://(?P<bucket>[a-z0-9.-]{3,63})/(?P<key>.+)$")
# The MMS types of the End User Messaging SMS user guide ("MMS file types, size and character
# limits"); the fake's own copy, so it can disagree with the client it tests.
MMS_TYPES = frozenset(
    {
        "image/gif",
        "image/jpeg",
        "image/png",
        "image/tiff",
        "audio/3gpp",
        "video/3gpp",
        "audio/3gpp2",
        "video/3gpp2",
        "audio/amr",
        "audio/mp4",
        "video/mp4",
        "audio/mpeg",
        "audio/ogg",
        "video/quicktime",
        "video/webm",
        "text/calendar",
        "text/vcard",
        "text/x-vcard",
        "application/pdf",
    }
)

MediaType = Callable[[str, str], str | None]


@dataclass
class Failure:
    status: int
    code: str
    message: str | None = None
    reason: str | None = None


@dataclass
class SentMedia:
    message_id: str
    destination: str
    origination: str
    body: str | None
    media_urls: list[str]
    context: dict[str, str]
    received_at: float = field(default_factory=time.time)


class FakeSmsVoice(FakeServer):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        origination_identities: Sequence[str] = (DEFAULT_ORIGINATION,),
        media_type: MediaType | None = None,
    ) -> None:
        self.origination_identities = set(origination_identities)
        self.media_type = media_type
        self._messages: list[SentMedia] = []
        self._failures: deque[Failure] = deque()
        self._lock = threading.Lock()
        super().__init__(host, port, _Handler, "fake-sms-voice")

    def env(self) -> dict[str, str]:
        """What points a process's boto3 ``pinpoint-sms-voice-v2`` client here."""
        return {ENDPOINT_ENV: self.url}

    # ----------------------------------------------------------------------- control

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int,
        code: str,
        message: str | None = None,
        reason: str | None = None,
    ) -> None:
        """The next ``count`` sends answer this error instead of being processed."""
        if status < 400 or status > 599:
            raise ValueError(f"a failure needs an HTTP error status, not {status}")
        with self._lock:
            self._failures.extend(Failure(status, code, message, reason) for _ in range(count))

    def messages(self) -> list[SentMedia]:
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
        target = headers.get("x-amz-target", "")
        if method != "POST" or path != "/" or not target.startswith(TARGET_PREFIX):
            return _error(400, "UnknownOperationException", "send a JSON 1.0 request to POST /")
        auth = headers.get("authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 ") or "/sms-voice/aws4_request" not in auth:
            return _error(
                403, "MissingAuthenticationTokenException", "Missing Authentication Token"
            )
        operation = target[len(TARGET_PREFIX) :]
        if operation != "SendMediaMessage":
            return _error(400, "UnknownOperationException", f"the fake has no {operation}")
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return _error(400, "SerializationException", "the request body is not JSON")
        if not isinstance(request, dict):
            return _error(400, "SerializationException", "the request body is not an object")
        return self._send(request)

    def _control(self, method: str, path: str, body: bytes) -> Answer:
        if method == "GET" and path == "/messages":
            return Answer(200, {"messages": [vars(m) for m in self.messages()]})
        if method != "POST":
            return Answer(405, {"message": "GET /_fake/messages, or POST to change the fake"})
        try:
            data = json.loads(body or b"{}")
            if path == "/failures":
                count = int(data.get("count", 1))
                self.fail_next(
                    count,
                    status=int(data["status"]),
                    code=str(data["code"]),
                    message=data.get("message"),
                    reason=data.get("reason"),
                )
                return Answer(201, {"queued": count})
            if path == "/reset":
                self.reset()
                return Answer(200, {"reset": True})
        except (KeyError, TypeError, ValueError) as exc:
            return Answer(400, {"message": f"bad control request: {exc!r}"})
        return Answer(404, {"message": f"no control endpoint {path}"})

    # -------------------------------------------------------------------- the API

    def _send(self, request: dict[str, Any]) -> Answer:
        with self._lock:
            failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            return _error(
                failure.status,
                failure.code,
                failure.message or "injected failure",
                reason=failure.reason,
            )
        problem = self._validate(request)
        if problem is not None:
            return problem
        message_id = str(uuid.uuid4())
        with self._lock:
            self._messages.append(
                SentMedia(
                    message_id=message_id,
                    destination=request["DestinationPhoneNumber"],
                    origination=request["OriginationIdentity"],
                    body=request.get("MessageBody"),
                    media_urls=list(request.get("MediaUrls") or []),
                    context=dict(request.get("Context") or {}),
                )
            )
        return Answer(200, {"MessageId": message_id})

    def _validate(self, request: dict[str, Any]) -> Answer | None:
        destination = request.get("DestinationPhoneNumber")
        if not isinstance(destination, str) or not _PHONE.match(destination):
            return _invalid("DestinationPhoneNumber is not an E.164 phone number")
        origination = request.get("OriginationIdentity")
        if not isinstance(origination, str) or not _ORIGINATION.match(origination):
            return _invalid("OriginationIdentity is missing or malformed")
        if origination not in self.origination_identities:
            return _error(
                404,
                "ResourceNotFoundException",
                f"origination identity {origination} not found",
                ResourceType="phone-number",
                ResourceId=origination,
            )
        body = request.get("MessageBody")
        if body is not None and (
            not isinstance(body, str) or not body.strip() or len(body) > MAX_BODY
        ):
            return _invalid(f"MessageBody must be 1-{MAX_BODY} characters, not blank")
        media = request.get("MediaUrls")
        if media is not None and (not isinstance(media, list) or len(media) != 1):
            return _invalid("MediaUrls holds exactly one URL")
        if body is None and media is None:
            return _invalid("a message needs a MessageBody or MediaUrls", "MISSING_PARAMETER")
        context = request.get("Context") or {}
        if not isinstance(context, dict) or len(context) > 5:
            return _invalid("Context holds at most 5 entries")
        for url in media or []:
            found = _MEDIA_URL.match(url) if isinstance(url, str) else None
            if found is None:
                return _invalid(f"{url!r} is not an s3://bucket/key URL")
            if self.media_type is not None:
                content_type = self.media_type(found["bucket"], found["key"])
                if content_type is None:
                    return _invalid(f"cannot read {url}", "RESOURCE_NOT_ACCESSIBLE")
                if content_type.lower() not in MMS_TYPES:
                    return _invalid(
                        f"{content_type} is not an MMS media type", "MEDIA_TYPE_NOT_SUPPORTED"
                    )
        return None


# ---------------------------------------------------------------------------- answers


def _error(
    status: int, code: str, message: str, reason: str | None = None, **fields: Any
) -> Answer:
    body: dict[str, Any] = {"__type": code, "message": message, **fields}
    if reason is not None:
        body["Reason"] = reason
    return Answer(status, body, {"x-amzn-RequestId": str(uuid.uuid4())})


def _invalid(message: str, reason: str = "FIELD_VALIDATION_FAILED") -> Answer:
    return _error(400, "ValidationException", message, reason=reason)


class _Handler(JsonRequestHandler):
    server_version = "FakeSmsVoice/1.0"
    content_type = "application/x-amz-json-1.0"


# ---------------------------------------------------------------------------- standalone


def main(argv: Sequence[str] | None = None) -> int:
    parser = standalone_parser(
        "infra.local.sms_voice",
        "Run a fake AWS End User Messaging SMS (SendMediaMessage) on loopback.",
    )
    parser.add_argument(
        "--origination-identity",
        action="append",
        help=f"a number or pool it sends from (repeatable; default {DEFAULT_ORIGINATION})",
    )
    args = parser.parse_args(argv)
    fake = FakeSmsVoice(
        args.host,
        args.port,
        origination_identities=args.origination_identity or (DEFAULT_ORIGINATION,),
    )
    fake.serve_until_signalled({"url": fake.url, **fake.env()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
