"""Billing plans: validation with messages that name the field, JSON round trip, rate lookup order,
which version prices a month, and the starter plan."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from linkstar.billing.plans import (
    ChannelPlan,
    Plan,
    RateRow,
    default_plan,
    month_bounds,
    plan_for_month,
)
from pydantic import ValidationError

EMAIL = {"model": "graduated", "tiers": [{"per_thousand": "1.00"}]}


def plan_doc(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "plan_id": "p1",
        "currency": "USD",
        "effective_from": "2026-01-01",
        "channels": {"email": EMAIL},
    }
    doc.update(overrides)
    return doc


def test_the_starter_plan_is_valid_and_round_trips_through_json() -> None:
    for currency in ("USD", "CNY"):
        # Given
        plan = default_plan(currency)  # type: ignore[arg-type]

        # When
        again = Plan.model_validate(plan.model_dump(mode="json"))
        from_text = Plan.model_validate_json(plan.model_dump_json())

        # Then
        assert again == plan == from_text
        assert plan.model_dump(mode="json")["channels"]["sms"]["rates"][0]["unit_price"] in (
            "0.0079",
            "0.0569",
        )


def test_the_starter_plan_prices_the_common_destinations() -> None:
    # Given
    plan = default_plan()
    sms = plan.channels["sms"]
    whatsapp = plan.channels["whatsapp"]

    # Then every listed SMS destination has a row with a provider cost below its price
    for country in ("US", "GB", "CA", "AU", "DE", "FR", "CN", "SG", "MY", "PH", "TH", "ID", "VN"):
        row = sms.rate_for(country)
        assert row is not None and row.provider_cost is not None
        assert row.provider_cost < row.unit_price
    assert sms.rate_for("BR") is None  # no SMS default: held, not guessed
    for category in ("marketing", "utility", "authentication", "service"):
        assert whatsapp.rate_for("US", category) is not None
        assert whatsapp.rate_for("BR", category) is not None  # the "*" rows
    assert plan.channels["email"].included_units == 10_000
    assert plan.channels["in_app"].included_units == 100_000


def test_cny_starter_prices_are_the_usd_ones_at_7_2() -> None:
    # Given / When
    plan = default_plan("CNY")

    # Then 0.0079 USD x 7.2 = 0.05688 -> 0.0569 CNY; 1.00 USD per 1,000 -> 7.2000
    assert plan.channels["sms"].rate_for("US").unit_price == Decimal("0.0569")  # type: ignore[union-attr]
    assert plan.channels["email"].tiers[0].per_thousand == Decimal("7.2")
    assert plan.currency == "CNY"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {
                "channels": {
                    "email": {
                        "model": "graduated",
                        "tiers": [
                            {"up_to": 5000, "per_thousand": "1"},
                            {"up_to": 3000, "per_thousand": "1"},
                            {"per_thousand": "1"},
                        ],
                    }
                }
            },
            r"tiers\[1\]\.up_to: tiers must ascend",
        ),
        (
            {
                "channels": {
                    "email": {"model": "volume", "tiers": [{"up_to": 10, "per_thousand": "1"}]}
                }
            },
            r"tiers\[0\]\.up_to: the last tier must be open",
        ),
        (
            {
                "channels": {
                    "email": {
                        "model": "graduated",
                        "tiers": [{"per_thousand": "1"}, {"per_thousand": "1"}],
                    }
                }
            },
            r"tiers\[0\]\.up_to: only the last tier may be open",
        ),
        ({"channels": {"email": {"model": "graduated"}}}, "tiers: a graduated channel needs"),
        ({"effective_from": "2026-03-15"}, "effective_from\n.*not the first day of a month"),
        ({"base_fee": "-1"}, "base_fee\n.*greater than or equal to 0"),
        ({"base_fee": "9.999"}, "base_fee: 9.999 has more decimals than USD"),
        (
            {
                "channels": {
                    "sms": {
                        "model": "rate_card",
                        "rates": [{"country": "US", "unit_price": "-0.01"}],
                    }
                }
            },
            r"channels\.sms\.rates\.0\.unit_price\n.*greater than or equal to 0",
        ),
        (
            {
                "channels": {
                    "email": {"model": "graduated", "tiers": [{"per_thousand": "-1"}]},
                }
            },
            r"channels\.email\.tiers\.0\.per_thousand",
        ),
        ({"channels": {"fax": EMAIL}}, r"channels\.fax\.\[key\]"),
        ({"currency": "EUR"}, "currency\n.*'USD' or 'CNY'"),
        ({"surcharges": {"mms": "-0.1"}}, r"surcharges\.mms"),
        ({"surcharges": {"send": "0.1"}}, "'send' is not a surcharge key"),
        (
            {"channels": {"sms": {"model": "graduated", "tiers": [{"per_thousand": "1"}]}}},
            "channels.sms.model: sms is priced by destination country",
        ),
        (
            {
                "channels": {
                    "email": {"model": "rate_card", "rates": [{"country": "US", "unit_price": "1"}]}
                }
            },
            "channels.email.model: email is not priced by country",
        ),
        (
            {
                "channels": {
                    "sms": {
                        "model": "rate_card",
                        "rates": [{"country": "US", "category": "marketing", "unit_price": "1"}],
                    }
                }
            },
            r"channels\.sms\.rates\[0\]\.category: SMS rates have no category",
        ),
        (
            {
                "channels": {
                    "whatsapp": {
                        "model": "rate_card",
                        "rates": [{"country": "US", "unit_price": "1"}],
                    }
                }
            },
            r"channels\.whatsapp\.rates\[0\]\.category: must be one of marketing",
        ),
        (
            {
                "channels": {
                    "sms": {"model": "rate_card", "rates": [{"country": "USA", "unit_price": "1"}]}
                }
            },
            r"channels\.sms\.rates\.0\.country\n.*not an ISO-3166 alpha-2",
        ),
        (
            {
                "channels": {
                    "sms": {
                        "model": "rate_card",
                        "rates": [
                            {"country": "US", "unit_price": "1"},
                            {"country": "us", "unit_price": "2"},
                        ],
                    }
                }
            },
            r"rates\[1\]: duplicate of rates\[0\]",
        ),
        (
            {"channels": {"sms": {"model": "rate_card", "rates": []}}},
            "rates: a rate_card channel needs at least one rate row",
        ),
        (
            {"recurring_fees": [{"code": "n", "description": "x", "amount": "1", "quantity": 0}]},
            r"recurring_fees\.0\.quantity",
        ),
        (
            {
                "recurring_fees": [
                    {"code": "n", "description": "x", "amount": "1"},
                    {"code": "n", "description": "y", "amount": "2"},
                ]
            },
            r"recurring_fees\[1\]\.code: 'n' appears twice",
        ),
        (
            {
                "credits": [
                    {
                        "credit_id": "c",
                        "amount": "5",
                        "granted_at": "2026-02-01",
                        "expires_at": "2026-01-31",
                    }
                ]
            },
            "expires_at: 2026-01-31 is before granted_at",
        ),
        ({"credits": [{"credit_id": "c", "amount": "0", "granted_at": "2026-02-01"}]}, "amount"),
        ({"hard_cap": True}, "hard_cap: a hard cap needs a spend_limit"),
        ({"spend_limit": "0"}, "spend_limit\n.*greater than 0"),
        ({"alert_thresholds": [100, 80]}, r"alert_thresholds\n.*\[1\]: thresholds must ascend"),
        ({"alert_thresholds": [0]}, "not a percentage"),
        ({"alert_emails": ["not-an-address"]}, "alert_emails\n.*not an email address"),
        ({"extra_field": 1}, "extra_field\n.*Extra inputs are not permitted"),
    ],
)
def test_an_invalid_plan_is_refused_naming_the_field(
    overrides: dict[str, Any], message: str
) -> None:
    # Given / When / Then
    with pytest.raises(ValidationError, match=message):
        Plan.model_validate(plan_doc(**overrides))


def test_a_float_price_goes_through_its_shortest_repr_never_binary() -> None:
    # Given a plan whose JSON has numbers, not strings
    doc = plan_doc(base_fee=0.1, surcharges={"mms": 0.0150})

    # When
    plan = Plan.model_validate(doc)

    # Then
    assert plan.base_fee == Decimal("0.1")
    assert plan.surcharges["mms"] == Decimal("0.015")


def test_rate_lookup_falls_back_from_exact_to_country_to_default() -> None:
    # Given a card with every kind of row (a generic card; channels restrict the categories)
    card = ChannelPlan(
        model="rate_card",
        rates=[
            RateRow(country="US", category="marketing", unit_price=Decimal("1")),
            RateRow(country="US", unit_price=Decimal("2")),
            RateRow(country="*", category="marketing", unit_price=Decimal("3")),
            RateRow(country="*", unit_price=Decimal("4")),
            RateRow(country="zz", unit_price=Decimal("5")),
        ],
    )
    partial = ChannelPlan(model="rate_card", rates=[RateRow(country="*", unit_price=Decimal("4"))])

    # When / Then: (country, category) -> (country, "") -> ("*", category) -> ("*", "")
    assert card.rate_for("US", "marketing").unit_price == 1  # type: ignore[union-attr]
    assert card.rate_for("US", "utility").unit_price == 2  # type: ignore[union-attr]
    assert card.rate_for("BR", "marketing").unit_price == 3  # type: ignore[union-attr]
    assert card.rate_for("BR", "utility").unit_price == 4  # type: ignore[union-attr]
    # ZZ (unknown destination) is priced only by its own row, never by the "*" default
    assert card.rate_for("ZZ").unit_price == 5  # type: ignore[union-attr]
    assert partial.rate_for("ZZ") is None
    assert partial.rate_for("BR").unit_price == 4  # type: ignore[union-attr]


def test_the_version_pricing_a_month_is_the_latest_started_by_its_first_day() -> None:
    # Given three versions
    jan, apr, jul = (
        Plan.model_validate(plan_doc(plan_id=f"v{m}", effective_from=f"2026-{m:02d}-01"))
        for m in (1, 4, 7)
    )
    versions = [jul, jan, apr]  # in no particular order

    # When / Then
    assert plan_for_month(versions, "2025-12") is None
    assert plan_for_month(versions, "2026-01") == jan
    assert plan_for_month(versions, "2026-03") == jan
    assert plan_for_month(versions, "2026-04") == apr
    assert plan_for_month(versions, "2027-02") == jul
    with pytest.raises(ValueError, match="same effective_from"):
        plan_for_month([jan, jan], "2026-05")
    with pytest.raises(ValueError, match="month must be YYYY-MM"):
        plan_for_month(versions, "2026-13")


def test_month_bounds_know_the_length_of_each_month() -> None:
    assert month_bounds("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    assert month_bounds("2026-02") == (date(2026, 2, 1), date(2026, 2, 28))
    assert month_bounds("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))
    for bad in ("2026-1", "26-01", "2026-00", "2026/01", ""):
        with pytest.raises(ValueError, match="YYYY-MM"):
            month_bounds(bad)
