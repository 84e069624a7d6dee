"""Scoring: period labels, targets, attainment, status, pace and projection, and the scorecard.

Expected values are worked out by hand in the comments beside them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from linkstar.kpis.formula import Outcome
from linkstar.kpis.scoring import (
    DataRanges,
    KpiResult,
    KpiSpec,
    Target,
    Thresholds,
    data_ranges,
    days_in,
    kind_of,
    last_n,
    period_bounds,
    period_label,
    previous,
    previous_year,
    score,
    scorecard,
)
from pydantic import ValidationError

D = Decimal
CLOSED = date(2026, 12, 5)  # after November: the month is closed


def kpi(**fields: object) -> KpiSpec:
    values: dict[str, object] = {"kpi_id": "gmv", "name": "GMV", "period": "2026-11"}
    values.update(fields)
    return KpiSpec.model_validate(values)


def absolute(value: str) -> Target:
    return Target(kind="absolute", value=D(value))


def of(value: str) -> Outcome:
    return Outcome.of(D(value))


# --- periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "label", "first", "last"),
    [
        ("day", "2026-11-20", date(2026, 11, 20), date(2026, 11, 20)),
        ("week", "2026-W47", date(2026, 11, 16), date(2026, 11, 22)),  # Monday to Sunday
        ("week", "2026-W01", date(2025, 12, 29), date(2026, 1, 4)),  # holds 1 Jan (a Thursday)
        ("week", "2026-W53", date(2026, 12, 28), date(2027, 1, 3)),  # 2026 has 53 ISO weeks
        ("month", "2026-11", date(2026, 11, 1), date(2026, 11, 30)),
        ("month", "2024-02", date(2024, 2, 1), date(2024, 2, 29)),
        ("month", "2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        ("quarter", "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        ("quarter", "2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
    ],
)
def test_period_bounds(kind: str, label: str, first: date, last: date) -> None:
    assert period_bounds(kind, label) == (first, last)  # type: ignore[arg-type]
    assert kind_of(label) == kind
    assert period_label(kind, first) == period_label(kind, last) == label  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "label", "message"),
    [
        ("month", "2026-13", "period must be"),
        ("month", "2026-1", "period must be"),
        ("week", "2025-W53", "2025 has weeks 1 to 52"),
        ("week", "2026-W00", "2026 has weeks 1 to 53"),
        ("quarter", "2026-Q5", "period must be"),
        ("day", "2026-02-30", "is not a date"),
        ("month", "2026-Q4", "is a quarter label, not a month"),
        ("day", "nov 2026", "period must be"),
    ],
)
def test_bad_labels_are_refused(kind: str, label: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        period_bounds(kind, label)  # type: ignore[arg-type]


def test_previous_periods() -> None:
    assert previous("2026-01") == "2025-12"
    assert previous("2026-Q1") == "2025-Q4"
    assert previous("2026-W01") == "2025-W52"
    assert previous("2021-W01") == "2020-W53"  # 2020 had 53 ISO weeks
    assert previous("2026-03-01") == "2026-02-28"
    assert previous_year("2026-11") == "2025-11"
    assert previous_year("2026-Q4") == "2025-Q4"
    assert previous_year("2026-W47") == "2025-W47"
    assert previous_year("2026-W53") == "2025-W52"  # 2025 has no week 53
    assert previous_year("2024-02-29") == "2023-02-28"
    assert last_n("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]
    assert last_n("2026-W02", 2) == ["2026-W01", "2026-W02"]
    assert last_n("2026-Q1", 1) == ["2026-Q1"]
    assert days_in("2026-Q4") == 92  # 31 + 30 + 31
    with pytest.raises(ValueError, match="at least 1"):
        last_n("2026-02", 0)


def test_data_ranges_compare_like_for_like_while_in_progress() -> None:
    # Given March 2026 on the 10th: the first 10 days of March, February and March 2025
    assert data_ranges("2026-03", date(2026, 3, 10)) == DataRanges(
        current=(date(2026, 3, 1), date(2026, 3, 10)),
        previous=(date(2026, 2, 1), date(2026, 2, 10)),
        previous_year=(date(2025, 3, 1), date(2025, 3, 10)),
    )
    # On the 31st February is whole (it has only 28 days)
    assert data_ranges("2026-03", date(2026, 3, 31)).previous == (
        date(2026, 2, 1),
        date(2026, 2, 28),
    )
    # A closed month uses whole periods
    assert data_ranges("2026-03", date(2026, 4, 2)) == DataRanges(
        current=(date(2026, 3, 1), date(2026, 3, 31)),
        previous=(date(2026, 2, 1), date(2026, 2, 28)),
        previous_year=(date(2025, 3, 1), date(2025, 3, 31)),
    )


# --- closed periods -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "attainment", "status"),
    [
        ("120000", D("1.2"), "on_track"),  # 120,000 / 100,000
        ("100000", D("1"), "on_track"),  # exactly at the on-track threshold
        ("95000", D("0.95"), "at_risk"),
        ("90000", D("0.9"), "at_risk"),  # exactly at the at-risk threshold
        ("89999", D("0.9"), "at_risk"),  # 0.89999 rounds to 0.9000: judged as displayed
        ("89990", D("0.8999"), "off_track"),
        ("-5000", D("-0.05"), "off_track"),  # a negative actual is a negative attainment
        ("-4", D("0"), "off_track"),  # -0.00004 rounds to 0.0000, shown without a minus sign
    ],
)
def test_higher_is_better_status_on_a_closed_period(
    actual: str, attainment: Decimal, status: str
) -> None:
    # Given a GMV target of 100,000 for November, scored in December
    result = score(kpi(additive=True), of(actual), None, absolute("100000"), CLOSED)

    # Then
    assert (result.attainment, result.status) == (attainment, status)
    assert result.attainment is not None and not (
        result.attainment == 0 and result.attainment.is_signed()
    )
    assert result.actual == result.projected == D(actual)
    assert result.pace == result.target == D(100000)
    assert not result.in_progress
    assert (result.elapsed_days, result.days) == (30, 30)


@pytest.mark.parametrize(
    ("actual", "attainment", "status"),
    [
        ("0.20", D("1.25"), "on_track"),  # 0.25 / 0.20
        ("0.25", D("1"), "on_track"),
        ("0.27", D("0.9259"), "at_risk"),  # 0.25 / 0.27 = 0.925925...
        ("0.30", D("0.8333"), "off_track"),  # 0.25 / 0.30 = 0.8333...
        ("0", D("1.5"), "on_track"),  # nothing spent: the best possible, the cap
    ],
)
def test_lower_is_better_attainment_is_target_over_actual(
    actual: str, attainment: Decimal, status: str
) -> None:
    # Given an ACoS target of 25%
    spec = kpi(kpi_id="acos", direction="lower", unit="percent")

    # When
    result = score(spec, of(actual), None, absolute("0.25"), CLOSED)

    # Then
    assert (result.attainment, result.status) == (attainment, status)


def test_a_zero_target_compares_directly() -> None:
    # Given "GMV growth must not be negative": a target of 0, where a ratio means nothing
    spec = kpi(kpi_id="gmv_growth_mom", unit="percent")

    # When / Then
    above = score(spec, of("0.05"), None, absolute("0"), CLOSED)
    assert (above.status, above.attainment, above.weighted_score) == ("on_track", None, None)
    assert above.reason is not None and "undefined" in str(above.reason)
    below = score(spec, of("-0.01"), None, absolute("0"), CLOSED)
    assert below.status == "off_track"
    # Lower-is-better with a zero target: zero refunds reached is the cap, any refund is 0
    refunds = kpi(kpi_id="refund_rate", direction="lower")
    assert score(refunds, of("0"), None, absolute("0"), CLOSED).attainment == D("1.5")
    assert score(refunds, of("0.01"), None, absolute("0"), CLOSED).status == "off_track"


def test_custom_thresholds() -> None:
    spec = kpi(thresholds=Thresholds(on_track=D("0.95"), at_risk=D("0.8")))
    assert score(spec, of("96"), None, absolute("100"), CLOSED).status == "on_track"
    assert score(spec, of("80"), None, absolute("100"), CLOSED).status == "at_risk"
    assert score(spec, of("79"), None, absolute("100"), CLOSED).status == "off_track"
    with pytest.raises(ValidationError, match="above on_track"):
        Thresholds(on_track=D("0.9"), at_risk=D("1"))


# --- periods in progress ------------------------------------------------------------------------


def test_an_additive_kpi_mid_month_is_prorated_and_projected() -> None:
    # Given a November GMV target of 30,000 and 12,000 sold by Nov 10 (10 of 30 days)
    spec = kpi(additive=True)

    # When
    result = score(spec, of("12000"), None, absolute("30000"), date(2026, 11, 10))

    # Then the pace is 30,000 x 10 / 30 = 10,000, the projection 12,000 x 30 / 10 = 36,000,
    # and the status is judged on the projection: 36,000 / 30,000 = 1.2
    assert result.in_progress
    assert (result.elapsed_days, result.days) == (10, 30)
    assert result.pace == D(10000)
    assert result.projected == D(36000)
    assert result.attainment == D("1.2")
    assert result.status == "on_track"
    assert result.target == D(30000)
    assert result.actual == D(12000)


def test_behind_pace_mid_month_is_off_track_before_the_month_ends() -> None:
    # Given 8,000 by Nov 10: projection 8,000 x 3 = 24,000, 24,000 / 30,000 = 0.8
    result = score(kpi(additive=True), of("8000"), None, absolute("30000"), date(2026, 11, 10))
    assert (result.projected, result.attainment, result.status) == (D(24000), D("0.8"), "off_track")


def test_today_is_counted_as_elapsed() -> None:
    # On the first day one day has elapsed: 1,000 on Nov 1 projects to 30,000
    result = score(kpi(additive=True), of("1000"), None, absolute("30000"), date(2026, 11, 1))
    assert (result.elapsed_days, result.pace, result.projected) == (1, D(1000), D(30000))
    # On the last day the projection is the actual
    last = score(kpi(additive=True), of("29000"), None, absolute("30000"), date(2026, 11, 30))
    assert (last.in_progress, last.projected, last.pace) == (True, D(29000), D(30000))


def test_a_ratio_kpi_mid_month_is_neither_prorated_nor_extrapolated() -> None:
    # Given a CVR target of 3% and 2.8% so far on Nov 10
    spec = kpi(kpi_id="cvr", unit="percent", additive=False)

    # When
    result = score(spec, of("0.028"), None, absolute("0.03"), date(2026, 11, 10))

    # Then 0.028 / 0.03 = 0.9333
    assert (result.pace, result.projected) == (D("0.03"), D("0.028"))
    assert (result.attainment, result.status) == (D("0.9333"), "at_risk")


def test_a_period_not_started_is_scored_as_it_stands() -> None:
    result = score(kpi(additive=True), of("0"), None, absolute("100"), date(2026, 10, 15))
    assert not result.in_progress
    assert (result.elapsed_days, result.projected, result.pace) == (30, D(0), D(100))


# --- targets and missing data -------------------------------------------------------------------


def test_growth_target_over_the_previous_period() -> None:
    # Given October GMV of 20,000 and a +10% target: 22,000 for November
    target = Target(kind="growth", value=D("0.10"))

    # When closed at 22,000 / When on Nov 15 at 11,000 (pace 22,000 x 15 / 30 = 11,000)
    closed = score(kpi(additive=True), of("22000"), of("20000"), target, CLOSED)
    mid = score(kpi(additive=True), of("11000"), D(20000), target, date(2026, 11, 15))

    # Then
    assert (closed.target, closed.attainment, closed.status) == (D(22000), D(1), "on_track")
    assert (mid.target, mid.pace, mid.projected, mid.status) == (
        D(22000),
        D(11000),
        D(22000),
        "on_track",
    )
    # A decline allowance: -5% of 20,000 is 19,000
    allowance = Target(kind="growth", value=D("-0.05"))
    assert score(kpi(), of("19000"), of("20000"), allowance, CLOSED).target == D(19000)


def test_growth_target_without_previous_data_is_no_target() -> None:
    # Given a previous period with no data
    target = Target(kind="growth", value=D("0.10"))

    # When
    result = score(kpi(), of("5000"), Outcome.missing("no data: gmv"), target, CLOSED)

    # Then the KPI shows its actual, with no target and why
    assert result.actual == D(5000)
    assert (result.target, result.attainment, result.status) == (None, None, "no_target")
    assert str(result.reason) == "growth target needs the previous period's actual (no data: gmv)"
    assert result.weighted_score is None
    assert str(score(kpi(), of("5000"), None, target, CLOSED).reason) == (
        "growth target needs the previous period's actual: none given"
    )
    with pytest.raises(ValidationError, match="below -1"):
        Target(kind="growth", value=D("-1.5"))


def test_no_data_and_zero_denominators_are_no_data_with_their_reason() -> None:
    # Given ad spend never imported / zero clicks
    missing = score(
        kpi(kpi_id="cpc"), Outcome.missing("no data: ad_spend"), None, absolute("1"), CLOSED
    )
    zero = score(
        kpi(kpi_id="cpc"), Outcome.missing("division by zero: clicks"), None, absolute("1"), CLOSED
    )

    # Then
    assert (missing.status, missing.attainment, missing.actual) == ("no_data", None, None)
    assert missing.reason == "no data: ad_spend"
    assert zero.reason == "division by zero: clicks"
    # the target and the pace are still shown while in progress
    mid = score(
        kpi(additive=True),
        Outcome.missing("no data: gmv"),
        None,
        absolute("300"),
        date(2026, 11, 10),
    )
    assert (mid.status, mid.projected, mid.pace) == ("no_data", None, D(100))


def test_no_target_set() -> None:
    result = score(kpi(), of("5"), None, None, CLOSED)
    assert (result.status, str(result.reason), result.actual) == (
        "no_target",
        "no target set",
        D(5),
    )


def test_weighted_score_is_capped_and_floored() -> None:
    # Given weight 2: attainment 2.0 counts as 1.5 -> 3.0; growth of -5% against +10% is -0.5 -> 0
    spec = kpi(weight=D(2))
    assert score(spec, of("200"), None, absolute("100"), CLOSED).weighted_score == D("3.0")
    low = score(spec, of("-0.05"), None, absolute("0.10"), CLOSED)
    assert (low.attainment, low.weighted_score) == (D("-0.5"), D(0))


# --- scorecard ----------------------------------------------------------------------------------


def test_scorecard_weights_kpis_with_data_and_lists_the_rest() -> None:
    # Given four KPIs:
    #   gmv     weight 2, 120,000 / 100,000 = 1.2            -> 2 x 1.2 = 2.4
    #   acos    weight 1, lower: 0.25 / 0.50 = 0.5           -> 1 x 0.5 = 0.5
    #   cvr     weight 1, no data                            -> left out
    #   videos  weight 1, 40 / 20 = 2.0, capped at 1.5       -> 1 x 1.5 = 1.5
    #   roas    weight 3, no target                          -> left out
    rows: list[KpiResult] = [
        score(kpi(weight=D(2), additive=True), of("120000"), None, absolute("100000"), CLOSED),
        score(kpi(kpi_id="acos", direction="lower"), of("0.50"), None, absolute("0.25"), CLOSED),
        score(kpi(kpi_id="cvr"), Outcome.missing("no data: sessions"), None, absolute("1"), CLOSED),
        score(kpi(kpi_id="videos"), of("40"), None, absolute("20"), CLOSED),
        score(kpi(kpi_id="roas", weight=D(3)), of("4"), None, None, CLOSED),
    ]

    # When
    card = scorecard(rows)

    # Then (2.4 + 0.5 + 1.5) / (2 + 1 + 1) = 4.4 / 4 = 1.1
    assert card.weighted_score == D("1.1")
    assert card.total_weight == D(8)  # 2 + 1 + 1 + 1 + 3
    assert card.scored_weight == D(4)
    assert card.kpis_without_data == ["cvr"]
    assert card.kpis_without_target == ["roas"]
    assert card.status_counts == {"on_track": 2, "off_track": 1, "no_data": 1, "no_target": 1}
    assert [row.kpi_id for row in card.rows] == ["gmv", "acos", "cvr", "videos", "roas"]


def test_scorecard_without_any_data_has_no_score() -> None:
    card = scorecard([score(kpi(), Outcome.missing("no data: gmv"), None, absolute("1"), CLOSED)])
    assert card.weighted_score is None
    assert card.kpis_without_data == ["gmv"]
    assert scorecard([]).weighted_score is None


def test_scorecard_rounds_to_four_places() -> None:
    # (1 x 1 + 1 x 0.5 + 1 x 0.5) / 3 = 2 / 3 = 0.6667
    rows = [
        score(kpi(kpi_id=key), of(value), None, absolute("100"), CLOSED)
        for key, value in (("a", "100"), ("b", "50"), ("c", "50"))
    ]
    assert scorecard(rows).weighted_score == D("0.6667")


def test_kpi_spec_checks_its_period() -> None:
    with pytest.raises(ValidationError, match="period must be"):
        kpi(period="November")
