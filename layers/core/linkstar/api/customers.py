"""``GET /customers?email=…`` / ``?min_orders=…`` and ``GET /customers/{customer_id}``."""

from __future__ import annotations

from chalice import Blueprint

from linkstar import ids
from linkstar.api.auth import principal
from linkstar.api.http import Auth, Param, int_param, query_params, route
from linkstar.api.views import customer_view
from linkstar.errors import NotFound
from linkstar.store import customers as customer_repo
from linkstar.text import Text

bp = Blueprint(__name__)


def _ints(lo: int, hi: int, default: int) -> dict[str, int | str]:
    return {"type": "integer", "minimum": lo, "maximum": hi, "default": default}


@route(
    bp,
    "/customers",
    methods=["GET"],
    response="CustomerPage",
    params=(
        Param("email", "the customer with this email (no paging then)"),
        Param("min_orders", "customers with at least this many orders", _ints(0, 1_000_000, 0)),
        Param("limit", "page size", _ints(1, 500, 50)),
        Param("next_token", "the previous page's next_token"),
    ),
    auth=Auth.API_KEY,
    tags=["customers"],
)
def find_customers() -> dict:
    """Customers, by email or a page of all (optionally with a minimum of orders)."""
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


@route(
    bp,
    "/customers/{customer_id}",
    methods=["GET"],
    response="CustomerView",
    auth=Auth.API_KEY,
    tags=["customers"],
)
def get_customer(customer_id: str) -> dict:
    """One customer: contact fields, orders count, spend by currency, first and last order."""
    who = principal(bp)
    found = customer_repo.load(who.tenant_id, customer_id)
    if found is None:
        raise NotFound(Text("customer.not_found"), code="customer_not_found")
    return customer_view(found)
