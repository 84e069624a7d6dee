"""``POST /cost-actuals`` through the API on moto: the real Shopify order, the cost model of
``test_costs``, then a carrier's invoice replacing the model's logistics with what the carrier
billed — in the order's profit at once and in ``GET /costs`` once the recost has run; posting the
same file again, a corrected file, a second source, and another tenant."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.conftest import (
    Seller,
    Stack,
    body_of,
    call,
    drain,
    drain_ingest,
    new_seller,
    post_webhook,
)
from tests.integration.outreach import START, pipeline
from tests.integration.test_cost_ledger import shopify_order
from tests.integration.test_costs import MODEL

pytestmark = pytest.mark.xdist_group("cost_actuals")

PERIOD = START.strftime("%Y-%m")
CSV = "text/csv"
HEADER = "order_id,component,amount,currency,source_ref\n"


def operator_key(stack: Stack, seller: Seller) -> str:
    created = call(stack, "POST", "/api-keys", seller.api_key, {"role": "operator"})
    assert created.status_code == 201, created.body
    return str(body_of(created)["api_key"])


def shop(stack: Stack, name: str, *order_numbers: int) -> tuple[Seller, dict[int, str]]:
    """A Shopify seller with the real order as each of ``order_numbers`` and the cost model;
    their LinkStar order ids by Shopify id."""
    seller = new_seller(stack, name)
    for number in order_numbers:
        post_webhook(stack, seller, "orders/create", shopify_order(number))
    drain_ingest(stack)
    assert call(stack, "PUT", "/cost-model", seller.api_key, MODEL).status_code == 200
    recost(stack)
    listed = body_of(call(stack, "GET", "/orders", seller.api_key))["orders"]
    return seller, {int(o["external_id"]): o["order_id"] for o in listed}


def post(stack: Stack, key: str, text: str, source: str) -> Any:
    return call(stack, "POST", f"/cost-actuals?source={source}", key, text, content_type=CSV)


def profit(stack: Stack, key: str, order_id: str) -> dict[str, Any]:
    answer = call(stack, "GET", f"/orders/{order_id}/profit", key)
    assert answer.status_code == 200, answer.body
    return dict(json.loads(answer.body))


def recost(stack: Stack) -> None:
    from functions.costs.app import handler

    drain(stack, "CostsQueue", handler)


def usd_total(stack: Stack, key: str) -> dict[str, Any]:
    answer = call(stack, "GET", f"/costs?period={PERIOD}", key)
    assert answer.status_code == 200, answer.body
    got = body_of(answer)
    (total,) = [row for row in got["total"] if row["currency"] == "USD"]
    return {**total, "recost": got["recost"]}


def test_a_carrier_invoice_makes_a_shopify_orders_logistics_actual_in_profit_and_costs(
    stack: Stack,
) -> None:
    with pipeline(stack):
        # Given a Shopify order costed by the model (US flat logistics 8.00)
        seller, orders = shop(stack, "Carrier Billed", 7001)
        order_id = orders[7001]
        before = profit(stack, seller.api_key, order_id)
        costs_before = usd_total(stack, seller.api_key)

        # When an operator posts the carrier's invoice: freight and a fuel surcharge for the
        # order, and a shipment of an order LinkStar doesn't have (yet)
        invoice = (
            HEADER
            + f"{order_id},logistics,6.40,USD,DHL-881/1\n"
            + f"{order_id},logistics,0.55,USD,DHL-881/2\n"
            + f"{order_id.split('-')[0]}-9999,logistics,5.00,USD,DHL-881/3\n"
        )
        posted = post(stack, operator_key(stack, seller), invoice, "dhl-invoice-2026-11")
        after = profit(stack, seller.api_key, order_id)
        recost(stack)
        costs_after = usd_total(stack, seller.api_key)

    # Then the answer says what the batch held and queued a recost of its orders
    assert posted.status_code == 200, posted.body
    got = body_of(posted)
    job = got.pop("recost")
    assert (job["reason"], job["state"]) == ("cost_actuals_posted", "running")
    assert got == {
        "source": "dhl-invoice-2026-11",
        "rows": 3,
        "orders_matched": 1,
        "orders_unknown": [f"{order_id.split('-')[0]}-9999"],
        "totals": {"logistics": {"USD": "11.95"}},
        "replaced": False,
    }
    # and the order's logistics is the carrier's now, 6.40 + 0.55, not the model's 8.00
    assert before["details"]["logistics"]["source"] == "model"
    assert before["components"]["logistics"] == "8.00"
    assert after["components"]["logistics"] == "6.95"
    assert after["details"]["logistics"] == {"source": "actual", "how": "actual 6.95 USD"}
    # the rest is unchanged, and profit moves by exactly the difference
    assert {k: v for k, v in after["components"].items() if k != "logistics"} == {
        k: v for k, v in before["components"].items() if k != "logistics"
    }
    assert Decimal(after["cm2"]) == Decimal(before["cm2"]) + Decimal("1.05")
    # and once recosted, GET /costs sums the carrier's logistics too
    assert costs_before["components"]["logistics"] == "8.00"
    assert costs_after["components"]["logistics"] == "6.95"
    assert costs_after["cm2"] == after["cm2"]
    assert costs_after["recost"]["state"] == "done"
    assert costs_after["recost"]["reason"] == "cost_actuals_posted"


def test_the_same_file_twice_changes_nothing_and_a_corrected_file_replaces_it(
    stack: Stack,
) -> None:
    with pipeline(stack):
        # Given two orders and an operator
        seller, orders = shop(stack, "Corrected Invoice", 7101, 7102)
        first, second = orders[7101], orders[7102]
        key = operator_key(stack, seller)
        invoice = (
            HEADER
            + f"{first},logistics,6.40,USD,UPS-1\n"
            + f"{first},returns,9.00,USD,UPS-2\n"
            + f"{second},logistics,7.25,USD,UPS-3\n"
        )

        # When the invoice is posted, then posted again as it is
        posted = post(stack, key, invoice, "ups-2026-11")
        recost(stack)
        once = (profit(stack, key, first), profit(stack, key, second))
        costs_once = usd_total(stack, key)
        again = post(stack, key, invoice, "ups-2026-11")
        recost(stack)
        twice = (profit(stack, key, first), profit(stack, key, second))
        costs_twice = usd_total(stack, key)

        # and then corrected: the first order's return was billed in error, its freight was
        # 6.90, and the second order's shipment belongs on another invoice
        corrected = HEADER + f"{first},logistics,6.90,USD,UPS-1\n"
        replaced = post(stack, key, corrected, "ups-2026-11")
        recost(stack)
        fixed = (profit(stack, key, first), profit(stack, key, second))
        costs_fixed = usd_total(stack, key)

    # Then the second post replaced the batch with itself: nothing changed
    assert posted.status_code == again.status_code == replaced.status_code == 200
    assert body_of(posted)["replaced"] is False and body_of(again)["replaced"] is True
    assert twice == once
    assert {k: v for k, v in costs_twice.items() if k != "recost"} == {
        k: v for k, v in costs_once.items() if k != "recost"
    }
    assert costs_twice["recost"]["orders_changed"] == 0
    assert once[0]["components"]["logistics"] == "6.40"
    assert once[0]["components"]["returns"] == "9.00"
    assert once[1]["components"]["logistics"] == "7.25"
    # and the corrected file replaced it: the first order's freight is 6.90, its return is gone
    # and the second order's logistics is the model's again
    answer = body_of(replaced)
    assert answer["replaced"] is True and answer["totals"] == {"logistics": {"USD": "6.90"}}
    assert fixed[0]["components"]["logistics"] == "6.90"
    assert once[0]["details"]["returns"] == {"source": "actual", "how": "actual 9.00 USD"}
    # (an order without returns costs none: profit() says so as an actual 0 "no returns")
    assert fixed[0]["details"]["returns"] == {"source": "actual", "how": "no returns"}
    assert fixed[0]["components"]["returns"] == "0.00"
    assert fixed[1]["details"]["logistics"]["source"] == "model"
    assert fixed[1]["components"]["logistics"] == "8.00"
    assert costs_fixed["components"]["logistics"] == "14.90"  # 6.90 + 8.00
    assert costs_fixed["components"]["returns"] == "0.00"
    assert costs_fixed["recost"]["orders_changed"] == 2  # both orders, old and new


def test_sources_add_up_in_one_currency_and_leave_the_model_in_two(stack: Stack) -> None:
    with pipeline(stack):
        # Given an order whose duties a broker billed, and whose logistics two carriers did
        seller, orders = shop(stack, "Two Sources", 7201)
        order_id = orders[7201]
        key = operator_key(stack, seller)
        broker = {
            "source": "broker-2026-11",
            "rows": [
                # by store and Shopify's own id, as the broker's file names it
                {"store_id": seller.store_id, "external_id": "7201", "component": "duties",
                 "amount": 12.5, "currency": "USD"},
                {"order_id": order_id, "component": "logistics", "amount": "3.00",
                 "currency": "USD"},
            ],
        }  # fmt: skip
        by_json = call(stack, "POST", "/cost-actuals", key, broker)
        carrier = HEADER + f"{order_id},logistics,5.00,USD,\n"
        assert post(stack, key, carrier, "fedex-2026-11").status_code == 200
        same_currency = profit(stack, key, order_id)
        # When a third source bills logistics in another currency
        euros = HEADER + f"{order_id},logistics,2.00,EUR,\n"
        assert post(stack, key, euros, "dpd-2026-11").status_code == 200
        two_currencies = profit(stack, key, order_id)

    # Then the JSON batch named the order by store and platform id
    assert by_json.status_code == 200, by_json.body
    assert body_of(by_json)["orders_matched"] == 1
    assert body_of(by_json)["totals"] == {
        "logistics": {"USD": "3.00"},
        "duties": {"USD": "12.50"},
    }
    # and the two USD batches add up: 3.00 + 5.00
    assert same_currency["components"]["duties"] == "12.50"
    assert same_currency["components"]["logistics"] == "8.00"
    assert same_currency["details"]["logistics"] == {"source": "actual", "how": "actual 8.00 USD"}
    # while USD and EUR can't be added without rates: the model's figure, duties still actual
    assert two_currencies["details"]["logistics"]["source"] == "model"
    assert two_currencies["details"]["duties"]["source"] == "actual"


def test_another_tenant_can_neither_post_for_nor_see_the_first_tenants_orders(
    stack: Stack,
) -> None:
    with pipeline(stack):
        # Given a seller's order, and another tenant who knows its ids
        seller, orders = shop(stack, "Isolated", 7301)
        order_id = orders[7301]
        nosy = new_seller(stack, "Nosy Carrier")
        nosy_key = operator_key(stack, nosy)

        # When the other tenant posts costs for that order id, and by the seller's store
        by_id = post(stack, nosy_key, HEADER + f"{order_id},logistics,0.01,USD,\n", "x-1")
        by_store = post(
            stack,
            nosy_key,
            "store_id,external_id,component,amount,currency\n"
            f"{seller.store_id},7301,logistics,0.01,USD\n",
            "x-2",
        )
        recost(stack)
        theirs = call(stack, "GET", f"/orders/{order_id}/profit", nosy.api_key)
        ours = profit(stack, seller.api_key, order_id)
        costs_ours = usd_total(stack, seller.api_key)
        # and the seller's own viewer key tries to post
        viewer = call(stack, "POST", "/api-keys", seller.api_key, {"role": "viewer"})
        as_viewer = post(
            stack,
            body_of(viewer)["api_key"],
            HEADER + f"{order_id},logistics,0.01,USD,\n",
            "x-3",
        )

    # Then the order id is nothing of theirs: stored in their own space, matched to no order
    assert by_id.status_code == 200, by_id.body
    assert body_of(by_id)["orders_matched"] == 0
    assert body_of(by_id)["orders_unknown"] == [order_id]
    # the seller's store is no store of theirs, and nothing of the batch is kept
    assert by_store.status_code == 400
    refused = body_of(by_store)
    assert refused["code"] == "invalid_rows"
    assert refused["details"]["problems"] == [
        {"row": 1, "reason": f"no such store: {seller.store_id!r}"}
    ]
    # they can't see the order, and the seller's costs are the model's
    assert theirs.status_code == 404
    assert ours["details"]["logistics"]["source"] == "model"
    assert ours["components"]["logistics"] == "8.00"
    assert costs_ours["components"]["logistics"] == "8.00"
    # a viewer may read costs but not post them
    assert as_viewer.status_code == 403


def test_bad_batches_are_refused_with_a_code_and_nothing_stored(stack: Stack) -> None:
    with pipeline(stack):
        seller, orders = shop(stack, "Refused Batches", 7401)
        order_id = orders[7401]
        key = operator_key(stack, seller)
        bad_rows = post(
            stack,
            key,
            HEADER
            + f"{order_id},logistics,6.40,USD,\n"
            + f"{order_id},ads,5.00,USD,\n"
            + f"{order_id},logistics,6.405,USD,\n",
            "bad-1",
        )
        no_source = call(
            stack, "POST", "/cost-actuals", key, HEADER + f"{order_id},logistics,1,USD,\n", CSV
        )
        too_big = post(stack, key, HEADER + "x" * (6 * 1024 * 1024), "big-1")
        not_an_object = call(stack, "POST", "/cost-actuals?source=j-1", key, ["rows"])
        after = profit(stack, key, order_id)

    assert bad_rows.status_code == 400
    got = body_of(bad_rows)
    assert got["code"] == "invalid_rows"
    assert [p["row"] for p in got["details"]["problems"]] == [2, 3]
    assert "component ads can't be given per order" in got["details"]["problems"][0]["reason"]
    assert "more decimals than USD has" in got["details"]["problems"][1]["reason"]
    # the good first row was not stored either
    assert after["details"]["logistics"]["source"] == "model"
    assert (no_source.status_code, body_of(no_source)["code"]) == (400, "source_required")
    assert (too_big.status_code, body_of(too_big)["code"]) == (413, "payload_too_large")
    assert (not_an_object.status_code, body_of(not_an_object)["code"]) == (400, "invalid_json")
