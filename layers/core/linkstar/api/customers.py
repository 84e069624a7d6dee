"""``GET /customers?email=…`` / ``?min_orders=…`` and ``GET /customers/{customer_id}``."""

from __future__ import annotations

from chalice import Blueprint

from linkstar import ids
from linkstar.api.auth import principal
from linkstar.api.http import int_param, query_params, route
from linkstar.api.views import customer_view
from linkstar.errors import NotFound
from linkstar.store import customers as customer_repo

bp = Blueprint(__name__)


@route(bp, "/customers", methods=["GET"])
def find_customers() -> dict:
    who = principal(bp)
    params = query_params(bp)
    email = params.get("email")
    if email:
        found = customer_repo.load(who.tenant_id, ids.customer_id_for_email(who.tenant_id, email))
        return {"customers": [customer_view(found)] if found else [], "next_token": None}
    customers, token = customer_repo.list_page(
        who.tenant_id,
        min_orders=int_param(params, "min_orders", 0, 0, 1_000_000),
        limit=int_param(params, "limit", 50, 1, 500),
        next_token=params.get("next_token"),
    )
    return {"customers": [customer_view(c) for c in customers], "next_token": token}


@route(bp, "/customers/{customer_id}", methods=["GET"])
def get_customer(customer_id: str) -> dict:
    who = principal(bp)
    found = customer_repo.load(who.tenant_id, customer_id)
    if found is None:
        raise NotFound("no such customer", code="customer_not_found")
    return customer_view(found)
