"""The funnel: stage configuration, step conversions, change against the previous period and
drop-off detection.

Expected values are worked out by hand in the comments beside them.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from linkstar.funnel.analysis import DropOff, FunnelReport, funnel
from linkstar.funnel.stages import (
    CATALOGUE,
    DEFAULT_STAGES,
    STAGE_NAMES,
    StageConfig,
    stage_info,
)
from pydantic import ValidationError

D = Decimal
SHOP = StageConfig(stages=("sessions", "add_to_carts", "checkouts", "orders"))


def rows(report: FunnelReport, key: str) -> dict[str, tuple[int | None, Decimal | None]]:
    group = next(g for g in report.groups if g.key == key)
    return {row.stage: (row.count, row.conversion) for row in group.stages}


def shop(sessions: int, carts: int, checkouts: int, orders: int) -> dict[str, int | None]:
    return {"sessions": sessions, "add_to_carts": carts, "checkouts": checkouts, "orders": orders}


# --- stages -------------------------------------------------------------------------------------


def test_catalogue_natural_order_and_sources() -> None:
    # Given / When
    default = StageConfig()

    # Then
    assert default.stages == DEFAULT_STAGES
    assert STAGE_NAMES[:6] == (
        "impressions",
        "clicks",
        "sessions",
        "add_to_carts",
        "checkouts",
        "orders",
    )
    assert STAGE_NAMES[-3:] == ("repeat_30d", "repeat_60d", "repeat_90d")
    assert [CATALOGUE[s].position for s in STAGE_NAMES] == list(range(len(STAGE_NAMES)))
    assert stage_info("reviewed").source == "import"
    assert stage_info("reviewed").metric == "reviews"
    assert stage_info("checkouts").source == "checkouts"
    assert stage_info("delivered").source == "fulfilment"
    assert stage_info("repeat_60d").source == "customers"
    assert stage_info("repeat_60d").repeat_days == 60
    assert stage_info("orders").repeat_days is None
    for name in ("impressions", "clicks", "sessions", "add_to_carts"):
        assert stage_info(name).metric == name


def test_config_may_drop_stages() -> None:
    config = StageConfig.model_validate(
        {"stages": ["sessions", "orders", "delivered", "repeat_90d"]}
    )
    assert config.stages == ("sessions", "orders", "delivered", "repeat_90d")
    assert config.index("delivered") == 2


@pytest.mark.parametrize(
    ("stages", "message"),
    [
        (
            ["sessions", "checkout", "orders"],
            "stages[1]: unknown stage 'checkout'; did you mean 'checkouts'?",
        ),
        (["orders"], "at least two stages, got 1"),
        ([], "at least two stages, got 0"),
        (["sessions", "orders", "orders"], "stage 'orders' is listed twice"),
        (["orders", "sessions"], "stage 'sessions' comes before 'orders'"),
        (["clicks", "impressions", "orders"], "may be dropped but not reordered"),
        (["impressions", "clicks"], "must include 'orders'"),
        (
            ["orders", "repeat_30d", "repeat_90d"],
            "at most one repeat stage, got repeat_30d, repeat_90d",
        ),
    ],
)
def test_config_validation(stages: list[str], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        StageConfig.model_validate({"stages": stages})
    assert message in str(caught.value)


def test_unknown_stage_without_close_match_lists_the_catalogue() -> None:
    with pytest.raises(ValueError, match="known stages: impressions, clicks"):
        stage_info("zzz")


# --- conversions --------------------------------------------------------------------------------


def test_hand_worked_funnel_with_missing_ads_and_a_zero_denominator() -> None:
    # Given: the default funnel. US has no ad import (impressions and clicks are None, not 0);
    # MX had no checkout tracking working (0 checkouts) yet took orders from another channel.
    current = {
        "US": {
            "impressions": None,
            "clicks": None,
            "sessions": 2000,
            "add_to_carts": 200,  # 200 / 2000 = 0.1
            "checkouts": 80,  # 80 / 200 = 0.4
            "orders": 60,  # 60 / 80 = 0.75
            "paid_orders": 57,  # 57 / 60 = 0.95
            "fulfilled": 50,  # 50 / 57 = 0.877192... -> 0.8772
            "delivered": 45,  # 45 / 50 = 0.9
            "reviewed": 9,  # 9 / 45 = 0.2
            "repeat_30d": 6,  # 6 / 9 = 0.6666... -> 0.6667 (customers per review: an index)
        },
        "MX": {"impressions": 5000, "clicks": 0, "sessions": 0, "checkouts": 0, "orders": 3},
    }

    # When
    report = funnel(StageConfig(), current, {}, period="2026-11")

    # Then
    us = next(g for g in report.groups if g.key == "US")
    assert [(r.stage, r.count, r.conversion, r.from_stage, r.reason) for r in us.stages] == [
        ("impressions", None, None, None, "first stage"),
        ("clicks", None, None, None, "no data: clicks"),
        ("sessions", 2000, None, None, "no earlier stage has data"),
        ("add_to_carts", 200, D("0.1000"), "sessions", None),
        ("checkouts", 80, D("0.4000"), "add_to_carts", None),
        ("orders", 60, D("0.7500"), "checkouts", None),
        ("paid_orders", 57, D("0.9500"), "orders", None),
        ("fulfilled", 50, D("0.8772"), "paid_orders", None),
        ("delivered", 45, D("0.9000"), "fulfilled", None),
        ("reviewed", 9, D("0.2000"), "delivered", None),
        ("repeat_30d", 6, D("0.6667"), "reviewed", None),
    ]
    mx = {r.stage: r for r in next(g for g in report.groups if g.key == "MX").stages}
    assert (mx["clicks"].conversion, mx["clicks"].reason) == (D("0.0000"), None)  # 0 / 5000
    assert mx["sessions"].reason == "division by zero: clicks"
    # add_to_carts is missing from MX's mapping: no data, and checkouts is measured from sessions.
    assert (mx["add_to_carts"].count, mx["add_to_carts"].reason) == (None, "no data: add_to_carts")
    assert (mx["checkouts"].from_stage, mx["checkouts"].reason) == (
        "sessions",
        "division by zero: sessions",
    )
    assert (mx["orders"].conversion, mx["orders"].reason) == (None, "division by zero: checkouts")
    assert mx["paid_orders"].count is None  # not reported: no data, never shown as 0
    # No previous period at all: every change says so.
    assert us.previous.period == "2026-10"
    assert all(row.count is None for row in us.previous.stages)
    assert us.change[3].count_change is None
    assert (
        us.change[3].reason
        == "no data: add_to_carts (previous period); no conversion in the previous period"
    )


def test_change_against_previous_period() -> None:
    # Given
    current = {"US": shop(sessions=1000, carts=100, checkouts=50, orders=20)}
    previous = {"US": shop(sessions=800, carts=100, checkouts=40, orders=24)}

    # When
    report = funnel(SHOP, current, previous, period="2026-W47")

    # Then
    group = report.groups[0]
    assert report.previous_period == "2026-W46"
    assert rows(report, "US")["orders"] == (20, D("0.4000"))
    assert [(s.count, s.conversion) for s in group.previous.stages] == [
        (800, None),
        (100, D("0.1250")),  # 100 / 800
        (40, D("0.4000")),
        (24, D("0.6000")),
    ]
    assert [
        (c.stage, c.count_change, c.count_change_rate, c.conversion_change_points, c.reason)
        for c in group.change
    ] == [
        ("sessions", 200, D("0.2500"), None, None),  # +200 on 800; the first stage has no rate
        ("add_to_carts", 0, D("0.0000"), D("-2.50"), None),  # 10% - 12.5%
        ("checkouts", 10, D("0.2500"), D("10.00"), None),  # 50% - 40%
        ("orders", -4, D("-0.1667"), D("-20.00"), None),  # -4 / 24; 40% - 60%
    ]


def test_change_not_in_points_when_the_from_stage_differs() -> None:
    # Given: the clicks import arrived this month only; sessions were measured from impressions
    config = StageConfig(stages=("impressions", "clicks", "sessions", "orders"))
    current = {"UK": {"impressions": 10_000, "clicks": 500, "sessions": 400, "orders": 40}}
    previous = {"UK": {"impressions": 10_000, "clicks": None, "sessions": 400, "orders": 40}}

    # When
    report = funnel(config, current, previous, period="2026-11")

    # Then
    group = report.groups[0]
    assert group.previous.stages[2].from_stage == "impressions"
    assert group.previous.stages[2].conversion == D("0.0400")
    assert group.change[2].conversion_change_points is None
    assert group.change[2].reason == "conversion measured from clicks now, impressions before"
    assert group.change[3].conversion_change_points == D("0.00")


def test_groups_only_in_the_previous_period_are_listed_after_the_current_ones() -> None:
    report = funnel(
        SHOP,
        {"US": shop(100, 10, 5, 2)},
        {"FR": shop(100, 10, 5, 2), "US": shop(100, 10, 5, 2)},
        period="2026-11",
    )
    assert [g.key for g in report.groups] == ["US", "FR"]
    assert all(row.count is None for row in report.groups[1].stages)
    assert report.drop_offs == []


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        ({"US": {"orderz": 1}}, "current counts of 'US': unknown stage 'orderz'"),
        ({"US": {"orders": -1}}, "orders is negative"),
        ({"US": {"orders": 1.5}}, "orders must be an int or None"),
    ],
)
def test_bad_counts_are_loader_bugs(counts: dict[str, dict[str, object]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        funnel(SHOP, counts, {}, period="2026-11")  # type: ignore[arg-type]


def test_bad_period_or_minimum() -> None:
    with pytest.raises(ValueError, match="period must be"):
        funnel(SHOP, {}, {}, period="November")
    with pytest.raises(ValueError, match="min_from_count must be at least 1"):
        funnel(SHOP, {}, {}, period="2026-11", min_from_count=0)


# --- drop-offs ----------------------------------------------------------------------------------

# Four markets, November against October. US and UK are steady. DE's checkout -> order
# conversion collapses from 60% to 20%. FR has a slight dip earlier in the funnel: add to cart ->
# checkout from 50% to 47.5%.
PREVIOUS = {
    "US": shop(10_000, 1000, 500, 300),
    "UK": shop(6000, 600, 300, 180),
    "DE": shop(6000, 600, 300, 180),
    "FR": shop(4000, 400, 200, 120),
}
CURRENT = {
    "US": shop(10_000, 1000, 500, 300),
    "UK": shop(6000, 600, 300, 180),
    "DE": shop(6000, 600, 300, 60),
    "FR": shop(4000, 400, 190, 114),
}


def test_planted_collapse_is_ranked_first() -> None:
    # When
    report = funnel(SHOP, CURRENT, PREVIOUS, period="2026-11")

    # Then
    assert [(d.key, d.from_stage, d.to_stage) for d in report.drop_offs] == [
        ("DE", "checkouts", "orders"),
        ("FR", "add_to_carts", "checkouts"),
    ]
    de, fr = report.drop_offs
    # DE: 60 / 300 = 0.2. Previous 180 / 300 = 0.6. Peers pooled: US, UK, FR checkouts -> orders
    # (300 + 180 + 114) / (500 + 300 + 190) = 594 / 990 = 0.6. Expected = min(0.6, 0.6) = 0.6.
    # The stage is orders itself, so downstream = 1: lost = (0.6 - 0.2) x 300 x 1 = 120 orders.
    assert de == DropOff(
        key="DE",
        from_stage="checkouts",
        to_stage="orders",
        conversion=D("0.2000"),
        previous_conversion=D("0.6000"),
        peer_conversion=D("0.6000"),
        peer_from_count=990,
        peer_groups=3,
        basis="both",
        expected_conversion=D("0.6000"),
        from_count=300,
        downstream_conversion=D("1.0000"),
        downstream_basis="at_or_after_orders",
        lost_orders_estimate=D("120.0"),
        unit="order",
        reason=None,
    )
    # FR: 190 / 400 = 0.475. Previous 200 / 400 = 0.5. Peers (500 + 300 + 300) / (1000 + 600 +
    # 600) = 1100 / 2200 = 0.5. Checkouts become orders at 114 / 190 = 0.6 this month, so
    # lost = (0.5 - 0.475) x 400 x 0.6 = 6 orders.
    assert (fr.conversion, fr.expected_conversion, fr.from_count) == (D("0.4750"), D("0.5000"), 400)
    assert (fr.downstream_conversion, fr.downstream_basis) == (D("0.6000"), "current")
    assert fr.lost_orders_estimate == D("6.0")
    # The change rows tell the same story in points.
    de_group = next(g for g in report.groups if g.key == "DE")
    assert de_group.change[3].conversion_change_points == D("-40.00")


def test_tiny_groups_are_ignored_and_left_out_of_the_peer_pool() -> None:
    # Given: a fifth market with 20 checkouts collapsing from 60% to 10%
    current = {**CURRENT, "IE": shop(200, 40, 20, 2)}
    previous = {**PREVIOUS, "IE": shop(200, 40, 20, 12)}

    # When
    report = funnel(SHOP, current, previous, period="2026-11")

    # Then: IE is not listed, and DE's peers are still US, UK and FR (594 / 990 = 0.6).
    assert [d.key for d in report.drop_offs] == ["DE", "FR"]
    assert (report.drop_offs[0].peer_groups, report.drop_offs[0].peer_from_count) == (3, 990)
    assert report.drop_offs[0].lost_orders_estimate == D("120.0")

    # With a lower minimum IE is judged: 2 / 20 = 0.1 against 0.6 before and peers
    # (300 + 180 + 60 + 114) / (500 + 300 + 300 + 190) = 654 / 1290 = 0.50698; the lower is
    # the peers': lost = (654/1290 - 0.1) x 20 = 8.1395... -> 8.1.
    lowered = funnel(SHOP, current, previous, period="2026-11", min_from_count=10)
    ie = next(d for d in lowered.drop_offs if d.key == "IE")
    assert (ie.peer_conversion, ie.expected_conversion) == (D("0.5070"), D("0.5070"))
    assert ie.lost_orders_estimate == D("8.1")


def test_expected_is_the_lower_baseline() -> None:
    # Given: MX had an exceptional October (80%); its peers convert at 50%; it now converts 45%.
    current = {"MX": shop(1000, 200, 100, 45), "US": shop(1000, 200, 100, 50)}
    previous = {"MX": shop(1000, 200, 100, 80), "US": shop(1000, 200, 100, 50)}

    # When
    report = funnel(SHOP, current, previous, period="2026-11")

    # Then: only the 5 points below its peers count: (0.5 - 0.45) x 100 = 5 orders, not 35.
    (drop,) = report.drop_offs
    assert (drop.previous_conversion, drop.peer_conversion) == (D("0.8000"), D("0.5000"))
    assert drop.expected_conversion == D("0.5000")
    assert drop.lost_orders_estimate == D("5.0")


def test_a_group_above_its_peers_is_not_a_drop_off() -> None:
    # Given: US dipped from 60% to 55% against its own history but its peer converts at 40%
    current = {"US": shop(1000, 200, 100, 55), "UK": shop(1000, 200, 100, 40)}
    previous = {"US": shop(1000, 200, 100, 60), "UK": shop(1000, 200, 100, 40)}

    # When / Then: below one baseline is not enough
    assert funnel(SHOP, current, previous, period="2026-11").drop_offs == []


def test_single_baseline_when_the_other_is_missing() -> None:
    # Given: a tenant with one market (no peers); then a market new this month (no history)
    one = funnel(
        SHOP, {"US": shop(1000, 200, 100, 40)}, {"US": shop(1000, 200, 100, 60)}, period="2026-11"
    )
    new = funnel(
        SHOP,
        {"US": shop(1000, 200, 100, 60), "BR": shop(1000, 200, 100, 30)},
        {"US": shop(1000, 200, 100, 60)},
        period="2026-11",
    )

    # Then
    (drop,) = one.drop_offs
    assert (drop.basis, drop.peer_conversion, drop.peer_groups) == ("previous", None, 0)
    assert drop.lost_orders_estimate == D("20.0")  # (0.6 - 0.4) x 100
    (drop,) = new.drop_offs
    assert (drop.key, drop.basis, drop.previous_conversion) == ("BR", "peers", None)
    assert drop.lost_orders_estimate == D("30.0")  # (0.6 - 0.3) x 100


def test_a_drop_after_orders_is_counted_in_its_own_unit() -> None:
    # Given: deliveries fell from 90% to 70% of fulfilled orders
    config = StageConfig(stages=("checkouts", "orders", "fulfilled", "delivered", "reviewed"))
    current = {
        "US": {"checkouts": 200, "orders": 100, "fulfilled": 100, "delivered": 70, "reviewed": 7}
    }
    previous = {
        "US": {"checkouts": 200, "orders": 100, "fulfilled": 100, "delivered": 90, "reviewed": 9}
    }

    # When
    report = funnel(config, current, previous, period="2026-11", min_from_count=5)

    # Then: 20 orders not delivered. Reviews per delivery held at 10%: not a drop-off.
    (drop,) = report.drop_offs
    assert (drop.to_stage, drop.unit, drop.downstream_basis) == (
        "delivered",
        "order",
        "at_or_after_orders",
    )
    assert drop.lost_orders_estimate == D("20.0")


def test_downstream_falls_back_to_the_previous_period() -> None:
    # Given: sessions tracking broke (0 sessions from 1000 clicks): no current sessions -> orders
    config = StageConfig(stages=("clicks", "sessions", "orders"))
    current = {"US": {"clicks": 1000, "sessions": 0, "orders": 30}}
    previous = {"US": {"clicks": 1000, "sessions": 500, "orders": 50}}

    # When
    (drop,) = funnel(config, current, previous, period="2026-11").drop_offs

    # Then: (0.5 - 0) x 1000 sessions lost, at October's 50 / 500 = 0.1 -> 50 orders
    assert (drop.downstream_conversion, drop.downstream_basis) == (D("0.1000"), "previous")
    assert drop.lost_orders_estimate == D("50.0")


def test_drop_without_a_downstream_rate_is_listed_last() -> None:
    # Given: CA's sessions fell to 0 and it had no previous period; US is the peer
    config = StageConfig(stages=("clicks", "sessions", "orders"))
    current = {
        "CA": {"clicks": 1000, "sessions": 0, "orders": 5},
        "US": {"clicks": 1000, "sessions": 500, "orders": 50},
        "UK": {"clicks": 1000, "sessions": 500, "orders": 30},
    }
    previous = {"UK": {"clicks": 1000, "sessions": 500, "orders": 50}}

    # When
    drops = funnel(config, current, previous, period="2026-11").drop_offs

    # Then: UK's sessions -> orders fell from 10% to 6%, against October and against its peers:
    # CA's step has no conversion (0 sessions), so the pool is US alone, 50 / 500 = 0.1.
    # Lost = (0.1 - 0.06) x 500 = 20 orders, ranked before CA's drop, which has no estimate:
    # CA has no sessions to divide by this month and no previous period.
    assert [(d.key, d.to_stage) for d in drops] == [("UK", "orders"), ("CA", "sessions")]
    assert drops[0].lost_orders_estimate == D("20.0")
    assert drops[1].lost_orders_estimate is None
    assert drops[1].reason == "no rate from sessions to orders"
