"""Repeat-purchase cohorts by first-order month: hand-worked histories, incomplete windows, the
funnel's repeat stage count, and a check against real purchases (CDNOW).

Expected values are worked out by hand in the comments beside them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from linkstar.funnel.cohorts import Cohort, CohortWindow, Purchase, cohorts, repeat_within

D = Decimal
CDNOW = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "datasets"
    / "cdnow"
    / "CDNOW_master_from251.txt"
)

HISTORY = [
    # a: first order 5 January, two orders that day (one is not a repeat of the other).
    Purchase("a", date(2026, 1, 5), D("10.00")),
    Purchase("a", date(2026, 1, 5), D("5.00")),
    Purchase("a", date(2026, 2, 4), D("20.00")),  # 30 days later: inside 30
    Purchase("a", date(2026, 7, 4), D("7.00")),  # 180 days later: inside 180
    Purchase("a", date(2026, 7, 5), D("1.00")),  # 181 days: outside every window
    # b: first order 31 January (the last day of the cohort), again 60 days later.
    Purchase("b", date(2026, 4, 1), D("30.00")),  # listed before the first order on purpose
    Purchase("b", date(2026, 1, 31), D("50.00")),
    # c: one order.
    Purchase("c", date(2026, 1, 15), D("40.00")),
    # f: first ordered in December; January's order is a repeat, not a new January customer.
    Purchase("f", date(2025, 12, 20), D("12.00")),
    Purchase("f", date(2026, 1, 10), D("8.00")),
    # February: d repeats after 19 days, e never.
    Purchase("d", date(2026, 2, 10), D("25.00")),
    Purchase("d", date(2026, 3, 1), D("25.00")),
    ("e", date(2026, 2, 20), D("15.00")),  # a plain tuple is a purchase too
]


def windows(cohort: Cohort) -> dict[int, CohortWindow]:
    return {window.days: window for window in cohort.windows}


def test_hand_worked_cohorts() -> None:
    # When: as of 30 July, January's 180-day window has just closed (31 January + 180 days)
    result = cohorts(HISTORY, as_of=date(2026, 7, 30), currency="USD")

    # Then
    assert [(c.cohort, c.customers, c.closed) for c in result] == [
        ("2025-12", 1, True),
        ("2026-01", 3, True),
        ("2026-02", 2, True),
    ]
    january = windows(result[1])
    # Repeat customers and revenue (first order included) within N days:
    #   30 days: a (4 Feb)                 -> 1 / 3; a 10 + 5 + 20, b 50, c 40 = 125 -> 41.67
    #   60 days: a, b (1 April = 31 Jan + 60) -> 2 / 3; 125 + b's 30 = 155 -> 51.67
    #   90 days: the same                   -> 2 / 3; 155 -> 51.67
    #  180 days: + a's 7 on 4 July (not the 1 on 5 July) -> 2 / 3; 162 -> 54.00
    assert [
        (w.days, w.complete, w.repeat_customers, w.repeat_rate, w.revenue, w.revenue_per_customer)
        for w in january.values()
    ] == [
        (30, True, 1, D("0.3333"), D("125.00"), D("41.67")),
        (60, True, 2, D("0.6667"), D("155.00"), D("51.67")),
        (90, True, 2, D("0.6667"), D("155.00"), D("51.67")),
        (180, True, 2, D("0.6667"), D("162.00"), D("54.00")),
    ]
    assert january[180].complete_on == date(2026, 7, 30)
    # December: f repeated on 10 January (21 days); revenue 12 + 8.
    assert windows(result[0])[30].repeat_rate == D("1.0000")
    assert windows(result[0])[30].revenue_per_customer == D("20.00")
    # February: d repeats (19 days), e does not -> 0.5; revenue (25 + 25 + 15) / 2 = 32.50.
    february = windows(result[2])
    assert (february[30].repeat_rate, february[30].revenue_per_customer) == (
        D("0.5000"),
        D("32.50"),
    )
    # Its 180-day window closes on 28 February + 180 days = 27 August: no number yet.
    assert february[180] == CohortWindow(
        days=180,
        complete=False,
        complete_on=date(2026, 8, 27),
        repeat_customers=None,
        repeat_rate=None,
        revenue=None,
        revenue_per_customer=None,
        reason="window incomplete: complete on 2026-08-27",
    )


def test_young_cohorts_report_incomplete_windows_not_low_numbers() -> None:
    # When: as of 2 March, January's 30-day window has closed (31 January + 30), no other
    result = cohorts(HISTORY, as_of=date(2026, 3, 2), currency="USD")

    # Then
    january, february = windows(result[1]), windows(result[2])
    assert january[30].complete and january[30].repeat_rate == D("0.3333")
    assert [w.complete for w in january.values()] == [True, False, False, False]
    assert january[60].repeat_rate is None  # b's repeat (1 April) is still to come
    assert not any(w.complete for w in february.values())
    assert february[30].complete_on == date(2026, 3, 30)


def test_cohort_in_progress_is_open_and_ignores_later_purchases() -> None:
    # When: as of 15 February, e's order (20 February) has not happened yet
    result = cohorts(HISTORY, as_of=date(2026, 2, 15), currency="USD", windows=[7])

    # Then
    february = result[-1]
    assert (february.cohort, february.customers, february.closed) == ("2026-02", 1, False)
    assert february.windows[0].complete is False


def test_revenue_is_rounded_to_the_currency() -> None:
    purchases = [("x", date(2026, 1, 1), D("1000")), ("y", date(2026, 1, 2), D("1001"))]
    (cohort,) = cohorts(purchases, as_of=date(2026, 12, 31), currency="JPY", windows=[30])
    assert cohort.windows[0].revenue_per_customer == D("1000")  # 1000.5 half-even -> 1000


def test_repeat_within_counts_the_period_new_customers_who_came_back() -> None:
    # January's new customers are a, b, c (f is December's).
    assert repeat_within(HISTORY, 30, "2026-01", as_of=date(2026, 3, 2)) == 1  # a
    assert repeat_within(HISTORY, 60, "2026-01", as_of=date(2026, 4, 1)) == 2  # a, b
    # The window is still open for b (31 January + 60 = 1 April): no data, not 1.
    assert repeat_within(HISTORY, 60, "2026-01", as_of=date(2026, 3, 31)) is None
    # Any period label: the ISO week of 5-11 January holds a (and f's repeat, not a first order).
    assert repeat_within(HISTORY, 30, "2026-W02", as_of=date(2026, 2, 10)) == 1


@pytest.mark.parametrize(
    ("purchase", "error", "message"),
    [
        (("a", datetime(2026, 1, 1, tzinfo=UTC), D(1)), TypeError, "day must be a date"),
        (("a", date(2026, 1, 1), 1.5), TypeError, "amount must be a Decimal"),
        (("a", date(2026, 1, 1), D("-1")), ValueError, "finite and >= 0"),
        (("a", date(2026, 1, 1), D("NaN")), ValueError, "finite and >= 0"),
    ],
)
def test_bad_purchases(purchase: tuple[object, ...], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        cohorts([purchase], as_of=date(2026, 12, 31), currency="USD")  # type: ignore[list-item]


@pytest.mark.parametrize("window", [0, -30])
def test_bad_windows(window: int) -> None:
    with pytest.raises(ValueError, match="whole number of days >= 1"):
        cohorts(HISTORY, as_of=date(2026, 12, 31), currency="USD", windows=[30, window])
    with pytest.raises(ValueError, match="whole number of days >= 1"):
        repeat_within(HISTORY, window, "2026-01", as_of=date(2026, 12, 31))


# --- real data ----------------------------------------------------------------------------------


@cache
def load_cdnow() -> tuple[Purchase, ...]:
    """Every CDNOW purchase (customers who first bought in Q1 1997, followed to June 1998), in
    the file's order; read once per process (tests/unit/test_customer_cohorts.py uses it too)."""
    purchases: list[Purchase] = []
    with CDNOW.open() as lines:
        next(lines)  # customer_id date number_of_cds dollar_value
        for line in lines:
            customer_id, day, _, amount = line.split()
            purchases.append(
                Purchase(customer_id, date(int(day[:4]), int(day[4:6]), int(day[6:])), D(amount))
            )
    return tuple(purchases)


