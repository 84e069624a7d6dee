"""The cost ledger's pure parts: an order's contribution to the daily sums, the difference
applied when it changes, and the stored form (which must read back exactly)."""

from __future__ import annotations

from decimal import Decimal

from linkstar.costs import ledger
from linkstar.costs.profit import profit

from tests.unit.test_profit import DE_ORDER, FX, MODEL, facts

D = Decimal


def test_an_orders_contribution_is_its_profit_before_ads_at_order_and_sku_level() -> None:
    two_skus = {**DE_ORDER, "store_id": "s1", "allocated_ads": None,
                "lines": [{"sku": "MUG-1", "quantity": 2, "unit_price": "59.50"},
                          {"sku": "TEE-2", "quantity": 1, "unit_price": "20.00"}]}  # fmt: skip
    result = profit(facts(**two_skus), MODEL, FX)
    contrib = ledger.contribution(result)

    order_level = contrib[("2026-03-02", "s1", "DE", None)]
    assert order_level["orders#USD"] == 1
    assert order_level["revenue#USD"] == result.revenue
    assert order_level["cm2#USD"] == result.cm2
    for name in ledger.LEDGER_COMPONENTS:
        assert order_level[f"{name}#USD"] == result.components[name]
    # Ads are allocated when the sums are read, so a missing allocation doesn't make the order
    # "estimated" here.
    assert "ads#USD" not in order_level and "missing#ads#USD" not in order_level
    assert order_level["estimated#USD"] == 0
    # The SKU parts add back up to the order, component by component.
    parts = {k[3]: v for k, v in contrib.items() if k[3] is not None}
    assert set(parts) == {"MUG-1", "TEE-2"}
    assert sum(p["revenue#USD"] for p in parts.values()) == result.revenue
    assert sum(p["cogs#USD"] for p in parts.values()) == result.components["cogs"]
    assert all(p["orders#USD"] == 1 for p in parts.values())


def test_a_missing_component_is_counted_not_summed_as_zero() -> None:
    no_cogs = {**DE_ORDER, "allocated_ads": None,
               "lines": [{"sku": "UNKNOWN", "quantity": 1, "unit_price": "10.00"}]}  # fmt: skip
    result = profit(facts(**no_cogs), MODEL, FX)
    (order_level,) = [v for k, v in ledger.contribution(result).items() if k[3] is None]
    assert order_level["missing#cogs#USD"] == 1
    assert "cogs#USD" not in order_level
    assert order_level["estimated#USD"] == 1


def test_a_change_applies_only_its_difference_and_round_trips_through_storage() -> None:
    first = ledger.contribution(profit(facts(**{**DE_ORDER, "allocated_ads": None}), MODEL, FX))
    refunded = {**DE_ORDER, "allocated_ads": None, "refunded": "59.50"}
    second = ledger.contribution(profit(facts(**refunded), MODEL, FX))

    delta = ledger.diff(second, first)
    key = ("2026-03-02", "(no store)", "DE", None)
    assert "orders#USD" not in delta[key]  # still one order
    assert delta[key]["revenue#USD"] < 0
    # Applying the difference to the first gives the second.
    applied = {n: first[key].get(n, D(0)) + delta[key].get(n, D(0)) for n in second[key]}
    assert applied == second[key]
    assert ledger.diff(second, second) == {}
    assert ledger.decode(ledger.encode(second)) == second


def test_an_order_without_a_cost_model_is_counted_as_not_costed() -> None:
    assert ledger.uncosted("2026-03-02", "s1", "DE", "no_cost_model") == {
        ("2026-03-02", "s1", "DE", None): {"uncosted#no_cost_model": D(1)}
    }
