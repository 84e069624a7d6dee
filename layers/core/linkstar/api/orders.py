"""``GET /orders`` (filters, newest first, paginated) and ``GET /orders/{order_id}``."""

from __future__ import annotations

from datetime import date

from chalice import Blueprint

from linkstar.api.auth import principal
from linkstar.api.http import int_param, query_params, route
from linkstar.api.views import order_view
from linkstar.errors import BadRequest, NotFound
from linkstar.orders.models import OrderStatus
from linkstar.store import orders as order_repo

bp = Blueprint(__name__)
FILTERS = ("store_id", "status", "market", "customer_id")


def _day(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise BadRequest(f"{name} must be a date (YYYY-MM-DD)", code="invalid_query") from exc


@route(bp, "/orders", methods=["GET"])
def list_orders() -> dict:
    who = principal(bp)
    params = query_params(bp)
    filters = {name: params[name] for name in FILTERS if params.get(name)}
    if "status" in filters and filters["status"] not in {s.value for s in OrderStatus}:
        raise BadRequest("unknown status", code="invalid_query")
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


@route(bp, "/orders/{order_id}", methods=["GET"])
def get_order(order_id: str) -> dict:
    who = principal(bp)
    state = order_repo.load(who.tenant_id, order_id)
    if state is None or not state.placed:
        raise NotFound("no such order", code="order_not_found")
    return order_view(state, detail=True)
