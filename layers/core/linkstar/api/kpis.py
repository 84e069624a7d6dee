"""KPI API: metric imports and freshness, KPI definitions, the dashboard, scorecards, owners and
agency settlements (roles and rules in ``linkstar.kpis.service``)."""

from __future__ import annotations

import json
from typing import Any

from chalice import Blueprint, Response

from linkstar import clock
from linkstar.api.auth import principal
from linkstar.api.http import (
    PERIOD,
    Auth,
    Content,
    Param,
    json_object,
    json_response,
    query_params,
    report_period,
    route,
)
from linkstar.errors import BadRequest
from linkstar.tenants.models import Role
from linkstar.text import Text

bp = Blueprint(__name__)

_CSV_TYPES = ["application/json", "text/csv", "text/plain"]


# ---------------------------------------------------------------- metrics


@route(
    bp,
    "/metrics",
    methods=["POST"],
    request="FactsIn",
    response="FactsImported",
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def post_metrics() -> dict[str, Any]:
    """Metric facts (one value per day and dimensions), replacing any with the same key."""
    from linkstar.kpis import service

    who = principal(bp, Role.OPERATOR)
    return service.import_facts(who, json_object(bp), clock.now())


@route(
    bp,
    "/metrics/import",
    methods=["POST"],
    content_types=_CSV_TYPES,
    request=("ReportIn", Content("text/csv", "the report as downloaded")),
    response="ReportImported",
    params=(
        Param(
            "preset",
            "the report's kind",
            {"enum": ["amazon_sp_campaigns", "tiktok_ads", "amazon_account_health", "generic"]},
        ),
        Param("mapping", "generic preset: the column mapping as JSON"),
    ),
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def import_metrics() -> dict[str, Any]:
    """A report as CSV (``?preset=amazon_sp_campaigns|tiktok_ads|amazon_account_health``, plus
    any default dimension or ``date`` as query parameters), or JSON
    ``{"preset", "csv", "mapping"?, "defaults"?}`` (the ``generic`` preset needs a mapping)."""
    from linkstar.kpis import service

    who = principal(bp, Role.OPERATOR)
    request = bp.current_request
    params = query_params(bp)
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
    mapping: dict[str, Any] | None = None
    if content_type == "application/json":
        body = json_object(bp)
        text = body.get("csv")
        preset = body.get("preset") or params.get("preset")
        mapping = body.get("mapping")
        defaults = dict(body.get("defaults") or {})
        if not isinstance(text, str):
            raise BadRequest(Text("kpi.import.csv_not_text"), code="invalid_report")
    else:
        raw = request.raw_body or b""
        try:
            text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError as exc:
            raise BadRequest(Text("kpi.import.not_utf8"), code="invalid_report") from exc
        preset = params.get("preset")
        defaults = {k: v for k, v in params.items() if k != "preset"}
        if "mapping" in defaults:
            try:
                mapping = json.loads(defaults.pop("mapping"))
            except ValueError as exc:
                raise BadRequest(Text("kpi.import.mapping_not_json"), code="invalid_query") from exc
    if not preset:
        raise BadRequest(Text("kpi.import.preset_required"), code="preset_required")
    return service.import_report(who, text, str(preset), mapping, defaults, clock.now())


@route(
    bp,
    "/metrics/sources",
    methods=["GET"],
    response="MetricSources",
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def metric_sources() -> dict[str, Any]:
    """When each source and metric last had data and was last imported."""
    from linkstar.kpis import service

    return service.sources(principal(bp))


# ---------------------------------------------------------------- KPIs


@route(
    bp,
    "/kpis",
    methods=["POST"],
    request="linkstar.kpis.service:KpiIn",
    response={201: "linkstar.kpis.service:Kpi"},
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def create_kpi() -> Response:
    """Define a KPI from the library or a formula (admin)."""
    from linkstar.kpis import service

    who = principal(bp, Role.ADMIN)
    kpi = service.create_kpi(who, json_object(bp), clock.now())
    return json_response(service.kpi_view(kpi), 201)


@route(
    bp,
    "/kpis",
    methods=["GET"],
    response="KpiList",
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def list_kpis() -> dict[str, Any]:
    """The KPIs this key may see, and the library of built-ins."""
    from linkstar.kpis import library, service

    who = principal(bp)
    return {
        "kpis": [service.kpi_view(k) for k in service.visible_kpis(who)],
        "builtins": [
            {k: getattr(b, k) for k in ("key", "name", "formula", "unit", "direction")}
            for b in library.BUILTINS.values()
        ],
    }


@route(
    bp,
    "/kpis/dashboard",
    methods=["GET"],
    response="Dashboard",
    params=(PERIOD,),
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def dashboard() -> dict[str, Any]:
    """Every visible KPI for a period with its status, freshness and trend."""
    from linkstar.kpis import service

    who = principal(bp)
    label, today = report_period(query_params(bp))
    return service.dashboard(who, label, today)


@route(
    bp,
    "/kpis/audit",
    methods=["GET"],
    response="AuditLog",
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def kpi_audit() -> dict[str, Any]:
    """Changes to KPIs, owners and contracts: who, when, before and after (admin)."""
    from linkstar.store import kpis as store

    who = principal(bp, Role.ADMIN)
    return {"changes": store.audit(who.tenant_id)}


@route(
    bp,
    "/kpis/{kpi_id}",
    methods=["GET"],
    response="KpiEvaluation",
    params=(PERIOD,),
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def get_kpi(kpi_id: str) -> dict[str, Any]:
    """A KPI for a period: actual, target, attainment, status, pace and freshness."""
    from linkstar.kpis import service

    who = principal(bp)
    kpi = service.load_kpi(who, kpi_id)
    loader = service.loader_for(who.tenant_id)
    label, today = report_period(query_params(bp))
    return service.evaluate(loader, kpi, label, today)


@route(
    bp,
    "/kpis/{kpi_id}",
    methods=["PATCH"],
    request="KpiPatch",
    response="linkstar.kpis.service:Kpi",
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def patch_kpi(kpi_id: str) -> dict[str, Any]:
    """Change a KPI (a manager: target, thresholds and weight only)."""
    from linkstar.kpis import service

    who = principal(bp, Role.MANAGER)
    return service.kpi_view(service.update_kpi(who, kpi_id, json_object(bp), clock.now()))


# ---------------------------------------------------------------- owners and scorecards


@route(
    bp,
    "/owners/{owner_id}",
    methods=["PUT"],
    request="linkstar.kpis.service:OwnerIn",
    response="linkstar.kpis.service:Owner",
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def put_owner(owner_id: str) -> dict[str, Any]:
    """Create or replace a KPI owner: a person, team or agency, how to tell them and in which
    language (admin)."""
    from linkstar.kpis import service

    who = principal(bp, Role.ADMIN)
    return service.put_owner(who, owner_id, json_object(bp), clock.now()).model_dump(mode="json")


@route(
    bp,
    "/owners",
    methods=["GET"],
    response="OwnerList",
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def list_owners() -> dict[str, Any]:
    """Every KPI owner."""
    from linkstar.kpis import service

    who = principal(bp)
    return {"owners": [o.model_dump(mode="json") for o in service.owners(who.tenant_id).values()]}


@route(
    bp,
    "/scorecards",
    methods=["GET"],
    response="Scorecards",
    params=(Param("owner", "one owner's scorecard"), PERIOD),
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def scorecards() -> dict[str, Any]:
    """Scorecards by owner for a period, with weighted scores."""
    from linkstar.kpis import service

    who = principal(bp)
    params = query_params(bp)
    label, today = report_period(params)
    return service.scorecards(who, params.get("owner"), label, today)


# ---------------------------------------------------------------- agency settlement


@route(
    bp,
    "/settlements/contracts/{agency}",
    methods=["PUT"],
    request="ContractIn",
    response="ContractDoc",
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def put_contract(agency: str) -> dict[str, Any]:
    """Create or replace an agency's contract: base fee, commission, penalty and cap rules."""
    from linkstar.kpis import service

    who = principal(bp, Role.ADMIN)
    result: dict[str, Any] = service.put_contract(who, agency, json_object(bp), clock.now())
    return result


@route(
    bp,
    "/settlements/contracts",
    methods=["GET"],
    response="linkstar.kpis.contracts:ContractList",
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def list_contracts() -> dict[str, Any]:
    """The tenant's agency contracts (those ``PUT /settlements/contracts/{agency}`` saved), by
    agency; an operator sees only the contract of the agency its key acts for."""
    from linkstar.kpis import contracts

    return contracts.list_contracts(principal(bp)).model_dump(mode="json")


@route(
    bp,
    "/settlements",
    methods=["GET"],
    response="AgencyStatement",
    params=(Param("agency", "the agency", required=True), PERIOD),
    auth=Auth.API_KEY,
    tags=["kpis"],
)
def get_settlement() -> dict[str, Any]:
    """An agency's settlement statement for a period."""
    from linkstar.kpis import service

    who = principal(bp)
    params = query_params(bp)
    agency = params.get("agency")
    if not agency:
        raise BadRequest(Text("kpi.statement.agency_required"), code="invalid_query")
    label, today = report_period(params)
    return service.statement(who, agency, label, today)
