"""Repeat-purchase cohorts: customers grouped by the month of their first order, with the share
who ordered again and the revenue per customer within 30, 60, 90 and 180 days.

Input is the order history as ``(customer_id, day, amount)`` purchases: ``day`` a ``date`` (the
tenant's calendar date, converted from UTC at the edge; a ``datetime`` is refused so that a time
of day cannot shift a window), ``amount`` a ``Decimal`` (or ``int``; never a ``float``) of at
least 0 in one reporting currency — convert first, and net refunds into their order rather than
passing them as negative purchases. It must reach back to each customer's first order: a history
that starts later makes returning customers look new.

Definitions, for a customer whose first purchase is on day ``F``:

- **Repeat within N days**: a purchase on a day ``D`` with ``0 < D - F <= N`` days. Another
  order on ``F`` itself is not a repeat (a split basket, a second order placed minutes later);
  one exactly ``N`` days later is.
- **Revenue within N days** is cumulative and *includes* the first order: every purchase with
  ``0 <= D - F <= N``, first day included. Revenue per customer is that total over the cohort's
  customers (all of them, repeaters or not), quantized to the currency's minor unit.
- **Cohort**: the calendar month of ``F`` (label ``1997-01``, see
  :mod:`linkstar.kpis.scoring`).

**Completeness.** ``as_of`` is the last day the history covers (inclusive); purchases after it
are ignored. A cohort's N-day window is *complete* when it has closed for every customer of the
cohort, i.e. for one who first ordered on the month's last day: ``as_of >= last day + N``
(``complete_on``). An incomplete window reports ``None`` for its rate and revenue, with a reason,
rather than a number that is low only because the cohort is young. A cohort whose month has not
ended (``closed`` false) may still gain customers; none of its windows is complete.

Rates are fractions rounded half-even to 4 places (0.25 is 25%). :func:`repeat_within` gives
the ``repeat_30d`` (``60d``, ``90d``) count for the customers whose first order fell in a
period. :func:`from_totals` applies the same completeness and rounding rules to sums kept
elsewhere: ``GET /cohorts`` feeds it the cohort items ingest maintains
(:mod:`linkstar.funnel.contribution`), whose sums equal what :func:`cohorts` computes from the
same purchases. Pure: no I/O.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from linkstar.funnel.contribution import COHORT_WINDOWS
from linkstar.kpis.scoring import bounds, period_bounds, period_label
from linkstar.money import quantize
from linkstar.text import Text

RATE_PLACES = Decimal("0.0001")


class Purchase(NamedTuple):
    """One order of the history (a plain ``(customer_id, day, amount)`` tuple works as well)."""

    customer_id: str
    day: date
    amount: Decimal


class CohortWindow(BaseModel):
    """A cohort's repeat purchase and revenue within ``days`` of each customer's first order."""

    model_config = ConfigDict(frozen=True)

    days: int
    complete: bool
    complete_on: date  # the first ``as_of`` at which the window has closed for every customer
    repeat_customers: int | None
    repeat_rate: Decimal | None  # repeat customers / customers, 4 places
    revenue: Decimal | None  # cumulative, first order included, in the currency's minor unit
    revenue_per_customer: Decimal | None
    reason: str | None  # why the numbers are None


class Cohort(BaseModel):
    """The customers whose first order fell in ``cohort`` (a month label)."""

    model_config = ConfigDict(frozen=True)

    cohort: str
    closed: bool  # the month has ended as of ``as_of``: no customer will join any more
    customers: int
    windows: list[CohortWindow]


@dataclass(slots=True)
class _History:
    """One customer's purchases, in day order."""

    days: list[date]
    amounts: list[Decimal]


def _histories(purchases: Iterable[tuple[str, date, Decimal]], as_of: date) -> list[_History]:
    by_customer: dict[str, list[tuple[date, Decimal]]] = {}
    for customer_id, day, amount in purchases:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise TypeError(f"purchase of {customer_id!r}: day must be a date, got {day!r}")
        if isinstance(amount, bool) or not isinstance(amount, Decimal | int):
            raise TypeError(
                f"purchase of {customer_id!r}: amount must be a Decimal, got {amount!r}"
            )
        if not Decimal(amount).is_finite() or amount < 0:
            raise ValueError(
                f"purchase of {customer_id!r}: amount must be finite and >= 0, got {amount}"
            )
        if day <= as_of:
            by_customer.setdefault(customer_id, []).append((day, Decimal(amount)))
    histories: list[_History] = []
    for rows in by_customer.values():
        rows.sort(key=lambda row: row[0])
        histories.append(_History([d for d, _ in rows], [a for _, a in rows]))
    return histories


