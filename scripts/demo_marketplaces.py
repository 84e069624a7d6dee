"""The marketplace half of the demo: TikTok Shop, Shopee, Lazada and Amazon orders.

A marketplace tells LinkStar about an order with notifications that carry its id and status but
no amounts; LinkStar then fetches the order from the platform's API (enrichment). So every order
here has two sides, built together so that they agree:

- the notifications the platform sends over the order's life, each body in the platform's
  documented shape, starting from the examples checked in under ``shared/fixtures/``: TikTok Shop
  type 1 (order status) and 11 (cancellation request); Shopee code 3 (order status), code 4
  (tracking number) and code 1 (shop authorisation); Lazada message_type 0 (trade order); Amazon
  SP-API ORDER_STATUS_CHANGE, ORDER_CHANGE and ANY_OFFER_CHANGED, which arrive through SQS;
- the order the platform's API answers afterwards (the ``seed``): its state after the last
  notification sent, with the same status word and update time, built with the local fake's
  documented-shape builders (``infra.local.marketplaces``). The demo seeds it into the fake
  before sending anything, so enrichment finds it whenever it asks.

Everything is a function of a seeded ``random.Random``: the same seed gives the same bytes.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from linkstar.platforms.marketplaces import AMAZON_BY_DOMAIN, AmazonMarketplace

from infra.local.marketplaces import (
    AMAZON,
    LAZADA,
    SHOPEE,
    TIKTOK,
    amazon_order,
    lazada_order,
    shopee_order,
    tiktok_order,
)

SHARED_DIR = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED_DIR / "fixtures"
PLATFORM_NAMES = {
    "shopify": "Shopify",
    TIKTOK: "TikTok Shop",
    SHOPEE: "Shopee",
    LAZADA: "Lazada",
    AMAZON: "Amazon",
}
MARKETPLACES = (TIKTOK, SHOPEE, LAZADA, AMAZON)

# Per-order rates of the life-cycle branches.
P_CANCEL = {TIKTOK: 0.05, SHOPEE: 0.05, LAZADA: 0.04, AMAZON: 0.04}
P_PAY_LATER = {TIKTOK: 0.15, SHOPEE: 0.35, LAZADA: 0.2}  # bank transfer, e-wallet top-up, COD
P_RETURN = 0.04  # Lazada: a delivered parcel sent back
OFFER_CHANGES_PER_ORDER = 0.03  # Amazon ANY_OFFER_CHANGED: a notification LinkStar doesn't use
LAZADA_SITE = "lazada_my"


# The Amazon store is one seller account (one SellerId) selling on three marketplaces, by the
# buyer's country: the MarketplaceId of each notification tells LinkStar the market and the
# currency.
AMAZON_SITES: dict[str, AmazonMarketplace] = {
    m.country: m for m in (AMAZON_BY_DOMAIN[d] for d in ("amazon.de", "amazon.fr", "amazon.co.uk"))
}
# The order API's ShipServiceLevel there (Amazon writes UK where ISO writes GB).
SHIP_SERVICE_LEVELS = {"DE": "Std DE Dom_1", "FR": "Std FR Dom_1", "GB": "Std UK Dom_1"}


@dataclass(frozen=True, slots=True)
class MarketplaceSpec:
    key: str
    platform: str
    name: str
    market: str  # ISO 3166-1 alpha-2: where the store sells
    currency: str
    timezone: str
    countries: tuple[tuple[str, float], ...]  # where its buyers live, with weights
    share: float  # of customers who buy there


MARKETPLACE_SPECS: tuple[MarketplaceSpec, ...] = (
    MarketplaceSpec("tiktok_gb", TIKTOK, "Acme TikTok UK", "GB", "GBP", "Europe/London",
                    (("GB", 1.0),), 0.11),
    MarketplaceSpec("shopee_sg", SHOPEE, "Acme Shopee SG", "SG", "SGD", "Asia/Singapore",
                    (("SG", 1.0),), 0.10),
    MarketplaceSpec("lazada_my", LAZADA, "Acme Lazada MY", "MY", "MYR", "Asia/Kuala_Lumpur",
                    (("MY", 1.0),), 0.12),
    MarketplaceSpec("amazon_eu", AMAZON, "Acme Amazon EU", "DE", "EUR", "Europe/Berlin",
                    (("DE", 0.6), ("FR", 0.2), ("GB", 0.2)), 0.05),
)  # fmt: skip

# The platform's status words this generator sends → LinkStar's canonical status, as the
# lifecycle table in the README documents it (kept here as ground truth, not imported).
CANONICAL: dict[str, dict[str, str]] = {
    TIKTOK: {
        "UNPAID": "pending",
        "AWAITING_SHIPMENT": "paid",
        "IN_TRANSIT": "fulfilled",
        "DELIVERED": "delivered",
        "CANCEL": "cancelled",  # the push's word
        "CANCELLED": "cancelled",  # the order API's word
    },
    SHOPEE: {
        "UNPAID": "pending",
        "READY_TO_SHIP": "paid",
        "IN_CANCEL": "paid",  # a buyer's request the seller may still reject
        "SHIPPED": "fulfilled",
        "COMPLETED": "delivered",
        "CANCELLED": "cancelled",
    },
    LAZADA: {
        "unpaid": "pending",
        "pending": "pending",
        "ready_to_ship": "paid",
        "shipped": "fulfilled",
        "delivered": "delivered",
        "returned": "refunded",
        "canceled": "cancelled",
    },
    AMAZON: {
        "Pending": "pending",
        "Unshipped": "paid",
        "Shipped": "fulfilled",
        "Canceled": "cancelled",
    },
}
# Where the order API's word differs from the push's.
API_WORDS = {(TIKTOK, "CANCEL"): "CANCELLED"}

Line = tuple[str, str, int, Decimal]  # (sku, title, quantity, unit price)


@dataclass(frozen=True, slots=True)
class Shop:
    """How a marketplace store is named in what the platform sends."""

    platform: str
    shop_id: str  # TikTok shop_id, Shopee shop_id, Lazada seller_id, Amazon SellerId
    application_id: str = ""  # Amazon: the app the notifications are for
    subscription_id: str = ""


@dataclass(frozen=True, slots=True)
class MarketOrder:
    """One marketplace order as the generator decided it (the canonical facts)."""

    platform: str
    order_id: str
    created: datetime  # aware, whole seconds
    lines: tuple[Line, ...]
    total: Decimal  # what the buyer pays: the lines (shipping is free, no voucher)
    currency: str
    country: str  # shipping destination
    city: str
    postal_code: str
    buyer_email: str | None = None  # TikTok and Amazon relay addresses
    buyer_id: str | None = None  # TikTok user_id, Shopee buyer_user_id
    marketplace_id: str | None = None  # Amazon


@dataclass(frozen=True, slots=True)
class Notice:
    """One notification, before serialisation."""

    at: datetime  # when the platform sent it
    topic: str  # TikTok type, Shopee code, Lazada message_type, Amazon NotificationType
    body: dict[str, Any]
    event_id: str | None  # TikTok / Amazon notification id; None: named by its body digest
    state_at: datetime | None = None  # the order state's time, for order status notices
    ignored: bool = False  # LinkStar acknowledges it and applies nothing (topic or status)


@dataclass(slots=True)
class MarketLife:
    notices: list[Notice]
    seed: dict[str, Any]  # {"order": ..., "items": [...]} as POST /_fake/orders takes them
    status: str  # the canonical status LinkStar must end with


# ---------------------------------------------------------------- fixtures and small helpers


@cache
def fixture(name: str) -> dict[str, Any]:
    # Callers copy before changing anything: the cached dict is shared.
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


def _amazon_time(at: datetime) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%dT%H:%M:%S}.000Z"


def _after(rng: random.Random, at: datetime, low: int, high: int) -> datetime:
    return at + timedelta(seconds=rng.randint(low, high))


def _sent(rng: random.Random, at: datetime) -> datetime:
    """Platforms push a second or so after the change they report."""
    return at + timedelta(seconds=rng.randint(0, 2))


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def canonical(platform: str, word: str, shipped: bool = False) -> str:
    status = CANONICAL[platform][word]
    # A pushed tracking number ships the order before the status push says so (Shopee).
    if shipped and status in ("pending", "paid"):
        return "fulfilled"
    return status


# ---------------------------------------------------------------- life cycles

Step = tuple[datetime, str, str]  # (when, kind, platform word); kind: status, tracking, ...


def _tiktok_steps(rng: random.Random, created: datetime) -> list[Step]:
    steps: list[Step] = [(created, "status", "UNPAID")]
    late = rng.random() < P_PAY_LATER[TIKTOK]
    paid = _after(rng, created, 3600, 30 * 3600) if late else _after(rng, created, 10, 900)
    if rng.random() < P_CANCEL[TIKTOK]:
        if late or rng.random() < 0.4:  # never paid: the platform cancels it
            steps.append((_after(rng, created, 2 * 3600, 40 * 3600), "status", "CANCEL"))
            return steps
        steps.append((paid, "status", "AWAITING_SHIPMENT"))
        asked = _after(rng, paid, 600, 6 * 3600)
        steps.append((asked, "cancel_request", "CANCELLATION_REQUEST_PENDING"))
        steps.append((_after(rng, asked, 600, 12 * 3600), "status", "CANCEL"))
        return steps
    steps.append((paid, "status", "AWAITING_SHIPMENT"))
    shipped = _after(rng, paid, 4 * 3600, 3 * 86400)
    steps.append((shipped, "status", "IN_TRANSIT"))
    steps.append((_after(rng, shipped, 86400, 5 * 86400), "status", "DELIVERED"))
    return steps


def _shopee_steps(rng: random.Random, created: datetime) -> list[Step]:
    steps: list[Step] = []
    late = rng.random() < P_PAY_LATER[SHOPEE]
    if late:
        steps.append((created, "status", "UNPAID"))
    paid = _after(rng, created, 600, 20 * 3600) if late else _after(rng, created, 5, 120)
    if rng.random() < P_CANCEL[SHOPEE]:
        if late and rng.random() < 0.5:  # never paid: the platform cancels it
            steps.append((_after(rng, created, 2 * 3600, 40 * 3600), "status", "CANCELLED"))
            return steps
        steps.append((paid, "status", "READY_TO_SHIP"))
        asked = _after(rng, paid, 600, 8 * 3600)
        steps.append((asked, "status", "IN_CANCEL"))
        steps.append((_after(rng, asked, 3600, 86400), "status", "CANCELLED"))
        return steps
    steps.append((paid, "status", "READY_TO_SHIP"))
    tracked = _after(rng, paid, 2 * 3600, 30 * 3600)
    steps.append((tracked, "tracking", ""))
    shipped = _after(rng, tracked, 2 * 3600, 86400)
    steps.append((shipped, "status", "SHIPPED"))
    steps.append((_after(rng, shipped, 2 * 86400, 8 * 86400), "status", "COMPLETED"))
    return steps


def _lazada_steps(rng: random.Random, created: datetime) -> list[Step]:
    steps: list[Step] = []
    late = rng.random() < P_PAY_LATER[LAZADA]
    if late:
        steps.append((created, "status", "unpaid"))
    pending = _after(rng, created, 600, 20 * 3600) if late else _after(rng, created, 0, 60)
    steps.append((pending, "status", "pending"))
    if rng.random() < P_CANCEL[LAZADA]:
        steps.append((_after(rng, pending, 3600, 2 * 86400), "status", "canceled"))
        return steps
    packed = _after(rng, pending, 2 * 3600, 2 * 86400)
    steps.append((packed, "status", "ready_to_ship"))
    shipped = _after(rng, packed, 2 * 3600, 86400)
    steps.append((shipped, "status", "shipped"))
    delivered = _after(rng, shipped, 86400, 6 * 86400)
    steps.append((delivered, "status", "delivered"))
    if rng.random() < P_RETURN:
        steps.append((_after(rng, delivered, 2 * 86400, 14 * 86400), "status", "returned"))
    return steps


def _amazon_steps(rng: random.Random, created: datetime) -> list[Step]:
    steps: list[Step] = [(created, "status", "Pending")]
    authorised = _after(rng, created, 60, 2400)
    if rng.random() < P_CANCEL[AMAZON]:
        if rng.random() < 0.3:  # the payment was declined
            steps.append((_after(rng, created, 3600, 20 * 3600), "status", "Canceled"))
            return steps
        steps.append((authorised, "status", "Unshipped"))
        asked = _after(rng, authorised, 600, 10 * 3600)
        steps.append((asked, "buyer_cancel", "Unshipped"))
        steps.append((_after(rng, asked, 600, 8 * 3600), "status", "Canceled"))
        return steps
    steps.append((authorised, "status", "Unshipped"))
    steps.append((_after(rng, authorised, 6 * 3600, 60 * 3600), "status", "Shipped"))
    return steps


_STEPS: dict[str, Callable[[random.Random, datetime], list[Step]]] = {
    TIKTOK: _tiktok_steps,
    SHOPEE: _shopee_steps,
    LAZADA: _lazada_steps,
    AMAZON: _amazon_steps,
}


def life(rng: random.Random, shop: Shop, order: MarketOrder, end: datetime) -> MarketLife:
    """The notifications of one order sent before ``end`` and the order its API answers then."""
    steps = [s for s in _STEPS[order.platform](rng, order.created) if s[0] < end]
    states = [s for s in steps if s[1] in ("status", "buyer_cancel")]
    if not states:
        raise ValueError(f"{order.platform} order {order.order_id} has no state before {end}")
    last_at, _, word = states[-1]
    shipped = any(kind == "tracking" for _, kind, _ in steps)
    seed = _seed(order, API_WORDS.get((order.platform, word), word), last_at)
    status = canonical(order.platform, word, shipped)
    if status == "pending" and order.platform in (SHOPEE, AMAZON):
        # Neither API gives amounts before payment: enrichment would wait for ever.
        raise ValueError(f"{order.platform} order {order.order_id} would end unpaid")
    notices = [_notice(rng, shop, order, seed, at, kind, w) for at, kind, w in steps]
    return MarketLife(notices, seed, status)


def _notice(
    rng: random.Random,
    shop: Shop,
    order: MarketOrder,
    seed: dict[str, Any],
    at: datetime,
    kind: str,
    word: str,
) -> Notice:
    sent = _sent(rng, at)
    if order.platform == TIKTOK:
        if kind == "cancel_request":
            body = tiktok_cancellation(rng, shop.shop_id, sent, order.order_id, word, at)
            return Notice(sent, "11", body, body["tts_notification_id"], ignored=True)
        body = tiktok_status(rng, shop.shop_id, sent, order.order_id, word, at)
        return Notice(sent, "1", body, body["tts_notification_id"], at)
    if order.platform == SHOPEE:
        if kind == "tracking":
            body = shopee_tracking(rng, int(shop.shop_id), sent, order.order_id)
            return Notice(sent, "4", body, None)
        body = shopee_status(int(shop.shop_id), sent, order.order_id, word, at)
        return Notice(sent, "3", body, None, at)
    if order.platform == LAZADA:
        line_id = str(seed["items"][0]["order_item_id"])
        body = lazada_trade_order(rng, shop.shop_id, sent, order.order_id, line_id, word, at)
        return Notice(sent, "0", body, None, at)
    if kind == "buyer_cancel":
        body = amazon_order_change(rng, shop, sent, order, seed, word, at)
        return Notice(sent, "ORDER_CHANGE", body, amazon_notification_id(body), at)
    body = amazon_status_change(rng, shop, sent, order, seed, word, at)
    return Notice(sent, "ORDER_STATUS_CHANGE", body, amazon_notification_id(body), at)


# ---------------------------------------------------------------- the orders the APIs answer


def _seed(order: MarketOrder, word: str, updated: datetime) -> dict[str, Any]:
    lines = list(order.lines)
    if order.platform == TIKTOK:
        return tiktok_order(
            order.order_id,
            lines,
            status=word,
            currency=order.currency,
            region_code=order.country,
            postal_code=order.postal_code,
            user_id=order.buyer_id or "",
            buyer_email=order.buyer_email,
            created_at=order.created,
            updated_at=updated,
        )
    if order.platform == SHOPEE:
        seed = shopee_order(
            order.order_id,
            lines,
            status=word,
            currency=order.currency,
            region=order.country,
            buyer_user_id=int(order.buyer_id or 0),
            created_at=order.created,
            updated_at=updated,
        )
        seed["order"]["recipient_address"].update(city=order.city, zipcode=order.postal_code)
        return seed
    if order.platform == LAZADA:
        seed = lazada_order(
            order.order_id,
            lines,
            status=word,
            site=LAZADA_SITE,
            currency=order.currency,
            created_at=order.created,
            updated_at=updated,
        )
        seed["order"]["address_shipping"].update(
            country="Malaysia", city=order.city, post_code=order.postal_code
        )
        for item in seed["items"]:
            item["shop_sku"] = f"{item['sku']}-MY"
        return seed
    seed = amazon_order(
        order.order_id,
        lines,
        status=word,
        marketplace_id=order.marketplace_id or "",
        currency=order.currency,
        country=order.country,
        postal_code=order.postal_code,
        buyer_email=order.buyer_email,
        created_at=order.created,
        updated_at=updated,
    )
    seed["order"].update(
        SalesChannel="Amazon" + AMAZON_SITES[order.country].domain.removeprefix("amazon"),
        ShipServiceLevel=SHIP_SERVICE_LEVELS[order.country],
    )
    seed["order"]["ShippingAddress"].update(City=order.city, StateOrRegion=None)
    return seed


# ---------------------------------------------------------------- notification bodies


def _tiktok_notification_id(rng: random.Random) -> str:
    return str(rng.randint(7_300_000_000_000_000_000, 7_399_999_999_999_999_999))


def tiktok_status(
    rng: random.Random, shop_id: str, sent: datetime, order_id: str, word: str, at: datetime
) -> dict[str, Any]:
    """Type 1, order status change (shared/fixtures/tiktok_shop/order_status_change.json)."""
    template = fixture("tiktok_shop/order_status_change.json")
    return {
        **template,
        "tts_notification_id": _tiktok_notification_id(rng),
        "shop_id": shop_id,
        "timestamp": _epoch(sent),
        "data": {
            **template["data"],
            "order_id": order_id,
            "order_status": word,
            "is_on_hold_order": False,
            "update_time": _epoch(at),
        },
    }


def tiktok_cancellation(
    rng: random.Random, shop_id: str, sent: datetime, order_id: str, word: str, at: datetime
) -> dict[str, Any]:
    """Type 11, cancellation status change: the same envelope; ``data`` names the request's
    status and who asked (a pending request is acknowledged and not applied by LinkStar)."""
    return {
        "type": 11,
        "tts_notification_id": _tiktok_notification_id(rng),
        "shop_id": shop_id,
        "timestamp": _epoch(sent),
        "data": {
            "order_id": order_id,
            "cancellations_role": "BUYER",
            "cancel_status": word,
            "create_time": _epoch(at),
        },
    }


def shopee_status(
    shop_id: int, sent: datetime, ordersn: str, word: str, at: datetime
) -> dict[str, Any]:
    """Code 3, order status push."""
    return {
        "shop_id": shop_id,
        "code": 3,
        "timestamp": _epoch(sent),
        "data": {"ordersn": ordersn, "status": word, "update_time": _epoch(at)},
    }


def shopee_tracking(
    rng: random.Random, shop_id: int, sent: datetime, ordersn: str
) -> dict[str, Any]:
    """Code 4, tracking number push: the carrier's number for the order's one package."""
    tracking = "SPXSG" + "".join(rng.choices("0123456789", k=12))
    package = "OFG" + "".join(rng.choices("0123456789", k=15))
    return {
        "shop_id": shop_id,
        "code": 4,
        "timestamp": _epoch(sent),
        "data": {"ordersn": ordersn, "package_number": package, "tracking_no": tracking},
    }


def shopee_authorization(shop_id: int, sent: datetime) -> dict[str, Any]:
    """Code 1, shop authorisation (shared/fixtures/shopee/...): sent when the seller connects
    the app; LinkStar doesn't ingest it."""
    return {
        **fixture("shopee/shop_authorization_push_doc_example.json"),
        "shop_id": shop_id,
        "extra": f"shop_id {shop_id} is authorized successfully",
        "timestamp": _epoch(sent),
    }


