"""Metric facts: validation of one fact, the idempotent fact key, and ``POST /metrics`` batches."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from linkstar import clock
from linkstar.errors import BadRequest, PayloadTooLarge
from linkstar.kpis import facts
from linkstar.kpis.facts import (
    MAX_BATCH_FACTS,
    METRIC_NAMES,
    Fact,
    fact_key,
    parse_batch,
    validate_fact,
)
from linkstar.text import render
from pydantic import ValidationError

TODAY = date(2026, 11, 1)


def _fact(**changes: Any) -> dict[str, Any]:
    fact: dict[str, Any] = {"date": "2026-10-01", "metric": "ad_spend", "value": "16.12"}
    fact.update(changes)
    return fact


def _problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as caught:
        validate_fact(data, today=TODAY)
    return [(p["field"], str(p["reason"])) for p in facts.fact_problems(caught.value)]


# ------------------------------------------------------------------ one fact


def test_a_fact_is_normalised_dimensions_trimmed_platform_and_market_canonical() -> None:
    # Given a fact as a client would post it
    data = _fact(
        value=" 16.120 ",
        store_id="  s-1 ",
        platform="TikTok Shop",
        market="uk",
        campaign=" SP - Towels ",
        sku="",
        owner=None,
    )

    # When
    fact = validate_fact(data, today=TODAY)

    # Then
    assert fact == Fact(
        date=date(2026, 10, 1),
        metric="ad_spend",
        value=Decimal("16.120"),
        store_id="s-1",
        platform="tiktok_shop",
        market="GB",  # Amazon's UK is ISO's GB
        campaign="SP - Towels",
        sku=None,  # an empty string is no dimension
        owner=None,
    )
    assert str(fact.value) == "16.120"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0.1, "0.1"),  # a JSON float goes through str(), never the binary value
        (12, "12"),
        ("1e3", "1000"),
        ("-0", "0"),
        ("0.50000000000000", "0.5"),  # trailing zeros beyond 12 places don't count
    ],
)
def test_values_are_exact_decimals(raw: object, expected: str) -> None:
    fact = validate_fact(_fact(metric="custom_score", value=raw), today=TODAY)

    assert str(fact.value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (True, "must be a decimal number"),
        (None, "must be a decimal number"),
        ("NaN", "is not a decimal number"),
        ("Infinity", "is not a decimal number"),
        ("1_000", "is not a decimal number"),
        ("$5", "is not a decimal number"),
        ("1e15", "out of range"),
        ("0.0000000000001", "more than 12 decimal places"),
    ],
)
def test_bad_values_are_refused_with_a_reason(value: object, reason: str) -> None:
    [(field, text)] = _problems(_fact(metric="custom_score", value=value))

    assert field == "value"
    assert reason in text


@pytest.mark.parametrize(
    ("metric", "value", "reason"),
    [
        ("odr", "0.5", None),  # 50%: implausible but a rate
        ("odr", "5", "a rate stored as a fraction between 0 and 1 (0.5% is 0.005)"),
        ("clicks", "3.5", "a count: a whole number"),
        ("clicks", "3.0", None),
        ("ad_spend", "-1", "can't be negative"),
        ("cs_first_response_hours", "-0.5", "can't be negative"),
        ("custom_delta", "-12.5", None),  # a tenant's own metric: only the general bounds
    ],
)
def test_known_metrics_are_checked_against_their_unit(
    metric: str, value: str, reason: str | None
) -> None:
    data = _fact(metric=metric, value=value)
    if reason is None:
        assert validate_fact(data, today=TODAY).value == Decimal(value)
    else:
        [(field, text)] = _problems(data)
        assert field == "value"
        assert reason in text


def test_metric_names_are_checked_and_order_metrics_cannot_be_imported() -> None:
    assert _problems(_fact(metric="Ad Spend"))[0][0] == "metric"
    assert _problems(_fact(metric="a" * 65))[0][0] == "metric"
    assert validate_fact(_fact(metric="a" * 64, value="1"), today=TODAY).metric == "a" * 64
    [(field, reason)] = _problems(_fact(metric="gmv"))
    assert (field, reason) == (
        "metric",
        "gmv is computed from the store's orders and can't be imported",
    )


def test_dates_between_2000_and_tomorrow_are_accepted() -> None:
    assert validate_fact(_fact(date="2026-11-02"), today=TODAY).date == date(2026, 11, 2)
    assert validate_fact(_fact(date="2000-01-01"), today=TODAY).date == date(2000, 1, 1)
    assert _problems(_fact(date="2026-11-03")) == [
        ("date", "2026-11-03 is in the future (today is 2026-11-01)")
    ]
    assert _problems(_fact(date="1999-12-31")) == [("date", "1999-12-31 is before 2000-01-01")]
    assert _problems(_fact(date="2026-02-30")) == [("date", "'2026-02-30' is not a calendar date")]
    assert _problems(_fact(date="10/01/2026"))[0][0] == "date"


def test_today_defaults_to_the_linkstar_clock() -> None:
    # Given the clock pinned to 1 November
    with clock.override(datetime(2026, 11, 1, 23, 0, tzinfo=UTC)):
        # When / Then: tomorrow is allowed, the day after is not
        assert Fact.model_validate(_fact(date="2026-11-02")).date == date(2026, 11, 2)
        with pytest.raises(ValidationError):
            Fact.model_validate(_fact(date="2026-11-03"))


def test_dimensions_are_checked() -> None:
    assert _problems(_fact(platform="ebay"))[0] == (
        "platform",
        "platform must be one of shopify, amazon, tiktok_shop, shopee, lazada, other, got 'ebay'",
    )
    assert _problems(_fact(market="USA"))[0][0] == "market"
    assert _problems(_fact(campaign="x" * 257))[0] == (
        "campaign",
        "is 257 characters long; at most 256",
    )
    assert _problems(_fact(sku="A\tB"))[0][0] == "sku"
    assert _problems(_fact(store_id=42))[0] == ("store_id", "must be a string, got 42")
    assert validate_fact(_fact(platform="OTHER"), today=TODAY).platform == "other"


def test_every_problem_of_a_fact_is_reported_by_field() -> None:
    problems = _problems({"date": "soon", "metric": "Bad", "value": "x", "colour": "red"})

    assert [field for field, _ in problems] == ["date", "metric", "value", "colour"]
    assert problems[3][1].startswith("unknown field")
    assert _problems({"metric": "clicks"}) == [("date", "required"), ("value", "required")]


def test_the_importers_metric_names_are_all_known_units() -> None:
    # The names the other KPI modules reference must exist here, spelled the same.
    referenced = {
        "ad_spend", "impressions", "clicks", "ad_sales", "sessions", "add_to_carts",
        "video_views", "video_completion_rate", "videos_published", "creator_gmv", "live_gmv",
        "cs_first_response_hours", "inventory_on_hand", "cogs", "odr", "late_shipment_rate",
    }  # fmt: skip

    assert referenced <= set(METRIC_NAMES)
    assert not set(METRIC_NAMES) & facts.ORDER_METRICS


# ------------------------------------------------------------------ the key


def test_the_same_fact_twice_has_one_key() -> None:
    # Given the same fact, once with untrimmed and differently written dimensions
    one = validate_fact(_fact(campaign="A", market="us", platform="amazon"), today=TODAY)
    two = validate_fact(
        _fact(value="99", campaign=" A ", market="US", platform="Amazon", sku=""), today=TODAY
    )

    # Then the value doesn't take part: a re-import replaces the stored value
    assert fact_key(one) == fact_key(two)


def test_the_key_is_frozen() -> None:
    # Changing the encoding would turn every re-import into a second copy of the fact.
    fact = validate_fact(_fact(campaign="SP - Towels - Auto", platform="amazon"), today=TODAY)

    # sha256 of '["","amazon","","SP - Towels - Auto","",""]', first 16 hex digits
    assert fact_key(fact) == "2026-10-01#ad_spend#df94d1566bc9d9c1"


@pytest.mark.parametrize(
    "change",
    [
        {"store_id": "s-2"},
        {"platform": "shopify"},
        {"market": "DE"},
        {"campaign": "B"},
        {"sku": "SKU-1"},
        {"owner": "agency-x"},
        {"date": "2026-10-02"},
        {"metric": "clicks", "value": "16"},
    ],
)
def test_a_different_date_metric_or_dimension_gives_another_key(change: dict[str, str]) -> None:
    base = validate_fact(_fact(campaign="A"), today=TODAY)
    other = validate_fact(_fact(campaign="A") | change, today=TODAY)

    assert fact_key(other) != fact_key(base)


def test_dimensions_cannot_collide_by_shifting_text_between_them() -> None:
    one = validate_fact(_fact(campaign="a", sku="b c"), today=TODAY)
    two = validate_fact(_fact(campaign="a b", sku="c"), today=TODAY)

    assert fact_key(one) != fact_key(two)


def test_the_key_fits_a_sort_key_and_the_dimensions_stay_on_the_fact() -> None:
    fact = validate_fact(_fact(campaign="活动 #1 / 春季", sku="x" * 128), today=TODAY)

    key = fact_key(fact)
    assert len(key) <= 10 + 1 + 64 + 1 + 16
    assert key.isascii()
    assert fact.dimensions()["campaign"] == "活动 #1 / 春季"


# ------------------------------------------------------------------ batches


def test_a_batch_accepts_the_good_facts_and_reports_the_bad_by_index() -> None:
    # Given
    payload = {
        "facts": [
            _fact(),
            _fact(metric="clicks", value="3.5"),
            "not a fact",
            _fact(metric="odr", value="0.0042", platform="amazon"),
        ]
    }

    # When
    result = parse_batch(payload, today=TODAY)

    # Then
    assert [(f.metric, f.value) for f in result.accepted] == [
        ("ad_spend", Decimal("16.12")),
        ("odr", Decimal("0.0042")),
    ]
    assert result.keys == [fact_key(f) for f in result.accepted]
    assert render(result.rejected) == [
        {"index": 1, "field": "value", "reason": "clicks is a count: a whole number, got 3.5"},
        {"index": 2, "field": "", "reason": "a fact must be an object"},
    ]
    assert result.rejected_count == 2
    assert result.superseded == 0


def test_within_a_batch_the_last_fact_with_a_key_wins() -> None:
    # Given the same fact three times, with another fact between
    payload = {
        "facts": [
            _fact(value="1"),
            _fact(metric="clicks", value="7"),
            _fact(value="2"),
            _fact(value="3", campaign=" "),  # an empty campaign is no campaign: same key
        ]
    }

    # When
    result = parse_batch(payload, today=TODAY)

    # Then
    assert [(f.metric, f.value) for f in result.accepted] == [
        ("clicks", Decimal("7")),
        ("ad_spend", Decimal("3")),
    ]
    assert result.superseded == 2


def test_an_invalid_fact_does_not_supersede_a_valid_one() -> None:
    result = parse_batch({"facts": [_fact(value="1"), _fact(value="-1")]}, today=TODAY)

    assert [f.value for f in result.accepted] == [Decimal("1")]
    assert result.superseded == 0
    assert result.rejected_count == 1


@pytest.mark.parametrize(
    "payload",
    [[], {"facts": {}}, {"items": []}, {"facts": [], "tenant": "t"}, "facts"],
)
def test_a_body_that_is_not_a_batch_is_refused_whole(payload: object) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_batch(payload, today=TODAY)

    assert caught.value.code == "invalid_batch"


def test_a_batch_has_at_most_5000_facts() -> None:
    assert MAX_BATCH_FACTS == 5_000
    at_limit = parse_batch({"facts": [_fact()] * MAX_BATCH_FACTS}, today=TODAY)
    assert len(at_limit.accepted) == 1
    assert at_limit.superseded == MAX_BATCH_FACTS - 1

    with pytest.raises(PayloadTooLarge) as caught:
        parse_batch({"facts": [_fact()] * (MAX_BATCH_FACTS + 1)}, today=TODAY)
    assert caught.value.code == "batch_too_large"
    assert "at most 5000" in str(caught.value.message)


def test_an_empty_batch_is_fine() -> None:
    result = parse_batch({"facts": []}, today=TODAY)

    assert (result.accepted, result.rejected, result.superseded) == ([], [], 0)
