"""Cost API: the tenant's cost model, its FX rates, an order's profit, and profit and unit
economics by group for a period (rules in ``linkstar.costs``)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from linkstar import clock
from linkstar.api.auth import principal
from linkstar.api.http import PERIOD, Auth, Param, json_object, query_params, report_period, route
from linkstar.errors import NotFound
from linkstar.tenants.models import Role
from linkstar.text import Text

bp = Blueprint(__name__)

COST_MODEL = "linkstar.costs.model:CostModel"
# The groupings of linkstar.costs.report, spelled here so declaring them imports nothing (a unit
# test holds them to the report's).
COST_GROUPINGS = ("market", "platform", "store", "sku", "day", "week", "month")
UE_GROUPINGS = ("market", "platform", "store", "total")
COSTS_BY = Param(
    "by",
    "how to group: market, platform, store, sku, or the period's day, week or month "
    "(default: market)",
    {"enum": list(COST_GROUPINGS)},
)
UE_BY = Param(
    "by",
    "how to group: market, platform, store or total (default: market)",
    {"enum": list(UE_GROUPINGS)},
)


@route(
    bp,
    "/cost-model",
    methods=["GET"],
    response=COST_MODEL,
    auth=Auth.API_KEY,
    tags=["costs"],
)
def get_cost_model() -> dict[str, Any]:
    """The tenant's cost model (404 ``cost_model_missing`` until one is put)."""
    from linkstar.costs import service

    who = principal(bp)
    model = service.load_model(who.tenant_id)
    if model is None:
        raise NotFound(Text("cost.no_cost_model_yet"), code="cost_model_missing")
    return model.model_dump(mode="json")


@route(
    bp,
    "/cost-model",
    methods=["PUT"],
    request=COST_MODEL,
    response=COST_MODEL,
    auth=Auth.API_KEY,
    tags=["costs"],
)
def put_cost_model() -> dict[str, Any]:
    """Create or replace the cost model (admin): how each cost of an order is worked out when
    the order does not carry it. Every order is recosted in the background."""
    from linkstar.costs import service

    who = principal(bp, Role.ADMIN)
    return service.put_model(who, json_object(bp), clock.now()).model_dump(mode="json")


@route(
    bp,
    "/fx-rates",
    methods=["POST"],
    request="FxRatesIn",
    response="FxRatesAccepted",
    auth=Auth.API_KEY,
    tags=["costs"],
)
def post_fx_rates() -> dict[str, Any]:
    """Daily exchange rates (operator), replacing any of the same date and pair; the orders
    they can price are recosted in the background."""
    from linkstar.costs import service

    who = principal(bp, Role.OPERATOR)
    return service.put_rates(who, json_object(bp))


@route(
    bp,
    "/orders/{order_id}/profit",
    methods=["GET"],
    response="linkstar.costs.profit:OrderProfit",
    auth=Auth.API_KEY,
    tags=["costs"],
)
def order_profit(order_id: str) -> dict[str, Any]:
    """An order's profit: revenue, every cost component with how it was worked out (actual,
    cost model, or missing and why), CM1-3, in the reporting currency."""
    from linkstar.costs import service

    who = principal(bp)
    return service.order_profit(who.tenant_id, order_id)


@route(
    bp,
    "/costs",
    methods=["GET"],
    response="CostReport",
    params=(PERIOD, COSTS_BY),
    auth=Auth.API_KEY,
    tags=["costs"],
)
def get_costs() -> dict[str, Any]:
    """Profit and its components for a period by group, against the previous period, with the
    ad spend no order took and the latest recost's progress."""
    from linkstar.costs import recost, report

    who = principal(bp)
    params = query_params(bp)
    label, today = report_period(params)
    result = report.costs(who.tenant_id, label, params.get("by", "market"), today)
    result["recost"] = recost.status(who.tenant_id)
    return result


@route(
    bp,
    "/unit-economics",
    methods=["GET"],
    response="UnitEconomicsReport",
    params=(PERIOD, UE_BY),
    auth=Auth.API_KEY,
    tags=["costs"],
)
def get_unit_economics() -> dict[str, Any]:
    """CAC, gross margin per customer at 30/60/90/180 days, LTV, LTV:CAC and payback for a
    period by group."""
    from linkstar.costs import report

    who = principal(bp)
    params = query_params(bp)
    label, today = report_period(params)
    return report.unit_economics(who.tenant_id, label, params.get("by", "market"), today)
