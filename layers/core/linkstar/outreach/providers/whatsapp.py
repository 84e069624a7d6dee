"""The WhatsApp gateway: one message to one user through Meta's WhatsApp Business Cloud API.

What it owns: the request, the answer, and what a failure means. No retries in process — a
retryable failure goes back to the send queue, which redelivers after ``retry_after``.

**Request** ("Messages" reference, https://developers.facebook.com/docs/whatsapp/cloud-api/
reference/messages, and "Send message templates", …/cloud-api/guides/send-message-templates)::

    POST {base_url}/{api_version}/{phone_number_id}/messages
    Authorization: Bearer <access token>
    {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "8613800138000",
     "type": "text", "text": {"body": "…", "preview_url": false}}

or ``"type": "template", "template": {"name": …, "language": {"code": "en_US"}, "components":
[{"type": "body", "parameters": [{"type": "text", "text": …}]}]}``. ``to`` is the number in
international format without the ``+``. Free text is only allowed within 24 hours of the user's
last message to the business; outside that window only an approved template may be sent.

**Success** (HTTP 200)::

    {"messaging_product": "whatsapp", "contacts": [{"input": "8613800138000",
     "wa_id": "8613800138000"}], "messages": [{"id": "wamid.HBgN…"}]}

The ``wamid`` is returned; the messages webhook later reports ``sent``/``delivered``/``read`` or
``failed`` for it. Acceptance is not delivery: many failures (131026 undeliverable, 131047
outside the window, 131049…) usually arrive later in that webhook's ``statuses[].errors``
(``{"code", "title", "message", "error_data": {"details"}}``); :func:`error_for` classifies
those the same way.

**Errors** (Graph API "Handling errors", https://developers.facebook.com/docs/graph-api/guides/
error-handling, and Cloud API "Error codes", https://developers.facebook.com/docs/whatsapp/
cloud-api/support/error-codes)::

    {"error": {"message": "(#131026) Message undeliverable", "type": "OAuthException",
     "code": 131026, "error_data": {"messaging_product": "whatsapp", "details": "…"},
     "error_subcode": 2494010, "fbtrace_id": "…"}}

Meta asks for handling on ``code`` (and ``details``), not on titles, nor on ``error_subcode``
(deprecated since v16.0) or the HTTP status (many codes, throttling included, come with 400).
So the code decides: throttling (4, 80007, 130429, 131048, 131056) and service trouble (2,
131000, 131016, 131057, 133004) are :class:`RetryableProviderError`; the documented
recipient, message, template and account errors (131026, 131047, 132000, 132001, 100, 190 …)
are :class:`PermanentProviderError` with the code ``whatsapp_<code>``. A code not listed is
judged by the HTTP status (429 and 5xx retry). ``Retry-After`` is honoured when present (Meta
does not document sending it). Timeouts and connection failures are retryable; a timeout after
Meta accepted the message can make the retry send it twice, which the API gives no way to
prevent.

The shapes above were checked against copies of Meta's pages (docs.kapso.ai's mirror of the
send reference, developers.aivo.co's and help.verloop.io's copies of the error-code tables).
The access token is a :class:`~pydantic.SecretStr`, never in a URL, a message or a log line.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from linkstar.contacts import to_e164
from linkstar.outreach.providers.errors import (
    ACCOUNT,
    MESSAGE,
    RECIPIENT,
    PermanentProviderError,
    RetryableProviderError,
    Scope,
    redact,
)
from linkstar.platforms.clients.http import (
    Request,
    Response,
    Transport,
    retry_after_seconds,
    urllib_transport,
)

PROVIDER = "whatsapp"
GRAPH_API = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v21.0"
# A send is one small POST; the sender function has other messages in its batch to get to.
DEFAULT_TIMEOUT = 10.0

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})

# Throttling: "Throttling errors" in the error-code tables.
THROTTLING_CODES = frozenset(
    {
        4,  # API Too Many Calls (app rate limit)
        80007,  # WhatsApp Business Account rate limit
        130429,  # Cloud API throughput reached
        131048,  # spam rate limit (quality-based messaging limit)
        131056,  # (business, consumer) pair rate limit: too many to one user
    }
)
# Meta's side is down or busy; the same request can succeed later.
TRANSIENT_CODES = frozenset(
    {
        2,  # API Service: temporary downtime or overload
        131000,  # Something went wrong (HTTP 500)
        131016,  # Service unavailable
        131057,  # Account in maintenance mode (e.g. a throughput upgrade)
        133004,  # Server temporarily unavailable
    }
)
PERMANENT_CODES: dict[int, Scope] = {
    # Authorisation and account: every message from this number would fail the same way.
    0: ACCOUNT,  # AuthException
    3: ACCOUNT,  # capability or permissions issue
    10: ACCOUNT,  # permission denied
    33: ACCOUNT,  # the business phone number was deleted
    190: ACCOUNT,  # access token expired or invalid
    368: ACCOUNT,  # temporarily blocked for policy violations
    130497: ACCOUNT,  # business account may not message users in this country
    131005: ACCOUNT,  # access denied
    131031: ACCOUNT,  # business account locked
    131042: ACCOUNT,  # business eligibility / payment issue
    131045: ACCOUNT,  # phone number certificate incorrect
    133010: ACCOUNT,  # phone number not registered
    # The recipient: suppress the contact on this channel.
    131021: RECIPIENT,  # recipient cannot be the sender
    131026: RECIPIENT,  # message undeliverable (not on WhatsApp, old app, terms not accepted)
    131050: RECIPIENT,  # the user stopped marketing messages from this business
    # The message: fix the content, the template or the channel choice.
    100: MESSAGE,  # invalid parameter
    131008: MESSAGE,  # required parameter missing
    131009: MESSAGE,  # parameter value not valid
    131047: MESSAGE,  # re-engagement: over 24 h since the user replied, a template is required
    131049: MESSAGE,  # Meta chose not to deliver (ecosystem engagement); don't retry at once
    131051: MESSAGE,  # unsupported message type
    131052: MESSAGE,  # media download error
    131053: MESSAGE,  # media upload error
    132000: MESSAGE,  # template parameter count mismatch
    132001: MESSAGE,  # template does not exist (in that language) or is not approved
    132005: MESSAGE,  # template hydrated text too long
    132007: MESSAGE,  # template format character policy violated
    132012: MESSAGE,  # template parameter format mismatch
    132015: MESSAGE,  # template paused for low quality
    132016: MESSAGE,  # template disabled
    135000: MESSAGE,  # generic user error
}
PERMANENT_CODES.update(dict.fromkeys(range(200, 300), ACCOUNT))  # 200-299: API permission


class WhatsAppConfig(BaseModel):
    """Where and as whom to send: a business phone number and a token allowed to use it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = GRAPH_API
    api_version: str = Field(default=DEFAULT_API_VERSION, pattern=r"^v\d+\.\d+$")
    phone_number_id: str = Field(pattern=r"^\d+$")
    access_token: SecretStr = Field(min_length=1)

    @field_validator("base_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        # The bearer token goes with every request: never over plain HTTP to another host.
        parts = urlsplit(value)
        local = parts.scheme == "http" and parts.hostname in _LOOPBACK
        if not (parts.scheme == "https" or local) or not parts.hostname:
            raise ValueError("base_url must be https (http only for a loopback fake)")
        return value.rstrip("/")

    @property
    def messages_url(self) -> str:
        return f"{self.base_url}/{self.api_version}/{quote(self.phone_number_id)}/messages"


def send_text(
    config: WhatsAppConfig,
    *,
    to: str,
    body: str,
    preview_url: bool = False,
    transport: Transport | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Send a free-text message (only inside the 24-hour customer-service window); return the
    ``wamid``."""
    return send_message(
        config,
        to=to,
        type_="text",
        content={"body": body, "preview_url": preview_url},
        transport=transport,
        timeout=timeout,
    )


def send_template(
    config: WhatsAppConfig,
    *,
    to: str,
    name: str,
    language: str,
    body_parameters: Sequence[str] = (),
    transport: Transport | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Send an approved template (allowed at any time) with its body's ``{{1}}``, ``{{2}}`` …
    filled in order; return the ``wamid``."""
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if body_parameters:
        template["components"] = [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": value} for value in body_parameters],
            }
        ]
    return send_message(
        config, to=to, type_="template", content=template, transport=transport, timeout=timeout
    )


def send_message(
    config: WhatsAppConfig,
    *,
    to: str,
    type_: str,
    content: Mapping[str, Any],
    transport: Transport | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Send one message object of ``type_`` (``content`` is its ``text``/``template``/… part)
    and return the ``wamid``."""
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient_digits(to),
        "type": type_,
        type_: dict(content),
    }
    token = config.access_token.get_secret_value()
    request = Request(
        method="POST",
        url=config.messages_url,
        platform=PROVIDER,
        operation="send_message",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        body=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
    )
    try:
        response = (transport or urllib_transport)(request, timeout)
    except (OSError, http.client.HTTPException) as exc:
        # OSError covers URLError, timeouts and refused connections. The class name only: a
        # URLError's text can carry the URL.
        raise RetryableProviderError(
            f"WhatsApp Cloud API unreachable ({type(exc).__name__})",
            provider=PROVIDER,
            code="whatsapp_unavailable",
        ) from exc
    if 200 <= response.status < 300:
        return _wamid(response)
    raise _error_from(response, token)


def recipient_digits(phone: str) -> str:
    """An E.164 number as the API's ``to``: its digits without the ``+``."""
    e164 = "+" + phone.strip().removeprefix("+")
    if to_e164(e164) != e164:
        raise PermanentProviderError(
            "the phone number is not a valid E.164 number",
            provider=PROVIDER,
            code="whatsapp_invalid_phone_number",
            scope=RECIPIENT,
        )
    return e164[1:]


def error_for(
    code: int | None,
    *,
    http_status: int | None = None,
    reason: str | None = None,
    retry_after: float | None = None,
) -> RetryableProviderError | PermanentProviderError:
    """What a Cloud API error ``code`` means for the message: from a send's error response or
    from a ``failed`` status in the messages webhook (``http_status`` then ``None``)."""
    label = f"whatsapp_{code}" if code is not None else None
    if code in THROTTLING_CODES or code in TRANSIENT_CODES:
        return RetryableProviderError(
            f"WhatsApp Cloud API could not take the message now (#{code})",
            provider=PROVIDER,
            code=label,
            reason=reason,
            http_status=http_status,
            retry_after=retry_after,
        )
    if code is not None and code in PERMANENT_CODES:
        return PermanentProviderError(
            f"WhatsApp Cloud API refused the message (#{code})",
            provider=PROVIDER,
            code=label,
            reason=reason,
            http_status=http_status,
            scope=PERMANENT_CODES[code],
        )
    # A code this module doesn't know (or none: a proxy's HTML page): the HTTP status decides.
    if http_status is not None and (http_status == 429 or http_status >= 500):
        return RetryableProviderError(
            f"WhatsApp Cloud API answered HTTP {http_status}",
            provider=PROVIDER,
            code=label or ("whatsapp_throttled" if http_status == 429 else "whatsapp_unavailable"),
            reason=reason,
            http_status=http_status,
            retry_after=retry_after,
        )
    where = f"#{code}" if code is not None else f"HTTP {http_status}"
    return PermanentProviderError(
        f"WhatsApp Cloud API refused the message ({where})",
        provider=PROVIDER,
        code=label or f"whatsapp_http_{http_status}",
        reason=reason,
        http_status=http_status,
    )


def _wamid(response: Response) -> str:
    body = response.json()
    try:
        wamid = body["messages"][0]["id"]
    except (KeyError, IndexError, TypeError):
        wamid = None
    if not isinstance(wamid, str) or not wamid:
        # Accepted or not, we can't tell: retrying could send twice, so stop and surface it.
        raise PermanentProviderError(
            "WhatsApp Cloud API answered 2xx without a message id",
            provider=PROVIDER,
            code="whatsapp_unexpected_response",
            http_status=response.status,
        )
    return wamid


def _error_from(response: Response, token: str) -> RetryableProviderError | PermanentProviderError:
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    code: int | None = None
    reason: str | None = None
    if isinstance(error, dict):
        try:
            code = int(error["code"])
        except (KeyError, TypeError, ValueError):
            code = None
        data = error.get("error_data")
        details = data.get("details") if isinstance(data, dict) else None
        parts = [str(p) for p in (error.get("message"), details) if p]
        reason = redact(" — ".join(parts), token) if parts else None
    return error_for(
        code,
        http_status=response.status,
        reason=reason,
        retry_after=retry_after_seconds(response.header("Retry-After")),
    )
