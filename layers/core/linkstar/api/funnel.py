"""Funnel API: ``GET /funnel?period=&by=``, the tenant's stage configuration, and the
repeat-purchase cohorts ``GET /cohorts?from=&to=&currency=`` (rules in ``linkstar.funnel``)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from linkstar import clock
from linkstar.api.auth import principal
from linkstar.api.http import PERIOD, Auth, Param, json_object, query_params, report_period, route
from linkstar.tenants.models import Role

bp = Blueprint(__name__)

STAGE_CONFIG = "linkstar.funnel.stages:StageConfig"
# The groupings of linkstar.funnel.service, spelled here so declaring them imports nothing (a unit
# test holds them to the service's).
GROUPINGS = ("market", "store", "platform", "channel", "campaign")
MONTH = {"type": "string", "pattern": r"^[0-9]{4}-(0[1-9]|1[0-2])$"}


@route(
    bp,
    "/funnel",
    methods=["GET"],
    response="FunnelView",
    params=(
        PERIOD,
        Param(
            "by",
            "how to group: market, store, platform, channel (the store's platform) or campaign "
            "(default: market)",
            {"enum": list(GROUPINGS)},
        ),
    ),
    auth=Auth.API_KEY,
    tags=["funnel"],
)
def get_funnel() -> dict[str, Any]:
    """Each group's funnel for a period against the previous one: stage counts, step
    conversions and their change, and the drop-offs ranked by the orders they cost."""
    from linkstar.funnel import service
    from linkstar.kpis.access import reporting_currency

    who = principal(bp)
    params = query_params(bp)
    label, today = report_period(params)
    currency = reporting_currency(who.tenant_id)
    result: dict[str, Any] = service.report(
        who.tenant_id, currency, label, params.get("by", "market"), today
    )
    return result


@route(
    bp,
    "/funnel/stages",
    methods=["GET"],
    response=STAGE_CONFIG,
    auth=Auth.API_KEY,
    tags=["funnel"],
)
def get_stages() -> dict[str, Any]:
    """The stages the tenant's funnel shows (the default funnel until one is put)."""
    from linkstar.funnel import service

    who = principal(bp)
    return service.load_config(who.tenant_id).model_dump(mode="json")


@route(
    bp,
    "/funnel/stages",
    methods=["PUT"],
    request=STAGE_CONFIG,
    response=STAGE_CONFIG,
    auth=Auth.API_KEY,
    tags=["funnel"],
)
def put_stages() -> dict[str, Any]:
    """Choose the stages the funnel shows (admin): in their natural order, ``orders`` among
    them, at most one repeat stage."""
    from linkstar.funnel import service

    who = principal(bp, Role.ADMIN)
    return service.save_config(who.tenant_id, json_object(bp)).model_dump(mode="json")


@route(
    bp,
    "/cohorts",
    methods=["GET"],
    response="CohortReport",
    params=(
        Param("from", "the first first-order month, YYYY-MM (default: 11 months before to)", MONTH),
        Param("to", "the last first-order month, YYYY-MM (default: this month)", MONTH),
        Param(
            "currency",
            "ISO 4217 code of the revenue figures (default: the reporting currency)",
            {"type": "string", "pattern": "^[A-Za-z]{3}$"},
        ),
    ),
    auth=Auth.API_KEY,
    tags=["funnel"],
)
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