def lazada_trade_order(
    rng: random.Random,
    seller_id: str,
    sent: datetime,
    order_id: str,
    line_id: str,
    word: str,
    at: datetime,
) -> dict[str, Any]:
    """message_type 0, trade order status (shared/fixtures/lazada/reverse_order_notification.json
    is the ``returned`` case; other statuses name no reverse order)."""
    template = fixture("lazada/reverse_order_notification.json")
    data: dict[str, Any] = {"order_status": word}
    if word == "returned":
        reverse = str(rng.randint(501_000_000_000_000, 501_999_999_999_999))
        data.update(reverse_order_id=reverse, reverse_order_line_id=str(int(reverse) + 1))
    data.update(status_update_time=_epoch(at), trade_order_id=order_id, trade_order_line_id=line_id)
    return {
        **template,
        "seller_id": seller_id,
        "data": data,
        "timestamp": _epoch(sent) * 1000 + rng.randint(0, 999),
        "site": LAZADA_SITE,
    }


def _amazon_envelope(
    rng: random.Random, shop: Shop, template: dict[str, Any], sent: datetime, at: datetime
) -> dict[str, Any]:
    return {
        **template,
        "EventTime": _amazon_time(at),
        "NotificationMetadata": {
            "ApplicationId": shop.application_id,
            "SubscriptionId": shop.subscription_id,
            "PublishTime": _amazon_time(sent),
            "NotificationId": new_uuid(rng),
        },
    }


