"""A tenant's cost model: the ``PUT /cost-model`` body, validated in full, JSON round-trippable.

:class:`CostModel` says how each cost component of an order is worked out when the order itself
does not carry the actual amount (an actual always wins, see :mod:`linkstar.costs.profit`):

================  ===========================================================================
section           what it holds
================  ===========================================================================
``commission``    a rate per platform, optionally per product category, and a fixed fee per
                  order (on the platform's default rule only)
``payment_fees``  a percentage plus a fixed fee per gateway and charge currency; a rule with a
                  platform and no gateway is that platform's default (marketplaces include
                  payment in their commission: give them ``rate: 0``)
``logistics``     a price table per market and shipping method by weight bracket
``ads``           the rule that spreads a period's ad spend over its orders
``taxes``         VAT/GST/sales tax per destination country (and optionally platform): rate,
                  whether prices include it, whether the marketplace remits it
``duties``        an import duty rate per destination on the goods value, with the country's
                  de-minimis threshold
``returns``       reverse-logistics cost per return and the share of returned goods written off,
                  per market
``cogs``          unit cost per SKU, each in its own currency
``fx``            the conversion spread lost when revenue is paid out in another currency
================  ===========================================================================

Rules:

1. **Missing is not zero.** A section left out (``None``) makes its component *missing* on every
   order that needs it; an empty list is a section with no rules, so every lookup misses the same
   way. A zero cost is written as a rule with ``rate: 0`` (e.g. Shopify's commission).
2. **The most specific rule wins.** A rule names the keys it applies to (platform, category,
   gateway, currency, market, method); a key left out matches anything. Of the rules whose named
   keys all match, the one naming the most wins; where keys weigh differently the lookup says so
   (payment fees: gateway over charge currency over platform). Two rules naming the same keys
   are a validation error, so a lookup never has to break a tie.
3. **Amounts** are non-negative ``Decimal`` in the currency the rule names (ISO 4217, upper
   case), below :data:`MAX_AMOUNT`; they may carry more decimals than the currency's minor
   units (a unit cost of 0.125 USD), because rounding happens once, on each component of an
   order. Rates are fractions from 0 to 1: 15% is ``0.15``.
4. **Keys are normalised**: currencies and countries (ISO 3166 alpha-2) upper case; categories,
   gateways and shipping methods stripped and lower case; SKUs stripped, case kept.

Worked example::

    {"reporting_currency": "USD",
     "commission": [{"platform": "amazon", "rate": "0.15"},
                    {"platform": "amazon", "category": "electronics", "rate": "0.08"},
                    {"platform": "shopify", "rate": "0"}],
     "payment_fees": [{"gateway": "stripe", "rate": "0.029", "fixed": "0.30",
                       "fixed_currency": "USD"},
                      {"platform": "amazon", "rate": "0"}],
     "taxes": [{"country": "DE", "rate": "0.19", "prices_include_tax": true, "label": "VAT"}],
     "cogs": {"MUG-1": {"unit_cost": "3.50", "currency": "CNY"}}}

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from decimal import Decimal
from typing import Annotated, Literal, TypeVar, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from linkstar import money
from linkstar.orders.models import Platform
from linkstar.text import Text

Component = Literal[
    "cogs", "commission", "payment_fees", "logistics", "ads", "taxes", "duties", "returns", "fx"
]
COMPONENTS: tuple[Component, ...] = get_args(Component)
"""The cost components of an order, in the order the profit breakdown lists them."""

MAX_AMOUNT = Decimal("1E+12")
"""Every amount of a rule is below this (a trillion, in any currency): an order's components are
worked out and rounded in ``Decimal``'s 28 significant digits, which a larger amount with its
minor units would exceed (``GET /orders/{id}/profit`` answered 500 on a unit cost of 1E+27)."""

MAX_SKUS = 20_000
"""The most SKUs one cost model prices (the body stays a few MB at most)."""

TAX_LABEL_DEFAULT = "tax"
"""A tax rule's label when the tenant names none: shown translated, where "VAT" is shown as is."""


