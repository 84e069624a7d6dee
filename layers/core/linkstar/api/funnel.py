"""Funnel API: ``GET /funnel?period=&by=``, the tenant's stage configuration, and the
repeat-purchase cohorts ``GET /cohorts?from=&to=&currency=`` (rules in ``linkstar.funnel``)."""

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


@route(bp, "/cohorts", methods=["GET"])
def get_cohorts() -> dict[str, Any]:
    """Repeat purchase and revenue per customer by first-order month, at 30, 60, 90 and 180
    days (``from``/``to`` months, ``currency`` the tenant's reporting one by default)."""
    from linkstar.funnel import service
    from linkstar.kpis.access import reporting_currency

    who = principal(bp)
    params = query_params(bp)
    currency = params.get("currency") or reporting_currency(who.tenant_id)
    return service.cohort_report(
        who.tenant_id, currency, params.get("from"), params.get("to"), clock.now().date()
    )
