"""Costs as the API uses them: the tenant's cost model (audited with the KPI audit trail), its FX
rates, and one order's profit from its canonical record.

From the order: lines (a line's own discount is the gap between quantity x unit price and its
total; what the lines still charge beyond the order's subtotal is spread over them as discount,
by what they charge),
shipping charged, tax collected, refunds (and the units they name as returned goods), the
destination market and the order's ``utm_campaign``. Not in the canonical order, so left to the
cost model's defaults: weight, shipping method, payment gateway and where it ships from.

Actual costs: an imported Amazon settlement's fees and any posted batch's costs (a carrier's
invoice, a gateway's payout report), summed per component over the settlements and batches
naming the order (:mod:`linkstar.store.cost_actuals`).

Ads (rule ``by_revenue_share`` within ``market``): the month's imported ``ad_spend`` for the
order's market times the order's share of that market-month's costed revenue in the reporting
currency, as the cost ledger sums it — the split ``GET /costs`` makes. Reads: the order, the
model, its settlement fees, at most two months of FX rates, one fact month and one month of cost
sums, whatever the number of orders.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from linkstar.costs import fx as fx_module
from linkstar.costs import model as model_module
from linkstar.errors import BadRequest, NotFound, PayloadTooLarge
from linkstar.store import dynamo, keys
from linkstar.tenants.models import Principal, Role
from linkstar.text import Text

DISCOUNT_PLACES = Decimal("0.0001")
MAX_MODEL_BYTES = 190_000
"""The largest cost model kept, as JSON: the model is one DynamoDB item, and the audit entry of a
change holds the model before and after it in another (each at most 400 KB)."""


def load_model(tenant_id: str) -> model_module.CostModel | None:
    return load_model_version(tenant_id)[0]


def load_model_version(tenant_id: str) -> tuple[model_module.CostModel | None, int]:
    """The tenant's cost model and its audited version (0: none saved yet)."""
    item = dynamo.get(keys.cost_model(tenant_id), consistent=True)
    if not item:
        return None, 0
    return model_module.CostModel.model_validate_json(item["doc"]), int(item.get("version", 0))


def put_model(who: Principal, body: dict[str, Any], now: datetime) -> model_module.CostModel:
    from linkstar.kpis.access import audit_actor, require_role
    from linkstar.store import kpis as audit_store

    require_role(who, Role.ADMIN, "changing the cost model")
    model = model_module.CostModel.model_validate(body)
    doc = model.model_dump(mode="json")
    size = len(json.dumps(doc, sort_keys=True).encode())  # as the audit trail stores it
    if size > MAX_MODEL_BYTES:
        raise PayloadTooLarge(
            Text("cost.model_too_large", size=f"{size:,}", limit=f"{MAX_MODEL_BYTES:,}"),
            code="cost_model_too_large",
            size=size,
            limit=MAX_MODEL_BYTES,
        )
    item = dynamo.get(keys.cost_model(who.tenant_id), consistent=True)
    before = json.loads(item["doc"]) if item else None
    version = int(item["version"]) if item else 0
    audit_store.save(
        who.tenant_id, "cost_model", keys.cost_model(who.tenant_id), "cost_model",
        doc, before, version, audit_actor(who), now,
    )  # fmt: skip
    from linkstar.costs import recost

    # Every order was costed under the old model (or none): recost them all, a page at a time.
    recost.request(who.tenant_id, "cost_model_changed")
    return model


def put_rates(who: Principal, payload: Any) -> dict[str, Any]:
    from linkstar.kpis.access import require_role

    require_role(who, Role.OPERATOR, "posting FX rates")
    rows, problems = fx_module.parse_rates(payload)
    if problems:
        raise BadRequest(Text("cost.fx.invalid_rates"), code="invalid_rates", problems=problems)
    dynamo.batch_put(
        [
            {
                **keys.fx_rate(who.tenant_id, row.date.isoformat(), row.base, row.quote),
                "type": "fx_rate",
                "date": row.date.isoformat(),
                "base": row.base,
                "quote": row.quote,
                "rate": row.rate,
            }
            for row in rows
        ]
    )
    from linkstar.costs import recost

    job = None
    if rows:
        # An order may use a rate up to the staleness limit old, so orders that far past the
        # last posted date can change too.
        first = min(row.date for row in rows)
        last = max(row.date for row in rows) + timedelta(days=fx_module.DEFAULT_MAX_AGE_DAYS)
        job = recost.request(
            who.tenant_id, "fx_rates_posted", since=first.isoformat(), until=last.isoformat()
        )
    return {"accepted": len(rows), "recost": job}


