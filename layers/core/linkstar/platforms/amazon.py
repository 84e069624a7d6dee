"""Amazon SP-API adapter: a notification (the SQS message body) → a canonical change.

Amazon writes notifications to our SQS queue itself: the body is the notification JSON
``{"NotificationVersion", "NotificationType", "PayloadVersion", "EventTime", "Payload",
"NotificationMetadata": {"PublishTime", "NotificationId", …}}`` (selling-partner-api-models,
``schemas/notifications``). The topic is ``NotificationType``. Order notifications carry a status
and item ids, no amounts, so they become *status-only* snapshots (``amounts_pending=True``, zero
totals and prices in the marketplace's currency) that ``linkstar.orders.state.combine`` applies to
a known order without erasing its details; the processor asks enrichment to fetch the order.

| topic (NotificationType)           | Payload read                    | change            |
|------------------------------------|---------------------------------|-------------------|
| ORDER_CHANGE                       | OrderChangeNotification         | OrderSnapshot     |
| ORDER_STATUS_CHANGE                | OrderStatusChangeNotification   | OrderSnapshot     |
| FBA_INVENTORY_AVAILABILITY_CHANGES | the Payload itself (no wrapper) | InventorySnapshot |

Fields read: ORDER_CHANGE ``AmazonOrderId``, ``Summary.{OrderStatus, MarketplaceId, PurchaseDate,
FulfillmentType, OrderItems[].{OrderItemId, SellerSKU, Quantity}}``, ``OrderChangeTrigger.
{TimeOfOrderChange, ChangeReason}``; ORDER_STATUS_CHANGE ``AmazonOrderId, OrderStatus,
MarketplaceId, PurchaseDate, OrderItemId, SellerSKU, Quantity, FulfillmentChannel``; FBA inventory
``SKU, ASIN, FNSKU, FulfillmentInventoryByMarketplace[]``.

Orders: ``status`` through the lifecycle's Amazon table (``platform_status`` keeps the word);
``market`` and ``currency`` from ``MarketplaceId`` (``marketplaces.amazon_marketplace``; an
unknown id is invalid). ``updated_at`` is ``TimeOfOrderChange`` (ORDER_CHANGE; null when Amazon
has none), else ``EventTime``, else ``NotificationMetadata.PublishTime``. ``created_at`` is
``PurchaseDate`` (ISO 8601 in ORDER_CHANGE, epoch milliseconds in ORDER_STATUS_CHANGE; both read,
null allowed), else ``updated_at``. Items become line items with zero prices (``line_id`` is
``OrderItemId``, ``sku`` is ``SellerSKU``); ORDER_STATUS_CHANGE names one item. ``source_name`` is
the fulfilment channel (AFN or MFN). A cancelled order's ``cancel_reason`` is ``ChangeReason``.

Inventory: one level per ``FulfillmentInventoryByMarketplace`` entry, ``inbound`` the sum of
``InboundQuantityBreakdown`` (Working, Shipped, Receiving), ``reserved`` the sum of
``ReservedQuantityBreakdown``; ``updated_at`` is ``EventTime`` (else ``PublishTime``).

Other notification types raise ``unsupported_topic``. ``seller_id``, ``notification_id`` and
``event_time`` read the envelope without validating it (stdlib only: used before dedupe).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from linkstar import money
from linkstar.errors import PermanentError
from linkstar.orders.lifecycle import canonical_status
from linkstar.orders.models import (
    Change,
    InventoryLevel,
    InventorySnapshot,
    LineItem,
    Order,
    OrderSnapshot,
    OrderStatus,
    Platform,
)
from linkstar.platforms import _payload
from linkstar.platforms._adapter import reading, status_only
from linkstar.platforms.marketplaces import AmazonMarketplace, amazon_marketplace
from linkstar.stores.models import Store

ORDER_CHANGE = "ORDER_CHANGE"
ORDER_STATUS_CHANGE = "ORDER_STATUS_CHANGE"
FBA_INVENTORY = "FBA_INVENTORY_AVAILABILITY_CHANGES"
TOPICS = frozenset({ORDER_CHANGE, ORDER_STATUS_CHANGE, FBA_INVENTORY})


# ------------------------------------------------------------------ envelope (stdlib only)


def seller_id(payload: Any) -> str | None:
    """The SellerId: inside the Payload's one notification object (``OrderChangeNotification``,
    ``OrderStatusChangeNotification``…), or directly in ``Payload`` (FBA inventory)."""
    inner = payload.get("Payload") if isinstance(payload, dict) else None
    if not isinstance(inner, dict):
        return None
    if isinstance(inner.get("SellerId"), str) and inner["SellerId"]:
        return str(inner["SellerId"])
    for value in inner.values():
        if isinstance(value, dict) and isinstance(value.get("SellerId"), str):
            return str(value["SellerId"]) or None
    return None


def notification_id(payload: Any) -> str | None:
    metadata = payload.get("NotificationMetadata") if isinstance(payload, dict) else None
    value = metadata.get("NotificationId") if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and value else None


def event_time(payload: Any) -> str | None:
    """``EventTime``, else ``NotificationMetadata.PublishTime`` (ISO 8601, as Amazon wrote it)."""
    if not isinstance(payload, dict):
        return None
    value = payload.get("EventTime")
    if isinstance(value, str) and value:
        return value
    metadata = payload.get("NotificationMetadata")
    value = metadata.get("PublishTime") if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and value else None


# ------------------------------------------------------------------ normalise


def normalise(topic: str, payload: Any, store: Store | None = None) -> Change:
    """``store`` is unused: the MarketplaceId names the market and currency."""
    if topic not in TOPICS:
        raise PermanentError(f"topic {topic!r} is not ingested", code="unsupported_topic")
    with reading(f"amazon {topic}", topic):
        body = _payload.obj(payload, "body")
        kind = body.get("NotificationType")
        if kind is not None and kind != topic:
            raise ValueError(f"NotificationType {kind!r} does not match topic {topic!r}")
        inner = _payload.obj(body.get("Payload"), "Payload")
        if topic == FBA_INVENTORY:
            return _inventory(body, inner)
        if topic == ORDER_CHANGE:
            return OrderSnapshot(order=_order_change(body, inner))
        return OrderSnapshot(order=_order_status_change(body, inner))


def _order_change(body: dict[str, Any], inner: dict[str, Any]) -> Order:
    note = _payload.obj(inner.get("OrderChangeNotification"), "Payload.OrderChangeNotification")
    summary = _payload.obj(note.get("Summary"), "OrderChangeNotification.Summary")
    trigger = note.get("OrderChangeTrigger")
    trigger = trigger if isinstance(trigger, dict) else {}
    changed = trigger.get("TimeOfOrderChange")
    at = (
        _iso(changed, "OrderChangeTrigger.TimeOfOrderChange")
        if changed is not None
        else _notified_at(body)
    )
    items = summary.get("OrderItems")
    if items is not None and not isinstance(items, list):
        raise ValueError("Summary.OrderItems is not a list")
    return _order(
        order_id=_text(note, "AmazonOrderId", "OrderChangeNotification"),
        raw_status=_text(summary, "OrderStatus", "Summary"),
        marketplace_id=_text(summary, "MarketplaceId", "Summary"),
        purchased=summary.get("PurchaseDate"),
        at=at,
        items=[_payload.obj(item, "Summary.OrderItems[]") for item in items or ()],
        channel=summary.get("FulfillmentType"),
        reason=trigger.get("ChangeReason"),
    )


def _order_status_change(body: dict[str, Any], inner: dict[str, Any]) -> Order:
    where = "OrderStatusChangeNotification"
    note = _payload.obj(inner.get(where), f"Payload.{where}")
    item: dict[str, Any] = {
        k: note[k] for k in ("OrderItemId", "SellerSKU", "Quantity") if k in note
    }
    return _order(
        order_id=_text(note, "AmazonOrderId", where),
        raw_status=_text(note, "OrderStatus", where),
        marketplace_id=_text(note, "MarketplaceId", where),
        purchased=note.get("PurchaseDate"),
        at=_notified_at(body),
        items=[item] if item.get("OrderItemId") else [],
        channel=note.get("FulfillmentChannel"),
        reason=None,
    )


def _order(
    *,
    order_id: str,
    raw_status: str,
    marketplace_id: str,
    purchased: Any,
    at: datetime,
    items: list[dict[str, Any]],
    channel: Any,
    reason: Any,
) -> Order:
    marketplace = _marketplace(marketplace_id)
    status = canonical_status(Platform.AMAZON, raw_status)
    zero = money.quantize(Decimal(0), marketplace.currency)
    cancelled = status is OrderStatus.CANCELLED
    return status_only(
        Platform.AMAZON,
        order_id,
        status,
        raw_status,
        at,
        marketplace.country,
        marketplace.currency,
        line_items=tuple(_line_item(item, zero) for item in items),
        created_at=_purchase_date(purchased) or at,
        cancel_reason=str(reason) if cancelled and isinstance(reason, str) and reason else None,
        source_name=channel if isinstance(channel, str) and channel else None,
    )


def _line_item(item: dict[str, Any], zero: Decimal) -> LineItem:
    quantity = item.get("Quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise ValueError(f"order item Quantity is not a count: {quantity!r}")
    sku = item.get("SellerSKU")
    return LineItem(
        line_id=_text(item, "OrderItemId", "order item"),
        sku=sku if isinstance(sku, str) and sku else None,
        title="",  # notifications name no product title: enrichment fills it in
        quantity=quantity,
        unit_price=zero,
        total=zero,
    )


def _inventory(body: dict[str, Any], inner: dict[str, Any]) -> InventorySnapshot:
    at = _notified_at(body)
    sku = _text(inner, "SKU", "Payload")
    entries = inner.get("FulfillmentInventoryByMarketplace")
    if not isinstance(entries, list):
        raise ValueError("Payload.FulfillmentInventoryByMarketplace is not a list")
    asin, fnsku = inner.get("ASIN"), inner.get("FNSKU")
    levels = []
    for raw in entries:
        entry = _payload.obj(raw, "FulfillmentInventoryByMarketplace[]")
        marketplace = _marketplace(_text(entry, "MarketplaceId", "inventory entry"))
        stock = _payload.obj(entry.get("FulfillmentInventory"), "FulfillmentInventory")
        title = entry.get("ItemName")
        levels.append(
            InventoryLevel(
                sku=sku,
                market=marketplace.country,
                marketplace_id=marketplace.marketplace_id,
                product_id=asin if isinstance(asin, str) and asin else None,
                fnsku=fnsku if isinstance(fnsku, str) and fnsku else None,
                title=title if isinstance(title, str) and title else None,
                fulfillable=_count(stock, "Fulfillable"),
                unfulfillable=_count(stock, "Unfulfillable"),
                inbound=_breakdown(stock, "InboundQuantityBreakdown"),
                reserved=_breakdown(stock, "ReservedQuantityBreakdown"),
                researching=_count(stock, "Researching"),
                updated_at=at,
            )
        )
    return InventorySnapshot(levels=tuple(levels))


# ------------------------------------------------------------------ helpers


def _text(obj: dict[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}.{key} is missing or not a string: {value!r}")
    return value


def _marketplace(marketplace_id: str) -> AmazonMarketplace:
    marketplace = amazon_marketplace(marketplace_id)
    if marketplace is None:
        raise PermanentError(
            f"amazon: unknown marketplace {marketplace_id!r}", code="invalid_payload"
        )
    return marketplace


def _count(stock: dict[str, Any], key: str) -> int:
    value = stock.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"FulfillmentInventory.{key} is not an integer: {value!r}")
    return value


def _breakdown(stock: dict[str, Any], key: str) -> int:
    parts = stock.get(key) or {}
    if not isinstance(parts, dict):
        raise ValueError(f"FulfillmentInventory.{key} is not a JSON object")
    total = 0
    for name, value in parts.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{key}.{name} is not an integer: {value!r}")
        total += value
    return total


def _notified_at(body: dict[str, Any]) -> datetime:
    """``EventTime``, else ``PublishTime``: unlike :func:`event_time`, malformed is an error."""
    if body.get("EventTime") is not None:
        return _iso(body["EventTime"], "EventTime")
    metadata = body.get("NotificationMetadata")
    published = metadata.get("PublishTime") if isinstance(metadata, dict) else None
    if published is None:
        raise ValueError("neither EventTime nor NotificationMetadata.PublishTime is set")
    return _iso(published, "NotificationMetadata.PublishTime")


def _iso(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is not an ISO 8601 time: {value!r}")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"{name} has no UTC offset: {value!r}")
    return moment.astimezone(UTC)


_MAX_MILLISECONDS = 253402300799 * 1000  # 9999-12-31T23:59:59Z


def _purchase_date(value: Any) -> datetime | None:
    """ISO 8601 (ORDER_CHANGE) or epoch milliseconds (ORDER_STATUS_CHANGE); null → None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return _iso(value, "PurchaseDate")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_MILLISECONDS:
        raise ValueError(f"PurchaseDate is neither ISO 8601 nor epoch milliseconds: {value!r}")
    return _payload.epoch(value, "PurchaseDate")
