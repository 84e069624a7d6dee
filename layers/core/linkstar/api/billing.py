"""Billing API: the tenant's plan and rate cards, live usage and its export, invoices; and the
operator's reconciliation, margin view and month close.

Roles: anyone with a key reads usage and invoices; only ``admin`` or ``owner`` changes the plan
or a rate card, and each change is audited (who, when, before and after) and applies from the
first day of a month that has not ended. The operator's routes need the admin token.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from typing import Any

from chalice import Blueprint, Response
from pydantic import ValidationError

from linkstar import clock
from linkstar.api.auth import principal, require_admin
from linkstar.api.http import Auth, Content, Param, json_object, query_params, route
from linkstar.errors import BadRequest, NotFound
from linkstar.tenants.models import Role
from linkstar.text import Text

bp = Blueprint(__name__)

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_INVOICE_ID = re.compile(r"INV-(\d{4})(\d{2})-(.+)")
MONTH = Param(
    "month", "YYYY-MM (default: this month)", {"type": "string", "pattern": f"^{_MONTH.pattern}$"}
)
TENANT = Param("tenant_id", "one tenant (default: every tenant)")
CSV = Content("text/csv; charset=utf-8", "CSV (with ?format=csv)")
CSV_FORMAT = Param("format", "csv for a CSV file", {"enum": ["csv", "json"]})


def _month(params: dict[str, str]) -> str:
    month = params.get("month") or clock.now().strftime("%Y-%m")
    if not _MONTH.fullmatch(month):
        raise BadRequest(Text("billing.month_format"), code="invalid_query")
    return month


def _csv_response(text: str, filename: str) -> Response:
    return Response(
        body=text,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
    )


# ---------------------------------------------------------------- usage


@route(
    bp,
    "/usage",
    methods=["GET"],
    response="linkstar.billing.views:ShownUsageReport",
    params=(MONTH,),
    auth=Auth.API_KEY,
    tags=["billing"],
)
def get_usage() -> dict[str, Any]:
    """The month's usage so far by channel, country and category, priced, with the forecast."""
    from linkstar.billing import service

    who = principal(bp)
    return service.usage(who.tenant_id, _month(query_params(bp)))


@route(
    bp,
    "/usage/invoice-preview",
    methods=["GET"],
    response=("InvoicePreview", CSV),
    params=(MONTH, CSV_FORMAT),
    auth=Auth.API_KEY,
    tags=["billing"],
)
def invoice_preview() -> Any:
    """What the month's invoice would be if it closed now (credits as they stand)."""
    from linkstar.billing import service

    who = principal(bp)
    params = query_params(bp)
    preview = service.invoice_preview(who.tenant_id, _month(params))
    if params.get("format") == "csv":
        return _csv_response(preview["csv"], f"preview-{preview['month']}.csv")
    preview.pop("csv", None)
    return preview


@route(
    bp,
    "/usage/export",
    methods=["GET"],
    response=(
        Content("text/csv; charset=utf-8", "one row per billable line of each message"),
        Content(
            "application/cloudevents-batch+jsonl; charset=utf-8",
            "CloudEvents 1.0 as JSON lines (?format=cloudevents)",
        ),
    ),
    params=(
        MONTH,
        Param("format", "csv (default) or cloudevents", {"enum": ["csv", "cloudevents"]}),
    ),
    auth=Auth.API_KEY,
    tags=["billing"],
)
def export_usage() -> Response:
    """The month's usage records, one per billable line of each message: CSV, or CloudEvents
    as JSON lines (``?format=cloudevents``) that OpenMeter or Lago can ingest."""
    from linkstar.billing import service

    who = principal(bp)
    params = query_params(bp)
    month = _month(params)
    events = service.usage_events(who.tenant_id, month)
    fmt = params.get("format", "csv")
    if fmt == "cloudevents":
        body = "".join(json.dumps(event, sort_keys=True) + "\n" for event in events)
        return Response(
            body=body,
            status_code=200,
            headers={"Content-Type": "application/cloudevents-batch+jsonl; charset=utf-8"},
        )
    if fmt != "csv":
        raise BadRequest(Text("billing.export_format"), code="invalid_query")
    out = io.StringIO()
    columns = ["id", "time", "message_id", "channel", "country", "category", "kind", "units"]
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for event in events:
        writer.writerow(
            {
                "id": event["id"],
                "time": event["time"],
                **{k: event["data"][k] for k in columns[2:]},
            }
        )
    return _csv_response(out.getvalue(), f"usage-{month}.csv")


