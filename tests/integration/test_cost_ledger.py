"""``GET /costs`` on moto: the cost ledger's sums, kept at ingest and recosted when the model or
the FX rates change, must equal the sum of every order's ``GET /orders/{id}/profit``, whatever
the order of events, duplicates and redeliveries; and tenants never see each other's sums."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.conftest import (
    Seller,
    Stack,
    call,
    drain,
    drain_ingest,
    new_seller,
    post_webhook,
)
from tests.integration.outreach import START, pipeline
from tests.integration.test_costs import MODEL
from tests.support import fixture_json

pytestmark = pytest.mark.xdist_group("costs")

PLACED = (START - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
PERIOD = START.strftime("%Y-%m")


def body(response: Any) -> Any:
    return json.loads(response.body)


def shopify_order(
    order_id: int,
    *,
    currency: str = "USD",
    country: str | None = None,
    placed: str = PLACED,
    buyer: tuple[int, str] | None = None,
) -> bytes:
    """The published Shopify ``orders/create`` payload as another order of the same store
    (``buyer``: another customer id and email)."""
    order = fixture_json("shopify/orders_create.json")
    order.update(
        id=order_id,
        name=f"#{order_id}",
        order_number=order_id,
        currency=currency,
        financial_status="paid",
        processed_at=placed,
        created_at=placed,
        updated_at=placed,
    )
    if buyer:
        order["email"] = order["contact_email"] = buyer[1]
        order["customer"] = {**order["customer"], "id": buyer[0], "email": buyer[1]}
    if country:
        for address in ("shipping_address", "billing_address"):
            if order.get(address):
                order[address]["country_code"] = country
    return json.dumps(order).encode()


def recost(stack: Stack) -> None:
    from functions.costs.app import handler

    drain(stack, "CostsQueue", handler)


def profits(stack: Stack, seller: Seller) -> list[dict[str, Any]]:
    listed = body(call(stack, "GET", "/orders", seller.api_key))["orders"]
    answers = [
        call(stack, "GET", f"/orders/{o['order_id']}/profit", seller.api_key) for o in listed
    ]
    assert all(a.status_code == 200 for a in answers), [a.body for a in answers]
    return [body(a) for a in answers]


def summed(orders: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    """What GET /costs must show for these orders (ads aside), added up by hand."""
    mine = [o for o in orders if o["currency"] == currency]
    names = mine[0]["components"]
    return {
        "orders": len(mine),
        "revenue": str(sum(Decimal(o["revenue"]) for o in mine)),
        "cm1": str(sum(Decimal(o["cm1"]) for o in mine)),
        "components": {
            name: str(sum((Decimal(o["components"][name] or 0) for o in mine), Decimal("0.00")))
            for name in names
            if name != "ads"
        },
    }


def costs(stack: Stack, seller: Seller, by: str = "market") -> dict[str, Any]:
    answer = call(stack, "GET", f"/costs?period={PERIOD}&by={by}", seller.api_key)
    assert answer.status_code == 200, answer.body
    return dict(body(answer))


def shown(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "orders": row["orders"],
        "revenue": row["revenue"],
        "cm1": row["cm1"],
        "components": {n: v for n, v in row["components"].items() if n != "ads"},
    }


def test_costs_equal_the_orders_profits_through_model_changes_and_redeliveries(
    stack: Stack,
) -> None:
    seller = new_seller(stack, "Ledger")
    with pipeline(stack):
        # Two orders arrive before any cost model: counted, not costed.
        for order_id in (5001, 5002):
            post_webhook(stack, seller, "orders/create", shopify_order(order_id))
        drain_ingest(stack)
        missing = call(stack, "GET", f"/costs?period={PERIOD}", seller.api_key)
        assert call(stack, "PUT", "/cost-model", seller.api_key, MODEL).status_code == 200
        before_recost = costs(stack, seller)
        recost(stack)
        after_model = costs(stack, seller)
        # A third order is costed as it is ingested, then delivered again.
        third = shopify_order(5003)
        post_webhook(stack, seller, "orders/create", third)
        post_webhook(stack, seller, "orders/create", third)
        drain_ingest(stack)
        with_third = costs(stack, seller)
        # Posting the same model again queues a recost that finds nothing to change.
        assert call(stack, "PUT", "/cost-model", seller.api_key, MODEL).status_code == 200
        recost(stack)
        again = costs(stack, seller)
        by_order = profits(stack, seller)
        by_sku = costs(stack, seller, by="sku")
        other = new_seller(stack, "Nosy")
        assert call(stack, "PUT", "/cost-model", other.api_key, MODEL).status_code == 200
        recost(stack)
        nosy = costs(stack, other)

    assert missing.status_code == 400 and body(missing)["code"] == "cost_model_missing"
    # Before the recost ran, the sums say both orders are not costed, and why.
    (row,) = before_recost["total"]
    assert row["orders"] == 0 and row["uncosted"] == {"no_cost_model": 2}
    assert before_recost["recost"]["state"] == "running"
    (row,) = after_model["total"]
    assert row["orders"] == 2 and row["uncosted"] == {}
    assert after_model["recost"]["state"] == "done"
    assert after_model["recost"]["orders_changed"] == 2
    # The third order, once however often it was delivered.
    (row,) = with_third["total"]
    assert row["orders"] == 3
    assert again["recost"]["orders_changed"] == 0
    assert again["total"] == with_third["total"]
    # Every figure is the sum of the orders' own profit, to the cent.
    expected = summed(by_order, "USD")
    assert shown(again["total"][0]) == expected
    (market,) = again["groups"]
    assert market["key"] == "US" and shown(market) == expected
    assert shown(again["total"][0])["components"]["cogs"] == "720.00"  # 3 x 3 x 80.00
    # No ad spend imported: ads missing for every order, with the reason.
    assert again["total"][0]["missing"]["ads"] == 3 and again["ads_note"]
    # Per SKU, the parts add back up to the orders.
    sku_revenue = sum(Decimal(g["revenue"]) for g in by_sku["groups"])
    assert str(sku_revenue) == expected["revenue"]
    assert {g["key"] for g in by_sku["groups"]} <= {"IPOD2008GREEN", "IPOD2008RED",
                                                   "IPOD2008BLACK", "(no sku)"}  # fmt: skip
    # Another tenant sees none of it.
    assert nosy["groups"] == [] and nosy["total"] == []


def test_ad_spend_is_allocated_within_the_market_day_and_lowers_cm3(stack: Stack) -> None:
    seller = new_seller(stack, "Ads Ledger")
    model = {**MODEL, "ads": {"rule": "by_revenue_share", "within": "market"}}
    with pipeline(stack):
        assert call(stack, "PUT", "/cost-model", seller.api_key, model).status_code == 200
        for order_id in (6001, 6002):
            post_webhook(stack, seller, "orders/create", shopify_order(order_id))
        drain_ingest(stack)
        recost(stack)
        day = START.date().isoformat()
        spend = {"facts": [
            {"date": day, "metric": "ad_spend", "value": "50.00", "market": "US"},
            {"date": day, "metric": "ad_spend", "value": "20.00", "market": "DE"},
        ]}  # fmt: skip
        assert call(stack, "POST", "/metrics", seller.api_key, spend).status_code == 200
        got = costs(stack, seller)
        by_order = profits(stack, seller)
    (row,) = got["total"]
    assert row["components"]["ads"] == "50.00"
    assert "ads" not in row["missing"]
    assert Decimal(row["cm3"]) == Decimal(row["cm2"]) - Decimal("50.00")
    # The DE spend found no DE revenue that month: unallocated, not spread over the US.
    assert got["unallocated_ads"] == [
        {"month": PERIOD, "market": "DE", "amount": "20.00",
         "reason": "no costed revenue in the market that month"}
    ]  # fmt: skip
    # Each order's own view splits the same spend by its share: 25.00 each.
    assert sorted(o["components"]["ads"] for o in by_order) == ["25.00", "25.00"]


def test_new_fx_rates_recost_the_orders_they_can_price(stack: Stack) -> None:
    seller = new_seller(stack, "FX Ledger")
    model = {**MODEL, "fx": [{"payout_currency": "USD", "spread": "0.01"}]}
    with pipeline(stack):
        assert call(stack, "PUT", "/cost-model", seller.api_key, model).status_code == 200
        recost(stack)
        post_webhook(stack, seller, "orders/create", shopify_order(7001, currency="EUR"))
        post_webhook(stack, seller, "orders/create", shopify_order(7002))
        drain_ingest(stack)
        before = costs(stack, seller)
        rates = {"rates": [{"date": START.date().isoformat(), "base": "EUR", "quote": "USD",
                            "rate": "1.08"}]}  # fmt: skip
        posted = call(stack, "POST", "/fx-rates", seller.api_key, rates)
        recost(stack)
        after = costs(stack, seller)
        by_order = profits(stack, seller)
    # Without a rate the euro order is summed apart, in euros, never mixed into dollars.
    assert sorted((r["currency"], r["orders"]) for r in before["total"]) == [
        ("EUR", 1),
        ("USD", 1),
    ]
    assert body(posted)["recost"]["state"] == "running"
    (row,) = after["total"]
    assert row["currency"] == "USD" and row["orders"] == 2
    assert shown(row) == summed(by_order, "USD")


def test_unit_economics_divide_spend_by_new_customers_and_weigh_cohorts_by_margin(
    stack: Stack,
) -> None:
    seller = new_seller(stack, "Unit Economics")
    model = {**MODEL, "ads": {"rule": "by_revenue_share", "within": "market"}}
    first = (START - timedelta(days=130)).replace(day=3)  # all three orders in one month
    month = first.strftime("%Y-%m")

    def at(moment: Any) -> str:
        return moment.isoformat().replace("+00:00", "Z")

    with pipeline(stack):
        assert call(stack, "PUT", "/cost-model", seller.api_key, model).status_code == 200
        # Ann buys twice within 30 days, Ben once: two new customers in the month.
        ann, ben = (9101, "ann@example.com"), (9102, "ben@example.com")
        for order_id, days, buyer in ((8001, 0, ann), (8002, 10, ann), (8003, 1, ben)):
            placed = at(first + timedelta(days=days))
            order = shopify_order(order_id, placed=placed, buyer=buyer)
            post_webhook(stack, seller, "orders/create", order)
        drain_ingest(stack)
        recost(stack)
        spend = {"facts": [{"date": first.date().isoformat(), "metric": "ad_spend",
                            "value": "90.00", "market": "US"}]}  # fmt: skip
        assert call(stack, "POST", "/metrics", seller.api_key, spend).status_code == 200
        answer = call(stack, "GET", f"/unit-economics?period={month}&by=market", seller.api_key)
        costs_now = costs_in(stack, seller, month)
        other = new_seller(stack, "Peeker")
        assert call(stack, "PUT", "/cost-model", other.api_key, model).status_code == 200
        peek = call(stack, "GET", f"/unit-economics?period={month}", other.api_key)
    assert answer.status_code == 200, answer.body
    (us,) = body(answer)["groups"]
    assert us["key"] == "US" and us["new_customers"] == 2
    assert us["ad_spend"] == "90.00" and us["cac"]["value"] == "45.00"
    # Three orders whose buyers each paid 409.94 (398.00 + 11.94 tax): the margin rate is the
    # ledger's CM1 over that.
    (total,) = costs_now["total"]
    rate = Decimal(total["cm1"]) / (Decimal("409.94") * 3)
    assert total["revenue"] == "1194.00"
    assert Decimal(us["gross_margin_rate"]) == rate.quantize(Decimal("0.0001"))
    # By 30 days Ann's two orders and Ben's one: 3 x 409.94 paid over 2 customers.
    expected_30 = (Decimal("409.94") * 3 * rate / 2).quantize(Decimal("0.01"))
    assert Decimal(us["margin_per_customer"]["30"]["value"]) == expected_30
    assert us["ltv_horizon_days"] == 180 and us["ltv"]["value"] is None  # not 180 days yet
    assert us["payback_months"]["value"] == "1"  # 45.00 CAC is paid back within 30 days
    assert body(peek)["groups"] == []


def costs_in(stack: Stack, seller: Seller, period: str) -> dict[str, Any]:
    answer = call(stack, "GET", f"/costs?period={period}", seller.api_key)
    assert answer.status_code == 200, answer.body
    return dict(body(answer))


@pytest.mark.parametrize("within", ["campaign", "sku"])
def test_ad_spend_within_campaigns_or_skus_reaches_only_their_orders(
    stack: Stack, within: str
) -> None:
    seller = new_seller(stack, f"Ads within {within}")
    model = {**MODEL, "ads": {"rule": "by_revenue_share", "within": within}}
    spring = json.loads(shopify_order(6101))
    spring["landing_site"] = "/products/ipod?utm_source=meta&utm_campaign=spring"
    plain = json.loads(shopify_order(6102))
    for line in plain["line_items"]:
        line["sku"] = "OTHER-SKU"  # in the SKU case, only the first order sells the ads' SKU
    key = "spring" if within == "campaign" else spring["line_items"][0]["sku"]
    with pipeline(stack):
        assert call(stack, "PUT", "/cost-model", seller.api_key, model).status_code == 200
        for order in (spring, plain):
            post_webhook(stack, seller, "orders/create", json.dumps(order).encode())
        drain_ingest(stack)
        recost(stack)
        spend = {"facts": [{"date": START.date().isoformat(), "metric": "ad_spend",
                            "value": "30.00", within: key}]}  # fmt: skip
        assert call(stack, "POST", "/metrics", seller.api_key, spend).status_code == 200
        got = costs(stack, seller)
        by_order = {o["order_id"]: o for o in profits(stack, seller)}
    (row,) = got["total"]
    assert row["components"]["ads"] == "30.00" and "ads" not in row["missing"]
    assert got["unallocated_ads"] == [] and got["ads_note"] is None
    ads = sorted(o["components"]["ads"] for o in by_order.values())
    # All of it on the order with the campaign (or the SKU), none on the other; both known.
    assert ads == ["0.00", "30.00"]
    assert all("ads" not in o["missing"] for o in by_order.values())


def test_a_recost_page_delivered_twice_counts_its_orders_once(stack: Stack) -> None:
    import boto3

    from functions.costs.app import handler
    from tests.integration.conftest import FakeContext, sqs_event

    seller = new_seller(stack, "Redelivered Recost")
    with pipeline(stack):
        for order_id in (5101, 5102):
            post_webhook(stack, seller, "orders/create", shopify_order(order_id))
        drain_ingest(stack)
        assert call(stack, "PUT", "/cost-model", seller.api_key, MODEL).status_code == 200
        sqs = boto3.client("sqs")
        url = stack.resource("CostsQueue")
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        assert len(got) == 1
        for _ in range(2):  # SQS may deliver a message again after it was handled
            answer = handler(sqs_event(url, got), FakeContext())
            assert answer["batchItemFailures"] == []
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
        status = costs(stack, seller)["recost"]
        (row,) = costs(stack, seller)["total"]
    assert (status["state"], status["orders_seen"], status["orders_changed"]) == ("done", 2, 2)
    assert row["orders"] == 2