def rates_around(tenant_id: str, day: date) -> fx_module.FxTable:
    """The rates an order of ``day`` may use: that day back to the staleness limit."""
    from linkstar.kpis.data import months

    first = day - timedelta(days=fx_module.DEFAULT_MAX_AGE_DAYS)
    rows = []
    for month in months(first, day):
        for item in dynamo.query_all(
            "pk",
            keys.fx_month(tenant_id, month),
            sk_between=(first.isoformat(), f"{day.isoformat()}~"),
        ):
            rows.append(
                fx_module.FxRate(
                    date=date.fromisoformat(item["date"]),
                    base=item["base"],
                    quote=item["quote"],
                    rate=Decimal(item["rate"]),
                )
            )
    return fx_module.FxTable(rows)


class MonthEndRates:
    """Converts amounts summed over a month (cohort revenue) into ``target`` at the rate of the
    month's last day (or the latest within the staleness limit before it): one FX read per
    month, cached. ``None`` when there is no such rate."""

    def __init__(self, tenant_id: str, target: str) -> None:
        self.tenant_id = tenant_id
        self.target = target
        self.tables: dict[str, fx_module.FxTable] = {}

    def convert(self, amount: Decimal, currency: str, month: str) -> Decimal | None:
        if currency == self.target:
            return amount
        end = month_end(month)
        if month not in self.tables:
            self.tables[month] = rates_around(self.tenant_id, end)
        try:
            return self.tables[month].rate(currency, self.target, end).apply(amount)
        except fx_module.MissingRate:
            return None


def month_end(month: str) -> date:
    from linkstar.kpis.scoring import period_bounds

    return period_bounds("month", month)[1]


def order_facts(
    state: Any, ads: Any | None, actuals: Mapping[model_module.Component, Any] | None = None
) -> Any:
    """The order's :class:`~linkstar.costs.profit.OrderFacts`; ``actuals`` (component →
    ``profit.Amount``, e.g. a settlement's fees) take the place of the cost model's figures."""
    from linkstar.costs import profit

    snap = state.snapshot
    lines = []
    charged = []
    for item in snap.line_items:
        gross = item.unit_price * item.quantity
        own = max(gross - item.total, Decimal(0)) if item.total else Decimal(0)
        lines.append([item, own])
        charged.append(gross - own)
    total_charged = sum(charged, Decimal(0))
    # What the lines charge beyond the order's subtotal (after discounts, before shipping and
    # tax) is discount the lines don't carry themselves: order-level codes, or a platform that
    # reports line prices before them.
    spread = max(total_charged - snap.subtotal, snap.discounts - sum(o for _, o in lines))
    if snap.subtotal <= 0:
        spread = snap.discounts - sum((own for _, own in lines), Decimal(0))
    if spread > 0 and total_charged > 0:
        for entry, line_charged in zip(lines, charged, strict=True):
            share = (spread * line_charged / total_charged).quantize(DISCOUNT_PLACES)
            entry[1] = min(entry[1] + share, entry[0].unit_price * entry[0].quantity)
    by_line = {item.line_id: item for item in snap.line_items}
    returns = []
    for refund in state.refunds:
        items = [
            profit.ReturnedItem(sku=by_line[line_id].sku, quantity=qty)
            for line_id, qty in refund.line_items
            if line_id in by_line and by_line[line_id].sku and qty > 0
        ]
        if items:
            returns.append(profit.Return(items=tuple(items)))
    return profit.OrderFacts(
        order_id=state.order_id,
        date=snap.created_at.date(),
        platform=state.platform,
        market=state.market,
        currency=snap.currency,
        store_id=state.store_id,
        lines=tuple(
            profit.OrderLine(
                sku=item.sku, quantity=item.quantity, unit_price=item.unit_price, discount=disc
            )
            for item, disc in lines
        ),
        shipping_charged=snap.shipping,
        tax_collected=snap.tax,
        refunded=min(state.refunded_amount, snap.total),
        returns=tuple(returns),
        campaign=snap.utm.get("utm_campaign") if hasattr(snap, "utm") else None,
        actuals=dict(actuals or {}),
        allocated_ads=ads,
    )


