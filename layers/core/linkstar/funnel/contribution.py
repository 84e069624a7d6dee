"""What one customer's purchase history adds to the repeat stages and the cohorts, kept at ingest.

Ingest keeps on each customer item its **purchase days**: per UTC day, the orders bought (by store
and market) and their amount net of refunds (by currency), cancelled orders left out. They change
only by an order's delta (:func:`linkstar.orders.state.purchase_contribution`, new minus old
state), so a duplicate, a retry or an out-of-order event changes them exactly as the order's final
state says. The size grows with the days a customer bought on, never with orders beyond that.

From the purchase days alone, :func:`cohort_contribution` derives the customer's contribution,
with the definitions of :mod:`linkstar.funnel.cohorts` (day ``F`` the first purchase day):

- on the aggregate key ``(F, store, market)``: ``cohort_customers`` 1 (the customer joins the
  cohort of ``F``), ``repeat_{N}d`` 1 when they bought again on a day ``D`` with
  ``0 < D - F <= N``, and ``cohort_revenue_{N}d#<currency>``, the amounts of every purchase with
  ``0 <= D - F <= N`` — for ``N`` in :data:`~linkstar.funnel.cohorts.COHORT_WINDOWS`;
- the store and market are those of the first day's purchases; on the rare first day that spans
  several, the one with most orders that day, then the smallest ``<store_id>#<market>`` — a rule
  on the purchase days alone, so the answer never depends on the order the events came in.

Ingest stores the contribution it applied (:class:`AppliedCohort`) on the customer and adds
``contribution(new) - applied`` to the daily aggregate and the first-order month's cohort item in
the order's transaction. An earlier order arriving late moves the customer's ``F``: the diff takes
the customer out of the later day's cohort and into the earlier one. Summed over the customers,
the cohort fields equal :func:`linkstar.funnel.cohorts.cohorts` on the same purchases.

These ``cohort_customers`` differ from the aggregates' ``new_customers`` (the KPI): a customer
whose only order was cancelled is not in a cohort, and one whose first order was cancelled joins
on the day of their first purchase. A customer stored before purchase days were kept has none:
their history starts with the next change to one of their orders, and an older order looks
absent until a backfill rebuilds the days from the stored orders. Pure: no I/O.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from linkstar.orders.state import PURCHASE_AMOUNT, PURCHASES, AggregateKey, diff

Deltas = dict[AggregateKey, dict[str, Decimal]]

# Days after a customer's first order that repeat purchase and revenue are followed (kept here,
# not in linkstar.funnel.cohorts, so ingest doesn't import the period arithmetic of KPIs).
COHORT_WINDOWS: tuple[int, ...] = (30, 60, 90, 180)
COHORT_CUSTOMERS = "cohort_customers"
REVENUE_PREFIX = "cohort_revenue_"


def repeat_field(days: int) -> str:
    """The customers of a first-order day who bought again within ``days`` (a funnel stage name
    for 30, 60 and 90)."""
    return f"repeat_{days}d"


def revenue_field(days: int, currency: str) -> str:
    """Their revenue in ``currency`` within ``days`` of each one's first order, first included."""
    return f"{REVENUE_PREFIX}{days}d#{currency}"


REPEAT_FIELDS = frozenset(repeat_field(days) for days in COHORT_WINDOWS)


def is_cohort_field(name: str) -> bool:
    """Whether an aggregate field is one of a cohort's (see the module docstring)."""
    return name == COHORT_CUSTOMERS or name in REPEAT_FIELDS or name.startswith(REVENUE_PREFIX)


class PurchaseDay(BaseModel):
    """One day of a customer's purchases, cancelled orders aside."""

    model_config = ConfigDict(frozen=True)

    orders: dict[str, int] = {}  # by "<store_id>#<market>"
    amounts: dict[str, Decimal] = {}  # net of refunds, by currency

    @property
    def count(self) -> int:
        return sum(self.orders.values())


_NO_PURCHASE = PurchaseDay()