def amazon_notification_id(body: dict[str, Any]) -> str:
    return str(body["NotificationMetadata"]["NotificationId"])


def amazon_status_change(
    rng: random.Random,
    shop: Shop,
    sent: datetime,
    order: MarketOrder,
    seed: dict[str, Any],
    word: str,
    at: datetime,
) -> dict[str, Any]:
    """ORDER_STATUS_CHANGE (shared/fixtures/amazon_sp/order_status_change.json): names the
    order's first item; PurchaseDate in epoch milliseconds, as in the schema's example."""
    template = fixture("amazon_sp/order_status_change.json")
    item = seed["items"][0]
    note = {
        **template["Payload"]["OrderStatusChangeNotification"],
        "SellerId": shop.shop_id,
        "MarketplaceId": order.marketplace_id,
        "AmazonOrderId": order.order_id,
        "PurchaseDate": _epoch(order.created) * 1000,
        "OrderStatus": word,
        "DestinationPostalCode": order.postal_code,
        "SupplySourceId": None,
        "OrderItemId": item["OrderItemId"],
        "SellerSKU": item["SellerSKU"],
        "Quantity": item["QuantityOrdered"],
        "FulfillmentChannel": "MFN",
    }
    body = _amazon_envelope(rng, shop, template, sent, at)
    body["Payload"] = {"OrderStatusChangeNotification": note}
    return body


