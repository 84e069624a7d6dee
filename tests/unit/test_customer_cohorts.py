"""The ingest side of the repeat stages and cohorts: an order's purchase delta, a customer's
purchase days and the cohort contribution derived from them (linkstar.funnel.contribution), whole
event histories replayed in every order, and the contributions summed over CDNOW's customers
against the cohort engine.

Orders are the real Shopify orders/create fixture with a few fields changed. Expected values are
worked out by hand in the comments beside them.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from linkstar.funnel import analysis
from linkstar.funnel.cohorts import COHORT_WINDOWS, CohortTotals, cohorts, from_totals
from linkstar.funnel.contribution import (
    COHORT_CUSTOMERS,
    AppliedCohort,
    Deltas,
    PurchaseDay,
    apply_purchases,
    cohort_contribution,
    fold,
    repeat_field,
    revenue_field,
)
from linkstar.funnel.stages import StageConfig
from linkstar.orders import state as S
from linkstar.orders.models import OrderSnapshot, Platform
from linkstar.platforms import shopify

from tests.support import fixture_json
from tests.unit.test_cohorts import load_cdnow

D = Decimal
TENANT, STORE = "tabcdefghijk", "tabcdefghijk-s23456789"
BOB = "bob.norman@hostmail.com"


def _snapshot(order_id: int, created: str, total: str, **changes: object) -> OrderSnapshot:
    payload = fixture_json("shopify/orders_create.json")
    payload.update(id=order_id, created_at=created, updated_at=created, total_price=total)
    payload.update(changes)
    change = shopify.normalise("orders/create", payload)
    assert isinstance(change, OrderSnapshot)
    return change


def _cancelled(snapshot: OrderSnapshot, at: str) -> OrderSnapshot:
    payload = fixture_json("shopify/orders_create.json")
    order = snapshot.order
    payload.update(
        id=int(order.external_id),
        created_at=order.created_at.isoformat(),
        total_price=str(order.total),
        cancelled_at=at,
        cancel_reason="customer",
        financial_status="voided",
        updated_at=at,
    )
    change = shopify.normalise("orders/cancelled", payload)
    assert isinstance(change, OrderSnapshot)
    return change


class Customer:
    """What ingest keeps for one customer, driven the way the processor drives it: each event
    merged into its order's state, the order's purchase delta (new - old) folded in, and the
    aggregate deltas kept."""

    def __init__(self) -> None:
        self.orders: dict[str, S.OrderState] = {}
        self.days: dict[str, PurchaseDay] = {}
        self.applied: AppliedCohort | None = None
        self.added: Deltas = {}  # every delta applied to the aggregates, summed
        self.last: Deltas = {}  # the deltas of the last event

    def receive(self, change: OrderSnapshot) -> None:
        external_id = change.order.external_id
        old = self.orders.get(external_id) or S.empty_state(
            TENANT, STORE, Platform.SHOPIFY, external_id, "US"
        )
        new = S.merge(old, change).state
        self.orders[external_id] = new
        delta = S.diff(S.purchase_contribution(new), S.purchase_contribution(old))
        for customer, fields in delta.items():
            assert customer == _bob()
            step = fold(self.days, self.applied, fields)
            self.days, self.applied = step.days, step.applied
            self.last = step.deltas
            _add(self.added, step.deltas)
        if not delta:
            self.last = {}


def _bob() -> str:
    from linkstar import ids

    customer = ids.customer_id_for(TENANT, STORE, BOB, None)
    assert customer is not None
    return customer


def _add(into: Deltas, more: Deltas) -> None:
    for key, fields in more.items():
        slot = into.setdefault(key, {})
        for name, value in fields.items():
            slot[name] = slot.get(name, D(0)) + value
        if not any(slot.values()):
            del into[key]


def _nonzero(deltas: Deltas) -> Deltas:
    return {k: {n: v for n, v in f.items() if v} for k, f in deltas.items() if any(f.values())}


def _fields(*windows: tuple[int, bool, str]) -> dict[str, Decimal]:
    """Expected cohort fields: per window (days, repeated, revenue in USD)."""
    out = {COHORT_CUSTOMERS: D(1)}
    for days, repeated, revenue in windows:
        if repeated:
            out[repeat_field(days)] = D(1)
        out[revenue_field(days, "USD")] = D(revenue)
    return out


# --- one order's delta --------------------------------------------------------------------------


def test_a_real_order_is_one_purchase_net_of_refunds_and_a_cancelled_one_none() -> None:
    # Given the fixture order (10 January 2008, 11:00 at UTC-5, 409.94 USD, shipped to the US)
    order = _snapshot(450789469, "2008-01-10T11:00:00-05:00", "409.94")
    placed = S.merge(S.empty_state(TENANT, STORE, Platform.SHOPIFY, "450789469", "US"), order).state

    # Then: one purchase that day, in the store and the destination market
    assert S.purchase_contribution(placed) == {
        _bob(): {
            f"purchases#2008-01-10#{STORE}#US": D(1),
            "purchase_amount#2008-01-10#USD": D("409.94"),
        }
    }
    # A refund of 209.00 nets into the order's amount (409.94 - 209.00)
    refund = shopify.normalise("refunds/create", fixture_json("shopify/refunds_create.json"))
    refunded = S.merge(placed, refund).state  # type: ignore[arg-type]
    assert S.purchase_contribution(refunded)[_bob()]["purchase_amount#2008-01-10#USD"] == D(
        "200.94"
    )
    # A cancelled order is no purchase at all
    cancelled = S.merge(placed, _cancelled(order, "2008-01-11T10:00:00-05:00")).state
    assert S.purchase_contribution(cancelled) == {}


def test_an_order_moved_to_another_customer_leaves_one_history_for_the_other() -> None:
    # Given an order first seen with bob's email, then corrected to another buyer
    old = S.merge(
        S.empty_state(TENANT, STORE, Platform.SHOPIFY, "7", "US"),
        _snapshot(7, "2026-01-05T10:00:00Z", "20.00"),
    ).state
    corrected = _snapshot(
        7,
        "2026-01-05T10:00:00Z",
        "20.00",
        email="ann@example.com",
        updated_at="2026-01-06T00:00:00Z",
    )
    new = S.merge(old, corrected).state

    # When
    delta = S.diff(S.purchase_contribution(new), S.purchase_contribution(old))

    # Then: bob loses the purchase, ann gains it
    assert new.customer_key != old.customer_key
    assert delta[_bob()][f"purchases#2026-01-05#{STORE}#US"] == D(-1)
    assert delta[str(new.customer_key)][f"purchases#2026-01-05#{STORE}#US"] == D(1)


# --- purchase days and the contribution ---------------------------------------------------------


def test_hand_worked_contribution() -> None:
    # Given bob's orders: first on 31 January, again 29, 60, 180 and 181 days later, and a second
    # order on the first day (a split basket, not a repeat)
    bob = Customer()
    for order_id, created, total in [
        (1, "2026-01-31T09:00:00Z", "50.00"),
        (2, "2026-01-31T18:00:00Z", "4.00"),
        (3, "2026-03-01T09:00:00Z", "30.00"),  # +29 days
        (4, "2026-04-01T09:00:00Z", "20.00"),  # +60 days
        (5, "2026-07-30T09:00:00Z", "10.00"),  # +180 days
        (6, "2026-07-31T09:00:00Z", "5.00"),  # +181 days: in no window
    ]:
        bob.receive(_snapshot(order_id, created, total))

    # Then: the days kept, and on 31 January's key every window repeated, with revenue
    #   30 days: 50 + 4 + 30 = 84;  60 and 90 days: + 20 = 104;  180 days: + 10 = 114
    assert list(bob.days) == [
        "2026-01-31",
        "2026-03-01",
        "2026-04-01",
        "2026-07-30",
        "2026-07-31",
    ]
    assert bob.days["2026-01-31"] == PurchaseDay(
        orders={f"{STORE}#US": 2}, amounts={"USD": D("54.00")}
    )
    expected = {
        ("2026-01-31", STORE, "US"): _fields(
            (30, True, "84.00"), (60, True, "104.00"), (90, True, "104.00"), (180, True, "114.00")
        )
    }
    assert cohort_contribution(bob.days) == expected
    assert bob.applied is not None and bob.applied.contribution() == expected
    # What was added to the aggregates along the way sums to the contribution
    assert _nonzero(bob.added) == expected


def test_same_day_orders_are_not_a_repeat() -> None:
    days = apply_purchases({}, S.purchase_fields("2026-02-10", STORE, "US", "USD", D("5")))
    days = apply_purchases(days, S.purchase_fields("2026-02-10", STORE, "US", "USD", D("7")))
    assert cohort_contribution(days) == {
        ("2026-02-10", STORE, "US"): {COHORT_CUSTOMERS: D(1)}
        | {revenue_field(days_, "USD"): D("12") for days_ in COHORT_WINDOWS}
    }


def test_a_first_day_across_two_stores_goes_to_the_one_with_most_orders_then_the_first_key() -> (
    None
):
    one, two = "t-s1", "t-s2"
    days = apply_purchases({}, S.purchase_fields("2026-02-10", two, "DE", "EUR", D("5")))
    assert next(iter(cohort_contribution(days)))[1:] == (two, "DE")
    days = apply_purchases(days, S.purchase_fields("2026-02-10", one, "US", "USD", D("5")))
    # One order each: the smaller "<store>#<market>" key
    assert next(iter(cohort_contribution(days)))[1:] == (one, "US")
    days = apply_purchases(days, S.purchase_fields("2026-02-10", two, "DE", "EUR", D("5")))
    assert next(iter(cohort_contribution(days)))[1:] == (two, "DE")
    # Revenue stays per currency
    fields = next(iter(cohort_contribution(days).values()))
    assert (fields[revenue_field(30, "EUR")], fields[revenue_field(30, "USD")]) == (D(10), D(5))


def test_a_history_from_before_purchase_days_were_kept_never_breaks_ingest() -> None:
    # A customer stored earlier has no purchase days; an old order of theirs is now cancelled
    days = apply_purchases(
        {}, {k: -v for k, v in S.purchase_fields("2025-06-01", STORE, "US", "USD", D(9)).items()}
    )
    # The -1 is kept (the next delta of that order must stay exact) but buys nothing
    assert days["2025-06-01"].count == -1
    assert cohort_contribution(days) == {}
    days = apply_purchases(days, S.purchase_fields("2026-01-02", STORE, "US", "USD", D(3)))
    assert next(iter(cohort_contribution(days)))[0] == "2026-01-02"


# --- duplicates, retries and out-of-order events ------------------------------------------------


def _events() -> list[OrderSnapshot]:
    earlier = _snapshot(10, "2026-01-10T12:00:00Z", "100.00")
    return [
        _snapshot(20, "2026-01-20T12:00:00Z", "40.00"),
        _snapshot(30, "2026-02-05T12:00:00Z", "25.00"),  # 16 days after 20 January
        earlier,  # the earliest order
        _cancelled(earlier, "2026-01-11T08:00:00Z"),  # ... is cancelled: no purchase after all
    ]


def test_a_late_earlier_order_moves_the_customer_to_its_day_and_back_when_cancelled() -> None:
    bob = Customer()
    first, second, earlier, cancelled = _events()
    bob.receive(first)
    bob.receive(second)
    january_20 = ("2026-01-20", STORE, "US")
    assert bob.applied is not None and bob.applied.day == "2026-01-20"

    # When the earlier order arrives late
    bob.receive(earlier)

    # Then the customer leaves 20 January's cohort and joins 10 January's, where 20 January's
    # and 5 February's orders (10 and 26 days later) are repeats
    assert bob.last[january_20][COHORT_CUSTOMERS] == D(-1)
    assert bob.last[january_20][repeat_field(30)] == D(-1)
    assert bob.last[("2026-01-10", STORE, "US")] == _fields(
        *((days, True, "165.00") for days in COHORT_WINDOWS)
    )
    # And when that order is cancelled, back again
    bob.receive(cancelled)
    assert bob.applied is not None and bob.applied.day == "2026-01-20"
    assert bob.last[january_20][COHORT_CUSTOMERS] == D(1)
    assert bob.last[("2026-01-10", STORE, "US")][COHORT_CUSTOMERS] == D(-1)


def test_every_arrival_order_with_duplicates_gives_the_same_totals() -> None:
    expected = {
        ("2026-01-20", STORE, "US"): _fields(*((days, True, "65.00") for days in COHORT_WINDOWS))
    }
    for permutation in itertools.permutations(_events()):
        # When the events arrive in this order, the first and the last twice
        bob = Customer()
        for event in [*permutation, permutation[0], permutation[-1]]:
            bob.receive(event)
        # Then the aggregates got exactly the final contribution, whatever the order
        assert _nonzero(bob.added) == expected, permutation
        assert bob.applied is not None and bob.applied.contribution() == expected


def test_a_customer_whose_only_order_is_cancelled_leaves_every_cohort() -> None:
    bob = Customer()
    order = _snapshot(5, "2026-03-03T12:00:00Z", "10.00")
    bob.receive(order)
    assert bob.applied is not None
    bob.receive(_cancelled(order, "2026-03-04T12:00:00Z"))
    assert bob.days == {} and bob.applied is None
    assert _nonzero(bob.added) == {}
    # A duplicate of the cancellation changes nothing
    bob.receive(_cancelled(order, "2026-03-04T12:00:00Z"))
    assert bob.last == {}


# --- against the cohort engine ------------------------------------------------------------------


class Ingest:
    """Purchases folded into their customers' histories as ingest folds them, the deltas summed
    by first-order month as the cohort items sum them."""

    def __init__(self) -> None:
        self.histories: dict[str, tuple[dict[str, PurchaseDay], AppliedCohort | None]] = {}
        self.months: dict[str, dict[str, Decimal]] = {}

    def receive(self, purchases: Iterable[tuple[str, date, Decimal]], seed: int) -> None:
        shuffled = list(purchases)
        random.Random(seed).shuffle(shuffled)
        for customer, day, amount in shuffled:
            days, applied = self.histories.get(customer, ({}, None))
            fields = S.purchase_fields(day.isoformat(), STORE, "US", "USD", amount)
            step = fold(days, applied, fields)
            self.histories[customer] = (step.days, step.applied)
            for (first_day, _, _), deltas in step.deltas.items():
                slot = self.months.setdefault(first_day[:7], {})
                for name, value in deltas.items():
                    slot[name] = slot.get(name, D(0)) + value

    def totals(self) -> dict[str, CohortTotals]:
        return {
            month: CohortTotals(
                customers=int(fields.get(COHORT_CUSTOMERS, 0)),
                repeat_customers={d: int(fields.get(repeat_field(d), 0)) for d in COHORT_WINDOWS},
                revenue={d: fields.get(revenue_field(d, "USD"), D(0)) for d in COHORT_WINDOWS},
            )
            for month, fields in self.months.items()
        }


def test_cdnow_ingest_contributions_sum_to_the_engines_cohorts() -> None:
    # Given what had been ingested of CDNOW by 15 May 1997, arriving in a random order
    purchases = load_cdnow()
    as_of = date(1997, 5, 15)
    early = [p for p in purchases if p.day <= as_of]
    ingest = Ingest()
    ingest.receive(early, seed=7)

    # When the cohort sums go through the engine's rules, then they are its cohorts exactly
    # (customers, repeaters, revenue, rounding, the windows withheld)
    kept = from_totals(ingest.totals(), as_of=as_of, currency="USD")
    assert kept == cohorts(early, as_of=as_of, currency="USD")
    assert [w.complete for w in kept[2].windows] == [True, False, False, False]  # March

    # And once the rest of the history has arrived, in a random order too
    ingest.receive([p for p in purchases if p.day > as_of], seed=11)
    kept = from_totals(ingest.totals(), as_of=date(1998, 6, 30), currency="USD")
    assert kept == cohorts(purchases, as_of=date(1998, 6, 30), currency="USD")
    assert sum(c.customers for c in kept) == 23_320
    assert all(w.complete for c in kept for w in c.windows)


def test_from_totals_leaves_out_months_emptied_by_a_move() -> None:
    # A customer moved to an earlier month leaves a cohort item with 0 customers behind
    empty = CohortTotals(customers=0, repeat_customers={}, revenue={})
    one = CohortTotals(customers=1, repeat_customers={30: 1}, revenue={30: D("7.5")})
    (cohort,) = from_totals(
        {"2026-01": one, "2026-02": empty}, as_of=date(2026, 12, 31), currency="USD", windows=[30]
    )
    assert (cohort.cohort, cohort.windows[0].repeat_rate) == ("2026-01", D("1.0000"))


# --- the funnel while a repeat window is open ---------------------------------------------------


def test_a_growing_repeat_count_is_shown_but_never_a_drop_off() -> None:
    # Given 100 of 100 orders delivered in both periods; repeat 30 days: 40 last month (final),
    # 5 this month (the window is still open)
    config = StageConfig(stages=("orders", "delivered", "repeat_30d"))
    current = {"US": {"orders": 100, "delivered": 100, "repeat_30d": 5}}
    previous = {"US": {"orders": 100, "delivered": 100, "repeat_30d": 40}}

    # When
    report = analysis.funnel(
        config, current, previous, period="2026-11", growing=["repeat_30d"], min_from_count=1
    )

    # Then the count is there, flagged, and not ranked as a collapse from 40% to 5%
    (group,) = report.groups
    repeat = group.stages[-1]
    assert (repeat.count, repeat.growing, repeat.conversion) == (5, True, D("0.0500"))
    assert group.change[-1].reason == "count still growing in this period"
    assert report.drop_offs == []
    # The same numbers, both final, are a drop-off
    final = analysis.funnel(config, current, previous, period="2026-11", min_from_count=1)
    assert [(d.from_stage, d.to_stage) for d in final.drop_offs] == [("delivered", "repeat_30d")]