def currency_code(value: str) -> str:
    """``value`` as an ISO 4217 code (stripped, upper case); ``ValueError`` when it is not one."""
    code = value.strip().upper()
    if not money.is_currency(code):
        # A Text: pydantic renders it when the error is read, in the request's language.
        raise ValueError(Text("cost.model.not_a_currency", value=repr(value)))
    return code


def _country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        raise ValueError(Text("cost.model.not_a_country", value=repr(value)))
    return code


def _slug(value: str) -> str:
    slug = value.strip().lower()
    if not slug:
        raise ValueError(Text("cost.model.blank"))
    return slug


def _sku(value: str) -> str:
    sku = value.strip()
    if not sku:
        raise ValueError(Text("cost.model.blank_sku"))
    return sku


Currency = Annotated[str, AfterValidator(currency_code)]
Country = Annotated[str, AfterValidator(_country)]
Slug = Annotated[str, Field(max_length=100), AfterValidator(_slug)]
Sku = Annotated[str, Field(max_length=200), AfterValidator(_sku)]
Rate = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]
Price = Annotated[Decimal, Field(ge=0, lt=MAX_AMOUNT, allow_inf_nan=False)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CommissionRule(_Model):
    """``rate`` of the commission base (the order's revenue, see :mod:`linkstar.costs.profit`)
    on ``platform``, for lines in ``category`` (``None``: the platform's default, which also
    covers shipping and lines of other categories), plus ``fixed_per_order`` in ``currency``
    once per order. ``includes_tax``: the platform charges its rate on the tax-inclusive price
    (Amazon's EU referral fees)."""

    platform: Platform
    category: Slug | None = None
    rate: Rate
    fixed_per_order: Price = Decimal(0)
    currency: Currency | None = None  # of fixed_per_order
    includes_tax: bool = False

    @model_validator(mode="after")
    def _fixed(self) -> CommissionRule:
        if self.fixed_per_order and self.category is not None:
            raise ValueError(Text("cost.model.fixed_fee_on_category"))
        if self.fixed_per_order and self.currency is None:
            raise ValueError(Text("cost.model.fixed_fee_without_currency"))
        return self


class PaymentFeeRule(_Model):
    """``rate`` of what the buyer paid plus ``fixed`` per order. Applies to orders paid through
    ``gateway`` (and in ``currency`` when given); a rule with ``platform`` and no gateway is that
    platform's default, used when the order names no gateway or one without a rule."""

    gateway: Slug | None = None
    platform: Platform | None = None
    currency: Currency | None = None  # the charge currency the rule applies to; None: any
    rate: Rate
    fixed: Price = Decimal(0)
    fixed_currency: Currency | None = None  # defaults to ``currency``

    @model_validator(mode="after")
    def _keys(self) -> PaymentFeeRule:
        if self.gateway is None and self.platform is None:
            raise ValueError(Text("cost.model.payment_fee_rule_unnamed"))
        if self.fixed and self.fee_currency is None:
            raise ValueError(Text("cost.model.payment_fee_without_currency"))
        return self

    @property
    def fee_currency(self) -> str | None:
        return self.fixed_currency or self.currency


class WeightBracket(_Model):
    """Shipments up to ``max_grams`` (inclusive; ``None``: any weight) cost ``price``."""

    max_grams: int | None = Field(default=None, gt=0)
    price: Price


class LogisticsRate(_Model):
    """The price of shipping one order to ``market`` by ``method`` (``None``: any), by weight:
    the first bracket whose ``max_grams`` the order's weight does not exceed. A table with a
    single unbounded bracket is a flat rate, used even when the order's weight is unknown."""

    market: Country | None = None
    method: Slug | None = None
    currency: Currency
    brackets: list[WeightBracket] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _ascending(self) -> LogisticsRate:
        for i, bracket in enumerate(self.brackets):
            last = i == len(self.brackets) - 1
            if bracket.max_grams is None and not last:
                raise ValueError(Text("cost.model.unbounded_bracket", index=i))
            if i and bracket.max_grams is not None:
                before = self.brackets[i - 1].max_grams
                if before is not None and bracket.max_grams <= before:
                    raise ValueError(
                        Text(
                            "cost.model.brackets_not_ascending",
                            index=i,
                            grams=bracket.max_grams,
                            before=before,
                        )
                    )
        return self

    @property
    def flat(self) -> bool:
        return len(self.brackets) == 1 and self.brackets[0].max_grams is None

    def bracket_for(self, grams: int) -> WeightBracket | None:
        for bracket in self.brackets:
            if bracket.max_grams is None or grams <= bracket.max_grams:
                return bracket
        return None


class AdsRule(_Model):
    """How a period's ad spend reaches orders (:func:`linkstar.costs.profit.allocate_ads`).

    ``by_revenue_share``: each spend row is tagged with a key of the kind ``within`` names — a
    destination market, a campaign (the order's ``utm_campaign``) or an advertised SKU — and the
    period's spend on that key is split over the period's orders with that key in proportion to
    their revenue (for ``sku``: the revenue of their lines of that SKU)."""

    rule: Literal["by_revenue_share"] = "by_revenue_share"
    within: Literal["market", "campaign", "sku"] = "market"


class TaxRule(_Model):
    """The tax on sales to ``country`` (on ``platform`` when given): ``rate`` of the taxable
    amount (goods after discounts, and shipping when ``shipping_taxable``).
    ``prices_include_tax``: the listed prices carry the tax (EU VAT), else it is added on top
    (US sales tax). ``marketplace_facilitator``: the platform collects and remits it (so it is
    never the seller's cost, but it is still shown). One rate per country: where rates vary
    within one (US states), give the tax the order collected as an actual."""

    country: Country
    platform: Platform | None = None
    rate: Rate
    prices_include_tax: bool
    marketplace_facilitator: bool = False
    shipping_taxable: bool = True
    label: str = Field(default=TAX_LABEL_DEFAULT, min_length=1, max_length=40)  # "VAT", "GST"


class DutyRule(_Model):
    """Import duty into ``country``: ``rate`` of the goods value (after discounts, before tax,
    without shipping) when that value is above ``de_minimis`` (in ``currency``); at or below it,
    none. No ``de_minimis``: duty on every import. The seller pays it (delivered duty paid)."""

    country: Country
    rate: Rate
    de_minimis: Price | None = None
    currency: Currency | None = None  # of de_minimis

    @model_validator(mode="after")
    def _threshold_currency(self) -> DutyRule:
        if self.de_minimis is not None and self.currency is None:
            raise ValueError(Text("cost.model.de_minimis_without_currency"))
        return self


class ReturnsRule(_Model):
    """Returns to ``market`` (``None``: any): ``cost_per_return`` in ``currency`` for each
    return shipment, plus ``write_off_rate`` of the returned units' COGS (the share that cannot
    be resold)."""

    market: Country | None = None
    cost_per_return: Price
    currency: Currency
    write_off_rate: Rate = Decimal(0)


class SkuCost(_Model):
    """The cost of one unit of a SKU (landed, if import costs are not modelled as duties)."""

    unit_cost: Price
    currency: Currency


class FxCostRule(_Model):
    """What converting a payout costs: revenue received in a currency other than
    ``payout_currency`` (``None``: the reporting currency) loses ``spread`` of itself
    (on ``platform``; ``None``: any)."""

    platform: Platform | None = None
    payout_currency: Currency | None = None
    spread: Rate


_Rule = TypeVar("_Rule")


class CostModel(_Model):
    """A tenant's cost model (see the module docstring). Lookups return ``None`` when no rule
    applies; :mod:`linkstar.costs.profit` turns that into a missing component."""

    reporting_currency: Currency
    commission: list[CommissionRule] | None = Field(default=None, max_length=1000)
    payment_fees: list[PaymentFeeRule] | None = Field(default=None, max_length=1000)
    logistics: list[LogisticsRate] | None = Field(default=None, max_length=1000)
    ads: AdsRule | None = None
    taxes: list[TaxRule] | None = Field(default=None, max_length=1000)
    duties: list[DutyRule] | None = Field(default=None, max_length=1000)
    returns: list[ReturnsRule] | None = Field(default=None, max_length=1000)
    cogs: dict[Sku, SkuCost] | None = Field(default=None, max_length=MAX_SKUS)
    fx: list[FxCostRule] | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def _no_duplicate_rules(self) -> CostModel:
        _unique("commission", self.commission, lambda r: (r.platform, r.category))
        _unique("payment_fees", self.payment_fees, lambda r: (r.gateway, r.platform, r.currency))
        _unique("logistics", self.logistics, lambda r: (r.market, r.method))
        _unique("taxes", self.taxes, lambda r: (r.country, r.platform))
        _unique("duties", self.duties, lambda r: (r.country,))
        _unique("returns", self.returns, lambda r: (r.market,))
        _unique("fx", self.fx, lambda r: (r.platform,))
        return self

    # --- lookups (rule 2 of the module docstring) ------------------------------------------

    def commission_rule(self, platform: str, category: str | None) -> CommissionRule | None:
        """The category's rule on ``platform``, else the platform's default."""
        category = _norm(category)
        return _most_specific(
            self.commission,
            lambda r: _score((r.platform, platform, 1), (r.category, category, 2)),
        )

    def payment_fee_rule(
        self, platform: str, gateway: str | None, currency: str
    ) -> PaymentFeeRule | None:
        """Gateway and currency, then gateway, then the platform's default (by currency first)."""
        gateway = _norm(gateway)
        return _most_specific(
            self.payment_fees,
            lambda r: _score(
                (r.gateway, gateway, 4),
                (r.currency, currency.upper(), 2),
                (r.platform, platform, 1),
            ),
        )

    def logistics_rate(self, market: str, method: str | None) -> LogisticsRate | None:
        """Market and method, then market, then method, then the any-market, any-method table."""
        method = _norm(method)
        return _most_specific(
            self.logistics,
            lambda r: _score((r.market, market.upper(), 2), (r.method, method, 1)),
        )

    def tax_rule(self, country: str, platform: str) -> TaxRule | None:
        """The country's rule for ``platform``, else the country's rule for any platform."""
        return _most_specific(
            self.taxes,
            lambda r: _score((r.country, country.upper(), 2), (r.platform, platform, 1)),
        )

    def duty_rule(self, country: str) -> DutyRule | None:
        return _most_specific(self.duties, lambda r: _score((r.country, country.upper(), 1)))

    def returns_rule(self, market: str) -> ReturnsRule | None:
        return _most_specific(self.returns, lambda r: _score((r.market, market.upper(), 1)))

    def fx_rule(self, platform: str) -> FxCostRule | None:
        return _most_specific(self.fx, lambda r: _score((r.platform, platform, 1)))

    def unit_cost(self, sku: str | None) -> SkuCost | None:
        if self.cogs is None or sku is None:
            return None
        return self.cogs.get(sku.strip())


def _norm(value: str | None) -> str | None:
    """A category, gateway or method as the rules spell them (blank: none given)."""
    if value is None:
        return None
    return value.strip().lower() or None


def _score(*keys: tuple[object, object, int]) -> int | None:
    """The weight of the keys a rule names, or ``None`` when one of them does not match."""
    score = 0
    for named, actual, weight in keys:
        if named is None:
            continue
        if named != actual:
            return None
        score += weight
    return score


def _most_specific(
    rules: Sequence[_Rule] | None, score: Callable[[_Rule], int | None]
) -> _Rule | None:
    best: tuple[int, _Rule] | None = None
    for rule in rules or ():
        points = score(rule)
        if points is not None and (best is None or points > best[0]):
            best = (points, rule)
    return best[1] if best else None


def _unique(
    section: str, rules: Sequence[_Rule] | None, key: Callable[[_Rule], tuple[Hashable, ...]]
) -> None:
    seen: dict[tuple[Hashable, ...], int] = {}
    for i, rule in enumerate(rules or ()):
        found = key(rule)
        if found in seen:
            named = [Text("cost.word.any") if k is None else str(k) for k in found]
            raise ValueError(
                Text(
                    "cost.model.duplicate_rule",
                    section=section,
                    index=i,
                    keys=named,
                    first=seen[found],
                )
            )
        seen[found] = i
