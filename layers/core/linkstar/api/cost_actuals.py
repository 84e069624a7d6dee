"""Actual per-order costs from any source: a carrier's invoice, a 3PL's bill, a payment
gateway's payout report, a customs broker's — any platform's orders. Read by
``linkstar.costs.actuals``, kept by ``linkstar.store.cost_actuals``; an order's actuals replace
the cost model's figures in ``GET /orders/{id}/profit`` and, after a background recost, in
``GET /costs``."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Literal

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from linkstar import clock
from linkstar.api import uploads
from linkstar.api.auth import principal
from linkstar.api.http import Auth, Content, Param, query_params, route
from linkstar.errors import BadRequest, PayloadTooLarge
from linkstar.tenants.models import Role
from linkstar.text import Text

bp = Blueprint(__name__)

MAX_BODY_BYTES = uploads.MAX_BODY_BYTES
RECOST_REASON = "cost_actuals_posted"
_TYPES = ["text/csv", "application/json", "text/plain"]
# linkstar.costs.actuals.ACCEPTED, spelled out so the cold start imports no cost code (a unit
# test keeps the two equal).
COMPONENTS_ACCEPTED = (
    "cogs",
    "commission",
    "payment_fees",
    "logistics",
    "taxes",
    "duties",
    "returns",
)


# ---------------------------------------------------------------- documented bodies


class CostActualRow(BaseModel):
    """One amount: an order's actual cost of a component. Name the order by LinkStar's
    ``order_id`` or by ``store_id`` and ``external_id`` (the platform's own order id)."""

    model_config = ConfigDict(extra="forbid")

    order_id: str | None = Field(default=None, examples=["s3k7mq2xa-5901234567890"])
    store_id: str | None = None
    external_id: str | None = None
    component: str = Field(
        json_schema_extra={"enum": list(COMPONENTS_ACCEPTED)},
        description="ads and fx are refused: neither has a per-order actual",
    )
    amount: Decimal = Field(
        ge=0, description="non-negative, at most the currency's minor units of decimals"
    )
    currency: str = Field(examples=["EUR"])
    source_ref: str | None = Field(
        default=None, max_length=200, description="the bill's own reference (invoice line)"
    )


class CostActualsIn(BaseModel):
    """A batch of actual costs; any invalid row refuses the whole batch (``invalid_rows``)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
        examples=["dhl-invoice-2026-10"],
        description="names the batch: posting it again replaces it",
    )
    rows: list[CostActualRow]


class CostActualsRecost(BaseModel):
    """The recost of the orders the batch names, or named before, queued by this post."""

    job_id: str
    reason: Literal["cost_actuals_posted"]
    state: Literal["running", "done"]


class ActualsImported(BaseModel):
    """What the batch held and what became of it."""

    source: str
    rows: int = Field(description="rows read")
    orders_matched: int = Field(description="orders named that LinkStar has")
    orders_unknown: list[str] = Field(
        description="order ids without a LinkStar order (yet): kept for when one arrives"
    )
    totals: dict[str, dict[str, Decimal]] = Field(
        description="component → currency → the batch's sum"
    )
    replaced: bool = Field(description="the source had been posted before")
    recost: CostActualsRecost | None = Field(description="queued when orders' costs may change")


# ---------------------------------------------------------------- the route


@route(
    bp,
    "/cost-actuals",
    methods=["POST"],
    content_types=_TYPES,
    request=(
        "linkstar.api.cost_actuals:CostActualsIn",
        Content(
            "text/csv",
            "header order_id,component,amount,currency[,source_ref], or store_id,external_id "
            "in place of order_id",
        ),
    ),
    response="linkstar.api.cost_actuals:ActualsImported",
    params=(
        Param(
            "source",
            "names the batch (required for CSV; JSON may give it in the body): posting the same "
            "source again replaces the batch",
        ),
    ),
    auth=Auth.API_KEY,
    tags=["costs"],
)
def post_cost_actuals() -> dict[str, Any]:
    """A batch of actual per-order costs from any source (operator or above). A carrier's
    invoice (``logistics``, ``returns``), a 3PL's bill, a payment gateway's payout report
    (``payment_fees``), a customs broker's (``duties``), as ``text/csv`` with ``?source=`` or
    JSON ``{"source", "rows"}``: the costs replace the cost model's figures for the orders they
    name; re-posting a source replaces that batch, so the same file twice changes nothing."""
    from linkstar.costs import actuals
    from linkstar.store import cost_actuals
    from linkstar.store import stores as store_repo

    who = principal(bp, Role.OPERATOR)
    request = bp.current_request
    media_type, charset = uploads.content_type(request.headers.get("content-type"))
    text = _text(request.raw_body, charset)
    param = query_params(bp).get("source")

    def store_exists(store_id: str) -> bool:
        return store_repo.get(who.tenant_id, store_id) is not None

    if media_type == "application/json":
        body = _json(text)
        batch = actuals.parse_json(
            body, source=param, tenant_id=who.tenant_id, store_exists=store_exists
        )
    else:
        batch = actuals.parse_csv(
            text,
            source=actuals.source_name(param),
            tenant_id=who.tenant_id,
            store_exists=store_exists,
        )
    outcome = cost_actuals.replace(who.tenant_id, batch, clock.now(), who.key_id)
    # The sums in GET /costs were worked out without these costs (or with the batch as posted
    # before): the orders it names, or named before, are recosted in the background.
    job = uploads.recost_touched(who.tenant_id, RECOST_REASON, outcome.touched)
    return {
        "source": batch.source,
        "rows": len(batch.rows),
        "orders_matched": len(outcome.matched),
        "orders_unknown": outcome.unknown,
        "totals": {
            component: {currency: str(amount) for currency, amount in sums.items()}
            for component, sums in batch.totals().items()
        },
        "replaced": outcome.replaced,
        "recost": job,
    }


def _text(raw: bytes | str | None, charset: str) -> str:
    body = uploads.body_bytes(raw)
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(Text("cost.actuals.too_large"), code="payload_too_large")
    if not body.strip():
        raise BadRequest(Text("cost.actuals.empty_body"), code="empty_batch")
    return uploads.decode(
        body, charset, what=Text("cost.upload.the_body"), example="text/csv; charset=windows-1252"
    )


def _json(text: str) -> dict[str, Any]:
    try:
        # Numbers are read as Decimal: 0.1 stays 0.1, never a binary float's neighbour.
        data = json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        raise BadRequest(Text("cost.actuals.body_not_json"), code="invalid_json") from exc
    if not isinstance(data, dict):
        raise BadRequest(Text("cost.actuals.body_not_object"), code="invalid_json")
    return data