def amazon_order_change(
    rng: random.Random,
    shop: Shop,
    sent: datetime,
    order: MarketOrder,
    seed: dict[str, Any],
    word: str,
    at: datetime,
) -> dict[str, Any]:
    """ORDER_CHANGE for a buyer's cancellation request (shared/fixtures/amazon_sp/
    order_change.json is that very case): the order is still Unshipped; Canceled follows."""
    template = fixture("amazon_sp/order_change.json")
    note = template["Payload"]["OrderChangeNotification"]
    summary = note["Summary"]
    items = [
        {
            **summary["OrderItems"][0],
            "OrderItemId": item["OrderItemId"],
            "SellerSKU": item["SellerSKU"],
            "SupplySourceId": None,
            "OrderItemStatus": word,
            "Quantity": item["QuantityOrdered"],
            "QuantityShipped": 0,
            "IsBuyerRequestedCancel": True,
        }
        for item in seed["items"]
    ]
    units = sum(item["QuantityOrdered"] for item in seed["items"])
    latest = order.created + timedelta(days=7)
    body = _amazon_envelope(rng, shop, template, sent, at)
    body["Payload"] = {
        "OrderChangeNotification": {
            **note,
            "SellerId": shop.shop_id,
            "AmazonOrderId": order.order_id,
            "OrderChangeTrigger": {
                "TimeOfOrderChange": _amazon_time(at),
                "ChangeReason": "Buyer Requested Cancel",
            },
            "Summary": {
                **summary,
                "MarketplaceId": order.marketplace_id,
                "OrderStatus": word,
                "PurchaseDate": _amazon_time(order.created),
                "DestinationPostalCode": order.postal_code,
                "OrderPrograms": [],
                "ShippingPrograms": [],
                "EasyShipShipmentStatus": None,
                "NumberOfItemsShipped": 0,
                "NumberOfItemsUnshipped": units,
                "EarliestDeliveryDate": _amazon_time(order.created + timedelta(days=2)),
                "LatestDeliveryDate": _amazon_time(latest),
                "EarliestShipDate": _amazon_time(order.created),
                "LatestShipDate": _amazon_time(order.created + timedelta(days=2)),
                "CancelNotifyDate": _amazon_time(latest),
                "OrderItems": items,
            },
        }
    }
    return body


