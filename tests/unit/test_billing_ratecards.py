"""Rate cards as CSV: parsing (BOM, blank lines, optional columns), every problem reported with its
line and column, channel rules, and writing a card back."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from linkstar.billing.plans import ChannelPlan, Plan, RateRow, Tier, default_plan
from linkstar.billing.ratecards import RateCardError, parse_rate_card_csv, rate_card_csv


def test_a_card_parses_to_rows_in_file_order_with_exact_decimals() -> None:
    # Given a spreadsheet export: BOM, CRLF, blank lines, upper-case header, columns reordered
    text = (
        "\ufeffUnit_Price,Country,Provider_Cost,Category\r\n"
        "\r\n"
        "0.0079,us,0.0059,\r\n"
        "  ,  ,  ,  \r\n"
        "0.1,*,,marketing\r\n"
    )

    # When
    rows = parse_rate_card_csv(text)

    # Then
    assert rows == [
        RateRow(country="US", unit_price=Decimal("0.0079"), provider_cost=Decimal("0.0059")),
        RateRow(country="*", category="marketing", unit_price=Decimal("0.1")),
    ]
    assert str(rows[1].unit_price) == "0.1"  # never through a float
    assert rows[1].provider_cost is None


def test_category_and_provider_cost_columns_are_optional() -> None:
    # Given / When
    rows = parse_rate_card_csv("country,unit_price\nGB,0.04\nDE,0.09\n", channel="sms")

    # Then
    assert [(r.country, r.category, r.unit_price, r.provider_cost) for r in rows] == [
        ("GB", "", Decimal("0.04"), None),
        ("DE", "", Decimal("0.09"), None),
    ]


def test_every_problem_is_reported_with_its_line_and_column() -> None:
    # Given a card with a problem on most lines (the header is line 1)
    text = "\n".join(
        [
            "country,category,unit_price,provider_cost",  # 1
            "US,,0.0079,0.0059",  # 2 fine
            "USA,,0.01,",  # 3 country
            "GB,,-0.04,",  # 4 negative
            "FR,,abc,0.01",  # 5 not a number
            "DE,,0.09",  # 6 a field short
            "",  # 7 blank: skipped
            "us,,0.008,",  # 8 duplicate of line 2
            "JP,,,NaN",  # 9 price missing, cost not finite
        ]
    )

    # When
    with pytest.raises(RateCardError) as caught:
        parse_rate_card_csv(text)

    # Then
    problems = [(p["line"], p["column"]) for p in caught.value.problems]
    assert problems == [
        (3, "country"),
        (4, "unit_price"),
        (5, "unit_price"),
        (6, ""),
        (8, "country"),
        (9, "unit_price"),
        (9, "provider_cost"),
    ]
    # Each reason is a Text (answered in the reader's language); str() outside a request is English.
    reasons = {(p["line"], p["column"]): str(p["reason"]) for p in caught.value.problems}
    assert "not an ISO-3166 alpha-2" in reasons[(3, "country")]
    assert reasons[(4, "unit_price")] == "-0.04 is negative"
    assert reasons[(5, "unit_price")] == "'abc' is not a decimal number"
    assert reasons[(6, "")] == "expected 4 fields, found 3"
    assert reasons[(8, "country")] == "duplicate of line 2 (country 'US', category '')"
    assert reasons[(9, "unit_price")] == "required"
    assert reasons[(9, "provider_cost")] == "'NaN' is not a finite number"
    assert isinstance(caught.value, ValueError)
    assert "line 3 country" in str(caught.value)


def test_a_bad_header_is_reported_before_any_row() -> None:
    # Given / When
    with pytest.raises(RateCardError) as caught:
        parse_rate_card_csv("country,price,country\nUS,0.01,US\n")

    # Then
    assert [(p["line"], p["column"], str(p["reason"])) for p in caught.value.problems] == [
        (
            1,
            "price",
            "unknown column; expected some of country, category, unit_price, provider_cost",
        ),
        (1, "country", "column appears twice"),
        (1, "unit_price", "required column is missing"),
    ]


@pytest.mark.parametrize("text", ["", "\ufeff", "\n\n  \n"])
def test_an_empty_card_is_an_error(text: str) -> None:
    with pytest.raises(RateCardError, match="line 1: the file is empty"):
        parse_rate_card_csv(text)


def test_the_channel_rules_are_checked_with_line_numbers() -> None:
    # Given an SMS card with a category and a WhatsApp card without one
    sms = "country,category,unit_price\nUS,,0.01\nGB,marketing,0.04\n"
    whatsapp = "country,category,unit_price\nUS,marketing,0.025\nGB,,0.05\nDE,promo,0.1\n"

    # When / Then
    with pytest.raises(RateCardError) as caught:
        parse_rate_card_csv(sms, channel="sms")
    assert [(p["line"], p["column"]) for p in caught.value.problems] == [(3, "category")]
    with pytest.raises(RateCardError) as caught:
        parse_rate_card_csv(whatsapp, channel="whatsapp")
    assert [(p["line"], p["column"]) for p in caught.value.problems] == [
        (3, "category"),
        (4, "category"),
    ]
    assert "must be one of marketing, utility, authentication, service" in str(caught.value)


def test_a_card_written_out_reads_back_the_same() -> None:
    # Given the starter plan's WhatsApp card
    rows = default_plan().channels["whatsapp"].rates

    # When
    text = rate_card_csv(rows)

    # Then
    assert parse_rate_card_csv(text, channel="whatsapp") == rows
    assert text.splitlines()[0] == "country,category,unit_price,provider_cost"
    assert text.splitlines()[1] == "US,marketing,0.0300,0.0250"
    assert rate_card_csv([RateRow(country="GB", unit_price=Decimal("0.04"))]) == (
        "country,category,unit_price,provider_cost\nGB,,0.04,\n"
    )


def test_an_imported_card_becomes_a_plan_version() -> None:
    # Given
    rows = parse_rate_card_csv("country,unit_price,provider_cost\nUS,0.0079,0.0059\n*,0.05,\n")

    # When
    plan = Plan(
        plan_id="imported",
        currency="USD",
        effective_from=date(2026, 6, 1),
        channels={
            "sms": ChannelPlan(model="rate_card", rates=rows),
            "email": ChannelPlan(model="volume", tiers=[Tier(per_thousand=Decimal("1"))]),
        },
    )

    # Then
    assert plan.channels["sms"].rate_for("BR") == rows[1]