ALERT_MONTHS = 12  # without ?period, the alerts of this month and the eleven before


@route(
    bp,
    "/usage/alerts",
    methods=["GET"],
    response="UsageAlertList",
    params=(
        Param(
            "period",
            f"YYYY-MM: one month's alerts (default: the last {ALERT_MONTHS} months)",
            {"type": "string", "pattern": f"^{_MONTH.pattern}$"},
        ),
    ),
    auth=Auth.API_KEY,
    tags=["billing"],
)
def usage_alerts() -> dict[str, Any]:
    """The usage alerts that fired (quota and spend thresholds), newest first."""
    from linkstar.billing import service

    who = principal(bp)
    period = query_params(bp).get("period")
    if period is not None:
        if not _MONTH.fullmatch(period):
            raise BadRequest(Text("billing.period_format"), code="invalid_query")
        months = [period]
    else:
        first = clock.now().date().replace(day=1)
        months = []
        for _ in range(ALERT_MONTHS):
            months.append(first.strftime("%Y-%m"))
            first = (first - timedelta(days=1)).replace(day=1)
    return {"alerts": service.usage_alerts(who.tenant_id, months)}


# ---------------------------------------------------------------- plan and rate cards


@route(
    bp,
    "/plan",
    methods=["GET"],
    response="PlanView",
    params=(MONTH,),
    auth=Auth.API_KEY,
    tags=["billing"],
)
def get_plan() -> dict[str, Any]:
    """The plan in force for a month, and every version with the month it applies from."""
    from linkstar.billing import service

    who = principal(bp)
    return service.plan_view(who.tenant_id, _month(query_params(bp)))


@route(
    bp,
    "/plan",
    methods=["PUT"],
    request="linkstar.billing.plans:Plan",
    response="PlanChanged",
    auth=Auth.API_KEY,
    tags=["billing"],
)
def put_plan() -> dict[str, Any]:
    """A new plan version from the first day of a month that has not ended (admin, audited)."""
    from linkstar.billing import service

    who = principal(bp, Role.ADMIN)
    return service.change_plan(who, json_object(bp), clock.now())


@route(
    bp,
    "/plan/audit",
    methods=["GET"],
    response="PlanAudit",
    auth=Auth.API_KEY,
    tags=["billing"],
)
def plan_audit() -> dict[str, Any]:
    """Who changed the plan, when, and what it was before and after (admin)."""
    from linkstar.store import billing as store

    who = principal(bp, Role.ADMIN)
    return {"changes": store.plan_audit(who.tenant_id)}


@route(
    bp,
    "/rate-cards/{channel}",
    methods=["PUT"],
    content_types=["application/json", "text/csv", "text/plain"],
    request=("RateCardIn", Content("text/csv", "the rate card as CSV")),
    response="PlanChanged",
    params=(
        Param("effective_from", "the first day of a month", {"type": "string", "format": "date"}),
    ),
    auth=Auth.API_KEY,
    tags=["billing"],
)
def put_rate_card(channel: str) -> dict[str, Any]:
    """Replace a channel's rates from a month on, as a new plan version (admin)."""
    from linkstar.billing import ratecards, service

    who = principal(bp, Role.ADMIN)
    request = bp.current_request
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
    params = query_params(bp)
    if content_type in ("text/csv", "text/plain"):
        raw = request.raw_body or b""
        try:
            text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError as exc:
            raise BadRequest(Text("billing.csv_not_utf8"), code="invalid_rate_card") from exc
        try:
            rows: list[Any] = ratecards.parse_rate_card_csv(text, channel)
        except ratecards.RateCardError as exc:
            raise BadRequest(
                Text("billing.rate_card_csv_errors"),
                code="invalid_rate_card",
                problems=exc.problems,
            ) from exc
        effective_from = params.get("effective_from")
    else:
        body = json_object(bp)
        given = body.get("rates")
        effective_from = body.get("effective_from") or params.get("effective_from")
        if not isinstance(given, list):
            raise BadRequest(Text("billing.rate_card_body"), code="invalid_rate_card")
        rows = given
    if not effective_from:
        raise BadRequest(
            Text("billing.rate_card_effective_from_required"), code="effective_from_required"
        )
    try:
        start = date.fromisoformat(str(effective_from))
    except ValueError as exc:
        raise BadRequest(Text("billing.effective_from_format"), code="invalid_query") from exc
    return service.change_rate_card(who, channel, rows, start, clock.now())


