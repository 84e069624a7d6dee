"""TikTok Shop adapter: a verified push body → a canonical change.

TikTok pushes an order's id and status, never its amounts, so every change here is a
*status-only* snapshot (``amounts_pending=True``, totals zero in the store's currency):
``linkstar.orders.state.combine`` lets it move the status of an order whose details are known
without erasing them, and the processor asks enrichment to fetch the order.

Body: ``{"type": 1, "tts_notification_id", "shop_id", "timestamp": <epoch s>, "data": {…}}``
(TikTok Shop Partner Center, "Webhooks"). The topic is ``str(type)``.

| topic | TikTok push                | data read                                    | change    |
|-------|----------------------------|----------------------------------------------|-----------|
| 1     | Order status change        | order_id, order_status, update_time          | lifecycle |
| 2     | Reverse status update (v1) | order_id, reverse_order_status, reverse_type | final     |
| 11    | Cancellation status change | order_id, cancel_status                      | final     |
| 12    | Return status change       | order_id, return_status, update_time         | final     |

("final": only a final outcome is applied, see the second table.) ``updated_at`` is
``data.update_time`` when sent, else the push ``timestamp`` (type 11 sends only ``create_time``:
when the *request* was made, not when it changed). ``created_at`` is the same placeholder, which
enrichment replaces. ``market`` and ``currency`` come from the store.

Return and cancellation events are mapped only where the outcome is final. A request still in
progress (or closed without effect) can't be represented without knowing the order's current
status, and a guess could move it backwards, so it is acknowledged and not applied:
:func:`normalise` raises ``IgnoredEvent``, which the processor counts as ignored. A word in
neither list raises ``unknown_status``.

``platform_status`` is the platform's word behind ``cancel:`` (11), ``return:`` (12) or
``reverse:`` (2), e.g. ``return:RETURN_OR_REFUND_REQUEST_COMPLETE``.

| topic | platform word                                                    | canonical |
|-------|------------------------------------------------------------------|-----------|
| 11    | CANCELLATION_REQUEST_SUCCESS (accepted by seller or system)      | cancelled |
| 11    | CANCELLATION_REQUEST_COMPLETE (cancelled, refund issued)         | cancelled |
| 11    | CANCELLATION_REQUEST_PENDING, CANCELLATION_REQUEST_CANCELLED     | ignored   |
| 12    | RETURN_OR_REFUND_REQUEST_COMPLETE                                | refunded  |
| 12    | REPLACEMENT_REQUEST_REFUND_SUCCESS (refund instead of replacing) | refunded  |
| 12    | RETURN_OR_REFUND_REQUEST_PENDING, _SUCCESS, _CANCEL              | ignored   |
| 12    | REFUND_OR_RETURN_REQUEST_REJECT, REJECT_RECEIVE_PACKAGE          | ignored   |
| 12    | AWAITING_BUYER_SHIP, BUYER_SHIPPED_ITEM                          | ignored   |
| 12    | REPLACEMENT_REQUEST_PENDING, _REJECT, _CANCEL, _COMPLETE         | ignored   |
| 2     | 51 CANCEL_SUCCESS; 100 COMPLETE with reverse_type 1, 4 (cancel)  | cancelled |
| 2     | 50 AFTERSALE_SUCCESS; 100 COMPLETE with reverse_type 2, 3        | refunded  |
| 2     | 1-5 (applying … seller rejected the parcel), 99 CLOSED           | ignored   |

A completed return may cover only some lines, so ``refunded`` is provisional: the processor
refetches an order whose status changes to refunded or cancelled, and the fetched order (the
platform's own status, with amounts) supersedes the guess when it is newer. Type 2 is TikTok's
legacy (API v1) reverse push; its numeric enum is the one TikTok's v1 SDKs publish. The Partner
Center now documents 11 and 12 instead.
"""

from __future__ import annotations

from typing import Any

from linkstar.errors import IgnoredEvent, PermanentError
from linkstar.orders.lifecycle import canonical_status
from linkstar.orders.models import Change, OrderSnapshot, OrderStatus, Platform
from linkstar.platforms import _payload
from linkstar.platforms._adapter import final_outcome, reading, status_only, store_market
from linkstar.stores.models import Store

TOPICS = frozenset({"1", "2", "11", "12"})

