"""``GET /orders`` (filters, newest first, paginated) and ``GET /orders/{order_id}``."""

from __future__ import annotations

from datetime import date

from chalice import Blueprint

from linkstar.api.auth import principal
from linkstar.api.http import Auth, Param, int_param, query_params, route
from linkstar.api.views import order_view
from linkstar.errors import BadRequest, NotFound
from linkstar.orders.models import OrderStatus
from linkstar.store import orders as order_repo
from linkstar.text import Text

bp = Blueprint(__name__)
FILTERS = ("store_id", "status", "market", "customer_id")
LIST_PARAMS = (
    Param("store_id", "only this store's orders"),
    Param("status", "only orders in this status", {"enum": [s.value for s in OrderStatus]}),
    Param("market", "only this market (ISO 3166-1 alpha-2)"),
    Param("customer_id", "only this customer's orders"),
    Param("from", "created on or after this day", {"type": "string", "format": "date"}),
    Param("to", "created on or before this day", {"type": "string", "format": "date"}),
    Param("limit", "page size", {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}),
    Param("next_token", "the previous page's next_token"),
)


def _day(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise BadRequest(Text("order.invalid_day", name=name), code="invalid_query") from exc


@route(
    bp,
    "/orders",
    methods=["GET"],
    response="OrderPage",
    params=LIST_PARAMS,
    auth=Auth.API_KEY,
    tags=["orders"],
)
def list_orders() -> dict:
    """Orders, newest first, filtered and paginated."""
    who = principal(bp)
    params = query_params(bp)
    filters = {name: params[name] for name in FILTERS if params.get(name)}
    if "status" in filters and filters["status"] not in {s.value for s in OrderStatus}:
        raise BadRequest(Text("order.unknown_status"), code="invalid_query")
    if "market" in filters:
        filters["market"] = filters["market"].upper()
    orders, token = order_repo.list_page(
        who.tenant_id,
        created_from=_day(params.get("from"), "from"),
        created_to=_day(params.get("to"), "to"),
        filters=filters,
        limit=int_param(params, "limit", 50, 1, 200),
        next_token=params.get("next_token"),
    )
    return {"orders": [order_view(o) for o in orders], "next_token": token}


@route(
    bp,
    "/orders/{order_id}",
    methods=["GET"],
    response="OrderDetail",
    auth=Auth.API_KEY,
    tags=["orders"],
)
def get_order(order_id: str) -> dict:
    """One order with its line items, customer, address, refunds and fulfillments."""
    who = principal(bp)
    state = order_repo.load(who.tenant_id, order_id)
    if state is None or not state.placed:
        raise NotFound(Text("order.not_found"), code="order_not_found")
    return order_view(state, detail=True)
