"""Profit per order, worked by hand: orders in EUR, USD, GBP and AUD to DE, the US and the UK,
every component asserted with its arithmetic beside it; ad allocation; roll-ups.

The reporting currency is USD. Rates (the tenant's table): EUR→USD 1.08 and USD→CNY 7.20 on
Monday 2026-03-02, GBP→USD 1.25 from the Friday before (3 days old, within the 7-day limit), no
AUD rate at all.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from linkstar.costs.fx import FxRate, FxTable
from linkstar.costs.model import CostModel
from linkstar.costs.profit import (
    AdSpend,
    OrderFacts,
    OrderProfit,
    allocate_ads,
    by_market,
    by_period,
    by_platform,
    by_sku,
    profit,
    rollup,
    split_by_sku,
)

D = Decimal
MONDAY = date(2026, 3, 2)

FX = FxTable(
    [
        FxRate(date=MONDAY, base="EUR", quote="USD", rate=D("1.08")),
        FxRate(date=MONDAY, base="USD", quote="CNY", rate=D("7.20")),
        FxRate(date=date(2026, 2, 27), base="GBP", quote="USD", rate=D("1.25")),
    ]
)

MODEL_BODY: dict[str, Any] = {
    "reporting_currency": "USD",
    "commission": [
        {"platform": "amazon", "rate": "0.15"},
        {"platform": "amazon", "category": "electronics", "rate": "0.08"},
        {"platform": "shopify", "rate": "0"},
    ],
    "payment_fees": [
        {"platform": "amazon", "rate": "0"},  # included in the commission
        {"gateway": "stripe", "rate": "0.029", "fixed": "0.30", "fixed_currency": "USD"},
        {"gateway": "stripe", "currency": "EUR", "rate": "0.015", "fixed": "0.25"},
    ],
    "logistics": [
        {
            "market": "DE",
            "currency": "EUR",
            "brackets": [{"max_grams": 500, "price": "4.00"}, {"max_grams": 2000, "price": "6.50"}],
        },
        {
            "market": "US",
            "method": "standard",
            "currency": "USD",
            "brackets": [{"max_grams": 1000, "price": "5.00"}, {"price": "9.00"}],
        },
        {"market": "US", "currency": "USD", "brackets": [{"price": "12.00"}]},
    ],
    "ads": {"within": "market"},
    "taxes": [
        {"country": "DE", "rate": "0.19", "prices_include_tax": True, "label": "VAT"},
        {"country": "US", "rate": "0.08", "prices_include_tax": False, "label": "sales tax"},
        {
            "country": "US",
            "platform": "amazon",
            "rate": "0.08",
            "prices_include_tax": False,
            "marketplace_facilitator": True,
            "label": "sales tax",
        },
        {
            "country": "GB",
            "platform": "amazon",
            "rate": "0.20",
            "prices_include_tax": True,
            "marketplace_facilitator": True,
            "label": "VAT",
        },
    ],
    "duties": [
        {"country": "DE", "rate": "0.04", "de_minimis": "150", "currency": "EUR"},
        {"country": "US", "rate": "0.05", "de_minimis": "800", "currency": "USD"},
        {"country": "GB", "rate": "0.03", "de_minimis": "135", "currency": "GBP"},
    ],
    "returns": [
        {"market": "DE", "cost_per_return": "6.00", "currency": "EUR", "write_off_rate": "0.25"},
        {"cost_per_return": "10.00", "currency": "USD", "write_off_rate": "0.5"},
    ],
    "cogs": {
        "MUG-1": {"unit_cost": "36.00", "currency": "CNY"},  # 5.00 USD
        "TEE-2": {"unit_cost": "8.00", "currency": "USD"},
        "CAM-3": {"unit_cost": "2160.00", "currency": "CNY"},  # 300.00 USD
    },
    "fx": [{"spread": "0.02"}, {"platform": "amazon", "spread": "0.015"}],
}
MODEL = CostModel.model_validate(MODEL_BODY)


def facts(**fields: Any) -> OrderFacts:
    values: dict[str, Any] = {"order_id": "o-1", "date": MONDAY, "platform": "amazon"}
    values.update(fields)
    return OrderFacts.model_validate(values)


def components(result: OrderProfit) -> dict[str, str | None]:
    return {k: None if v is None else str(v) for k, v in result.components.items()}


# The DE order: 2 mugs at 59.50 EUR including 19% VAT, shipped from China, 800 g.
DE_ORDER: dict[str, Any] = {
    "order_id": "de-1",
    "market": "DE",
    "currency": "EUR",
    "lines": [{"sku": "MUG-1", "quantity": 2, "unit_price": "59.50"}],
    "ships_from": "CN",
    "weight_grams": 800,
    "allocated_ads": {"amount": "5.00", "currency": "USD", "how": "market DE: 5.00 USD"},
}

# 2 tees at 24.00 GBP incl. 20% VAT that Amazon remits, one returned and refunded; the
# settlement report's fees and the order's ad cost as actuals.
GB_ORDER: dict[str, Any] = {
    "order_id": "gb-1",
    "market": "GB",
    "currency": "GBP",
    "lines": [{"sku": "TEE-2", "quantity": 2, "unit_price": "24.00"}],
    "refunded": "24.00",
    "returns": [{"items": [{"sku": "TEE-2", "quantity": 1}]}],
    "ships_from": "CN",
    "actuals": {
        "commission": {"amount": "7.50", "currency": "GBP"},
        "logistics": {"amount": "3.20", "currency": "GBP"},
        "ads": {"amount": "1.00", "currency": "GBP"},
    },
}


def test_de_order_vat_inclusive_converted_on_the_order_date() -> None:
    # Given
    order = facts(**DE_ORDER)

    # When
    result = profit(order, MODEL, FX)

    # Then VAT in the price: 119.00 x 0.19 / 1.19 = 19.00 EUR; revenue 100.00 EUR x 1.08
    assert result.currency == "USD"
    assert result.revenue == D("108.00")
    assert components(result) == {
        "cogs": "10.00",  # 2 x 36.00 CNY = 72.00 CNY / 7.20 = 10.00 USD
        "commission": "16.20",  # 15% x 100.00 EUR = 15.00 EUR x 1.08
        "payment_fees": "0.00",  # amazon's default: 0% (in the commission)
        "logistics": "7.02",  # DE, 800 g: the up-to-2,000 g bracket, 6.50 EUR x 1.08
        "ads": "5.00",  # allocated
        "taxes": "0.00",  # collected in the price and remitted: not revenue, not a cost
        "duties": "0.00",  # goods 100.00 EUR <= the DE de minimis 150 EUR
        "returns": "0.00",  # none
        "fx": "1.62",  # amazon's 1.5% spread x 100.00 EUR = 1.50 EUR x 1.08 (EUR into USD)
    }
    assert result.tax_collected == D("20.52")  # 19.00 EUR x 1.08, shown, not deducted
    assert result.tax_remitted_by == "seller"
    assert result.cm1 == D("98.00")  # 108.00 - 10.00
    assert result.cm2 == D("73.16")  # 98.00 - (16.20 + 0 + 7.02 + 0 + 0 + 0 + 1.62)
    assert result.cm3 == result.profit == D("68.16")  # 73.16 - 5.00
    assert (result.missing, result.estimated) == ([], False)
    sources = {name: detail.source for name, detail in result.details.items()}
    assert sources == {
        "cogs": "model",
        "commission": "model",
        "payment_fees": "model",
        "logistics": "model",
        "ads": "model",
        "taxes": "model",
        "duties": "model",
        "returns": "actual",
        "fx": "model",
    }
    assert result.details["commission"].how == "15% on 100.00 EUR (amazon, default)"
    assert result.details["cogs"].how == "2 x 36.00 CNY (MUG-1)"
    assert result.details["logistics"].how == "DE any method, 800 g, up to 2000 g: 6.50 EUR"
    assert result.details["taxes"].how == (
        "19.00 EUR VAT (19%) in the prices, remitted by the seller: not revenue, not a cost"
    )
    assert result.details["duties"].how == (
        "goods 100.00 EUR at or below the DE de minimis 150.00 EUR: no duty"
    )
    assert result.details["fx"].how == (
        "1.5% spread converting revenue 100.00 EUR into a USD payout"
    )
    assert [(line.sku, line.revenue, line.cogs) for line in result.lines] == [
        ("MUG-1", D("108.00"), D("10.00"))
    ]


def test_de_order_in_a_eur_reporting_currency_shows_19_00_of_vat() -> None:
    # Given the same order for a tenant reporting (and paid out) in EUR
    model = CostModel.model_validate({**MODEL_BODY, "reporting_currency": "EUR"})

    # When
    result = profit(facts(**DE_ORDER), model, FX)

    # Then 119.00 incl. 19% VAT: tax 19.00, revenue 100.00; no conversion, no spread
    assert (result.currency, result.revenue, result.tax_collected) == (
        "EUR",
        D("100.00"),
        D("19.00"),
    )
    assert result.components["fx"] == D("0.00")
    assert result.details["fx"].how == "received and paid out in EUR: no conversion"
    assert result.components["cogs"] == D("9.26")  # 72.00 CNY via USD: 10.00 USD / 1.08


def test_us_order_sales_tax_added_on_top_with_a_gateway_fee() -> None:
    # Given 3 tees at 20.00 less 10.00 off, 10.00 shipping, 8% sales tax on top, paid by Stripe
    order = facts(
        order_id="us-1",
        platform="shopify",
        market="US",
        currency="USD",
        lines=[{"sku": "TEE-2", "quantity": 3, "unit_price": "20.00", "discount": "10.00"}],
        shipping_charged="10.00",
        gateway="Stripe",
        shipping_method="standard",
        weight_grams=1200,
        ships_from="US",
    )

    # When
    result = profit(order, MODEL, FX)

    # Then revenue is the prices (tax is on top): 60.00 - 10.00 + 10.00 = 60.00;
    # tax 8% x 60.00 = 4.80; the buyer paid 64.80
    assert result.revenue == D("60.00")
    assert components(result) == {
        "cogs": "24.00",  # 3 x 8.00
        "commission": "0.00",  # shopify 0%
        "payment_fees": "2.18",  # 2.9% x 64.80 = 1.8792 + 0.30 = 2.1792
        "logistics": "9.00",  # US standard, 1,200 g: above 1,000 g, the unbounded bracket
        "ads": None,  # the model allocates ads, but none was allocated to this order
        "taxes": "0.00",  # added on top and paid by the buyer
        "duties": "0.00",  # shipped within the US
        "returns": "0.00",
        "fx": "0.00",  # USD received, USD paid out
    }
    assert result.tax_collected == D("4.80") and result.tax_remitted_by == "seller"
    assert result.cm1 == D("36.00")  # 60.00 - 24.00
    assert result.cm2 == D("24.82")  # 36.00 - (0 + 2.18 + 9.00 + 0 + 0 + 0 + 0)
    assert result.cm3 == result.profit == D("24.82")  # ads unknown: from the known parts
    assert (result.missing, result.estimated) == (["ads"], True)
    assert result.details["ads"].source == "missing"
    assert result.details["payment_fees"].how == "2.9% of 64.80 USD paid + 0.30 USD (stripe)"
    assert result.details["commission"].how == "0% on 60.00 USD (shopify, default)"


def test_a_gateway_fee_in_the_charge_currency_and_commission_on_the_tax_inclusive_price() -> None:
    # Given Amazon's EU referral fee charged on the VAT-inclusive price, and a Shopify DE order
    # paid by Stripe in EUR
    model = CostModel.model_validate(
        {
            **MODEL_BODY,
            "commission": [
                {"platform": "amazon", "rate": "0.15", "includes_tax": True},
                {"platform": "shopify", "rate": "0"},
            ],
        }
    )

    # When
    amazon = profit(facts(**DE_ORDER), model, FX)
    shopify = profit(facts(**{**DE_ORDER, "platform": "shopify", "gateway": "stripe"}), MODEL, FX)

    # Then 15% x 119.00 EUR = 17.85 EUR x 1.08 = 19.278 -> 19.28
    assert amazon.components["commission"] == D("19.28")
    assert amazon.details["commission"].how == "15% on 119.00 EUR incl. tax (amazon, default)"
    # 1.5% x 119.00 EUR = 1.785 + 0.25 EUR = 2.035 EUR x 1.08 = 2.1978 -> 2.20
    assert shopify.components["payment_fees"] == D("2.20")
    assert shopify.details["payment_fees"].how == "1.5% of 119.00 EUR paid + 0.25 EUR (stripe)"
    # and Shopify payouts in USD lose the default 2% spread: 2.00 EUR x 1.08 = 2.16
    assert shopify.components["fx"] == D("2.16")


def test_tax_due_but_not_collected_is_the_sellers_cost() -> None:
    # Given a US Shopify order whose checkout charged no sales tax the seller owes
    order = facts(
        platform="shopify",
        market="US",
        currency="USD",
        lines=[{"sku": "TEE-2", "quantity": 1, "unit_price": "50.00"}],
        tax_collected="0",
    )

    # When
    result = profit(order, MODEL, FX)

    # Then 8% x 50.00 = 4.00 due, 0 collected: the seller pays 4.00
    assert result.revenue == D("50.00")
    assert result.components["taxes"] == D("4.00")
    assert result.details["taxes"].how == (
        "8% sales tax due on 50.00 USD is 4.00 USD, 0.00 USD collected: the seller pays 4.00 USD"
    )


def test_gb_order_with_a_return_stale_friday_rate_and_settlement_fees_overriding_the_model() -> (
    None
):
    # Given 2 tees at 24.00 GBP incl. 20% VAT that Amazon remits (marketplace facilitator),
    # one returned and refunded; the settlement report's fees and the order's ad cost
    order = facts(**GB_ORDER)

    # When
    result = profit(order, MODEL, FX)

    # Then VAT 48.00 x 0.20 / 1.20 = 8.00, net 40.00 GBP; half refunded (24.00 of 48.00):
    # revenue 20.00 GBP x 1.25 (Friday's rate) = 25.00 USD
    assert result.revenue == D("25.00")
    assert components(result) == {
        "cogs": "8.00",  # 1 tee kept x 8.00 (the returned one is back in stock)
        "commission": "9.38",  # actual 7.50 GBP x 1.25 = 9.375, half-even
        "payment_fees": "0.00",
        "logistics": "4.00",  # actual 3.20 GBP x 1.25
        "ads": "1.25",  # actual 1.00 GBP x 1.25
        "taxes": "0.00",  # Amazon collects and remits UK VAT
        "duties": "0.00",  # goods 40.00 GBP <= the GB de minimis 135 GBP
        "returns": "14.00",  # 1 x 10.00 USD + 50% write-off x 1 x 8.00 USD
        "fx": "0.38",  # 1.5% x 20.00 GBP = 0.30 GBP x 1.25 = 0.375, half-even
    }
    assert result.tax_collected == D("5.00")  # 8.00 GBP x (1 - 0.5) x 1.25
    assert result.tax_remitted_by == "marketplace"
    assert result.cm1 == D("17.00")  # 25.00 - 8.00
    assert result.cm2 == D("-10.76")  # 17.00 - (9.38 + 0 + 4.00 + 0 + 0 + 14.00 + 0.38)
    assert result.cm3 == result.profit == D("-12.01")  # -10.76 - 1.25
    assert result.estimated is False
    assert result.details["commission"].source == "actual"
    assert result.details["commission"].how == "actual 7.50 GBP"
    assert result.details["returns"].how == (
        "1 x 10.00 USD reverse logistics + 50% write-off of 1 x 8.00 USD (TEE-2)"
    )
    assert result.details["cogs"].how == "1 x 8.00 USD (TEE-2, 1 returned)"
    assert result.details["taxes"].how == (
        "8.00 GBP VAT (20%) collected and remitted by amazon: not the seller's cost"
    )


@pytest.mark.parametrize(
    ("price", "duty", "how"),
    [
        # 5% x 900.00 = 45.00
        ("900.00", "45.00", "5% duty on goods 900.00 USD, above the US de minimis 800.00 USD"),
        ("800.00", "0.00", "goods 800.00 USD at or below the US de minimis 800.00 USD: no duty"),
    ],
)
def test_duty_applies_above_the_de_minimis_threshold(price: str, duty: str, how: str) -> None:
    # Given a camera imported into the US on Amazon (electronics, sales tax remitted by Amazon)
    order = facts(
        market="US",
        currency="USD",
        lines=[{"sku": "CAM-3", "quantity": 1, "unit_price": price, "category": "electronics"}],
        ships_from="CN",
        allocated_ads={"amount": "0", "currency": "USD", "how": "none"},
    )

    # When
    result = profit(order, MODEL, FX)

    # Then
    assert result.components["duties"] == D(duty)
    assert result.details["duties"].how == how
    assert result.components["commission"] == D(price) * D("0.08")  # electronics 8%
    assert result.components["logistics"] == D("12.00")  # US, no method: the flat table
    assert result.components["cogs"] == D("300.00")  # 2160.00 CNY / 7.20
    assert result.components["taxes"] == D("0.00") and result.tax_remitted_by == "marketplace"
    assert result.tax_collected == D(price) * D("0.08")  # added on top, remitted by Amazon


def test_duty_example_900_adds_up() -> None:
    # Given
    order = facts(
        market="US",
        currency="USD",
        lines=[{"sku": "CAM-3", "quantity": 1, "unit_price": "900.00", "category": "electronics"}],
        ships_from="CN",
        allocated_ads={"amount": "0", "currency": "USD", "how": "none"},
    )

    # When
    result = profit(order, MODEL, FX)

    # Then
    assert result.revenue == D("900.00")
    assert result.cm1 == D("600.00")  # 900.00 - 300.00
    # 600.00 - (commission 72.00 + fees 0 + logistics 12.00 + taxes 0 + duty 45.00 + 0 + fx 0)
    assert result.cm2 == D("471.00")
    assert result.cm3 == D("471.00")  # ads 0


def test_no_rate_for_the_order_currency_shows_the_order_in_its_own_currency_with_fx_missing() -> (
    None
):
    # Given an AUD order (no AUD rate in the table) of a 100.00 AUD item, tax unknown
    model = CostModel.model_validate({**MODEL_BODY, "taxes": []})
    order = facts(
        market="AU",
        currency="AUD",
        lines=[{"sku": "TEE-2", "quantity": 1, "unit_price": "100.00"}],
        prices_include_tax=False,
        tax_collected="0",
    )

    # When
    result = profit(order, model, FX)

    # Then everything is in AUD; what needs a rate into AUD is missing too
    assert result.currency == "AUD"
    assert result.revenue == D("100.00")
    assert result.components["commission"] == D("15.00")  # 15% x 100.00 AUD
    assert result.components["fx"] is None
    assert result.details["fx"].how == (
        "no AUD→USD rate on 2026-03-02 or up to 7 days before it (direct or inverse): "
        "amounts are in AUD, not the reporting currency USD"
    )
    assert result.components["cogs"] is None  # 8.00 USD has no rate into AUD
    assert result.details["cogs"].how.startswith("no USD→AUD rate on 2026-03-02")
    assert result.missing == ["cogs", "logistics", "ads", "duties", "fx"]
    assert result.estimated is True
    # logistics: no AU table; duties: no AU rule
    assert result.details["logistics"].how == "no logistics rate for AU"
    assert result.details["duties"].how == "no duty rule for AU"


def test_an_input_currency_without_a_rate_makes_only_its_component_missing() -> None:
    # Given a SKU costed in VND, which has no rate
    model = CostModel.model_validate(
        {**MODEL_BODY, "cogs": {"MUG-1": {"unit_cost": "36.00", "currency": "VND"}}}
    )

    # When
    result = profit(facts(**DE_ORDER), model, FX)

    # Then
    assert result.missing == ["cogs"]
    assert result.revenue == D("108.00") and result.cm1 == D("108.00")
    assert result.cm2 == D("83.16")  # 108.00 - 24.84, as the DE order without COGS
    assert "no VND→USD rate" in result.details["cogs"].how


def test_missing_sections_are_missing_not_zero_unless_the_order_brings_actuals() -> None:
    # Given a model with only a reporting currency
    bare = CostModel.model_validate({"reporting_currency": "USD"})
    order = facts(
        order_id="bare",
        market="DE",
        currency="EUR",
        lines=[{"sku": "MUG-1", "quantity": 1, "unit_price": "50.00"}],
        actuals={"commission": {"amount": "7.50", "currency": "EUR"}},
    )

    # When
    result = profit(order, bare, FX)

    # Then only the actual commission and the no-returns zero are known; tax is unknown, so
    # revenue is the price as given: 50.00 EUR x 1.08 = 54.00
    assert result.revenue == D("54.00")
    assert components(result) == {
        "cogs": None,
        "commission": "8.10",  # 7.50 EUR x 1.08
        "payment_fees": None,
        "logistics": None,
        "ads": None,
        "taxes": None,
        "duties": None,
        "returns": "0.00",
        "fx": None,
    }
    assert result.profit == D("45.90")  # 54.00 - 8.10, from the known parts
    assert result.estimated is True
    assert result.details["taxes"].how == (
        "no tax rules in the cost model for DE and the order states no tax"
    )
    assert result.details["cogs"].how == "no COGS in the cost model"


def test_a_logistics_table_by_weight_needs_the_weight() -> None:
    # Given
    order = facts(**{**DE_ORDER, "weight_grams": None})

    # When
    result = profit(order, MODEL, FX)

    # Then
    assert result.missing == ["logistics"]
    assert result.details["logistics"].how == (
        "the order's weight is unknown and the DE any method table is by weight"
    )


def test_the_api_body_has_the_contract_shape() -> None:
    # When
    body = profit(facts(**DE_ORDER), MODEL, FX).to_api()

    # Then
    assert list(body)[:5] == ["currency", "revenue", "components", "profit", "missing"]
    assert body["currency"] == "USD" and body["revenue"] == "108.00"
    assert body["components"]["fx"] == "1.62" and body["profit"] == "68.16"
    assert set(body["components"]) == {
        "cogs",
        "commission",
        "payment_fees",
        "logistics",
        "ads",
        "taxes",
        "duties",
        "returns",
        "fx",
    }
    assert body["details"]["cogs"] == {"source": "model", "how": "2 x 36.00 CNY (MUG-1)"}
    assert (body["cm1"], body["cm2"], body["cm3"], body["estimated"]) == (
        "98.00",
        "73.16",
        "68.16",
        False,
    )


# --- ad allocation --------------------------------------------------------------------------


def test_ad_spend_is_split_by_revenue_share_within_the_market_to_the_cent() -> None:
    # Given three DE orders with revenue 108.00, 54.00 and 54.00 USD, and one in GB
    orders = [
        facts(**{**DE_ORDER, "order_id": "a", "allocated_ads": None}),
        facts(
            **{
                **DE_ORDER,
                "order_id": "b",
                "allocated_ads": None,
                "lines": [{"sku": "MUG-1", "quantity": 1, "unit_price": "59.50"}],
            }
        ),
        facts(
            **{
                **DE_ORDER,
                "order_id": "c",
                "allocated_ads": None,
                "lines": [{"sku": "MUG-1", "quantity": 1, "unit_price": "59.50"}],
            }
        ),
        facts(order_id="g", market="GB", currency="GBP", lines=[]),
    ]
    spend = [
        AdSpend(key="de", date=MONDAY, amount=D("10.00"), currency="EUR"),  # 10.80 USD
        AdSpend(key="DE", date=MONDAY, amount=D("9.20"), currency="USD"),
        AdSpend(key="FR", date=MONDAY, amount=D("5.00"), currency="EUR"),
        AdSpend(key="JP", date=MONDAY, amount=D("500"), currency="JPY"),
    ]

    # When
    allocation = allocate_ads(spend, orders, MODEL, FX)

    # Then DE: 10.80 + 9.20 = 20.00 USD over 108 : 54 : 54 = 10.00, 5.00, 5.00
    assert {k: v.amount for k, v in allocation.by_order.items()} == {
        "a": D("10.00"),
        "b": D("5.00"),
        "c": D("5.00"),
        "g": D("0.00"),
    }
    assert allocation.by_order["a"].how == (
        "by revenue share within market DE: 10.00 USD of 20.00 USD "
        "(revenue 108.00 USD of 216.00 USD)"
    )
    assert allocation.by_order["g"].how == "no ad spend reached it by market"
    assert [(u.key, str(u.amount), u.currency) for u in allocation.unallocated] == [
        ("JP", "500", "JPY"),  # no JPY rate
        ("FR", "5.40", "USD"),  # 5.00 EUR x 1.08, no FR orders
    ]
    assert allocation.unallocated[1].reason == "no order with revenue for market FR in the period"


def test_allocated_shares_add_up_by_the_largest_remainder() -> None:
    # Given 10.00 USD over three equal orders
    orders = [
        facts(
            order_id=oid,
            market="US",
            currency="USD",
            lines=[{"sku": "TEE-2", "quantity": 1, "unit_price": "30.00"}],
        )
        for oid in ("x", "y", "z")
    ]
    spend = [AdSpend(key="US", date=MONDAY, amount=D("10.00"), currency="USD")]

    # When
    allocation = allocate_ads(spend, orders, MODEL, FX)

    # Then 3.333... each: 3.33 x 3 = 9.99, the last cent to the first (ties by order id)
    assert [allocation.by_order[o].amount for o in ("x", "y", "z")] == [
        D("3.34"),
        D("3.33"),
        D("3.33"),
    ]


def test_ads_within_sku_follow_the_lines_of_that_sku() -> None:
    # Given an order with a mug and a tee, one with only a tee, spend on tees
    model = CostModel.model_validate({**MODEL_BODY, "ads": {"within": "sku"}})
    orders = [
        facts(
            order_id="m",
            market="US",
            currency="USD",
            lines=[
                {"sku": "MUG-1", "quantity": 1, "unit_price": "10.00"},
                {"sku": "TEE-2", "quantity": 1, "unit_price": "30.00"},
            ],
        ),
        facts(
            order_id="t",
            market="US",
            currency="USD",
            lines=[{"sku": "TEE-2", "quantity": 1, "unit_price": "10.00"}],
        ),
    ]
    spend = [AdSpend(key="TEE-2", date=MONDAY, amount=D("8.00"), currency="USD")]

    # When
    allocation = allocate_ads(spend, orders, model, FX)

    # Then tee revenue 30.00 : 10.00 -> 6.00 and 2.00 (the mug takes no share)
    assert allocation.by_order["m"].amount == D("6.00")
    assert allocation.by_order["t"].amount == D("2.00")


# --- roll-ups ---------------------------------------------------------------------------------


def _orders() -> list[OrderProfit]:
    de = profit(facts(**DE_ORDER), MODEL, FX)  # revenue 108.00, profit 68.16
    us = profit(  # revenue 60.00, cogs 24.00, fees 2.18, logistics 9.00, ads missing
        facts(
            order_id="us-1",
            platform="shopify",
            market="US",
            currency="USD",
            lines=[{"sku": "TEE-2", "quantity": 3, "unit_price": "20.00", "discount": "10.00"}],
            shipping_charged="10.00",
            gateway="stripe",
            shipping_method="standard",
            weight_grams=1200,
            ships_from="US",
        ),
        MODEL,
        FX,
    )
    cam = profit(  # revenue 900.00, cogs 300.00, commission 72.00, logistics 12.00, duty 45.00
        facts(
            order_id="cam",
            market="US",
            currency="USD",
            lines=[{"sku": "CAM-3", "quantity": 1, "unit_price": "900", "category": "electronics"}],
            ships_from="CN",
            allocated_ads={"amount": "30.00", "currency": "USD", "how": "market US"},
        ),
        MODEL,
        FX,
    )
    return [de, us, cam]


def test_rollup_by_market_sums_every_component_and_margin() -> None:
    # When
    rolled = {r.key: r for r in rollup(_orders(), by_market)}

    # Then US = the tee order + the camera order
    us = rolled["US"]
    assert (us.orders, us.estimated, us.currency) == (2, 1, "USD")
    assert us.revenue == D("960.00")  # 60.00 + 900.00
    assert us.components["cogs"] == D("324.00")  # 24.00 + 300.00
    assert us.components["commission"] == D("72.00")  # 0 + 72.00
    assert us.components["payment_fees"] == D("2.18")  # 2.18 + 0
    assert us.components["logistics"] == D("21.00")  # 9.00 + 12.00
    assert us.components["ads"] == D("30.00")  # missing + 30.00
    assert us.components["duties"] == D("45.00")
    assert us.missing == {"ads": 1}
    assert us.cm1 == D("636.00")  # 36.00 + 600.00
    assert us.cm2 == D("495.82")  # 24.82 + 471.00
    assert us.cm3 == us.profit == D("465.82")  # 24.82 + 441.00
    assert us.cm1_margin == D("66.2")  # 636.00 / 960.00 = 66.25%, half-even to 0.1
    assert us.cm2_margin == D("51.6")  # 495.82 / 960.00 = 51.648%
    assert us.cm3_margin == D("48.5")  # 465.82 / 960.00 = 48.52%
    assert rolled["DE"].profit == D("68.16") and rolled["DE"].estimated == 0


def test_rollup_by_platform_and_period() -> None:
    # When
    by_p = {r.key: r for r in rollup(_orders(), by_platform)}
    by_m = rollup(_orders(), by_period("month"))
    by_w = rollup(_orders(), by_period("week"))

    # Then amazon = DE + camera: 108.00 + 900.00; profit 68.16 + 441.00
    assert (by_p["amazon"].orders, by_p["amazon"].revenue) == (2, D("1008.00"))
    assert by_p["amazon"].profit == D("509.16")
    assert by_p["shopify"].revenue == D("60.00")
    assert [(r.key, r.orders, r.revenue) for r in by_m] == [("2026-03", 3, D("1068.00"))]
    assert by_w[0].key == "2026-W10"


def test_orders_in_their_own_currency_are_rolled_up_apart() -> None:
    # Given an order with no rate into USD
    aud = profit(
        facts(
            order_id="au",
            market="AU",
            currency="AUD",
            lines=[{"sku": "TEE-2", "quantity": 1, "unit_price": "100.00"}],
        ),
        MODEL,
        FX,
    )

    # When
    rolled = rollup([*_orders(), aud], lambda p: "all")

    # Then
    assert [(r.currency, r.orders) for r in rolled] == [("AUD", 1), ("USD", 3)]


def test_split_by_sku_adds_up_to_the_order_and_rolls_up_per_sku() -> None:
    # Given an order of a mug (59.50) and a tee (59.50 + 59.50), all incl. 19% VAT, to DE
    order = facts(
        **{
            **DE_ORDER,
            "lines": [
                {"sku": "MUG-1", "quantity": 1, "unit_price": "59.50"},
                {"sku": "TEE-2", "quantity": 2, "unit_price": "59.50"},
            ],
        }
    )
    whole = profit(order, MODEL, FX)

    # When
    parts = split_by_sku(whole)
    rolled = {r.key: r for r in rollup(parts, by_sku)}

    # Then revenue 150.00 EUR x 1.08 = 162.00: mug 54.00, tee 108.00
    assert (rolled["MUG-1"].revenue, rolled["TEE-2"].revenue) == (D("54.00"), D("108.00"))
    # COGS by the lines: mug 5.00, tee 16.00
    assert rolled["MUG-1"].components["cogs"] == D("5.00")
    assert rolled["TEE-2"].components["cogs"] == D("16.00")
    # every amount adds up to the order's
    for name, value in whole.components.items():
        assert sum((p.components[name] or D(0) for p in parts), D(0)) == value
    assert sum((p.profit for p in parts), D(0)) == whole.profit
    assert (rolled["MUG-1"].orders, rolled["TEE-2"].orders) == (1, 1)
