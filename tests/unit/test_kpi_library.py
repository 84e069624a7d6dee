"""Every built-in KPI computed on a small dataset whose expected values are worked out by hand.

The dataset: November 2026 (a closed month of 30 days) with facts on the 1st, 2nd and 3rd, October
2026 as the previous period and November 2025 as the previous year. Each metric's daily values
and total are written beside it; each KPI's arithmetic is in the expected table.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from linkstar.kpis.formula import PeriodData, Window, evaluate
from linkstar.kpis.library import BUILTINS, METRICS, ORDER_METRICS, check_formula
from linkstar.text import render

D = Decimal
NOV_1 = date(2026, 11, 1)

# metric: (Nov 1, Nov 2, Nov 3) daily values; None is "no fact that day"
DAILY: dict[str, tuple[str | None, str | None, str | None]] = {
    "gmv": ("1000", "1500", "2500"),  # 5,000
    "orders": ("20", "30", "50"),  # 100
    "units": ("30", "40", "80"),  # 150
    "refunds": ("1", "2", "2"),  # 5
    "refund_amount": ("50", "100", "100"),  # 250
    "cancellations": ("0", "1", "1"),  # 2
    "customers": ("20", "30", "50"),  # 100 customer-days
    "new_customers": ("11", "16", "28"),  # 55
    "returning_customers": ("9", "14", "22"),  # 45 (= customers - new_customers each day)
    "sessions": ("1000", "1500", "2500"),  # 5,000
    "impressions": ("20000", "30000", "50000"),  # 100,000
    "clicks": ("300", "500", "200"),  # 1,000
    "ad_spend": ("300", "350", "450"),  # 1,100
    "ad_sales": ("1500", "1400", "1500"),  # 4,400
    "odr": ("0.004", None, "0.006"),  # last: 0.006 (Nov 3)
    "late_shipment_rate": (None, "0.02", "0.01"),  # last: 0.01
    "cs_first_response_hours": ("4", "6", "11"),  # mean 21 / 3 = 7
    "inventory_on_hand": ("1050", "900", "450"),  # mean 2,400 / 3 = 800; last 450
    "cogs": ("400", "600", "1000"),  # 2,000
    "videos_published": ("2", "0", "3"),  # 5
    "video_views": ("1000", "3000", None),  # 4,000
    "video_completions": ("300", "1100", None),  # 1,400
    "creator_gmv": ("300", "700", None),  # 1,000
    "live_gmv": (None, "800", None),  # 800
}

EXPECTED: dict[str, Decimal] = {
    "sales_target_attainment": D("5000"),  # gmv
    "gmv_growth_mom": D("0.25"),  # (5000 - 4000) / 4000
    "gmv_growth_yoy": D("1"),  # (5000 - 2500) / 2500
    "aov": D(5000) / D(98),  # 5000 / (100 orders - 2 cancelled) = 51.0204…
    "cvr": D("0.02"),  # 100 / 5000
    "ctr": D("0.01"),  # 1000 / 100000
    "cpc": D("1.1"),  # 1100 / 1000
    "roas": D("4"),  # 4400 / 1100
    "acos": D("0.25"),  # 1100 / 4400
    "tacos": D("0.22"),  # 1100 / 5000
    "refund_rate": D("0.05"),  # 5 / 100
    "cancellation_rate": D("0.02"),  # 2 / 100
    "odr": D("0.006"),  # last(odr): Nov 3
    "late_shipment_rate": D("0.01"),  # last: Nov 3
    "cs_response_time": D("7"),  # (4 + 6 + 11) / 3
    "inventory_turnover_days": D("160"),  # 800 / (150 / 30 days) = 800 / 5
    "sell_through": D("0.25"),  # 150 / (150 + 450)
    "repeat_purchase_rate": D("0.45"),  # 45 / 100
    "ltv": D("50"),  # (5000 - 250 - 2000) / 55 = 2750 / 55
    "cac": D("20"),  # 1100 / 55
    "ltv_cac": D("2.5"),  # 50 / 20
    "videos_published": D("5"),  # 2 + 0 + 3
    "video_completion_rate": D("0.35"),  # 1400 / 4000
    "creator_gmv": D("1000"),  # 300 + 700
    "live_gmv": D("800"),
}


def november(end: date = date(2026, 11, 30), **overrides: tuple[str | None, ...]) -> Window:
    daily = {**DAILY, **overrides}
    values = {
        metric: [
            (date(2026, 11, day), D(value))
            for day, value in enumerate(days, start=1)
            if value is not None
        ]
        for metric, days in daily.items()
    }
    return Window(start=NOV_1, end=end, values=values)


def dataset(current: Window | None = None) -> PeriodData:
    return PeriodData(
        current=current or november(),
        previous=Window(
            start=date(2026, 10, 1),
            end=date(2026, 10, 31),
            values={"gmv": [(date(2026, 10, 10), D("1500")), (date(2026, 10, 20), D("2500"))]},
        ),  # October gmv 4,000
        previous_year=Window(
            start=date(2025, 11, 1),
            end=date(2025, 11, 30),
            values={"gmv": [(date(2025, 11, 11), D("2500"))]},
        ),  # November 2025 gmv 2,500
    )


def test_every_builtin_is_covered_by_the_hand_worked_table() -> None:
    assert set(EXPECTED) == set(BUILTINS)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_builtin_value_on_the_hand_made_dataset(key: str) -> None:
    # Given the dataset above / When
    outcome = evaluate(BUILTINS[key].parsed, dataset())

    # Then
    assert outcome.reason is None
    assert outcome.value == EXPECTED[key]


def test_builtins_parse_and_use_only_catalogued_metrics() -> None:
    for key, builtin in BUILTINS.items():
        assert builtin.key == key
        assert builtin.parsed.metrics <= set(METRICS), key
        assert check_formula(builtin.formula) == [], key
    required = {
        "sales_target_attainment", "gmv_growth_mom", "gmv_growth_yoy", "aov", "cvr", "ctr",
        "cpc", "roas", "acos", "tacos", "refund_rate", "odr", "late_shipment_rate",
        "cs_response_time", "inventory_turnover_days", "sell_through", "repeat_purchase_rate",
        "ltv", "cac", "ltv_cac", "videos_published", "video_completion_rate", "creator_gmv",
        "live_gmv",
    }  # fmt: skip
    assert required <= set(BUILTINS)


def test_the_catalogue_says_where_each_metric_comes_from() -> None:
    expected = {
        "gmv", "orders", "units", "refunds", "refund_amount", "cancellations", "customers",
        "new_customers", "returning_customers",
    }  # fmt: skip
    assert expected == ORDER_METRICS
    assert METRICS["ad_spend"].aggregate == "sum"
    assert METRICS["inventory_on_hand"].aggregate == "last"
    assert METRICS["odr"].aggregate == "last"
    assert METRICS["cs_first_response_hours"].aggregate == "avg"
    assert all(info.name == name for name, info in METRICS.items())


def test_only_plain_sums_are_additive() -> None:
    additive = {key for key, builtin in BUILTINS.items() if builtin.parsed.additive}
    assert additive == {"sales_target_attainment", "videos_published", "creator_gmv", "live_gmv"}


def test_directions_of_the_cost_and_defect_kpis_are_lower() -> None:
    lower = {key for key, builtin in BUILTINS.items() if builtin.direction == "lower"}
    assert lower == {
        "cpc", "acos", "tacos", "refund_rate", "cancellation_rate", "odr", "late_shipment_rate",
        "cs_response_time", "inventory_turnover_days", "cac",
    }  # fmt: skip


# --- edge cases ---------------------------------------------------------------------------------


def test_a_partial_period_counts_elapsed_days() -> None:
    # Given the same facts, the month in progress on Nov 3: the window ends today
    data = dataset(november(end=date(2026, 11, 3)))

    # Then days is 3: 800 / (150 / 3) = 800 / 50 = 16 days of cover
    assert evaluate(BUILTINS["inventory_turnover_days"].parsed, data).value == D("16")
    # and the flows are what has happened so far
    assert evaluate(BUILTINS["sales_target_attainment"].parsed, data).value == D("5000")


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_no_data_at_all_is_none_with_a_reason(key: str) -> None:
    # Given a month with no facts and no previous windows
    data = PeriodData(current=Window(start=NOV_1, end=date(2026, 11, 30)))

    # When
    outcome = evaluate(BUILTINS[key].parsed, data)

    # Then
    assert outcome.value is None
    assert outcome.reason is not None and str(outcome.reason).startswith("no data: ")


def test_missing_imports_name_the_metric() -> None:
    # Given order aggregates but no ad or traffic import
    data = dataset(november(sessions=(None,) * 3, ad_spend=(None,) * 3, ad_sales=(None,) * 3))

    assert str(evaluate(BUILTINS["cvr"].parsed, data).reason) == "no data: sessions"
    assert str(evaluate(BUILTINS["acos"].parsed, data).reason) == "no data: ad_spend, ad_sales"
    assert evaluate(BUILTINS["aov"].parsed, data).value == D(5000) / D(98)  # unaffected


def test_zero_denominators_are_none_with_a_reason() -> None:
    # Given zero sessions, clicks, ad sales, new customers, units and stock, and October at 0 gmv
    zeros = ("0", "0", "0")
    current = november(
        sessions=zeros,
        clicks=zeros,
        impressions=zeros,
        ad_sales=zeros,
        new_customers=zeros,
        units=zeros,
        inventory_on_hand=zeros,
        orders=zeros,
        cancellations=zeros,
        customers=zeros,
        video_views=zeros,
    )
    data = PeriodData(
        current=current,
        previous=Window(
            start=date(2026, 10, 1),
            end=date(2026, 10, 31),
            values={"gmv": [(date(2026, 10, 1), D(0))]},
        ),
    )
    expected = {
        "cvr": "division by zero: sessions",
        "ctr": "division by zero: impressions",
        "cpc": "division by zero: clicks",
        "acos": "division by zero: ad_sales",
        "aov": "division by zero: orders - cancellations",
        "refund_rate": "division by zero: orders",
        "repeat_purchase_rate": "division by zero: customers",
        "cac": "division by zero: new_customers",
        "ltv": "division by zero: new_customers",
        "ltv_cac": "division by zero: new_customers",
        "inventory_turnover_days": "division by zero: units / days",
        "sell_through": "division by zero: units + last(inventory_on_hand)",
        "video_completion_rate": "division by zero: video_views",
        "gmv_growth_mom": "division by zero: prev(gmv)",
    }
    for key, reason in expected.items():
        outcome = evaluate(BUILTINS[key].parsed, data)
        assert (outcome.value, str(outcome.reason)) == (None, reason), key
    # ROAS is still defined: 0 ad sales over 1,100 spend is 0
    assert evaluate(BUILTINS["roas"].parsed, data).value == D(0)


def test_check_formula_warns_when_a_bare_name_sums_a_level() -> None:
    assert render(check_formula("odr + late_shipment_rate")) == [
        "odr is read with last() by default (a level or a rate); a bare name sums its daily "
        "values: write last(odr)",
        "late_shipment_rate is read with last() by default (a level or a rate); a bare name "
        "sums its daily values: write last(late_shipment_rate)",
    ]
    assert check_formula("sum(inventory_on_hand)") == []  # explicit: the author asked for it
    assert check_formula("my_metric / gmv", extra_metrics={"my_metric"}) == []
    assert render(check_formula("my_metric / gmv")) == ["unknown metric 'my_metric'"]
    assert render(check_formula("gmv / (")) == [
        "expected a number, a metric, a function call or '(' but found the end of the formula "
        "(at position 7)"
    ]
