"""Lazada adapter: a verified webhook body → a canonical change.

Lazada pushes ``{"seller_id", "message_type", "data": {…}, "timestamp", "site": "lazada_vn"}``
(Lazada Open Platform, "Webhook API"); the topic is ``str(message_type)``. A push carries ids and
a status, no amounts, so each change is a *status-only* snapshot (``amounts_pending=True``, totals
zero) that ``linkstar.orders.state.combine`` applies to a known order without erasing its
details; the processor asks enrichment to fetch the order.

| topic | Lazada push   | data read                                          | change     |
|-------|---------------|----------------------------------------------------|------------|
| 0     | Trade order   | trade_order_id, order_status, status_update_time   | lifecycle  |
| 10    | Reverse order | trade_order_id, reverse_status, status_update_time | final only |

``updated_at`` is ``data.status_update_time`` (seconds), else the push ``timestamp`` (which the
docs show in milliseconds for topic 0 and seconds for topic 10: both are read). ``created_at`` is
the same placeholder, which enrichment replaces. ``market`` and ``currency`` come from ``site``
(``LAZADA_SITES``); a body without ``site`` falls back to the store. An unknown site is invalid.

Topic 0 covers every status change "except return and refund" and also the move to ``returned``
(then ``data`` names the ``reverse_order_id`` too): ``order_status`` goes through the lifecycle's
Lazada table and ``platform_status`` keeps the word. Lazada reports status per order *line*
(``trade_order_line_id``): when one line of a multi-line order is cancelled or returned, the
whole order shows that status until the enrichment this change triggers fetches the real order.

Topic 10 is applied only where the outcome is final (``platform_status`` is ``reverse:<word>``):

| reverse_status                                                               | canonical |
|------------------------------------------------------------------------------|-----------|
| CANCEL_SUCCESS, CANCEL_REFUND_ISSUED                                         | cancelled |
| REFUND_SUCCESS (refund-only requests; a returned parcel arrives as topic 0)  | refunded  |
| CANCEL_INIT, RTM_INIT, RTM_CANCELED, RTM_SHIPPING_BACK, RTM_RECEIVE_ITEM,    | ignored   |
| RTW_INIT, RTW_CANCELED, RTW_SHIPPING_BACK, RTW_REJECT, RTW_REFUND_PENDING,   |           |
| REFUND_INIT, REFUND_PENDING, REFUND_REJECTED                                 |           |

"ignored": a request in progress (or closed without effect) can't be represented without the
order's current status, and a guess could move it backwards, so :func:`normalise` raises
``IgnoredEvent`` (code ``ignored_status``) (``IGNORED_STATUS``): the worker should count it as
ignored, not dead-letter it. A word in neither list raises ``unknown_status``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from linkstar import money
from linkstar.errors import IgnoredEvent, PermanentError
from linkstar.orders.lifecycle import canonical_status, implies_paid
from linkstar.orders.models import Change, Order, OrderSnapshot, OrderStatus, Platform
from linkstar.platforms import _payload
from linkstar.platforms.marketplaces import LAZADA_SITES, default_currency
from linkstar.stores.models import Store

TOPICS = frozenset({"0", "10"})
# The error code for an event that is understood but deliberately not applied.
IGNORED_STATUS = "ignored_status"

_C, _R = OrderStatus.CANCELLED, OrderStatus.REFUNDED
# reverse_status → canonical status, or None: known, not final, acknowledged and ignored.
REVERSE_STATUSES: dict[str, OrderStatus | None] = {
    "CANCEL_INIT": None,
    "CANCEL_SUCCESS": _C,
    "CANCEL_REFUND_ISSUED": _C,
    "RTM_INIT": None,
    "RTM_CANCELED": None,
    "RTM_SHIPPING_BACK": None,
    "RTM_RECEIVE_ITEM": None,
    "RTW_INIT": None,
    "RTW_CANCELED": None,
    "RTW_SHIPPING_BACK": None,
    "RTW_REJECT": None,
    "RTW_REFUND_PENDING": None,
    "REFUND_INIT": None,
    "REFUND_PENDING": None,
    "REFUND_SUCCESS": _R,
    "REFUND_REJECTED": None,
}


def normalise(topic: str, payload: Any, store: Store | None = None) -> Change:
    """``store`` gives the market and currency when the body names no ``site``."""
    if topic not in TOPICS:
        raise PermanentError(f"topic {topic!r} is not ingested", code="unsupported_topic")
    where = f"lazada message_type {topic}"
    try:
        body = _payload.obj(payload, "body")
        if "message_type" in body and str(body["message_type"]) != topic:
            raise ValueError(
                f"body message_type {body['message_type']!r} does not match topic {topic!r}"
            )
        data = _payload.obj(body.get("data"), "data")
        order_id = _payload.ident(data, "trade_order_id")
        if "status_update_time" in data:
            at = _payload.epoch(data["status_update_time"], "data.status_update_time")
        else:
            at = _payload.epoch(body.get("timestamp"), "timestamp")
        if topic == "0":
            raw = _payload.word(data, "order_status")
            status, platform_status = canonical_status(Platform.LAZADA, raw), raw
        else:
            status, platform_status = _reverse(_payload.word(data, "reverse_status"))
        market, currency = _market(body, store)
        zero = money.quantize(Decimal(0), currency)
        order = Order(
            platform=Platform.LAZADA,
            external_id=order_id,
            status=status,
            platform_status=platform_status,
            currency=currency,
            subtotal=zero,
            total=zero,
            created_at=at,
            updated_at=at,
            paid=implies_paid(status),
            fully_fulfilled=status in (OrderStatus.FULFILLED, OrderStatus.DELIVERED),
            cancelled_at=at if status is OrderStatus.CANCELLED else None,
            market=market,
            amounts_pending=True,
        )
        return OrderSnapshot(order=order)
    except PermanentError:
        raise
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise PermanentError(
            f"{where}: {loc}: {first['msg']}", code="invalid_payload", topic=topic
        ) from exc
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise PermanentError(f"{where}: {exc}", code="invalid_payload", topic=topic) from exc


def _reverse(raw: str) -> tuple[OrderStatus, str]:
    word = raw.strip().upper()
    if word not in REVERSE_STATUSES:
        raise PermanentError(f"lazada: unknown reverse_status {raw!r}", code="unknown_status")
    status = REVERSE_STATUSES[word]
    if status is None:
        raise IgnoredEvent(
            f"lazada: reverse_status {word} is not a final outcome", code=IGNORED_STATUS
        )
    return status, f"reverse:{word}"


def _market(body: dict[str, Any], store: Store | None) -> tuple[str | None, str]:
    site = body.get("site")
    if site is not None:
        if not isinstance(site, str) or site.strip().lower() not in LAZADA_SITES:
            raise ValueError(f"unknown Lazada site {site!r}")
        country, currency, _endpoint = LAZADA_SITES[site.strip().lower()]
        return country, currency
    market = store.market if store else None
    return market, (store.currency if store else None) or default_currency(market)


# ------------------------------------------------------------------ helpers