def amazon_offer_changed(
    rng: random.Random,
    shop: Shop,
    at: datetime,
    marketplace_id: str,
    asin: str,
    currency: str,
) -> dict[str, Any]:
    """ANY_OFFER_CHANGED (shared/fixtures/amazon_sp/any_offer_changed.json, its offers and
    prices kept, in the marketplace's currency): another seller changed a price on one of our
    listings. LinkStar routes it by SellerId and counts it as a topic it doesn't ingest."""
    template = fixture("amazon_sp/any_offer_changed.json")
    note = template["Payload"]["AnyOfferChangedNotification"]
    body = _amazon_envelope(rng, shop, template, at, at)
    body["Payload"] = {
        "AnyOfferChangedNotification": {
            **_in_currency(note, currency),
            "SellerId": shop.shop_id,
            "OfferChangeTrigger": {
                **note["OfferChangeTrigger"],
                "MarketplaceId": marketplace_id,
                "ASIN": asin,
                "TimeOfOfferChange": _amazon_time(at),
            },
        }
    }
    return body


def _in_currency(node: Any, currency: str) -> Any:
    if isinstance(node, dict):
        out = {k: _in_currency(v, currency) for k, v in node.items()}
        if "CurrencyCode" in out:
            out["CurrencyCode"] = currency
        return out
    if isinstance(node, list):
        return [_in_currency(v, currency) for v in node]
    return node
