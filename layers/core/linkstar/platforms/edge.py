"""The webhook edge: how each platform signs deliveries and names them.

| platform    | signature header      | signed bytes            | enc.   | topic        | event id |
|-------------|-----------------------|-------------------------|--------|--------------|----------|
| shopify     | X-Shopify-Hmac-Sha256 | body                    | base64 | header       | header   |
| tiktok_shop | Authorization         | app_key + body          | hex    | type         | tts_nid  |
| shopee      | Authorization         | callback URL + "|" + body | hex  | code         | digest   |
| lazada      | Authorization         | app_key + body          | hex    | message_type | digest   |

(tts_nid: the body's ``tts_notification_id``; digest: Shopee and Lazada send no id, so the
body's SHA-256 names the delivery.)

Amazon SP-API has no webhook: Amazon delivers to an SQS queue it is allowed to write to.

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
from typing import Any, Protocol

from linkstar.platforms import _payload

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


def hmac_hex(secret: str, message: bytes) -> str:
    """TikTok Shop, Shopee and Lazada: ``Authorization`` = hex(HMAC-SHA256(secret, message))."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_hex_signature(secrets: Iterable[str], message: bytes, signature: str | None) -> bool:
    if not signature:
        return False
    try:
        given = bytes.fromhex(signature.strip())
    except ValueError:
        return False
    ok = False
    for secret in secrets:
        expected = hmac.new(secret.encode(), message, hashlib.sha256).digest()
        ok |= hmac.compare_digest(expected, given)
    return ok


class SigningContext(Protocol):
    """What a scheme may need from the store besides its secrets (a ``Store`` satisfies it)."""

    @property
    def app_key(self) -> str | None: ...

    @property
    def webhook_url(self) -> str | None: ...


def _iso_from_epoch(value: Any) -> str | None:
    try:
        return _payload.epoch(value, "timestamp").isoformat()
    except (ValueError, OverflowError):
        return None


def _text(value: Any) -> str | None:
    if value is None or value == "" or isinstance(value, dict | list):
        return None
    return str(value)


@dataclass(frozen=True)
class Described:
    """What the edge learns about a delivery before enqueueing it."""

    headers: DeliveryHeaders
    shop_id: str | None  # the shop/seller the body says it is for (None: not stated)


Describe = Callable[[Mapping[str, str], Any], Described]


def _describe_shopify(headers: Mapping[str, str], payload: Any) -> Described:
    return Described(shopify_headers(headers), None)


def _from_body(
    topic: str, shop: str, event_id: str | None = None, site: str | None = None
) -> Describe:
    """Marketplaces name the delivery in the body: which fields hold the topic, the shop, the
    push's own id (Shopee and Lazada send none: the body digest stands in, see the envelope)
    and, for Lazada, the country site."""

    def describe(headers: Mapping[str, str], payload: Any) -> Described:
        body = payload if isinstance(payload, dict) else {}
        return Described(
            DeliveryHeaders(
                topic=_text(body.get(topic)),
                event_id=_text(body.get(event_id)) if event_id else None,
                webhook_id=None,
                triggered_at=_iso_from_epoch(body.get("timestamp")),
                api_version=None,
                shop_domain=_text(body.get(site)) if site else None,
            ),
            _text(body.get(shop)),
        )

    return describe


@dataclass(frozen=True)
class WebhookScheme:
    """One platform's push channel: where the signature travels, what is signed, how the
    delivery is named, and which topics LinkStar ingests (others are counted, ignored)."""

    platform: str
    signature_header: str
    verify_signature: Callable[[Iterable[str], bytes, str | None], bool]
    signed_prefix: Callable[[SigningContext], bytes | None]
    describe: Describe
    handled_topics: frozenset[str]
    # Marketplaces sign with one secret per *app*, shared by every shop that installed it, so
    # a valid signature doesn't prove the delivery is for this store: the body's shop id must
    # match the store's external id too.
    check_shop: bool = False

    def verify(
        self,
        secrets: Iterable[str],
        context: SigningContext,
        body: bytes,
        headers: Mapping[str, str],
    ) -> bool:
        prefix = self.signed_prefix(context)
        if prefix is None:
            return False
        signature = _header(headers, self.signature_header)
        return self.verify_signature(secrets, prefix + body, signature)


def _no_prefix(context: SigningContext) -> bytes:
    return b""


def _app_key_prefix(context: SigningContext) -> bytes | None:
    return context.app_key.encode() if context.app_key else None


def _callback_prefix(context: SigningContext) -> bytes | None:
    # Shopee signs the URL exactly as it called it: the one stored when the store was connected.
    return (context.webhook_url + "|").encode() if context.webhook_url else None


# Topic names are the platforms' own: TikTok ``type``, Shopee ``code``, Lazada ``message_type``.
TIKTOK_TOPICS = frozenset({"1", "2", "11", "12"})
SHOPEE_TOPICS = frozenset({"3", "4"})
LAZADA_TOPICS = frozenset({"0", "10"})

SCHEMES: dict[str, WebhookScheme] = {
    "shopify": WebhookScheme(
        platform="shopify",
        signature_header="X-Shopify-Hmac-Sha256",
        verify_signature=verify_shopify_signature,
        signed_prefix=_no_prefix,
        describe=_describe_shopify,
        handled_topics=SHOPIFY_TOPICS,
    ),
    "tiktok_shop": WebhookScheme(
        platform="tiktok_shop",
        signature_header="Authorization",
        verify_signature=verify_hex_signature,
        signed_prefix=_app_key_prefix,
        describe=_from_body("type", "shop_id", event_id="tts_notification_id"),
        handled_topics=TIKTOK_TOPICS,
        check_shop=True,
    ),
    "shopee": WebhookScheme(
        platform="shopee",
        signature_header="Authorization",
        verify_signature=verify_hex_signature,
        signed_prefix=_callback_prefix,
        describe=_from_body("code", "shop_id"),
        handled_topics=SHOPEE_TOPICS,
        check_shop=True,
    ),
    "lazada": WebhookScheme(
        platform="lazada",
        signature_header="Authorization",
        verify_signature=verify_hex_signature,
        signed_prefix=_app_key_prefix,
        describe=_from_body("message_type", "seller_id", site="site"),
        handled_topics=LAZADA_TOPICS,
        check_shop=True,
    ),
}
