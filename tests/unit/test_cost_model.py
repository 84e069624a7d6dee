"""The cost model (``PUT /cost-model``): validation, JSON round trip, and which rule applies."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from linkstar.costs.model import COMPONENTS, CostModel
from pydantic import ValidationError

D = Decimal
T = TypeVar("T")


def some(found: T | None) -> T:
    assert found is not None
    return found


FULL: dict[str, Any] = {
    "reporting_currency": "usd",
    "commission": [
        {"platform": "amazon", "rate": "0.15", "fixed_per_order": "0.99", "currency": "EUR"},
        {"platform": "amazon", "category": " Electronics ", "rate": "0.08"},
        {"platform": "shopify", "rate": "0"},
    ],
    "payment_fees": [
        {"gateway": "stripe", "rate": "0.029", "fixed": "0.30", "fixed_currency": "USD"},
        {"gateway": "stripe", "currency": "EUR", "rate": "0.015", "fixed": "0.25"},
        {"platform": "amazon", "rate": "0"},
        {"platform": "shopify", "rate": "0.02"},
    ],
    "logistics": [
        {
            "market": "de",
            "currency": "EUR",
            "brackets": [{"max_grams": 500, "price": "4.00"}, {"max_grams": 2000, "price": "6.50"}],
        },
        {"market": "US", "method": "Express", "currency": "USD", "brackets": [{"price": "20"}]},
        {"currency": "USD", "brackets": [{"price": "15.00"}]},
    ],
    "ads": {"rule": "by_revenue_share", "within": "campaign"},
    "taxes": [
        {"country": "DE", "rate": "0.19", "prices_include_tax": True, "label": "VAT"},
        {
            "country": "US",
            "platform": "amazon",
            "rate": "0.08",
            "prices_include_tax": False,
            "marketplace_facilitator": True,
        },
        {"country": "US", "rate": "0.08", "prices_include_tax": False},
    ],
    "duties": [{"country": "US", "rate": "0.05", "de_minimis": "800", "currency": "USD"}],
    "returns": [
        {"market": "DE", "cost_per_return": "6.00", "currency": "EUR", "write_off_rate": "0.25"}
    ],
    "cogs": {" MUG-1 ": {"unit_cost": "36.125", "currency": "CNY"}},
    "fx": [{"spread": "0.02"}, {"platform": "amazon", "spread": "0.015", "payout_currency": "EUR"}],
}


def test_a_full_model_validates_normalises_and_round_trips_through_json() -> None:
    # Given the PUT /cost-model body above
    # When
    model = CostModel.model_validate(FULL)

    # Then keys are normalised and sub-cent unit costs are kept (rounding is per component)
    assert model.reporting_currency == "USD"
    assert model.commission is not None and model.commission[1].category == "electronics"
    assert model.logistics is not None and model.logistics[0].market == "DE"
    assert model.logistics[1].method == "express"
    assert model.cogs == {"MUG-1": model.cogs["MUG-1"]}
    assert model.cogs["MUG-1"].unit_cost == D("36.125")
    # and JSON round-trips exactly (amounts as strings, never floats)
    text = model.model_dump_json()
    assert '"rate":"0.15"' in text
    assert CostModel.model_validate_json(text) == model


def test_every_section_is_optional_and_absent_means_none_not_empty() -> None:
    # Given / When
    model = CostModel.model_validate({"reporting_currency": "EUR"})

    # Then
    assert model.commission is None and model.cogs is None and model.fx is None
    assert model.commission_rule("amazon", None) is None
    assert COMPONENTS == (
        "cogs",
        "commission",
        "payment_fees",
        "logistics",
        "ads",
        "taxes",
        "duties",
        "returns",
        "fx",
    )


def test_the_most_specific_rule_wins() -> None:
    # Given
    model = CostModel.model_validate(FULL)

    # Then commission: the category's rule, else the platform's default
    assert some(model.commission_rule("amazon", "ELECTRONICS")).rate == D("0.08")
    assert some(model.commission_rule("amazon", "toys")).rate == D("0.15")
    assert model.commission_rule("tiktok_shop", None) is None
    # payment fees: gateway and currency, then gateway, then the platform's default
    eur = model.payment_fee_rule("shopify", "stripe", "EUR")
    usd = model.payment_fee_rule("shopify", "stripe", "USD")
    other = model.payment_fee_rule("shopify", "paypal", "USD")
    assert eur is not None and (eur.rate, eur.fee_currency) == (D("0.015"), "EUR")
    assert usd is not None and (usd.rate, usd.fee_currency) == (D("0.029"), "USD")
    assert other is not None and other.rate == D("0.02")  # shopify's default
    assert model.payment_fee_rule("lazada", None, "USD") is None
    # logistics: market and method, then market, then any market
    assert some(model.logistics_rate("US", "express")).currency == "USD"
    assert some(model.logistics_rate("US", "express")).brackets[0].price == D(20)
    assert some(model.logistics_rate("US", None)).brackets[0].price == D("15.00")
    assert some(model.logistics_rate("DE", "express")).currency == "EUR"
    # taxes: the country's rule for the platform, else for any platform
    assert some(model.tax_rule("US", "amazon")).marketplace_facilitator is True
    assert some(model.tax_rule("US", "shopify")).marketplace_facilitator is False
    assert model.tax_rule("FR", "shopify") is None
    # fx: the platform's rule, else the default
    assert some(model.fx_rule("amazon")).spread == D("0.015")
    assert some(model.fx_rule("shopify")).spread == D("0.02")
    assert model.returns_rule("FR") is None
    assert model.duty_rule("us") is not None


def test_weight_brackets_pick_the_first_that_holds_the_weight() -> None:
    # Given DE: up to 500 g 4.00, up to 2,000 g 6.50
    rate = CostModel.model_validate(FULL).logistics_rate("DE", None)
    assert rate is not None and not rate.flat

    # Then (the bracket's max is inclusive)
    assert some(rate.bracket_for(500)).price == D("4.00")
    assert some(rate.bracket_for(501)).price == D("6.50")
    assert rate.bracket_for(2001) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"commission": [{"platform": "amazon", "rate": "0.1"}] * 2},
            "commission[1] applies to the same (amazon, any) as commission[0]",
        ),
        ({"commission": [{"platform": "amazon", "rate": "1.5"}]}, "less than or equal to 1"),
        ({"commission": [{"platform": "ebay", "rate": "0.1"}]}, "'amazon'"),
        (
            {"commission": [{"platform": "amazon", "rate": "0.1", "fixed_per_order": "1"}]},
            "fixed_per_order needs a currency",
        ),
        (
            {
                "commission": [
                    {
                        "platform": "amazon",
                        "category": "toys",
                        "rate": "0.1",
                        "fixed_per_order": "1",
                        "currency": "EUR",
                    }
                ]
            },
            "platform's default rule",
        ),
        ({"payment_fees": [{"rate": "0.02"}]}, "name a gateway, a platform"),
        ({"payment_fees": [{"gateway": "x", "rate": "0", "fixed": "1"}]}, "fixed_currency"),
        (
            {
                "logistics": [
                    {
                        "currency": "EUR",
                        "brackets": [
                            {"max_grams": 900, "price": "1"},
                            {"max_grams": 500, "price": "2"},
                        ],
                    }
                ]
            },
            "brackets must ascend, 500 follows 900",
        ),
        (
            {"logistics": [{"currency": "EUR", "brackets": [{"price": "1"}, {"price": "2"}]}]},
            "only the last bracket may have no max_grams",
        ),
        ({"duties": [{"country": "US", "rate": "0.05", "de_minimis": "800"}]}, "needs a currency"),
        ({"taxes": [{"country": "DEU", "rate": "0.19", "prices_include_tax": True}]}, "alpha-2"),
        ({"reporting_currency": "dollars"}, "ISO 4217"),
        ({"cogs": {"A": {"unit_cost": "-1", "currency": "USD"}}}, "greater than or equal to 0"),
        # a profit rounds in 28 significant digits: GET /orders/{id}/profit answered 500 on this
        ({"cogs": {"A": {"unit_cost": "1E+27", "currency": "USD"}}}, "less than 1E+12"),
        ({"cogs": {" ": {"unit_cost": "1", "currency": "USD"}}}, "SKU must not be blank"),
        ({"ads": {"rule": "by_clicks"}}, "by_revenue_share"),
        ({"surprise": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_models_are_refused_with_the_reason(change: dict[str, Any], message: str) -> None:
    # Given
    body = {"reporting_currency": "USD", **change}

    # When / Then
    with pytest.raises(ValidationError, match=re.escape(message)):
        CostModel.model_validate(body)
