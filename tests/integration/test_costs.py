"""Profit per order through the API on moto: the real Shopify order, a cost model, FX rates and
an ad-spend import; every component asserted with its arithmetic."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.conftest import Stack, call, drain_ingest, new_seller, post_webhook
from tests.integration.outreach import START, pipeline
from tests.support import fixture_json

pytestmark = pytest.mark.xdist_group("costs")

MODEL = {
    "reporting_currency": "USD",
    "commission": [{"platform": "shopify", "rate": "0.02"}],
    "payment_fees": [{"platform": "shopify", "rate": "0.029", "fixed": "0.30",
                      "fixed_currency": "USD"}],
    "logistics": [{"market": "US", "currency": "USD", "brackets": [{"price": "8.00"}]}],
    "taxes": [{"country": "US", "rate": "0.03", "prices_include_tax": False,
               "label": "sales tax"}],
    "duties": [{"country": "US", "rate": "0.05", "de_minimis": "800", "currency": "USD"}],
    "returns": [{"market": "US", "cost_per_return": "12.00", "currency": "USD"}],
    "ads": {"rule": "by_revenue_share", "within": "market"},
    "cogs": {
        "IPOD2008GREEN": {"unit_cost": "80.00", "currency": "USD"},
        "IPOD2008RED": {"unit_cost": "80.00", "currency": "USD"},
        "IPOD2008BLACK": {"unit_cost": "80.00", "currency": "USD"},
    },
}  # fmt: skip


def body(response: Any) -> Any:
    return json.loads(response.body)


def test_an_orders_profit_shows_every_component(stack: Stack) -> None:
    seller = new_seller(stack, "Costed")
    order = fixture_json("shopify/orders_create.json")
    placed = (START - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    order.update(financial_status="paid", processed_at=placed, created_at=placed, updated_at=placed)
    with pipeline(stack):
        post_webhook(stack, seller, "orders/create", json.dumps(order).encode())
        drain_ingest(stack)
        assert call(stack, "PUT", "/cost-model", seller.api_key, MODEL).status_code == 200
        spend = {"facts": [{"date": "2026-11-20", "metric": "ad_spend", "value": "50.00",
                            "market": "US"}]}  # fmt: skip
        assert call(stack, "POST", "/metrics", seller.api_key, spend).status_code == 200
        (listed,) = body(call(stack, "GET", "/orders", seller.api_key))["orders"]
        answer = call(stack, "GET", f"/orders/{listed['order_id']}/profit", seller.api_key)
        other = new_seller(stack, "Other")
        hidden = call(stack, "GET", f"/orders/{listed['order_id']}/profit", other.api_key)
    assert answer.status_code == 200, answer.body
    got = body(answer)
    assert hidden.status_code == 404  # another tenant's order is not found
    # Revenue: the lines' 3 x 199.00 carry the order's discount down to its 398.00 subtotal;
    # shipping 0.00; the 11.94 sales tax was added on top, so it isn't revenue
    assert (got["currency"], got["revenue"]) == ("USD", "398.00")
    assert got["components"] == {
        "cogs": "240.00",  # 3 x 80.00
        "commission": "7.96",  # 2% of 398.00
        "payment_fees": "12.19",  # 2.9% of the 409.94 paid = 11.888, + 0.30
        "logistics": "8.00",  # the US flat bracket
        "ads": "50.00",  # the only US order that month: all 50.00 of the month's US ad spend
        "taxes": "0.00",  # 3% of 398.00 = 11.94 due, 11.94 collected
        "duties": "0.00",  # 398.00 is under the 800.00 de minimis
        "returns": "0.00",  # none
        "fx": None,  # no payout rule in the model: missing, not zero
    }
    assert got["missing"] == ["fx"] and got["estimated"] is True
    # CM1 398.00 - 240.00; CM2 - 7.96 - 12.19 - 8.00; CM3 - 50.00
    assert (got["cm1"], got["cm2"], got["cm3"], got["profit"]) == (
        "158.00",
        "129.85",
        "79.85",
        "79.85",
    )
    assert got["tax_collected"] == "11.94" and got["details"]["ads"]["source"] == "model"


def test_a_euro_order_is_converted_at_its_dates_rate_and_says_when_it_cant_be(
    stack: Stack,
) -> None:
    seller = new_seller(stack, "Euro Costed")
    order = fixture_json("shopify/orders_create.json")
    placed = (START - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    order.update(currency="EUR", financial_status="paid", created_at=placed, updated_at=placed)
    model = {**MODEL, "fx": [{"payout_currency": "USD", "spread": "0.01"}], "ads": None}
    with pipeline(stack):
        post_webhook(stack, seller, "orders/create", json.dumps(order).encode())
        drain_ingest(stack)
        assert call(stack, "PUT", "/cost-model", seller.api_key, model).status_code == 200
        (listed,) = body(call(stack, "GET", "/orders", seller.api_key))["orders"]
        path = f"/orders/{listed['order_id']}/profit"
        before = body(call(stack, "GET", path, seller.api_key))
        rates = {"rates": [{"date": "2026-11-19", "base": "EUR", "quote": "USD", "rate": "1.08"}]}
        assert call(stack, "POST", "/fx-rates", seller.api_key, rates).status_code == 200
        after = body(call(stack, "GET", path, seller.api_key))
    # Without a EUR rate the order stays in euros and says fx is missing
    assert before["currency"] == "EUR" and "fx" in before["missing"]
    # With the day before's rate (within 7 days): 398.00 EUR x 1.08 = 429.84 USD, and the
    # payout conversion costs 1% of it: 4.2984 → 4.30
    assert (after["currency"], after["revenue"]) == ("USD", "429.84")
    assert after["components"]["fx"] == "4.30"
    assert after["components"]["commission"] == "8.60"  # 2% of 429.84 = 8.5968
