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
``IgnoredEvent``: the processor counts it as ignored, not dead-lettered. A word in neither
list raises ``unknown_status``.
"""

from __future__ import annotations

from typing import Any

from linkstar.errors import PermanentError
from linkstar.orders.lifecycle import canonical_status
from linkstar.orders.models import Change, OrderSnapshot, OrderStatus, Platform
from linkstar.platforms import _payload
from linkstar.platforms._adapter import final_outcome, reading, status_only, store_market
from linkstar.platforms.marketplaces import LAZADA_SITES
from linkstar.stores.models import Store

TOPICS = frozenset({"0", "10"})

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
    with reading(f"lazada message_type {topic}", topic):
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
            raw = _payload.word(data, "reverse_status")
            status, platform_status = final_outcome(
                "lazada", "reverse_status", raw, REVERSE_STATUSES, "reverse"
            )
        market, currency = _market(body, store)
        order = status_only(
            Platform.LAZADA, order_id, status, platform_status, at, market, currency
        )
        return OrderSnapshot(order=order)


def _market(body: dict[str, Any], store: Store | None) -> tuple[str | None, str]:
    site = body.get("site")
    if site is not None:
        if not isinstance(site, str) or site.strip().lower() not in LAZADA_SITES:
            raise ValueError(f"unknown Lazada site {site!r}")
        country, currency, _endpoint = LAZADA_SITES[site.strip().lower()]
        return country, currency
    return store_market(store)


# ------------------------------------------------------------------ helpers
