"""The webhook edge: how each platform signs deliveries and names them.

Kept free of pydantic and boto3 so the webhook route verifies and enqueues in milliseconds.
Every comparison is constant-time (``hmac.compare_digest``); a store may hold several secrets
while one is being rotated, and a delivery verifies if any of them signed it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class DeliveryHeaders:
    topic: str | None
    event_id: str | None
    webhook_id: str | None
    triggered_at: str | None
    api_version: str | None
    shop_domain: str | None


def shopify_signature(secret: str, body: bytes) -> str:
    """``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(secret, raw body))."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_shopify_signature(secrets: Iterable[str], body: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    try:
        given = base64.b64decode(signature.strip(), validate=True)
    except (ValueError, TypeError):
        return False
    ok = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        # No early exit: the time taken must not reveal which secret (if any) matched.
        ok |= hmac.compare_digest(expected, given)
    return ok


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = headers.get(name.lower())
    return value


def shopify_headers(headers: Mapping[str, str]) -> DeliveryHeaders:
    return DeliveryHeaders(
        topic=_header(headers, "X-Shopify-Topic"),
        event_id=_header(headers, "X-Shopify-Event-Id"),
        webhook_id=_header(headers, "X-Shopify-Webhook-Id"),
        triggered_at=_header(headers, "X-Shopify-Triggered-At"),
        api_version=_header(headers, "X-Shopify-API-Version"),
        shop_domain=_header(headers, "X-Shopify-Shop-Domain"),
    )


SHOPIFY_TOPICS = frozenset(
    {
        "orders/create",
        "orders/paid",
        "orders/updated",
        "orders/cancelled",
        "orders/fulfilled",
        "orders/partially_fulfilled",
        "checkouts/create",
        "checkouts/update",
        "fulfillments/create",
        "fulfillments/update",
        "refunds/create",
        "customers/create",
        "customers/update",
    }
)


@dataclass(frozen=True)
class WebhookScheme:
    """One platform's push channel: where the signature travels, how it is checked, which
    header names the delivery, and which topics LinkStar ingests (others are counted, ignored)."""

    platform: str
    signature_header: str
    verify_signature: Callable[[Iterable[str], bytes, str | None], bool]
    read_headers: Callable[[Mapping[str, str]], DeliveryHeaders]
    handled_topics: frozenset[str]

    def verify(self, secrets: Iterable[str], body: bytes, headers: Mapping[str, str]) -> bool:
        return self.verify_signature(secrets, body, _header(headers, self.signature_header))


SCHEMES: dict[str, WebhookScheme] = {
    "shopify": WebhookScheme(
        platform="shopify",
        signature_header="X-Shopify-Hmac-Sha256",
        verify_signature=verify_shopify_signature,
        read_headers=shopify_headers,
        handled_topics=SHOPIFY_TOPICS,
    ),
}
