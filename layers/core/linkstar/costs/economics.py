"""Unit economics: what a new customer costs, what one is worth, and how soon one pays back.

The caller gives, for one group (a market, a platform, the whole tenant) and period, the ad
spend, the number of new customers (first order in the period) and the customer cohorts by
first-order month with their cumulative gross margin; :func:`unit_economics` returns the
``GET /unit-economics`` figures:

- **CAC** = ad spend ÷ new customers.
- **Gross-margin curve**: at each horizon (30, 60, 90, 180 days after each customer's first
  order) the gross margin per customer = the cumulative gross margin of every cohort that has
  reached that horizon ÷ those cohorts' customers. A cohort too young for a horizon leaves it
  out (so each point is over the cohorts old enough for it, and the curve can dip when a weak
  young cohort joins an early point). Gross margin is the cohort's CM1 (revenue - COGS,
  :mod:`linkstar.costs.profit`).
- **LTV** = the curve at the LTV horizon (180 days by default): a cohort-based, gross-margin
  lifetime value over a stated window, not an extrapolation.
- **LTV:CAC** = LTV ÷ CAC.
- **Payback** = the first horizon, in months (30 days = 1: 1, 2, 3 or 6), at which the gross
  margin per customer reaches CAC. Only the horizons are known, so payback is the horizon by
  which it happened, never an interpolation between them. No ad spend: 0 months.
- **Flag** when CAC > LTV: every new customer costs more than the margin it brings in the window.

A figure that can't be worked out (a zero denominator, no cohort old enough) is an
:class:`~linkstar.kpis.formula.Outcome` with ``value`` ``None`` and the reason, as KPIs are.

Rounding: CAC and the margins per customer are rounded to the currency's minor units (half-even,
:func:`linkstar.money.quantize`), LTV:CAC to 2 decimals; comparisons (payback, the flag) use the
rounded figures, the ones a seller sees.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from linkstar import money
from linkstar.costs.model import currency_code
from linkstar.kpis.formula import Outcome
from linkstar.text import Text

Horizon = Literal[30, 60, 90, 180]
HORIZONS: tuple[Horizon, ...] = get_args(Horizon)
DAYS_PER_MONTH = 30
FiniteDecimal = Annotated[Decimal, Field(allow_inf_nan=False)]


class Cohort(BaseModel):
    """The customers whose first order fell in ``month`` (``YYYY-MM``) and their cumulative
    gross margin, all of them together, by each horizon the cohort has reached (days after each
    customer's first order; a horizon not yet reached is left out)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    customers: int = Field(ge=0)
    gross_margin: dict[Horizon, FiniteDecimal]

    @field_validator("gross_margin", mode="before")
    @classmethod
    def _int_keys(cls, value: object) -> object:
        # JSON object keys are strings: "30" is the horizon 30.
        if isinstance(value, dict):
            return {
                int(k) if isinstance(k, str) and k.isdigit() else k: v for k, v in value.items()
            }
        return value


class UnitEconomics(BaseModel):
    """One group's unit economics (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    currency: str
    ad_spend: Decimal
    new_customers: int
    cac: Outcome
    margin_per_customer: dict[Horizon, Outcome]  # the gross-margin curve, by horizon in days
    ltv_horizon_days: int
    ltv: Outcome
    ltv_to_cac: Outcome
    payback_months: Outcome
    # "CAC 45.00 USD is above LTV 30.00 USD (180 days)", in the language of the request
    flag: str | None


def unit_economics(
    *,
    ad_spend: Decimal,
    new_customers: int,
    cohorts: Sequence[Cohort],
    currency: str,
    ltv_horizon: Horizon = 180,
) -> UnitEconomics:
    """The figures for one group; ``ad_spend`` and the cohorts' margins are in ``currency``."""
    if new_customers < 0:
        raise ValueError("new_customers must not be negative")
    currency = currency_code(currency)
    cac = _cac(ad_spend, new_customers, currency)
    curve = {h: _margin_per_customer(h, cohorts, currency) for h in HORIZONS}
    ltv = curve[ltv_horizon]
    flag = None
    if cac.value is not None and ltv.value is not None and cac.value > ltv.value:
        flag = str(
            Text(
                "cost.ue.cac_above_ltv",
                cac=f"{cac.value} {currency}",
                ltv=f"{ltv.value} {currency}",
                days=ltv_horizon,
            )
        )
    return UnitEconomics(
        currency=currency,
        ad_spend=ad_spend,
        new_customers=new_customers,
        cac=cac,
        margin_per_customer=curve,
        ltv_horizon_days=ltv_horizon,
        ltv=ltv,
        ltv_to_cac=_ratio(ltv, cac),
        payback_months=_payback(cac, curve, currency),
        flag=flag,
    )


def _cac(ad_spend: Decimal, new_customers: int, currency: str) -> Outcome:
    if new_customers == 0:
        return _missing(Text("cost.ue.no_new_customers"))
    return Outcome.of(money.quantize(ad_spend / new_customers, currency))


def _margin_per_customer(horizon: Horizon, cohorts: Sequence[Cohort], currency: str) -> Outcome:
    reached = [c for c in cohorts if horizon in c.gross_margin]
    if not reached:
        return _missing(Text("cost.ue.no_cohort_reached", days=horizon))
    customers = sum(c.customers for c in reached)
    if customers == 0:
        return _missing(Text("cost.ue.cohorts_without_customers", days=horizon))
    margin = sum((c.gross_margin[horizon] for c in reached), Decimal(0))
    return Outcome.of(money.quantize(margin / customers, currency))


def _ratio(ltv: Outcome, cac: Outcome) -> Outcome:
    if ltv.value is None:
        return _missing(Text("cost.ue.no_ltv", reason=ltv.reason))
    if cac.value is None:
        return _missing(Text("cost.ue.no_cac", reason=cac.reason))
    if cac.value == 0:
        return _missing(Text("cost.ue.cac_zero"))
    return Outcome.of((ltv.value / cac.value).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))


def _payback(cac: Outcome, curve: dict[Horizon, Outcome], currency: str) -> Outcome:
    if cac.value is None:
        return _missing(Text("cost.ue.no_cac", reason=cac.reason))
    if cac.value == 0:
        return Outcome.of(Decimal(0))
    known = [(h, point.value) for h, point in curve.items() if point.value is not None]
    if not known:
        return _missing(Text("cost.ue.no_gross_margin"))
    for horizon, margin in known:
        if margin >= cac.value:
            return Outcome.of(Decimal(horizon // DAYS_PER_MONTH))
    horizon, margin = known[-1]
    return _missing(
        Text(
            "cost.ue.not_paid_back",
            days=horizon,
            margin=f"{margin} {currency}",
            cac=f"{cac.value} {currency}",
        )
    )


def _missing(reason: Text) -> Outcome:
    # Outcome.reason is a str: rendered now, in the language of the request being answered.
    return Outcome.missing(str(reason))
