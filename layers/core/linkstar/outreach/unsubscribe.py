"""Signed unsubscribe links and the RFC 8058 one-click headers every marketing email carries.

A token names the tenant, contact, channel and message and is signed with HMAC-SHA256 under a
key kept in Secrets Manager (``UNSUBSCRIBE_SECRET_ARN``): anyone holding the link may withdraw
that one consent (as the law wants it to be easy), nobody can forge one for another contact.
Tokens don't expire: an old email's link must still work.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from pydantic import BaseModel

from linkstar.errors import BadRequest
from linkstar.secrets import secret_value
from linkstar.settings import get_settings, require


class UnsubscribeToken(BaseModel):
    tenant_id: str
    contact_id: str
    channel: str
    message_id: str | None = None


def _key() -> bytes:
    arn = require(get_settings().unsubscribe_secret_arn, "UNSUBSCRIBE_SECRET_ARN")
    return secret_value(arn).encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(token: UnsubscribeToken, key: bytes | None = None) -> str:
    payload = json.dumps(
        {"t": token.tenant_id, "c": token.contact_id, "ch": token.channel, "m": token.message_id},
        separators=(",", ":"),
    ).encode()
    mac = hmac.new(key or _key(), payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def verify(text: str, key: bytes | None = None) -> UnsubscribeToken:
    try:
        payload_part, mac_part = text.split(".", 1)
        payload = _unb64(payload_part)
        mac = _unb64(mac_part)
    except ValueError as exc:
        raise BadRequest("the unsubscribe link is not valid", code="invalid_token") from exc
    expected = hmac.new(key or _key(), payload, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, expected):
        raise BadRequest("the unsubscribe link is not valid", code="invalid_token")
    data: dict[str, Any] = json.loads(payload)
    return UnsubscribeToken(
        tenant_id=data["t"], contact_id=data["c"], channel=data["ch"], message_id=data.get("m")
    )


def links(token: UnsubscribeToken) -> dict[str, str]:
    """The template's ``links`` context: where the contact unsubscribes or sets preferences."""
    base = get_settings().public_base_url
    if not base.startswith(("https://", "http://")):
        # A relative link in an email goes nowhere and RFC 8058 needs an absolute HTTPS URI:
        # better a send that fails with this reason (and can be replayed) than a broken footer.
        raise RuntimeError(
            f"PUBLIC_BASE_URL must be an absolute URL for unsubscribe links, got {base!r}"
        )
    signed = sign(token)
    return {
        "unsubscribe_url": f"{base}/unsubscribe/{signed}",
        "preferences_url": f"{base}/unsubscribe/{signed}",
    }


def one_click_headers(unsubscribe_url: str) -> dict[str, str]:
    """RFC 8058: a POST to the HTTPS URI with ``List-Unsubscribe=One-Click`` unsubscribes."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
