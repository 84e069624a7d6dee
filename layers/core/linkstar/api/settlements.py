"""Amazon settlement imports: a store's settlement report in, its orders' actual fees stored
(read by ``linkstar.costs.settlement``, kept by ``linkstar.store.settlements``)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from linkstar import clock, ids
from linkstar.api import uploads
from linkstar.api.auth import principal
from linkstar.api.http import Auth, Content, route
from linkstar.errors import BadRequest, NotFound, PayloadTooLarge
from linkstar.orders.models import Platform
from linkstar.tenants.models import Role
from linkstar.text import Text

bp = Blueprint(__name__)

MAX_REPORT_BYTES = uploads.MAX_BODY_BYTES
_TYPES = ["text/tab-separated-values", "text/plain", "application/octet-stream"]


@route(
    bp,
    "/stores/{store_id}/settlements",
    methods=["POST"],
    content_types=_TYPES,
    request=(
        Content("text/tab-separated-values", "Amazon's flat file V2 settlement report"),
        Content("text/plain", "the same report as plain text"),
    ),
    response="SettlementImported",
    auth=Auth.API_KEY,
    tags=["costs"],
)
def import_settlement(store_id: str) -> dict[str, Any]:
    """Import an Amazon store's settlement report (operator): the fees Amazon charged its orders
    replace the cost model's, and those orders are recosted in the background. The body is the
    flat file V2 report as downloaded (``Content-Type: text/tab-separated-values``; a
    ``charset`` parameter is honoured, UTF-8 otherwise)."""
    from linkstar.costs import settlement
    from linkstar.store import settlements
    from linkstar.store import stores as store_repo

    who = principal(bp, Role.OPERATOR)
    store = store_repo.get(who.tenant_id, store_id) if ids.tenant_of_store(store_id) else None
    if store is None:
        raise NotFound(Text("cost.settlement.store_not_found"), code="store_not_found")
    if store.platform is not Platform.AMAZON:
        raise BadRequest(
            Text("cost.settlement.not_an_amazon_store", platform=store.platform.value),
            code="not_an_amazon_store",
        )
    report = settlement.parse(_text())
    outcome = settlements.replace(store, report, clock.now())
    # The sums in GET /costs were worked out with the model's fees (or an earlier settlement's):
    # the orders this file names, or named before, are recosted in the background.
    job = uploads.recost_touched(who.tenant_id, "settlement_imported", outcome.touched)
    return {
        "recost": job,
        "store_id": store.store_id,
        "settlement_id": report.settlement_id,
        "currency": report.currency,
        "start": report.start.isoformat() if report.start else None,
        "end": report.end.isoformat() if report.end else None,
        "deposit_date": report.deposit_date.isoformat() if report.deposit_date else None,
        "total_amount": str(report.total_amount),
        "orders_matched": len(outcome.matched),
        "orders_unknown": outcome.unknown,
        "totals": {name: str(amount) for name, amount in report.totals().items()},
        "unmapped": report.unmapped,
        "not_costs": report.not_costs,
        "without_order": report.without_order,
        "replaced": outcome.replaced,
    }


def _text() -> str:
    request = bp.current_request
    body = uploads.body_bytes(request.raw_body)
    if not body.strip():
        raise BadRequest(Text("cost.settlement.empty"), code="empty_settlement")
    if len(body) > MAX_REPORT_BYTES:
        raise PayloadTooLarge(Text("cost.settlement.too_large"), code="payload_too_large")
    _, charset = uploads.content_type(request.headers.get("content-type"))
    return uploads.decode(
        body,
        charset,
        what=Text("cost.upload.the_settlement_report"),
        example="text/tab-separated-values; charset=windows-1252",
    )