@pytest.fixture(scope="module")
def cdnow() -> list[Purchase]:
    return list(load_cdnow())


def _by_hand(purchases: list[Purchase], month: int, days: int) -> tuple[int, int, Decimal]:
    """(customers, repeaters, revenue) of a 1997 cohort, the long way round."""
    first: dict[str, date] = {}
    for p in purchases:
        if p.customer_id not in first or p.day < first[p.customer_id]:
            first[p.customer_id] = p.day
    members = {c for c, day in first.items() if day.year == 1997 and day.month == month}
    repeaters: set[str] = set()
    revenue = D(0)
    for p in purchases:
        if p.customer_id in members:
            after = (p.day - first[p.customer_id]).days
            if 0 < after <= days:
                repeaters.add(p.customer_id)
            if 0 <= after <= days:
                revenue += p.amount
    return len(members), len(repeaters), revenue


def test_cdnow_cohorts_match_a_direct_count(cdnow: list[Purchase]) -> None:
    # Given: the whole history, as of its last day
    assert len(cdnow) == 68_720

    # When
    result = {c.cohort: c for c in cohorts(cdnow, as_of=date(1998, 6, 30), currency="USD")}

    # Then: first orders all fell in Q1 1997; every window has closed by June 1998
    assert list(result) == ["1997-01", "1997-02", "1997-03"]
    assert sum(c.customers for c in result.values()) == 23_320
    for label, month, days in [("1997-01", 1, 30), ("1997-01", 1, 180), ("1997-03", 3, 180)]:
        customers, repeaters, revenue = _by_hand(cdnow, month, days)
        window = windows(result[label])[days]
        assert result[label].customers == customers
        assert window.complete
        assert window.repeat_customers == repeaters
        assert window.repeat_rate == (D(repeaters) / customers).quantize(D("0.0001"))
        assert window.revenue == revenue
        assert window.revenue_per_customer == (revenue / customers).quantize(D("0.01"))
        assert 0 < repeaters < customers  # real behaviour: some come back, most do not


def test_cdnow_young_windows_are_withheld(cdnow: list[Purchase]) -> None:
    # As of 15 May 1997: January's 90-day window closed on 1 May; its 180-day one has not, and
    # March's 30-day window closed on 30 April but its 60-day one closes on 30 May.
    result = {c.cohort: c for c in cohorts(cdnow, as_of=date(1997, 5, 15), currency="USD")}
    assert [w.complete for w in result["1997-01"].windows] == [True, True, True, False]
    assert [w.complete for w in result["1997-03"].windows] == [True, False, False, False]
    assert result["1997-03"].windows[1].repeat_rate is None
    # The 30-day numbers do not depend on the later history.
    customers, repeaters, _ = _by_hand(cdnow, 3, 30)
    assert result["1997-03"].windows[0].repeat_customers == repeaters
    assert (
        repeat_within(cdnow, 30, "1997-03", as_of=date(1997, 5, 15))
        == repeaters
        == windows(result["1997-03"])[30].repeat_customers
    )
    assert result["1997-03"].customers == customers
