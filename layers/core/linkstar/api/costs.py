"""Cost API: the tenant's cost model, its FX rates, and an order's profit (rules in
``linkstar.costs``)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from linkstar import clock
from linkstar.api.auth import principal
from linkstar.api.http import json_object, query_params, route
from linkstar.errors import NotFound
from linkstar.tenants.models import Role

bp = Blueprint(__name__)


@route(bp, "/cost-model", methods=["GET"])
def get_cost_model() -> dict[str, Any]:
    from linkstar.costs import service

    who = principal(bp)
    model = service.load_model(who.tenant_id)
    if model is None:
        raise NotFound("no cost model yet", code="cost_model_missing")
    return model.model_dump(mode="json")


@route(bp, "/cost-model", methods=["PUT"])
def put_cost_model() -> dict[str, Any]:
    from linkstar.costs import service

    who = principal(bp, Role.ADMIN)
    return service.put_model(who, json_object(bp), clock.now()).model_dump(mode="json")


@route(bp, "/fx-rates", methods=["POST"])
def post_fx_rates() -> dict[str, Any]:
    from linkstar.costs import service

    who = principal(bp, Role.OPERATOR)
    return service.put_rates(who, json_object(bp))


@route(bp, "/orders/{order_id}/profit", methods=["GET"])
def order_profit(order_id: str) -> dict[str, Any]:
    from linkstar.costs import service

    who = principal(bp)
    return service.order_profit(who.tenant_id, order_id)


@route(bp, "/costs", methods=["GET"])
def get_costs() -> dict[str, Any]:
    from linkstar.costs import recost, report

    who = principal(bp)
    params = query_params(bp)
    now = clock.now()
    label = params.get("period") or now.strftime("%Y-%m")
    result = report.costs(who.tenant_id, label, params.get("by", "market"), now.date())
    result["recost"] = recost.status(who.tenant_id)
    return result


@route(bp, "/unit-economics", methods=["GET"])
def get_unit_economics() -> dict[str, Any]:
    from linkstar.costs import report

    who = principal(bp)
    params = query_params(bp)
    now = clock.now()
    label = params.get("period") or now.strftime("%Y-%m")
    return report.unit_economics(who.tenant_id, label, params.get("by", "market"), now.date())
