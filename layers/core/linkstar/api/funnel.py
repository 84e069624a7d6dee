"""Funnel API: ``GET /funnel?period=&by=`` and the tenant's stage configuration (rules in
``linkstar.funnel``)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from linkstar import clock
from linkstar.api.auth import principal
from linkstar.api.http import json_object, query_params, route
from linkstar.tenants.models import Role

bp = Blueprint(__name__)


@route(bp, "/funnel", methods=["GET"])
def get_funnel() -> dict[str, Any]:
    from linkstar.funnel import service
    from linkstar.kpis.access import reporting_currency

    who = principal(bp)
    params = query_params(bp)
    now = clock.now()
    label = params.get("period") or now.strftime("%Y-%m")
    currency = reporting_currency(who.tenant_id)
    result: dict[str, Any] = service.report(
        who.tenant_id, currency, label, params.get("by", "market"), now.date()
    )
    return result


@route(bp, "/funnel/stages", methods=["GET"])
def get_stages() -> dict[str, Any]:
    from linkstar.funnel import service

    who = principal(bp)
    return service.load_config(who.tenant_id).model_dump(mode="json")


@route(bp, "/funnel/stages", methods=["PUT"])
def put_stages() -> dict[str, Any]:
    from linkstar.funnel import service

    who = principal(bp, Role.ADMIN)
    return service.save_config(who.tenant_id, json_object(bp)).model_dump(mode="json")
