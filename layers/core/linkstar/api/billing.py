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
from datetime import date
from typing import Any

from chalice import Blueprint, Response
from pydantic import ValidationError

from linkstar import clock
from linkstar.api.auth import principal, require_admin
from linkstar.api.http import json_object, query_params, route
from linkstar.errors import BadRequest, NotFound
from linkstar.tenants.models import Role

bp = Blueprint(__name__)

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_INVOICE_ID = re.compile(r"INV-(\d{4})(\d{2})-(.+)")


def _month(params: dict[str, str]) -> str:
    month = params.get("month") or clock.now().strftime("%Y-%m")
    if not _MONTH.fullmatch(month):
        raise BadRequest("month must be YYYY-MM", code="invalid_query")
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


@route(bp, "/usage", methods=["GET"])
def get_usage() -> dict[str, Any]:
    from linkstar.billing import service

    who = principal(bp)
    return service.usage(who.tenant_id, _month(query_params(bp)))


@route(bp, "/usage/invoice-preview", methods=["GET"])
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


@route(bp, "/usage/export", methods=["GET"])
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
        raise BadRequest("format must be csv or cloudevents", code="invalid_query")
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


# ---------------------------------------------------------------- plan and rate cards


@route(bp, "/plan", methods=["GET"])
def get_plan() -> dict[str, Any]:
    from linkstar.billing import service

    who = principal(bp)
    return service.plan_view(who.tenant_id, _month(query_params(bp)))


@route(bp, "/plan", methods=["PUT"])
def put_plan() -> dict[str, Any]:
    from linkstar.billing import service

    who = principal(bp, Role.ADMIN)
    return service.change_plan(who, json_object(bp), clock.now())


@route(bp, "/plan/audit", methods=["GET"])
def plan_audit() -> dict[str, Any]:
    from linkstar.store import billing as store

    who = principal(bp, Role.ADMIN)
    return {"changes": store.plan_audit(who.tenant_id)}


@route(
    bp,
    "/rate-cards/{channel}",
    methods=["PUT"],
    content_types=["application/json", "text/csv", "text/plain"],
)
def put_rate_card(channel: str) -> dict[str, Any]:
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
            raise BadRequest("the CSV is not UTF-8", code="invalid_rate_card") from exc
        try:
            rows: list[Any] = ratecards.parse_rate_card_csv(text, channel)
        except ratecards.RateCardError as exc:
            raise BadRequest(
                "the rate card CSV has errors", code="invalid_rate_card", problems=exc.problems
            ) from exc
        effective_from = params.get("effective_from")
    else:
        body = json_object(bp)
        given = body.get("rates")
        effective_from = body.get("effective_from") or params.get("effective_from")
        if not isinstance(given, list):
            raise BadRequest("give {'rates': [...]} or a CSV body", code="invalid_rate_card")
        rows = given
    if not effective_from:
        raise BadRequest("say from when: effective_from=YYYY-MM-01", code="effective_from_required")
    try:
        start = date.fromisoformat(str(effective_from))
    except ValueError as exc:
        raise BadRequest("effective_from must be YYYY-MM-DD", code="invalid_query") from exc
    return service.change_rate_card(who, channel, rows, start, clock.now())


# ---------------------------------------------------------------- invoices


@route(bp, "/invoices", methods=["GET"])
def list_invoices() -> dict[str, Any]:
    from linkstar.store import billing as store

    who = principal(bp)
    invoices = [
        {k: doc[k] for k in ("invoice_id", "month", "currency", "subtotal", "total", "closed_at")}
        for doc in store.list_invoices(who.tenant_id)
    ]
    return {"invoices": invoices}


@route(bp, "/invoices/{invoice_id}", methods=["GET"])
def get_invoice(invoice_id: str) -> Any:
    from linkstar.billing import service
    from linkstar.store import billing as store

    who = principal(bp)
    match = _INVOICE_ID.fullmatch(invoice_id)
    # Another tenant's invoice id is simply not found: ids name their tenant, the key does not.
    if match is None or match.group(3) != who.tenant_id:
        raise NotFound("no such invoice", code="invoice_not_found")
    month = f"{match.group(1)}-{match.group(2)}"
    doc = store.load_invoice(who.tenant_id, month)
    if doc is None:
        raise NotFound("no such invoice", code="invoice_not_found")
    if query_params(bp).get("format") == "csv":
        return _csv_response(service.invoice_csv(doc), f"{invoice_id}.csv")
    return doc


# ---------------------------------------------------------------- operator


@route(bp, "/admin/billing/reconcile", methods=["GET"])
def reconcile() -> dict[str, Any]:
    from linkstar.billing import service

    require_admin(bp)
    params = query_params(bp)
    tenant_id = params.get("tenant_id")
    if tenant_id:
        return service.reconcile(tenant_id, _month(params))
    return service.reconcile_all(_month(params))


@route(bp, "/admin/billing/margin", methods=["GET"])
def margin() -> dict[str, Any]:
    from linkstar.billing import service

    require_admin(bp)
    return service.margin_report(_month(query_params(bp)))


@route(bp, "/admin/billing/close", methods=["POST"])
def close() -> dict[str, Any]:
    from linkstar.billing import service

    require_admin(bp)
    params = query_params(bp)
    month = _month(params)
    try:
        return service.close_many(month, clock.now(), params.get("tenant_id"))
    except ValidationError as exc:  # a stored plan that no longer validates
        raise BadRequest(str(exc), code="invalid_plan") from exc