class AppliedCohort(BaseModel):
    """The contribution last added to the aggregates for a customer: what the next change is
    diffed against. Stored rather than recomputed from the old purchase days, so a change to the
    definitions (a new window) adds only what it changes."""

    model_config = ConfigDict(frozen=True)

    day: str
    store_id: str
    market: str
    fields: dict[str, Decimal]

    @classmethod
    def of(cls, contribution: Deltas) -> AppliedCohort | None:
        for (day, store_id, market), fields in contribution.items():
            return cls(day=day, store_id=store_id, market=market, fields=fields)
        return None

    def contribution(self) -> Deltas:
        return {(self.day, self.store_id, self.market): dict(self.fields)}


def apply_purchases(
    days: Mapping[str, PurchaseDay], delta: Mapping[str, Decimal]
) -> dict[str, PurchaseDay]:
    """``days`` with an order's purchase delta added; other fields of ``delta`` are ignored.

    Sums are kept as they come, never clamped: a customer stored before purchase days were kept
    may see an order it never had removed (a count of -1), and clamping would make the next
    delta of that order inexact. Days whose every sum is 0 are dropped."""
    touched: dict[str, tuple[dict[str, int], dict[str, Decimal]]] = {}

    def slot(day: str) -> tuple[dict[str, int], dict[str, Decimal]]:
        if day not in touched:
            known = days.get(day, _NO_PURCHASE)
            touched[day] = (dict(known.orders), dict(known.amounts))
        return touched[day]

    for name, value in delta.items():
        if name.startswith(PURCHASES):
            day, group = name.removeprefix(PURCHASES).split("#", 1)
            orders = slot(day)[0]
            orders[group] = orders.get(group, 0) + int(value)
        elif name.startswith(PURCHASE_AMOUNT):
            day, currency = name.removeprefix(PURCHASE_AMOUNT).split("#", 1)
            amounts = slot(day)[1]
            amounts[currency] = amounts.get(currency, Decimal(0)) + value
    result = dict(days)
    for day, (orders, amounts) in touched.items():
        kept = PurchaseDay(
            orders={group: n for group, n in orders.items() if n != 0},
            amounts={currency: a for currency, a in amounts.items() if a != 0},
        )
        if kept.orders or kept.amounts:
            result[day] = kept
        else:
            result.pop(day, None)
    return dict(sorted(result.items()))


def cohort_contribution(days: Mapping[str, PurchaseDay]) -> Deltas:
    """The customer's cohort fields on the key of their first purchase (rules in the module
    docstring); empty for a customer with no purchase."""
    # ISO dates sort as days do; a day whose count is not positive bought nothing (see
    # apply_purchases). Days after the longest window are never looked at.
    bought = (label for label in sorted(days) if days[label].count > 0)
    first_label = next(bought, None)
    if first_label is None:
        return {}
    first = date.fromisoformat(first_label)
    groups = {group: n for group, n in days[first_label].orders.items() if n > 0}
    store_id, market = min(groups, key=lambda group: (-groups[group], group)).rsplit("#", 1)
    fields: dict[str, Decimal] = {COHORT_CUSTOMERS: Decimal(1)}
    for position, label in enumerate(itertools.chain([first_label], bought)):
        # Each day counts in every window it falls in; the second purchase day alone decides
        # the repeats.
        after = (date.fromisoformat(label) - first).days
        within = [window for window in COHORT_WINDOWS if after <= window]
        if not within:
            break
        if position == 1:
            for window in within:
                fields[repeat_field(window)] = Decimal(1)
        for currency, amount in days[label].amounts.items():
            for window in within:
                name = revenue_field(window, currency)
                fields[name] = fields.get(name, Decimal(0)) + amount
    return {(first_label, store_id, market): {k: v for k, v in fields.items() if v != 0}}


@dataclass(frozen=True, slots=True)
class HistoryChange:
    """A customer's purchase days and applied contribution after an order's delta, and what to
    add to the aggregates for it."""

    days: dict[str, PurchaseDay]
    applied: AppliedCohort | None
    deltas: Deltas


def fold(
    days: Mapping[str, PurchaseDay], applied: AppliedCohort | None, delta: Mapping[str, Decimal]
) -> HistoryChange:
    """Fold an order's purchase delta into a customer's history (the ingest step)."""
    after = apply_purchases(days, delta)
    contribution = cohort_contribution(after)
    before = applied.contribution() if applied is not None else {}
    return HistoryChange(after, AppliedCohort.of(contribution), diff(contribution, before))