_C, _R = OrderStatus.CANCELLED, OrderStatus.REFUNDED
# Reverse-event words → canonical status, or None: known, not final, acknowledged and ignored.
CANCEL_STATUSES: dict[str, OrderStatus | None] = {
    "CANCELLATION_REQUEST_PENDING": None,
    "CANCELLATION_REQUEST_SUCCESS": _C,
    "CANCELLATION_REQUEST_CANCELLED": None,
    "CANCELLATION_REQUEST_CANCEL": None,  # the spelling of the Search Cancellations API
    "CANCELLATION_REQUEST_COMPLETE": _C,
}
RETURN_STATUSES: dict[str, OrderStatus | None] = {
    "RETURN_OR_REFUND_REQUEST_PENDING": None,
    "REFUND_OR_RETURN_REQUEST_REJECT": None,
    "AWAITING_BUYER_SHIP": None,
    "BUYER_SHIPPED_ITEM": None,
    "REJECT_RECEIVE_PACKAGE": None,
    # Accepted, or refund issued for a return not yet complete: COMPLETE follows.
    "RETURN_OR_REFUND_REQUEST_SUCCESS": None,
    "RETURN_OR_REFUND_REQUEST_CANCEL": None,
    "RETURN_OR_REFUND__REQUEST_CANCELLED": None,  # sic: the doc's trigger list spells it so
    "RETURN_OR_REFUND_REQUEST_COMPLETE": _R,
    "REPLACEMENT_REQUEST_PENDING": None,
    "REPLACEMENT_REQUEST_REJECT": None,
    "REPLACEMENT_REQUEST_REFUND_SUCCESS": _R,  # the seller refunds instead of replacing
    "REPLACEMENT_REQUEST_CANCEL": None,
    "REPLACEMENT_REQUEST_COMPLETE": None,  # a replacement ships: nothing refunded
}
# Type 2 (legacy): reverse_order_status → its name.
LEGACY_REVERSE_STATUSES = {
    1: "AFTERSALE_APPLYING",
    2: "AFTERSALE_REJECT_APPLICATION",
    3: "AFTERSALE_RETURNING",
    4: "AFTERSALE_BUYER_SHIPPED",
    5: "AFTERSALE_SELLER_REJECT_RECEIVE",
    50: "AFTERSALE_SUCCESS",
    51: "CANCEL_SUCCESS",
    99: "CLOSED",
    100: "COMPLETE",
}
_LEGACY_CANCEL_TYPES = frozenset({1, 4})  # CANCEL, REQUEST_CANCEL
_LEGACY_REFUND_TYPES = frozenset({2, 3})  # REFUND_ONLY, RETURN_AND_REFUND


def normalise(topic: str, payload: Any, store: Store | None = None) -> Change:
    """``store`` gives the market and currency (TikTok bodies carry neither)."""
    if topic not in TOPICS:
        raise PermanentError(f"topic {topic!r} is not ingested", code="unsupported_topic")
    with reading(f"tiktok_shop type {topic}", topic):
        body = _payload.obj(payload, "body")
        _same_type(body, topic)
        data = _payload.obj(body.get("data"), "data")
        order_id = _payload.ident(data, "order_id")
        if "update_time" in data:
            at = _payload.epoch(data["update_time"], "data.update_time")
        else:
            at = _payload.epoch(body.get("timestamp"), "timestamp")
        if topic == "1":
            raw = _payload.word(data, "order_status")
            status, platform_status = canonical_status(Platform.TIKTOK_SHOP, raw), raw
        elif topic == "11":
            status, platform_status = _reverse(data, "cancel_status", CANCEL_STATUSES, "cancel")
        elif topic == "12":
            status, platform_status = _reverse(data, "return_status", RETURN_STATUSES, "return")
        else:
            status, platform_status = _legacy_reverse(data)
        market, currency = store_market(store)
        order = status_only(
            Platform.TIKTOK_SHOP, order_id, status, platform_status, at, market, currency
        )
        return OrderSnapshot(order=order)


# ------------------------------------------------------------------ reverse events


def _reverse(
    data: dict[str, Any], key: str, table: dict[str, OrderStatus | None], prefix: str
) -> tuple[OrderStatus, str]:
    return final_outcome("tiktok_shop", key, _payload.word(data, key), table, prefix)


def _legacy_reverse(data: dict[str, Any]) -> tuple[OrderStatus, str]:
    code = _small_int(data.get("reverse_order_status"), "data.reverse_order_status")
    name = LEGACY_REVERSE_STATUSES.get(code)
    if name is None:
        raise PermanentError(
            f"tiktok_shop: unknown reverse_order_status {code}", code="unknown_status"
        )
    status: OrderStatus | None = None
    if name == "CANCEL_SUCCESS":
        status = _C
    elif name == "AFTERSALE_SUCCESS":
        status = _R
    elif name == "COMPLETE":
        kind = _small_int(data.get("reverse_type"), "data.reverse_type")
        if kind in _LEGACY_CANCEL_TYPES:
            status = _C
        elif kind in _LEGACY_REFUND_TYPES:
            status = _R
        else:
            raise PermanentError(
                f"tiktok_shop: unknown reverse_type {kind} for a completed reverse order",
                code="unknown_status",
            )
    if status is None:
        raise IgnoredEvent(f"tiktok_shop: reverse_order_status {name} is not a final outcome")
    return status, f"reverse:{name}"


# ------------------------------------------------------------------ helpers


def _same_type(body: dict[str, Any], topic: str) -> None:
    if "type" in body and str(body["type"]) != topic:
        raise ValueError(f"body type {body['type']!r} does not match topic {topic!r}")


def _small_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{name} is missing or not an integer: {value!r}")
    if isinstance(value, str) and not value.strip().isdigit():
        raise ValueError(f"{name} is not an integer: {value!r}")
    return int(value)
