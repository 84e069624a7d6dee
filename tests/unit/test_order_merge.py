"""The merge rules that make ingestion order-independent (pure logic, no AWS)."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal

from linkstar.orders import state as S
from linkstar.orders.models import OrderSnapshot, Platform
from linkstar.platforms import shopify

from tests.support import fixture_json

TENANT, STORE = "tabcdefghijk", "tabcdefghijk-s23456789"


def _snapshot(**changes) -> OrderSnapshot:
    payload = fixture_json("shopify/orders_create.json")
    payload.update(changes)
    change = shopify.normalise("orders/updated", payload)
    assert isinstance(change, OrderSnapshot)
    return change


def _fold(changes) -> S.OrderState:
    state = S.empty_state(TENANT, STORE, Platform.SHOPIFY, "450789469", "US")
    for change in changes:
        state = S.merge(state, change).state
    return state


def _history():
    created = _snapshot()
    paid = _snapshot(financial_status="paid", updated_at="2008-01-10T12:00:00-05:00")
    shipped = _snapshot(
        financial_status="paid",
        fulfillment_status="fulfilled",
        updated_at="2008-01-11T12:00:00-05:00",
    )
    refund = shopify.normalise("refunds/create", fixture_json("shopify/refunds_create.json"))
    return [created, paid, shipped, refund]


def test_every_delivery_order_gives_the_same_state_and_totals() -> None:
    # Given one order's history of four deliveries
    history = _history()
    outcomes = set()
    for permutation in itertools.permutations(history):
        # When they arrive in any order, some twice
        final = _fold([*permutation, permutation[0], permutation[-1]])
        outcomes.add(
            (
                final.snapshot.updated_at,
                final.status,
                final.milestones,
                json.dumps(sorted(map(repr, S.contribution(final).items()))),
            )
        )
    # Then the end state and the aggregate contribution are always the same
    assert len(outcomes) == 1
    (_, status, milestones, _) = outcomes.pop()
    assert status.value == "partially_refunded"
    assert milestones == {"placed", "paid", "fulfilled"}


def test_each_milestone_event_is_emitted_once_whatever_the_order() -> None:
    for permutation in itertools.permutations(_history()):
        state = S.empty_state(TENANT, STORE, Platform.SHOPIFY, "450789469", "US")
        emitted = []
        for change in [*permutation, *permutation]:
            result = S.merge(state, change)
            state = result.state
            emitted += [e.detail_type for e in result.events]
        assert sorted(emitted) == [
            "order.fulfilled",
            "order.paid",
            "order.placed",
            "order.refunded",
        ]


def test_an_older_snapshot_is_stale_and_a_repeat_is_unchanged() -> None:
    newer = _snapshot(financial_status="paid", updated_at="2008-01-10T12:00:00-05:00")
    state = _fold([newer])
    assert S.merge(state, _snapshot()).outcome == "stale"
    assert S.merge(state, newer).outcome == "unchanged"


def test_contribution_diff_is_zero_for_a_no_op_and_exact_for_a_cancel() -> None:
    placed = _fold([_snapshot()])
    cancelled = S.merge(
        placed,
        _snapshot(cancelled_at="2008-01-11T00:00:00Z", updated_at="2008-01-11T00:00:00Z"),
    ).state
    assert S.diff(S.contribution(placed), S.contribution(placed)) == {}
    delta = S.diff(S.contribution(cancelled), S.contribution(placed))
    assert delta == {
        ("2008-01-10", STORE, "US"): {"cancelled": Decimal(1), "gmv#USD": Decimal("-409.94")}
    }


def test_failed_fulfillments_ship_nothing() -> None:
    state = _fold([_snapshot()])  # the fixture carries one fulfillment in status "failure"
    assert state.fulfillments and not state.shipped
    assert state.status.value == "pending"


def test_at_the_same_time_the_platforms_own_snapshot_beats_one_rebuilt_from_an_export() -> None:
    # Given: an order imported from an export file, then the platform's own webhook for it,
    # stamped the same second
    webhook = _snapshot()
    exported = OrderSnapshot(
        order=webhook.order.model_copy(update={"from_export": True, "line_items": ()})
    )

    # When: they arrive in either order
    imported_first = _fold([exported, webhook])
    webhook_first = _fold([webhook, exported])

    # Then: the stored snapshot is the platform's own both ways
    assert imported_first.snapshot == webhook.order
    assert webhook_first.snapshot == webhook.order


def test_the_funnel_stages_an_order_reaches_count_on_the_day_it_was_placed() -> None:
    created, paid, shipped, _ = _history()
    key = ("2008-01-10", STORE, "US")
    stages = ("paid_orders", "fulfilled", "delivered")
    assert [S.contribution(_fold([created]))[key][s] for s in stages] == [0, 0, 0]
    assert [S.contribution(_fold([created, paid]))[key][s] for s in stages] == [1, 0, 0]
    # Shipped the next day, still counted on the order's day: the funnel is a cohort of orders
    assert [S.contribution(_fold([created, shipped]))[key][s] for s in stages] == [1, 1, 0]
    delta = S.diff(S.contribution(_fold([created, shipped])), S.contribution(_fold([created])))
    assert delta[key] == {"paid_orders": Decimal(1), "fulfilled": Decimal(1)}


def test_an_order_with_two_refunds_is_one_refunded_order() -> None:
    created, paid, _, refund = _history()
    state = _fold([created, paid, refund])
    second = refund.model_copy(
        update={"refund": refund.refund.model_copy(update={"refund_id": "second"})}
    )
    both = S.merge(state, second).state
    values = S.contribution(both)[("2008-01-10", STORE, "US")]
    assert (values["refunds"], values["refunded_orders"]) == (Decimal(2), Decimal(1))