def _repeats(history: _History, days: int) -> bool:
    # Days are sorted: the first purchase on a later day than the first order decides.
    first = history.days[0]
    later = bisect_right(history.days, first)
    return later < len(history.days) and history.days[later] <= first + timedelta(days=days)


def _revenue(history: _History, days: int) -> Decimal:
    within = bisect_right(history.days, history.days[0] + timedelta(days=days))
    return sum(history.amounts[:within], Decimal(0))


def _check_windows(windows: Sequence[int]) -> None:
    if not windows:
        raise ValueError("at least one window is needed")
    for days in windows:
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"a window is a whole number of days >= 1, got {days!r}")


@dataclass(frozen=True, slots=True)
class CohortTotals:
    """One cohort's sums, the input of :func:`from_totals`: its customers, and by window the
    repeat customers and the revenue (first order included, one currency, unrounded)."""

    customers: int
    repeat_customers: Mapping[int, int]
    revenue: Mapping[int, Decimal]


def cohorts(
    purchases: Iterable[tuple[str, date, Decimal]],
    *,
    as_of: date,
    currency: str,
    windows: Sequence[int] = COHORT_WINDOWS,
) -> list[Cohort]:
    """Every first-order month of ``purchases`` up to ``as_of``, oldest first (rules in the module
    docstring). ``currency`` is the amounts' ISO 4217 code, for rounding revenue."""
    _check_windows(windows)
    by_month: dict[str, list[_History]] = {}
    for history in _histories(purchases, as_of):
        by_month.setdefault(period_label("month", history.days[0]), []).append(history)
    totals = {
        month: CohortTotals(
            customers=len(members),
            repeat_customers={
                days: sum(1 for history in members if _repeats(history, days)) for days in windows
            },
            revenue={
                days: sum((_revenue(history, days) for history in members), Decimal(0))
                for days in windows
            },
        )
        for month, members in by_month.items()
    }
    return from_totals(totals, as_of=as_of, currency=currency, windows=windows)


def from_totals(
    totals: Mapping[str, CohortTotals],
    *,
    as_of: date,
    currency: str,
    windows: Sequence[int] = COHORT_WINDOWS,
) -> list[Cohort]:
    """The cohorts of ``totals`` (by month label), oldest first, with the completeness and
    rounding rules of the module docstring — for sums kept elsewhere, such as the cohort items
    ingest maintains (:mod:`linkstar.funnel.contribution`). Sums must cover ``as_of``: a window
    not yet complete is withheld, whatever its sums say. Months without customers are left out."""
    _check_windows(windows)
    result: list[Cohort] = []
    for month in sorted(totals):
        sums = totals[month]
        if sums.customers <= 0:
            continue
        _, month_end = period_bounds("month", month)
        rows: list[CohortWindow] = []
        for days in windows:
            complete_on = month_end + timedelta(days=days)
            if as_of < complete_on:
                rows.append(
                    CohortWindow(
                        days=days,
                        complete=False,
                        complete_on=complete_on,
                        repeat_customers=None,
                        repeat_rate=None,
                        revenue=None,
                        revenue_per_customer=None,
                        reason=str(
                            Text("funnel.cohort.window_incomplete", date=complete_on.isoformat())
                        ),
                    )
                )
                continue
            repeaters = sums.repeat_customers.get(days, 0)
            revenue = sums.revenue.get(days, Decimal(0))
            rows.append(
                CohortWindow(
                    days=days,
                    complete=True,
                    complete_on=complete_on,
                    repeat_customers=repeaters,
                    repeat_rate=(Decimal(repeaters) / sums.customers).quantize(
                        RATE_PLACES, rounding=ROUND_HALF_EVEN
                    ),
                    revenue=quantize(revenue, currency),
                    revenue_per_customer=quantize(revenue / sums.customers, currency),
                    reason=None,
                )
            )
        result.append(
            Cohort(cohort=month, closed=as_of >= month_end, customers=sums.customers, windows=rows)
        )
    return result


def repeat_within(
    purchases: Iterable[tuple[str, date, Decimal]],
    days: int,
    period: str,
    *,
    as_of: date,
) -> int | None:
    """The customers whose first order fell in ``period`` (any label: ``2026-11``, ``2026-W47``…)
    and who ordered again within ``days`` of it — the funnel's ``repeat_{days}d`` stage count.

    ``None`` (no data, not zero) while the window is still open for a customer of the period:
    when ``as_of`` is before the period's last day + ``days``."""
    _check_windows([days])
    first, last = bounds(period)
    if as_of < last + timedelta(days=days):
        return None
    return sum(
        1
        for history in _histories(purchases, as_of)
        if first <= history.days[0] <= last and _repeats(history, days)
    )
