"""The rate table: the order date's rate, the latest earlier within 7 days, inverse, via USD,
missing rates with their reason, rounding once, and ``POST /fx-rates`` validation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from linkstar.costs.fx import FxRate, FxTable, MissingRate, parse_rates

D = Decimal
MONDAY = date(2026, 3, 2)


def table(*rows: tuple[str, str, str, str], **options: Any) -> FxTable:
    return FxTable(
        [
            FxRate(date=date.fromisoformat(day), base=base, quote=quote, rate=D(rate))
            for day, base, quote, rate in rows
        ],
        **options,
    )


def test_the_order_dates_rate_converts_and_rounds_once_to_the_target_minor_units() -> None:
    # Given EUR→USD 1.0850 on the day and an older rate
    rates = table(("2026-03-02", "EUR", "USD", "1.0850"), ("2026-02-27", "EUR", "USD", "1.0700"))

    # When
    conversion = rates.convert(D("19.99"), "EUR", "USD", MONDAY)

    # Then 19.99 x 1.0850 = 21.689150 -> 21.69
    assert (conversion.amount, conversion.currency) == (D("21.69"), "USD")
    assert (conversion.rate, conversion.rate_date) == (D("1.0850"), MONDAY)
    assert conversion.how == "EUR→USD 1.0850 (2026-03-02)"


def test_the_latest_earlier_rate_within_seven_days_is_used_never_a_later_one() -> None:
    # Given Friday's rate, and one dated after the order
    rates = table(("2026-02-27", "GBP", "USD", "1.25"), ("2026-03-03", "GBP", "USD", "1.30"))

    # When a Monday order converts
    conversion = rates.convert(D("40.00"), "GBP", "USD", MONDAY)

    # Then Friday's: 40.00 x 1.25 = 50.00 (Tuesday's would be hindsight)
    assert (conversion.amount, conversion.rate_date) == (D("50.00"), date(2026, 2, 27))


def test_a_rate_older_than_the_limit_is_stale_and_the_reason_says_how_old() -> None:
    # Given a rate 8 days before the order
    rates = table(("2026-02-22", "EUR", "USD", "1.08"))

    # When / Then
    with pytest.raises(MissingRate) as caught:
        rates.convert(D(1), "EUR", "USD", MONDAY)
    assert str(caught.value.reason) == (
        "no EUR→USD rate on 2026-03-02 or up to 7 days before it (direct or inverse); "
        "the latest found is EUR→USD of 2026-02-22, 8 days old"
    )
    assert caught.value.code == "missing_fx_rate" and caught.value.status == 422
    # and a limit of 10 days accepts it
    assert table(("2026-02-22", "EUR", "USD", "1.08"), max_age_days=10).convert(
        D(1), "EUR", "USD", MONDAY
    ).amount == D("1.08")


def test_the_inverse_of_a_pair_converts_at_full_precision() -> None:
    # Given only USD→JPY 149.50
    rates = table(("2026-03-02", "USD", "JPY", "149.50"))

    # When JPY converts to USD, and USD to JPY (no minor units)
    back = rates.convert(D(10000), "JPY", "USD", MONDAY)
    there = rates.convert(D("12.34"), "USD", "JPY", MONDAY)

    # Then 10000 / 149.50 = 66.889... -> 66.89; 12.34 x 149.50 = 1844.83 -> 1845
    assert back.amount == D("66.89") and back.how == "inverse of USD→JPY 149.50 (2026-03-02)"
    assert there.amount == D(1845)


def test_the_more_recent_of_direct_and_inverse_wins_and_direct_on_a_tie() -> None:
    # Given a direct rate from Friday and an inverse one from Monday
    rates = table(("2026-02-27", "EUR", "USD", "1.10"), ("2026-03-02", "USD", "EUR", "0.80"))

    # Then Monday's inverse: 100 / 0.80 = 125.00
    assert rates.convert(D(100), "EUR", "USD", MONDAY).amount == D("125.00")
    # and on Friday both exist only as the direct rate
    tie = table(("2026-03-02", "EUR", "USD", "1.10"), ("2026-03-02", "USD", "EUR", "0.80"))
    assert tie.convert(D(100), "EUR", "USD", MONDAY).amount == D("110.00")


def test_a_pair_without_rates_converts_via_usd_with_the_older_legs_date() -> None:
    # Given CNY and EUR only against USD
    rates = table(("2026-03-02", "USD", "CNY", "7.20"), ("2026-02-27", "EUR", "USD", "1.08"))

    # When CNY converts to EUR
    conversion = rates.convert(D("72.00"), "CNY", "EUR", MONDAY)

    # Then 72.00 / 7.20 = 10.00 USD; 10.00 / 1.08 = 9.259259... EUR -> 9.26, rounded only once
    assert conversion.amount == D("9.26")
    assert conversion.rate_date == date(2026, 2, 27)
    assert conversion.how == (
        "via USD: inverse of USD→CNY 7.20 (2026-03-02) then inverse of EUR→USD 1.08 (2026-02-27)"
    )
    # the effective rate is unrounded: 1 / 7.20 / 1.08
    assert conversion.rate == D(1) / D("7.20") / D("1.08")


def test_no_rate_at_all_names_the_pair_and_the_pivot() -> None:
    # Given
    rates = table(("2026-03-02", "USD", "CNY", "7.20"))

    # When / Then
    with pytest.raises(MissingRate, match=r"no AUD→CNY rate on 2026-03-02 .*nor via USD\)$"):
        rates.rate("AUD", "CNY", MONDAY)


def test_the_same_currency_needs_no_rate() -> None:
    conversion = table().convert(D("1.005"), "usd", "USD", MONDAY)

    # 1.005 -> 1.00 (half-even)
    assert (conversion.amount, conversion.rate, conversion.how) == (
        D("1.00"),
        D(1),
        "USD: no conversion",
    )


def test_parse_rates_accepts_a_valid_body_and_reads_numbers_through_their_text() -> None:
    # Given
    body = {
        "rates": [
            {"date": "2026-03-02", "base": "eur", "quote": "USD", "rate": 1.1},
            {"date": "2026-03-02", "base": "EUR", "quote": "USD", "rate": "1.1"},  # same again
            {"date": "2026-03-02", "base": "USD", "quote": "JPY", "rate": "149.5"},
        ]
    }

    # When
    rows, problems = parse_rates(body)

    # Then 1.1 is 1.1, not 1.100000000000000088817841970012523...
    assert problems == []
    assert [(r.base, r.quote, r.rate) for r in rows] == [
        ("EUR", "USD", D("1.1")),
        ("USD", "JPY", D("149.5")),
    ]
    assert len(FxTable.from_rows([r.model_dump() for r in rows])) == 2


def test_parse_rates_names_every_problem_by_row() -> None:
    # Given
    body = [
        {"date": "2026-03-02", "base": "EUR", "quote": "USD", "rate": "1.08"},
        {"date": "2026-03-02", "base": "EUR", "quote": "USD", "rate": "1.09"},
        {"date": "2026-13-01", "base": "EUR", "quote": "USD", "rate": "1.08"},
        {"date": "2026-03-02", "base": "EURO", "quote": "USD", "rate": "0"},
        {"date": "2026-03-02", "base": "USD", "quote": "USD", "rate": "1"},
        {"date": "2026-03-02", "base": "GBP", "quote": "USD", "rate": "NaN"},
        {"date": "2026-03-02", "base": "GBP", "quote": "USD", "rate": "1.2", "source": "ecb"},
        "EUR,USD",
    ]

    # When
    rows, problems = parse_rates(body)

    # Then only the first row is taken
    assert [r.rate for r in rows] == [D("1.08")]
    assert problems[0] == "rates[1]: EUR→USD on 2026-03-02 is 1.09 here and 1.08 in rates[0]"
    assert problems[1].startswith("rates[2].date: ")
    assert problems[2] == "rates[3].base: 'EURO' is not an ISO 4217 code such as USD"
    assert problems[3] == "rates[3].rate: Input should be greater than 0"
    assert problems[4] == "rates[4]: base and quote are both USD"
    assert problems[5].startswith("rates[5].rate: ")
    assert problems[6] == "rates[6].source: Extra inputs are not permitted"
    assert problems[7].startswith("rates[7]: ")
    assert len(problems) == 8


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"rates": "EUR"}, "rates: expected a list of {date, base, quote, rate} rows"),
        ({"rates": [], "date": "x"}, "unexpected field(s): date (the body is {'rates': [...]})"),
        ([{}] * 10_001, "rates: 10001 rows, at most 10000 a request"),
    ],
)
def test_parse_rates_refuses_a_malformed_body(body: Any, problem: str) -> None:
    assert parse_rates(body) == ([], [problem])


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        # Each of these answered POST /fx-rates with a 500: DynamoDB keeps 38 significant digits
        # and exponents from -130 to 125, and a rate of 9999-12-31 has no week after it
        (
            {"rate": "1.08500000000000000000000000000000000000001"},
            "rates[0].rate: Value error, at most 20 significant digits, got 42",
        ),
        ({"rate": "1E+200"}, "rates[0].rate: Input should be less than 1E+12"),
        ({"rate": 1e300}, "rates[0].rate: Input should be less than 1E+12"),
        ({"rate": "1E-200"}, "rates[0].rate: Value error, a rate is at least 1E-12, got 1E-200"),
        ({"date": "9999-12-31"}, "rates[0].date: Input should be less than or equal to 2999-12-31"),
        (
            {"date": "0001-01-01"},
            "rates[0].date: Input should be greater than or equal to 1970-01-01",
        ),
    ],
)
def test_parse_rates_refuses_a_rate_that_cant_be_kept(row: dict[str, Any], problem: str) -> None:
    # Given an otherwise valid row
    body = [{"date": "2026-03-02", "base": "EUR", "quote": "USD", "rate": "1.08", **row}]
    # When it is read, it is refused with the reason
    assert parse_rates(body) == ([], [problem.replace("Value error, ", "")])


def test_a_float_rate_as_a_feed_sends_it_is_kept() -> None:
    # 17 significant digits at most, and rates as small as one of the weakest currencies' in USD
    rate = 3.932123456789123e-05
    rows, problems = parse_rates(
        [{"date": "2026-03-02", "base": "VND", "quote": "USD", "rate": rate}]
    )
    assert problems == []
    assert rows[0].rate == Decimal("0.00003932123456789123")
