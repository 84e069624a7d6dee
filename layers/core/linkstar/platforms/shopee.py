"""Shopee adapter: a verified Push Mechanism body → a canonical change.

Shopee pushes ``{"shop_id", "code", "timestamp": <epoch s>, "data": {…}}`` (Shopee Open Platform,
"Push Mechanism"); the topic is ``str(code)``. A push says *that* something changed, with ids and
a status but no amounts, so an order status push becomes a *status-only* snapshot
(``amounts_pending=True``, totals zero in the store's currency) that
``linkstar.orders.state.combine`` applies to a known order without erasing its details, and the
processor asks enrichment to fetch the order.

| topic | Shopee push       | data read                                       | change           |
|-------|-------------------|-------------------------------------------------|------------------|
| 3     | Order Status Push | ordersn, status, update_time                    | OrderSnapshot    |
| 4     | Order TrackingNo  | ordersn, tracking_no, package_number, forder_id | FulfillmentAdded |

Code 3: ``status`` goes through the lifecycle's Shopee table (``platform_status`` keeps the word;
IN_CANCEL, a request the seller may reject, stays paid; TO_RETURN stays shipped). ``updated_at``
is ``data.update_time``, else the push ``timestamp``; ``created_at`` is the same placeholder,
which enrichment replaces. ``market`` and ``currency`` come from the store: a push names neither.

Code 4: one fulfillment per package. ``fulfillment_id`` is ``package_number``, else ``forder_id``,
else the tracking number itself; ``status`` is ``success``; ``created_at`` is the push
``timestamp`` (else ``data.update_time``). A later push for the same package (a new tracking
number) replaces the earlier one, as fulfillments are a union keyed by id. Shopee issues the
number when shipment is arranged, so the order counts as shipped from then, possibly a little
before the carrier collects it; code 3's SHIPPED follows.

Any other code (shop authorisation, chat, promotions…) raises ``unsupported_topic``.
"""

from __future__ import annotations

from typing import Any

from linkstar.errors import PermanentError
from linkstar.orders.lifecycle import canonical_status
from linkstar.orders.models import (
    Change,
    Fulfillment,
    FulfillmentAdded,
    Order,
    OrderSnapshot,
    Platform,
)
from linkstar.platforms import _payload
from linkstar.platforms._adapter import reading, status_only, store_market
from linkstar.stores.models import Store

TOPICS = frozenset({"3", "4"})


def normalise(topic: str, payload: Any, store: Store | None = None) -> Change:
    """``store`` gives the market and currency (Shopee pushes carry neither)."""
    if topic not in TOPICS:
        raise PermanentError(f"topic {topic!r} is not ingested", code="unsupported_topic")
    with reading(f"shopee code {topic}", topic):
        body = _payload.obj(payload, "body")
        if "code" in body and str(body["code"]) != topic:
            raise ValueError(f"body code {body['code']!r} does not match topic {topic!r}")
        data = _payload.obj(body.get("data"), "data")
        order_sn = _payload.ident(data, "ordersn")
        if topic == "3":
            return OrderSnapshot(order=_status_push(body, data, order_sn, store))
        return FulfillmentAdded(order_external_id=order_sn, fulfillment=_tracking_push(body, data))


def _status_push(
    body: dict[str, Any], data: dict[str, Any], order_sn: str, store: Store | None
) -> Order:
    raw = _payload.word(data, "status")
    if "update_time" in data:
        at = _payload.epoch(data["update_time"], "data.update_time")
    else:
        at = _payload.epoch(body.get("timestamp"), "timestamp")
    market, currency = store_market(store)
    status = canonical_status(Platform.SHOPEE, raw)
    return status_only(Platform.SHOPEE, order_sn, status, raw, at, market, currency)


def _tracking_push(body: dict[str, Any], data: dict[str, Any]) -> Fulfillment:
    tracking = data.get("tracking_no")
    if isinstance(tracking, bool) or not isinstance(tracking, str | int) or tracking == "":
        raise ValueError(f"data.tracking_no is missing or not a tracking number: {tracking!r}")
    tracking = str(tracking)
    fulfillment_id = tracking
    for key in ("package_number", "forder_id"):
        value = data.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and value != "":
            fulfillment_id = str(value)
            break
    if "timestamp" in body:
        created_at = _payload.epoch(body["timestamp"], "timestamp")
    else:
        created_at = _payload.epoch(data.get("update_time"), "data.update_time")
    return Fulfillment(
        fulfillment_id=fulfillment_id,
        status="success",
        created_at=created_at,
        tracking_numbers=(tracking,),
    )


# ------------------------------------------------------------------ helpers