# ---------------------------------------------------------------- invoices


@route(
    bp,
    "/invoices",
    methods=["GET"],
    response="InvoiceList",
    auth=Auth.API_KEY,
    tags=["billing"],
)
def list_invoices() -> dict[str, Any]:
    """Closed invoices, newest first."""
    from linkstar.store import billing as store

    who = principal(bp)
    invoices = [
        {k: doc[k] for k in ("invoice_id", "month", "currency", "subtotal", "total", "closed_at")}
        for doc in store.list_invoices(who.tenant_id)
    ]
    return {"invoices": invoices}


@route(
    bp,
    "/invoices/{invoice_id}",
    methods=["GET"],
    response=("ClosedInvoice", CSV),
    params=(CSV_FORMAT,),
    auth=Auth.API_KEY,
    tags=["billing"],
)
def get_invoice(invoice_id: str) -> Any:
    """A closed invoice: its lines, credits applied and total."""
    from linkstar.billing import service
    from linkstar.store import billing as store

    who = principal(bp)
    match = _INVOICE_ID.fullmatch(invoice_id)
    # Another tenant's invoice id is simply not found: ids name their tenant, the key does not.
    if match is None or match.group(3) != who.tenant_id:
        raise NotFound(Text("billing.invoice_not_found"), code="invoice_not_found")
    month = f"{match.group(1)}-{match.group(2)}"
    doc = store.load_invoice(who.tenant_id, month)
    if doc is None:
        raise NotFound(Text("billing.invoice_not_found"), code="invoice_not_found")
    if query_params(bp).get("format") == "csv":
        return _csv_response(service.invoice_csv(doc), f"{invoice_id}.csv")
    return service.with_notes(doc)


# ---------------------------------------------------------------- operator


@route(
    bp,
    "/admin/billing/reconcile",
    methods=["GET"],
    response="ReconcileAnswer",
    params=(MONTH, TENANT),
    auth=Auth.ADMIN_TOKEN,
    tags=["operator"],
)
def reconcile() -> dict[str, Any]:
    """Recount a month's usage from records and the message log against the counters."""
    from linkstar.billing import service

    require_admin(bp)
    params = query_params(bp)
    tenant_id = params.get("tenant_id")
    if tenant_id:
        return service.reconcile(tenant_id, _month(params))
    return service.reconcile_all(_month(params))


@route(
    bp,
    "/admin/billing/margin",
    methods=["GET"],
    response="MarginReport",
    params=(MONTH,),
    auth=Auth.ADMIN_TOKEN,
    tags=["operator"],
)
def margin() -> dict[str, Any]:
    """Per tenant, provider cost against the price charged."""
    from linkstar.billing import service

    require_admin(bp)
    return service.margin_report(_month(query_params(bp)))


@route(
    bp,
    "/admin/billing/close",
    methods=["POST"],
    response="MonthClosed",
    params=(MONTH, TENANT),
    auth=Auth.ADMIN_TOKEN,
    tags=["operator"],
)
def close() -> dict[str, Any]:
    """Freeze a month that is over into invoices (once per tenant)."""
    from linkstar.billing import service

    require_admin(bp)
    params = query_params(bp)
    month = _month(params)
    try:
        return service.close_many(month, clock.now(), params.get("tenant_id"))
    except ValidationError as exc:  # a stored plan that no longer validates
        raise BadRequest(str(exc), code="invalid_plan") from exc
