"""Profit per order: an order's facts, the tenant's cost model and rate table in, every cost out.

The caller gathers :class:`OrderFacts` (the order, plus any actual costs: a settlement report's
fees, a carrier invoice, the order's allocated ad spend) and calls :func:`profit`;
:meth:`OrderProfit.to_api` is the ``GET /orders/{id}/profit`` body::

    {"currency": "USD", "revenue": "108.00",
     "components": {"cogs": "10.00", "commission": "16.20", "payment_fees": "0.00",
                    "logistics": "7.02", "ads": "5.00", "taxes": "0.00", "duties": "0.00",
                    "returns": "0.00", "fx": "1.62"},
     "profit": "68.16", "missing": [], "cm1": "98.00", "cm2": "73.16", "cm3": "68.16",
     "estimated": false,
     "details": {"commission": {"source": "model",
                                "how": "15% on 100.00 EUR (amazon, default)"}, ...},
     "tax_collected": "20.52", "tax_remitted_by": "seller", "order_id": ..., "lines": [...]}

(two mugs to Germany at 59.50 EUR incl. 19% VAT, EUR→USD 1.08: the first worked order of
``tests/unit/test_profit.py``).

**Revenue** is what the seller earned from the buyer, net of tax and of refunds: the lines'
``quantity x unit_price - discount`` plus the shipping charged, less the tax those prices carry
when they include it (tax added on top was never in them), times the share of the order not
refunded. Refunds are what went back to the buyer, tax included, and are taken pro rata from
every part of the order (lines, shipping, tax).

**Tax is never revenue, so collected tax is never a cost.** ``taxes`` is the tax the seller
bears that the buyer did not pay: zero when prices include it (DE: 119.00 incl. 19% VAT carries
``119.00 x 0.19 / 1.19`` = 19.00 of VAT; revenue 100.00) or when it was added on top (US sales
tax), and the shortfall when an exclusive-price order collected less than the rule says is due
and the seller remits it. The tax the order carried is shown beside the components
(``tax_collected``, and ``tax_remitted_by``: ``marketplace`` when the platform collects and
remits it as marketplace facilitator, else ``seller``), so every component is a deduction and
``profit = revenue - sum(known components)`` always adds up.

Components, each from an actual when the facts carry one (``source: actual``), else from the
cost model (``model``), else ``missing`` with the reason in ``how``:

================  ===========================================================================
``cogs``          units kept (sold less returned) x the SKU's unit cost
``commission``    each line's revenue x its category's rate, shipping at the platform's
                  default rate, plus the default rule's fixed fee (on the tax-inclusive amounts
                  when the rule says ``includes_tax``)
``payment_fees``  rate x what the buyer paid (tax and shipping included, before refunds:
                  gateways keep their fee on a refund) + the fixed fee
``logistics``     the weight bracket's price for the market and shipping method (charged on
                  every order given: leave out, or give an actual 0 for, an order never shipped)
``ads``           the order's share of the period's ad spend (:func:`allocate_ads`)
``taxes``         see above
``duties``        the destination's rate x goods value (lines after discounts, before tax and
                  refunds) when that value is above the de-minimis threshold; zero when the
                  order ships from inside the destination (``ships_from``); an unknown
                  ``ships_from`` is an import
``returns``       per return shipment, the market's reverse-logistics cost, plus the write-off
                  rate x the returned units' COGS (their other COGS is back in stock, so out of
                  ``cogs``); zero when the order has no returns
``fx``            the cost of converting the payout (:mod:`linkstar.costs.fx`): the spread x
                  revenue when the order's currency is not the payout currency
================  ===========================================================================

**Margins**: ``cm1 = revenue - cogs``; ``cm2 = cm1 - commission - payment_fees - logistics -
taxes - duties - returns - fx``; ``cm3 = cm2 - ads = profit``.

**Missing inputs** are explicit: a component that can't be computed is ``null`` in
``components`` and named in ``missing``; the margins and profit are worked out from the known
parts and the order is ``estimated``. A section absent from the cost model is missing, never
zero.

**Currency and rounding.** Every amount is converted into the model's reporting currency at the
rate of the order date (:class:`linkstar.costs.fx.FxTable`): each component is computed at full
``Decimal`` precision from its inputs in their own currencies, converted, and rounded once to the
reporting currency's minor units (half-even, :func:`linkstar.money.quantize`); revenue too.
Profit and the margins are sums of those rounded amounts, so the breakdown adds up to the cent.
An input in a currency without a usable rate makes its component missing. When the order's own
currency has no rate into the reporting currency, the whole order is shown in its own currency
(``currency`` says which) with ``fx`` missing and the reason; roll-ups keep it apart.

:func:`rollup` sums orders per market, platform, store, period (:func:`by_market`,
:func:`by_platform`, :func:`by_store`, :func:`by_period`) or SKU (:func:`split_by_sku` first,
then :func:`by_sku`).

Pure: no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from linkstar import money
from linkstar.costs.fx import FxTable, MissingRate, RateQuote
from linkstar.costs.model import (
    COMPONENTS,
    TAX_LABEL_DEFAULT,
    Component,
    CostModel,
    Country,
    Currency,
    Price,
    Sku,
    TaxRule,
)
from linkstar.orders.models import Platform
from linkstar.text import Clauses, Text

Source = Literal["actual", "model", "missing"]
FiniteDecimal = Annotated[Decimal, Field(allow_inf_nan=False)]
NO_SKU = "(no sku)"
NO_STORE = "(no store)"
_ZERO = Decimal(0)
_CM2_COSTS: tuple[Component, ...] = (
    "commission",
    "payment_fees",
    "logistics",
    "taxes",
    "duties",
    "returns",
    "fx",
)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- what the caller gives -------------------------------------------------------------------


class Amount(_Model):
    """An actual cost: positive is money the seller paid, negative a credit."""

    amount: FiniteDecimal
    currency: Currency


class OrderLine(_Model):
    """A line as the buyer was charged: ``quantity x unit_price - discount`` (its share of the
    order's discounts too), with tax in it when the order's prices include tax."""

    sku: Sku | None = None
    quantity: int = Field(ge=0)
    unit_price: Price
    discount: Price = _ZERO
    category: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _discount(self) -> OrderLine:
        if self.discount > self.quantity * self.unit_price:
            raise ValueError(
                Text(
                    "cost.line_discount_too_large",
                    discount=self.discount,
                    quantity=self.quantity,
                    unit_price=self.unit_price,
                )
            )
        return self

    @property
    def charged(self) -> Decimal:
        return self.quantity * self.unit_price - self.discount


class ReturnedItem(_Model):
    sku: Sku
    quantity: int = Field(gt=0)


class Return(_Model):
    """One return shipment and the units it brought back."""

    items: tuple[ReturnedItem, ...] = Field(min_length=1)


class AllocatedAds(_Model):
    """An order's share of ad spend, as :func:`allocate_ads` worked it out."""

    amount: Price
    currency: Currency
    how: str


class OrderFacts(_Model):
    """What :func:`profit` needs to know about one order. Amounts are in ``currency`` unless
    they carry their own; ``date`` is the order's date (UTC), the day its rates are taken."""

    order_id: str = Field(min_length=1, max_length=200)
    date: date
    platform: Platform
    market: Country  # the destination country
    currency: Currency
    store_id: str | None = None
    lines: tuple[OrderLine, ...] = ()
    shipping_charged: Price = _ZERO  # after shipping discounts
    # From the platform when it says (Shopify's total_tax and taxes_included; Amazon's
    # marketplace-facilitator flag); otherwise the cost model's tax rule decides.
    tax_collected: Price | None = None
    prices_include_tax: bool | None = None
    marketplace_remits_tax: bool | None = None
    refunded: Price = _ZERO  # returned to the buyer, tax included
    returns: tuple[Return, ...] = ()  # goods sent back (their refund is in ``refunded``)
    weight_grams: int | None = Field(default=None, ge=0)
    shipping_method: str | None = None
    gateway: str | None = None  # payment gateway; None on marketplaces
    ships_from: Country | None = None
    campaign: str | None = None  # utm_campaign, for ads allocated within campaigns
    actuals: dict[Component, Amount] = Field(default_factory=dict)
    allocated_ads: AllocatedAds | None = None


# --- what profit() returns ------------------------------------------------------------------


class ComponentDetail(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: Source
    # "15% on 100.00 EUR (amazon, default)", or why the component is missing: rendered when
    # profit() runs, so in the language of the request asking for it.
    how: str


class LineProfit(BaseModel):
    """A line's revenue (net of tax and refunds) and the COGS of its kept units."""

    model_config = ConfigDict(frozen=True)

    sku: str | None
    quantity: int
    revenue: Decimal
    cogs: Decimal | None


class OrderProfit(BaseModel):
    """An order's profit in ``currency`` (see the module docstring); :meth:`to_api` is the
    ``GET /orders/{id}/profit`` body."""

    model_config = ConfigDict(frozen=True)

    currency: str
    revenue: Decimal
    components: dict[Component, Decimal | None]
    profit: Decimal
    missing: list[Component]
    cm1: Decimal
    cm2: Decimal
    cm3: Decimal
    estimated: bool
    details: dict[Component, ComponentDetail]
    tax_collected: Decimal | None  # the tax the order carried, after refunds; not a cost
    tax_remitted_by: Literal["seller", "marketplace"] | None
    order_id: str
    date: date
    platform: str
    market: str
    store_id: str | None
    lines: list[LineProfit]
    sku: str | None = None  # set on the per-SKU parts of split_by_sku

    def to_api(self) -> dict[str, Any]:
        """JSON-ready: amounts as strings (``"12.30"``), a missing component as ``null``."""
        return self.model_dump(mode="json")


# --- the computation ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    """A component at full precision in the target currency (``None``: missing)."""

    value: Decimal | None
    source: Source
    how: str


def _missing(how: Text | str) -> _Part:
    return _Part(None, "missing", str(how))


def _model(value: Decimal, how: Text | str) -> _Part:
    return _Part(value, "model", str(how))


def _sum(parts: Sequence[Text | str]) -> str:
    """The parts of an amount as a sum (``a + b``: the same in every language)."""
    return " + ".join(str(part) for part in parts)


def _list(parts: Sequence[Text | str]) -> str:
    """Explanations one after the other, separated as the reader's language does."""
    return str(Clauses(parts))


@dataclass(frozen=True)
class _Sales:
    """The order's sales in its own currency, at full precision, before refunds unless named."""

    line_net: tuple[Decimal, ...]  # ex tax
    line_tax: tuple[Decimal, ...]  # tax carried by each line
    shipping_net: Decimal
    shipping_tax: Decimal
    tax: Decimal | None  # None: unknown
    includes_tax: bool | None  # None: unknown
    tax_rule: TaxRule | None
    paid: Decimal  # what the buyer paid, tax included
    kept: Decimal  # the share not refunded, 0..1

    @property
    def net(self) -> Decimal:
        return sum(self.line_net, _ZERO) + self.shipping_net

    @property
    def revenue(self) -> Decimal:
        return self.net * self.kept


def _sales(facts: OrderFacts, model: CostModel) -> _Sales:
    rule = model.tax_rule(facts.market, facts.platform)
    includes = facts.prices_include_tax
    if includes is None and rule is not None:
        includes = rule.prices_include_tax
    charged = [line.charged for line in facts.lines]
    shipping = facts.shipping_charged
    shipping_taxable = rule.shipping_taxable if rule is not None else True
    taxable = sum(charged, _ZERO) + (shipping if shipping_taxable else _ZERO)
    tax: Decimal | None = None
    if facts.tax_collected is not None:
        tax = facts.tax_collected
    elif rule is not None:
        # Multiply before dividing: 119.00 x 0.19 / 1.19 is exactly 19.00.
        tax = taxable * rule.rate / (1 + rule.rate) if includes else taxable * rule.rate

    def share(amount: Decimal, is_taxable: bool = True) -> Decimal:
        if not tax or not taxable or not is_taxable:
            return _ZERO
        return tax * amount / taxable

    line_tax = tuple(share(amount) for amount in charged)
    shipping_tax = share(shipping, shipping_taxable)
    if includes:
        line_net = tuple(a - t for a, t in zip(charged, line_tax, strict=True))
        shipping_net = shipping - shipping_tax
        paid = sum(charged, _ZERO) + shipping
    else:
        line_net, shipping_net = tuple(charged), shipping
        paid = sum(charged, _ZERO) + shipping + (tax or _ZERO)
    refunded = min(facts.refunded / paid, Decimal(1)) if paid > 0 else _ZERO
    return _Sales(
        line_net=line_net,
        line_tax=line_tax,
        shipping_net=shipping_net,
        shipping_tax=shipping_tax,
        tax=tax,
        includes_tax=includes,
        tax_rule=rule,
        paid=paid,
        kept=1 - refunded,
    )


class _Context:
    """Conversion into the target currency at the order's date."""

    def __init__(self, facts: OrderFacts, target: str, fx: FxTable) -> None:
        self.facts = facts
        self.target = target
        self.fx = fx
        self._quotes: dict[str, RateQuote] = {}

    def convert(self, amount: Decimal, currency: str) -> Decimal:
        """``amount`` in the target currency, unrounded; :class:`MissingRate` without a rate."""
        if currency not in self._quotes:
            self._quotes[currency] = self.fx.rate(currency, self.target, self.facts.date)
        return self._quotes[currency].apply(amount)

    def order(self, amount: Decimal) -> Decimal:
        return self.convert(amount, self.facts.currency)


def profit(facts: OrderFacts, model: CostModel, fx: FxTable) -> OrderProfit:
    """The order's profit (see the module docstring for every rule)."""
    target = model.reporting_currency
    untranslated: Text | None = None
    try:
        fx.rate(facts.currency, target, facts.date)
    except MissingRate as exc:
        untranslated = Text(
            "cost.fx.not_translated", reason=exc.reason, currency=facts.currency, target=target
        )
        target = facts.currency
    ctx = _Context(facts, target, fx)
    sales = _sales(facts, model)
    kept_units = _kept_units(facts)

    parts: dict[Component, _Part] = {}
    for name, compute in _COMPUTE.items():
        if name == "fx" and untranslated is not None:
            parts[name] = _missing(untranslated)
            continue
        actual = facts.actuals.get(name)
        try:
            if actual is not None:
                parts[name] = _Part(
                    ctx.convert(actual.amount, actual.currency),
                    "actual",
                    str(Text("cost.how.actual", amount=_money(actual.amount, actual.currency))),
                )
            else:
                parts[name] = compute(facts, model, sales, ctx, kept_units)
        except MissingRate as exc:
            parts[name] = _missing(exc.reason)

    components: dict[Component, Decimal | None] = {}
    for name in COMPONENTS:
        value = parts[name].value
        components[name] = None if value is None else _round(value, target)
    revenue = _round(ctx.order(sales.revenue), target)
    missing = [name for name in COMPONENTS if components[name] is None]
    cm1, cm2, cm3 = _margins(revenue, components)
    return OrderProfit(
        currency=target,
        revenue=revenue,
        components=components,
        profit=cm3,
        missing=missing,
        cm1=cm1,
        cm2=cm2,
        cm3=cm3,
        estimated=bool(missing),
        details={
            name: ComponentDetail(source=parts[name].source, how=parts[name].how)
            for name in COMPONENTS
        },
        tax_collected=None
        if sales.tax is None
        else _round(ctx.order(sales.tax * sales.kept), target),
        tax_remitted_by=None if sales.tax is None else _remitter(facts, sales),
        order_id=facts.order_id,
        date=facts.date,
        platform=str(facts.platform),
        market=facts.market,
        store_id=facts.store_id,
        lines=_lines(facts, model, sales, ctx, kept_units),
    )


def _margins(
    revenue: Decimal, components: dict[Component, Decimal | None]
) -> tuple[Decimal, Decimal, Decimal]:
    def known(name: Component) -> Decimal:
        return components.get(name) or _ZERO

    cm1 = revenue - known("cogs")
    cm2 = cm1 - sum((known(name) for name in _CM2_COSTS), _ZERO)
    return cm1, cm2, cm2 - known("ads")


def _lines(
    facts: OrderFacts, model: CostModel, sales: _Sales, ctx: _Context, kept: list[int]
) -> list[LineProfit]:
    lines = []
    for i, line in enumerate(facts.lines):
        cogs: Decimal | None = None
        unit = model.unit_cost(line.sku)
        if unit is not None:
            try:
                cogs = _round(ctx.convert(kept[i] * unit.unit_cost, unit.currency), ctx.target)
            except MissingRate:
                cogs = None
        lines.append(
            LineProfit(
                sku=line.sku,
                quantity=line.quantity,
                revenue=_round(ctx.order(sales.line_net[i] * sales.kept), ctx.target),
                cogs=cogs,
            )
        )
    return lines


def _kept_units(facts: OrderFacts) -> list[int]:
    """Each line's units less those returned (a SKU's returns taken from its lines in order)."""
    returned: dict[str, int] = defaultdict(int)
    for shipment in facts.returns:
        for item in shipment.items:
            returned[item.sku] += item.quantity
    kept = []
    for line in facts.lines:
        back = min(returned[line.sku], line.quantity) if line.sku is not None else 0
        if line.sku is not None:
            returned[line.sku] -= back
        kept.append(line.quantity - back)
    return kept


def _remitter(facts: OrderFacts, sales: _Sales) -> Literal["seller", "marketplace"]:
    facilitator = facts.marketplace_remits_tax
    if facilitator is None:
        facilitator = sales.tax_rule.marketplace_facilitator if sales.tax_rule else False
    return "marketplace" if facilitator else "seller"


# --- one function per component, each in the target currency at full precision ---------------


def _cogs(
    facts: OrderFacts, model: CostModel, sales: _Sales, ctx: _Context, kept: list[int]
) -> _Part:
    if model.cogs is None:
        return _missing(Text("cost.missing.no_cogs"))
    total, said = _ZERO, []
    for i, line in enumerate(facts.lines):
        if not line.quantity:
            continue
        if line.sku is None:
            return _missing(Text("cost.missing.line_without_sku", line=i + 1))
        unit = model.unit_cost(line.sku)
        if unit is None:
            return _missing(Text("cost.missing.no_sku_cogs", sku=line.sku))
        total += ctx.convert(kept[i] * unit.unit_cost, unit.currency)
        returned = line.quantity - kept[i]
        cost = _money(unit.unit_cost, unit.currency)
        said.append(
            Text(
                "cost.how.cogs_line_returned",
                units=kept[i],
                cost=cost,
                sku=line.sku,
                returned=returned,
            )
            if returned
            else Text("cost.how.cogs_line", units=kept[i], cost=cost, sku=line.sku)
        )
    return _model(total, _sum(said) if said else Text("cost.how.no_units"))


def _commission(
    facts: OrderFacts, model: CostModel, sales: _Sales, ctx: _Context, kept: list[int]
) -> _Part:
    if model.commission is None:
        return _missing(Text("cost.missing.no_commission"))
    platform = str(facts.platform)
    default = model.commission_rule(platform, None)
    bases: dict[tuple[str | None, Decimal, bool], Decimal] = defaultdict(lambda: _ZERO)
    for i, line in enumerate(facts.lines):
        rule = model.commission_rule(platform, line.category)
        if rule is None:
            return _missing(
                Text(
                    "cost.missing.no_commission_rule",
                    platform=platform,
                    category=line.category or Text("cost.word.default"),
                )
            )
        base = sales.line_net[i] + (sales.line_tax[i] if rule.includes_tax else _ZERO)
        bases[(rule.category, rule.rate, rule.includes_tax)] += base * sales.kept
    if facts.shipping_charged:
        if default is None:
            return _missing(Text("cost.missing.no_default_commission", platform=platform))
        base = sales.shipping_net + (sales.shipping_tax if default.includes_tax else _ZERO)
        bases[(None, default.rate, default.includes_tax)] += base * sales.kept
    currency = facts.currency
    total = ctx.order(sum((rate * base for (_, rate, _), base in bases.items()), _ZERO))
    said = [
        Text(
            "cost.how.commission_incl_tax" if with_tax else "cost.how.commission",
            rate=_pct(rate),
            base=_money(base, currency),
            platform=platform,
            category=category or Text("cost.word.default"),
        )
        for (category, rate, with_tax), base in bases.items()
    ]
    if default is not None and default.fixed_per_order and default.currency is not None:
        total += ctx.convert(default.fixed_per_order, default.currency)
        fee = _money(default.fixed_per_order, default.currency)
        said.append(Text("cost.how.per_order", amount=fee))
    return _model(total, _sum(said) if said else Text("cost.how.nothing_sold"))


def _payment_fees(
    facts: OrderFacts, model: CostModel, sales: _Sales, ctx: _Context, kept: list[int]
) -> _Part:
    if model.payment_fees is None:
        return _missing(Text("cost.missing.no_payment_fees"))
    platform = str(facts.platform)
    rule = model.payment_fee_rule(platform, facts.gateway, facts.currency)
    if rule is None:
        if facts.gateway:
            return _missing(
                Text(
                    "cost.missing.no_gateway_payment_fee_rule",
                    gateway=facts.gateway,
                    platform=platform,
                    currency=facts.currency,
                )
            )
        return _missing(
            Text("cost.missing.no_payment_fee_rule", platform=platform, currency=facts.currency)
        )
    total = ctx.order(rule.rate * sales.paid)
    paid = _money(sales.paid, facts.currency)
    label: Text | str = rule.gateway or Text(
        "cost.how.platform_default", platform=str(rule.platform)
    )
    how = Text("cost.how.payment_fee", rate=_pct(rule.rate), paid=paid, rule=label)
    if rule.fixed and rule.fee_currency is not None:
        total += ctx.convert(rule.fixed, rule.fee_currency)
        how = Text(
            "cost.how.payment_fee_fixed",
            rate=_pct(rule.rate),
            paid=paid,
            fixed=_money(rule.fixed, rule.fee_currency),
            rule=label,
        )
    return _model(total, how)


def _logistics(
    facts: OrderFacts, model: CostModel, sales: _Sales, ctx: _Context, kept: list[int]
) -> _Part:
    if model.logistics is None:
        return _missing(Text("cost.missing.no_logistics"))
    method = facts.shipping_method
    rate = model.logistics_rate(facts.market, method)
    where = f"{facts.market}" + (f" {method}" if method else "")
    if rate is None:
        return _missing(Text("cost.missing.no_logistics_rate", where=where))
    table = Text(
        "cost.how.logistics_table",
        market=rate.market or Text("cost.word.any_market"),
        method=rate.method or Text("cost.word.any_method"),
    )
    if rate.flat:
        bracket = rate.brackets[0]
        price = _money(bracket.price, rate.currency)
        how = Text("cost.how.logistics_flat", table=table, price=price)
    elif facts.weight_grams is None:
        return _missing(Text("cost.missing.weight_unknown", table=table))
    else:
        found = rate.bracket_for(facts.weight_grams)
        if found is None:
            return _missing(
                Text(
                    "cost.missing.too_heavy",
                    grams=facts.weight_grams,
                    heaviest=rate.brackets[-1].max_grams,
                    table=table,
                )
            )
        bracket = found
        price = _money(bracket.price, rate.currency)
        how = (
            Text(
                "cost.how.logistics_bracket",
                table=table,
                grams=facts.weight_grams,
                max=bracket.max_grams,
                price=price,
            )
            if bracket.max_grams
            else Text(
                "cost.how.logistics_any_weight", table=table, grams=facts.weight_grams, price=price
            )
        )
    return _model(ctx.convert(bracket.price, rate.currency), how)


def _ads(
    facts: OrderFacts, model: CostModel, sales: _Sales, ctx: _Context, kept: list[int]
) -> _Part:
    if facts.allocated_ads is not None:
        share = facts.allocated_ads
        return _Part(ctx.convert(share.amount, share.currency), "model", share.how)
    if model.ads is None:
        return _missing(Text("cost.missing.no_ads_rule"))
    return _missing(Text("cost.missing.ads_not_allocated"))


def _taxes(
    facts: OrderFacts, model: CostModel, sales: _Sales, ctx: _Context, kept: list[int]
) -> _Part:
    rule = sales.tax_rule
    if sales.tax is None:
        code = "cost.missing.no_tax_rules" if model.taxes is None else "cost.missing.no_tax_rule"
        return _missing(Text(code, market=facts.market))
    if sales.includes_tax is None:
        return _missing(Text("cost.missing.tax_inclusion_unknown", market=facts.market))
    # A label the tenant chose ("VAT", "GST") is shown as written; ours (none given, or the
    # model's default) is translated.
    chosen = rule is not None and rule.label != TAX_LABEL_DEFAULT
    label: Text | str = rule.label if chosen and rule is not None else Text("cost.word.tax")
    amount = _money(sales.tax, facts.currency)
    carried = (
        Text("cost.how.tax_carried_at", amount=amount, label=label, rate=_pct(rule.rate))
        if rule is not None
        else Text("cost.how.tax_carried", amount=amount, label=label)
    )
    if _remitter(facts, sales) == "marketplace":
        how = Text("cost.how.tax_marketplace", carried=carried, platform=str(facts.platform))
        return _model(_ZERO, how)
    if sales.includes_tax:
        return _model(_ZERO, Text("cost.how.tax_in_prices", carried=carried))
    if rule is None or facts.tax_collected is None:
        return _model(_ZERO, Text("cost.how.tax_on_top", carried=carried))
    taxable = sum(sales.line_net, _ZERO) + (sales.shipping_net if rule.shipping_taxable else 0)
    due = taxable * rule.rate
    shortfall = max(due - facts.tax_collected, _ZERO) * sales.kept
    figures = {
        "rate": _pct(rule.rate),
        "label": label,
        "taxable": _money(taxable, facts.currency),
        "due": _money(due, facts.currency),
        "collected": _money(facts.tax_collected, facts.currency),
    }
    how = (
        Text("cost.how.tax_shortfall", **figures, shortfall=_money(shortfall, facts.currency))
        if shortfall
        else Text("cost.how.tax_due", **figures)
    )
    return _model(ctx.order(shortfall), how)


def _duties(
    facts: OrderFacts, model: CostModel, sales: _Sales, ctx: _Context, kept: list[int]
) -> _Part:
    if facts.ships_from is not None and facts.ships_from == facts.market:
        return _model(_ZERO, Text("cost.how.duty_domestic", market=facts.market))
    if model.duties is None:
        return _missing(Text("cost.missing.no_duties"))
    rule = model.duty_rule(facts.market)
    if rule is None:
        return _missing(Text("cost.missing.no_duty_rule", market=facts.market))
    goods = sum(sales.line_net, _ZERO)
    shown = _money(goods, facts.currency)
    how = Text("cost.how.duty", rate=_pct(rule.rate), goods=shown)
    if rule.de_minimis is not None and rule.currency is not None:
        in_threshold = ctx.fx.rate(facts.currency, rule.currency, facts.date).apply(goods)
        limit = _money(rule.de_minimis, rule.currency)
        if in_threshold <= rule.de_minimis:
            how = Text("cost.how.duty_de_minimis", goods=shown, market=facts.market, limit=limit)
            return _model(_ZERO, how)
        how = Text(
            "cost.how.duty_above_de_minimis",
            rate=_pct(rule.rate),
            goods=shown,
            market=facts.market,
            limit=limit,
        )
    return _model(ctx.order(rule.rate * goods), how)


def _returns(
    facts: OrderFacts, model: CostModel, sales: _Sales, ctx: _Context, kept: list[int]
) -> _Part:
    if not facts.returns:
        return _Part(_ZERO, "actual", str(Text("cost.how.no_returns")))
    if model.returns is None:
        return _missing(Text("cost.missing.no_returns"))
    rule = model.returns_rule(facts.market)
    if rule is None:
        return _missing(Text("cost.missing.no_returns_rule", market=facts.market))
    count = len(facts.returns)
    total = ctx.convert(count * rule.cost_per_return, rule.currency)
    said = [
        Text(
            "cost.how.reverse_logistics",
            returns=count,
            cost=_money(rule.cost_per_return, rule.currency),
        )
    ]
    if rule.write_off_rate:
        for shipment in facts.returns:
            for item in shipment.items:
                unit = model.unit_cost(item.sku)
                if unit is None:
                    return _missing(Text("cost.missing.no_returned_sku_cogs", sku=item.sku))
                cost = item.quantity * unit.unit_cost
                total += ctx.convert(rule.write_off_rate * cost, unit.currency)
                said.append(
                    Text(
                        "cost.how.write_off",
                        rate=_pct(rule.write_off_rate),
                        units=item.quantity,
                        cost=_money(unit.unit_cost, unit.currency),
                        sku=item.sku,
                    )
                )
    return _model(total, _sum(said))


def _fx(
    facts: OrderFacts, model: CostModel, sales: _Sales, ctx: _Context, kept: list[int]
) -> _Part:
    if model.fx is None:
        return _missing(Text("cost.missing.no_fx_rules"))
    rule = model.fx_rule(str(facts.platform))
    if rule is None:
        return _missing(Text("cost.missing.no_fx_rule", platform=str(facts.platform)))
    payout = rule.payout_currency or model.reporting_currency
    if facts.currency == payout:
        return _model(_ZERO, Text("cost.how.fx_same_currency", currency=payout))
    how = Text(
        "cost.how.fx_spread",
        spread=_pct(rule.spread),
        revenue=_money(sales.revenue, facts.currency),
        payout=payout,
    )
    return _model(ctx.order(rule.spread * sales.revenue), how)


_COMPUTE: dict[Component, Callable[[OrderFacts, CostModel, _Sales, _Context, list[int]], _Part]] = {
    "cogs": _cogs,
    "commission": _commission,
    "payment_fees": _payment_fees,
    "logistics": _logistics,
    "ads": _ads,
    "taxes": _taxes,
    "duties": _duties,
    "returns": _returns,
    "fx": _fx,
}


def _round(amount: Decimal, currency: str) -> Decimal:
    return money.quantize(amount, currency)


def _money(amount: Decimal, currency: str) -> str:
    return f"{money.quantize(amount, currency)} {currency}"


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


# --- ad spend allocation ---------------------------------------------------------------------


class AdSpend(_Model):
    """Ad spend on ``key`` (a market, campaign or SKU, as the model's ads rule says) on
    ``date``, for the period being allocated."""

    key: str = Field(min_length=1, max_length=200)
    date: date
    amount: Price
    currency: Currency


class UnallocatedSpend(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    amount: Decimal
    currency: str
    reason: str


class AdAllocation(BaseModel):
    """Each order's share (in the reporting currency) and the spend no order could take."""

    model_config = ConfigDict(frozen=True)

    currency: str
    by_order: dict[str, AllocatedAds]
    unallocated: list[UnallocatedSpend]
    skipped_orders: dict[str, str]  # order id: why it took no share


def allocate_ads(
    spend: Iterable[AdSpend], orders: Sequence[OrderFacts], model: CostModel, fx: FxTable
) -> AdAllocation:
    """Spread one period's ad spend over the period's orders by the model's rule
    (:class:`linkstar.costs.model.AdsRule`, ``by_revenue_share``).

    Spend is summed per key in the reporting currency (each row at its date's rate) and rounded
    once; each key's total is split over the orders with that key in proportion to their
    revenue (:func:`profit`'s definition, in the reporting currency at each order's date; for
    ``sku``, the revenue of their lines of that SKU). Shares are rounded by the largest
    remainder, so they add up to the key's spend to the cent (ties to the smaller order id).
    Every order gets an entry, 0 when no spend reached it. Spend without a rate, or on a key
    with no revenue in the period, is returned as unallocated with the reason; an order whose
    revenue has no rate is skipped (its ads stay missing). Set each order's
    ``allocated_ads`` from ``by_order`` before calling :func:`profit`."""
    target = model.reporting_currency
    rule = model.ads
    spend = list(spend)
    if rule is None:
        return AdAllocation(
            currency=target,
            by_order={},
            unallocated=[
                UnallocatedSpend(
                    key=row.key,
                    amount=row.amount,
                    currency=row.currency,
                    reason=str(Text("cost.missing.no_ads_rule")),
                )
                for row in spend
            ],
            skipped_orders={},
        )
    within = rule.within
    unallocated: list[UnallocatedSpend] = []
    totals: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    for row in spend:
        key = _ad_key(within, row.key)
        try:
            converted = fx.rate(row.currency, target, row.date).apply(row.amount)
        except MissingRate as exc:
            unallocated.append(
                UnallocatedSpend(
                    key=key, amount=row.amount, currency=row.currency, reason=str(exc.reason)
                )
            )
            continue
        totals[key] += converted

    weights: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: _ZERO))
    skipped: dict[str, str] = {}
    priced: list[OrderFacts] = []
    for order in orders:
        try:
            quote = fx.rate(order.currency, target, order.date)
        except MissingRate as exc:
            skipped[order.order_id] = str(exc.reason)
            continue
        priced.append(order)
        sales = _sales(order, model)
        if within == "sku":
            for i, line in enumerate(order.lines):
                if line.sku is not None:
                    weights[line.sku][order.order_id] += quote.apply(sales.line_net[i] * sales.kept)
        else:
            key = order.market if within == "market" else (order.campaign or "").strip()
            if key:
                weights[key][order.order_id] += quote.apply(sales.revenue)

    shares: dict[str, list[tuple[Decimal, Text]]] = defaultdict(list)
    for key in sorted(totals):
        total = _round(totals[key], target)
        takers = sorted((oid, w) for oid, w in weights.get(key, {}).items() if w > 0)
        whole = sum((w for _, w in takers), _ZERO)
        if not takers:
            unallocated.append(
                UnallocatedSpend(
                    key=key,
                    amount=total,
                    currency=target,
                    reason=str(
                        Text("cost.ads.no_order_revenue", dimension=_dimension(within), key=key)
                    ),
                )
            )
            continue
        split = _split(total, [w for _, w in takers], target)
        for (order_id, weight), amount in zip(takers, split, strict=True):
            how = Text(
                "cost.ads.share",
                dimension=_dimension(within),
                key=key,
                amount=_money(amount, target),
                total=_money(total, target),
                revenue=_money(weight, target),
                whole=_money(whole, target),
            )
            shares[order_id].append((amount, how))

    by_order: dict[str, AllocatedAds] = {}
    for order in priced:
        found = shares.get(order.order_id, [])
        amount = sum((a for a, _ in found), _ZERO)
        how = (
            Text("cost.ads.by_revenue_share", shares=_list([h for _, h in found]))
            if found
            else Text("cost.ads.none_reached", dimension=_dimension(within))
        )
        by_order[order.order_id] = AllocatedAds(
            amount=_round(amount, target), currency=target, how=str(how)
        )
    return AdAllocation(
        currency=target, by_order=by_order, unallocated=unallocated, skipped_orders=skipped
    )


_DIMENSIONS = {
    "market": "cost.dimension.market",
    "campaign": "cost.dimension.campaign",
    "sku": "cost.dimension.sku",
}


def _dimension(within: str) -> Text:
    """What ad spend is tagged with (the ads rule's ``within``), in words."""
    return Text(_DIMENSIONS[within])


def _ad_key(within: str, key: str) -> str:
    return key.strip().upper() if within == "market" else key.strip()


def _split(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """``total`` split in proportion to ``weights`` (their sum must be positive), in whole minor
    units that add up to it: each part rounded down, the units left given to the largest
    remainders (ties to the earlier part)."""
    unit = Decimal(1).scaleb(-money.minor_units(currency))
    whole = sum(weights, _ZERO)
    exact = [total * w / whole for w in weights]
    parts = [(x / unit).to_integral_value(rounding=ROUND_FLOOR) * unit for x in exact]
    left = int(((total - sum(parts, _ZERO)) / unit).to_integral_value(rounding=ROUND_HALF_EVEN))
    order = sorted(range(len(parts)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += unit
    return [money.quantize(p, currency) for p in parts]


# --- roll-ups --------------------------------------------------------------------------------


class Rollup(BaseModel):
    """Orders of one key in one currency (``GET /costs``): sums of the orders' rounded amounts
    (never re-rounded); ``components`` sums the known amounts and ``missing`` counts the orders
    without each; margins are percent of revenue, rounded half-even to 0.1 (``None`` when
    revenue is 0)."""

    model_config = ConfigDict(frozen=True)

    key: str
    currency: str
    orders: int
    estimated: int
    revenue: Decimal
    components: dict[Component, Decimal]
    missing: dict[Component, int]
    cm1: Decimal
    cm2: Decimal
    cm3: Decimal
    profit: Decimal
    cm1_margin: Decimal | None
    cm2_margin: Decimal | None
    cm3_margin: Decimal | None

    def to_api(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def rollup(profits: Iterable[OrderProfit], by: Callable[[OrderProfit], str]) -> list[Rollup]:
    """One :class:`Rollup` per ``by(order)`` key and currency, sorted by key then currency. An
    order shown in its own currency (no rate into the reporting currency) is summed apart from
    the others, never mixed with them. For SKUs pass the parts of :func:`split_by_sku`."""
    groups: dict[tuple[str, str], list[OrderProfit]] = defaultdict(list)
    for item in profits:
        groups[(by(item), item.currency)].append(item)
    rolled = []
    for (key, currency), items in sorted(groups.items()):
        revenue = sum((p.revenue for p in items), _ZERO)
        cm1 = sum((p.cm1 for p in items), _ZERO)
        cm2 = sum((p.cm2 for p in items), _ZERO)
        cm3 = sum((p.cm3 for p in items), _ZERO)
        rolled.append(
            Rollup(
                key=key,
                currency=currency,
                orders=len(items),
                estimated=sum(1 for p in items if p.estimated),
                revenue=revenue,
                components={
                    name: sum((p.components[name] or _ZERO for p in items), _ZERO)
                    for name in COMPONENTS
                },
                missing={
                    name: count
                    for name in COMPONENTS
                    if (count := sum(1 for p in items if p.components[name] is None))
                },
                cm1=cm1,
                cm2=cm2,
                cm3=cm3,
                profit=cm3,
                cm1_margin=_margin(cm1, revenue),
                cm2_margin=_margin(cm2, revenue),
                cm3_margin=_margin(cm3, revenue),
            )
        )
    return rolled


def _margin(amount: Decimal, revenue: Decimal) -> Decimal | None:
    if not revenue:
        return None
    return (amount * 100 / revenue).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)


def by_market(item: OrderProfit) -> str:
    return item.market


def by_platform(item: OrderProfit) -> str:
    return item.platform


def by_store(item: OrderProfit) -> str:
    return item.store_id or NO_STORE


def by_sku(item: OrderProfit) -> str:
    """The part's SKU (:func:`split_by_sku`)."""
    return item.sku or NO_SKU


def by_period(
    granularity: Literal["day", "week", "month"] = "month",
) -> Callable[[OrderProfit], str]:
    """Keys ``2026-03-02`` (day), ``2026-W10`` (ISO week) or ``2026-03`` (month) of the order
    date."""

    def key(item: OrderProfit) -> str:
        if granularity == "day":
            return item.date.isoformat()
        if granularity == "week":
            year, week, _ = item.date.isocalendar()
            return f"{year}-W{week:02d}"
        return item.date.strftime("%Y-%m")

    return key


def split_by_sku(item: OrderProfit) -> list[OrderProfit]:
    """The order as one part per SKU, for :func:`rollup` with :func:`by_sku`. COGS goes to each
    SKU by its lines' COGS; revenue and every other amount by the SKU's share of the lines'
    revenue (by units when the lines have none); each split adds up to the order's amount to the
    cent (:func:`_split`). Each part counts as an order of its SKU and keeps the order's
    ``missing`` and ``estimated``. Lines without a SKU form the part ``(no sku)``."""
    skus: dict[str, list[LineProfit]] = defaultdict(list)
    for line in item.lines:
        skus[line.sku or NO_SKU].append(line)
    if len(skus) <= 1:
        only = next(iter(skus), NO_SKU)
        return [item.model_copy(update={"sku": only})]
    names = list(skus)
    weights = [sum((line.revenue for line in skus[s]), _ZERO) for s in names]
    if not any(weights):
        weights = [Decimal(sum(line.quantity for line in skus[s])) for s in names]
    if not any(weights):
        weights = [Decimal(1)] * len(names)
    currency = item.currency
    cogs_weights = [sum((line.cogs or _ZERO for line in skus[s]), _ZERO) for s in names]
    if any(line.cogs is None for line in item.lines) or not any(cogs_weights):
        cogs_weights = weights

    def split(amount: Decimal | None, by: list[Decimal]) -> list[Decimal | None]:
        if amount is None:
            return [None] * len(names)
        return list(_split(amount, by, currency))

    revenue = split(item.revenue, weights)
    tax = split(item.tax_collected, weights)
    parts_of: dict[Component, list[Decimal | None]] = {
        name: split(item.components[name], cogs_weights if name == "cogs" else weights)
        for name in COMPONENTS
    }
    parts = []
    for i, sku in enumerate(names):
        components = {name: parts_of[name][i] for name in COMPONENTS}
        part_revenue = revenue[i] or _ZERO
        cm1, cm2, cm3 = _margins(part_revenue, components)
        parts.append(
            item.model_copy(
                update={
                    "sku": sku,
                    "revenue": part_revenue,
                    "components": components,
                    "cm1": cm1,
                    "cm2": cm2,
                    "cm3": cm3,
                    "profit": cm3,
                    "tax_collected": tax[i],
                    "lines": skus[sku],
                }
            )
        )
    return parts