def _allocated_ads(tenant_id: str, state: Any, base: Any, model: Any) -> Any | None:
    """The order's share of the ad spend in its calendar month, by the model's rule: for each
    market, campaign (the order's ``utm_campaign``) or SKU the order has, that key's spend in
    the month times the order's revenue on it (its lines' revenue, for a SKU) over the key's
    costed revenue that month, both in the reporting currency, from the cost ledger's sums —
    the split ``GET /costs`` makes, so the two agree up to rounding; 0 when the month has spend
    but none on the order's keys. None (ads missing, with profit()'s reason) without a rule,
    any spend imported for the month, or a rate for the order."""
    from linkstar.costs import ledger, profit
    from linkstar.kpis.data import Loader

    currency = model.reporting_currency
    if model.ads is None or base.currency != currency:
        return None
    within = model.ads.within
    mine: dict[str, Decimal] = defaultdict(Decimal)  # the order's revenue per key
    if within == "market":
        mine[state.market] = base.revenue
    elif within == "campaign":
        campaign = state.snapshot.utm.get("utm_campaign")
        if campaign:
            mine[campaign] = base.revenue
    else:
        for line in base.lines:
            if line.sku:
                mine[line.sku] += line.revenue
    month = base.date.strftime("%Y-%m")
    spend: dict[str, Decimal] = defaultdict(Decimal)
    facts = Loader(tenant_id, currency).fact_month("ad_spend", month)
    if not facts:
        return None  # nothing imported for the month: ads unknown, not zero
    for fact in facts:
        if fact.get(within) in mine:
            spend[str(fact[within])] += Decimal(fact["value"])
    dimension = profit._dimension(within)
    none = profit.AllocatedAds(
        amount=Decimal(0),
        currency=currency,
        how=str(Text("cost.ads.none_on_order", dimension=dimension, month=month)),
    )
    if not any(spend.values()):
        return none
    part = {"market": "order", "campaign": "campaign", "sku": "sku"}[within]
    field = f"revenue#{currency}"
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    for item in ledger.read_month(tenant_id, month, part=part):
        if item.get(within) in mine:
            revenue[str(item[within])] += Decimal(item.get(field, 0))
    entry = ledger.load_entry(tenant_id, state.order_id)
    if entry is None or entry.status != "costed":
        for key, amount in mine.items():  # not in the sums yet (a recost under way)
            revenue[key] += amount
    amount = Decimal(0)
    hows = []
    for key, own in sorted(mine.items()):
        if spend.get(key) and revenue[key] > 0 and own > 0:
            share = own / revenue[key]
            amount += spend[key] * share
            hows.append(
                Text(
                    "cost.ads.month_share",
                    share=f"{share:.4f}",
                    spend=f"{spend[key]} {currency}",
                    dimension=dimension,
                    key=key,
                    month=month,
                    revenue=f"{revenue[key]} {currency}",
                )
            )
    if not hows:
        return none
    return profit.AllocatedAds(
        amount=amount.quantize(Decimal("0.01")), currency=currency, how=profit._list(hows)
    )


def order_profit(tenant_id: str, order_id: str) -> dict[str, Any]:
    from linkstar.costs import profit
    from linkstar.store import cost_actuals, orders

    state = orders.load(tenant_id, order_id)
    if state is None or state.snapshot is None:
        raise NotFound(Text("cost.order_not_found"), code="order_not_found")
    model = load_model(tenant_id)
    if model is None:
        raise BadRequest(Text("cost.no_cost_model"), code="cost_model_missing")
    facts = order_facts(state, None, cost_actuals.actual_costs_for(tenant_id, order_id))
    table = rates_around(tenant_id, facts.date)
    result = profit.profit(facts, model, table)
    # Ads are split by revenue, which only profit() knows: work it out, then add the share.
    ads = _allocated_ads(tenant_id, state, result, model)
    if ads is not None:
        result = profit.profit(facts.model_copy(update={"allocated_ads": ads}), model, table)
    view: dict[str, Any] = result.to_api()
    view["order_id"] = order_id
    return view
