"""The ingest path end to end in-process: webhook → queue → ingest handler → DynamoDB, and the
outbox → publisher → EventBridge bus."""

from __future__ import annotations

import json
from decimal import Decimal

import boto3

from tests.integration.conftest import (
    FakeContext,
    Seller,
    Stack,
    body_of,
    call,
    drain_ingest,
    new_seller,
    post_webhook,
    stream_records,
)
from tests.support import fixture_bytes, fixture_json, order_body


def _order(stack: Stack, seller: Seller, external_id: str = "450789469") -> dict:
    suffix = seller.store_id.split("-", 1)[1]
    response = call(stack, "GET", f"/orders/{suffix}-{external_id}", seller.api_key)
    assert response.status_code == 200, response.body
    return body_of(response)


def _report(stack: Stack, seller: Seller) -> dict:
    return body_of(
        call(stack, "GET", "/reports/daily?from=2008-01-01&to=2008-01-31", seller.api_key)
    )


def test_real_order_payload_becomes_one_canonical_order(stack: Stack, seller: Seller) -> None:
    # Given the real orders/create payload
    post_webhook(stack, seller, "orders/create", fixture_bytes("shopify/orders_create.json"))
    # When the ingest function runs
    drain_ingest(stack)
    # Then the seller sees the order in the canonical model
    order = _order(stack, seller)
    assert order["platform"] == "shopify"
    assert order["status"] == "pending"
    assert order["platform_status"] == "authorized/unfulfilled"
    assert (order["currency"], order["total"], order["units"]) == ("USD", "409.94", 3)
    assert order["market"] == "US"
    assert order["email"] == "bob.norman@hostmail.com"
    assert [li["sku"] for li in order["line_items"]] == [
        "IPOD2008GREEN",
        "IPOD2008RED",
        "IPOD2008BLACK",
    ]
    # and a customer, one per email
    found = body_of(call(stack, "GET", "/customers?email=Bob.Norman@hostmail.com", seller.api_key))[
        "customers"
    ]
    assert len(found) == 1
    assert found[0]["orders_count"] == 1
    assert found[0]["total_spent"] == {"USD": "409.94"}
    assert found[0]["first_order_at"] == "2008-01-10T16:00:00+00:00"
    # and the day's aggregate
    (row,) = _report(stack, seller)["rows"]
    assert (row["date"], row["orders"], row["units"], row["gmv"]) == (
        "2008-01-10",
        1,
        3,
        {"USD": "409.94"},
    )
    assert row["new_customers"] == 1


def test_redelivery_changes_nothing_and_is_counted(stack: Stack, seller: Seller) -> None:
    body = fixture_bytes("shopify/orders_create.json")
    for _ in range(3):
        post_webhook(stack, seller, "orders/create", body, event_id="same-event")
    drain_ingest(stack)
    (row,) = _report(stack, seller)["rows"]
    assert row["orders"] == 1 and row["gmv"] == {"USD": "409.94"}
    stats = body_of(call(stack, "GET", f"/stores/{seller.store_id}", seller.api_key))["ingest"]
    assert stats["duplicates"] == 2
    assert stats["deliveries_processed"] == 1


def test_older_event_never_overwrites_newer_state(stack: Stack, seller: Seller) -> None:
    # Given the paid+fulfilled state arrives first (Shopify doesn't guarantee order)
    newer = order_body(
        financial_status="paid",
        fulfillment_status="fulfilled",
        updated_at="2008-01-12T09:00:00-05:00",
    )
    post_webhook(stack, seller, "orders/fulfilled", newer)
    drain_ingest(stack)
    # When the original orders/create (older) is delivered a day late
    post_webhook(stack, seller, "orders/create", fixture_bytes("shopify/orders_create.json"))
    drain_ingest(stack)
    # Then the order keeps its newer state and is counted once
    order = _order(stack, seller)
    assert order["status"] == "fulfilled"
    assert order["updated_at"] == "2008-01-12T14:00:00+00:00"
    assert set(order["milestones"]) >= {"placed", "paid", "fulfilled"}
    (row,) = _report(stack, seller)["rows"]
    assert row["orders"] == 1
    stats = body_of(call(stack, "GET", f"/stores/{seller.store_id}", seller.api_key))["ingest"]
    assert stats["stale_ignored"] == 1


def test_refund_before_its_order_is_kept_and_counted_once_the_order_arrives(
    stack: Stack, seller: Seller
) -> None:
    post_webhook(stack, seller, "refunds/create", fixture_bytes("shopify/refunds_create.json"))
    drain_ingest(stack)
    assert _report(stack, seller)["rows"] == []
    post_webhook(stack, seller, "orders/create", fixture_bytes("shopify/orders_create.json"))
    drain_ingest(stack)
    order = _order(stack, seller)
    assert order["status"] == "partially_refunded"
    assert order["refunded"] == "209.00"
    (row,) = _report(stack, seller)["rows"]
    assert (row["refunds"], row["refunded"]) == (1, {"USD": "209.00"})
    customer = body_of(call(stack, "GET", f"/customers/{order['customer_id']}", seller.api_key))
    assert customer["total_spent"] == {"USD": "200.94"}


def test_cancellation_removes_gmv_but_keeps_the_order(stack: Stack, seller: Seller) -> None:
    post_webhook(stack, seller, "orders/create", fixture_bytes("shopify/orders_create.json"))
    cancelled = order_body(
        cancelled_at="2008-01-11T10:00:00-05:00",
        cancel_reason="customer",
        financial_status="voided",
        updated_at="2008-01-11T10:00:00-05:00",
    )
    post_webhook(stack, seller, "orders/cancelled", cancelled)
    drain_ingest(stack)
    assert _order(stack, seller)["status"] == "cancelled"
    (row,) = _report(stack, seller)["rows"]
    assert (row["orders"], row["cancelled"], row["gmv"]) == (1, 1, {})


def test_same_email_in_two_stores_is_one_customer(stack: Stack, seller: Seller) -> None:
    store = call(
        stack,
        "POST",
        "/stores",
        seller.api_key,
        {
            "platform": "shopify",
            "external_id": f"eu-{seller.tenant_id}.myshopify.com",
            "market": "DE",
            "webhook_secret": seller.secret,
        },
    )
    eu = Seller(
        seller.tenant_id,
        seller.api_key,
        body_of(store)["store_id"],
        seller.secret,
        "/" + body_of(store)["webhook_url"].split("/", 3)[3],
    )
    post_webhook(stack, seller, "orders/create", fixture_bytes("shopify/orders_create.json"))
    later = order_body(
        id=999000111,
        currency="EUR",
        total_price="50.00",
        created_at="2008-03-01T10:00:00+01:00",
        updated_at="2008-03-01T10:00:00+01:00",
    )
    post_webhook(stack, eu, "orders/create", later)
    drain_ingest(stack)
    (customer,) = body_of(
        call(stack, "GET", "/customers?email=bob.norman@hostmail.com", seller.api_key)
    )["customers"]
    assert customer["orders_count"] == 2
    assert customer["total_spent"] == {"EUR": "50.00", "USD": "409.94"}
    assert customer["last_order_at"] == "2008-03-01T09:00:00+00:00"
    assert sorted(customer["stores"]) == sorted([seller.store_id, eu.store_id])
    report = body_of(
        call(stack, "GET", "/reports/daily?from=2008-01-01&to=2008-03-31", seller.api_key)
    )
    assert [(r["new_customers"], r["returning_customers"]) for r in report["rows"]] == [
        (1, 0),
        (0, 1),
    ]


def test_late_earlier_order_moves_the_new_customer_mark(stack: Stack, seller: Seller) -> None:
    later = order_body(
        id=2, created_at="2008-01-20T10:00:00-05:00", updated_at="2008-01-20T10:00:00-05:00"
    )
    post_webhook(stack, seller, "orders/create", later)
    drain_ingest(stack)
    post_webhook(stack, seller, "orders/create", fixture_bytes("shopify/orders_create.json"))
    drain_ingest(stack)
    rows = _report(stack, seller)["rows"]
    assert [(r["date"], r["new_customers"], r["returning_customers"]) for r in rows] == [
        ("2008-01-10", 1, 0),
        ("2008-01-20", 0, 1),
    ]


def test_other_resources_from_real_payloads(stack: Stack, seller: Seller) -> None:
    for topic, name in [
        ("customers/create", "customers_create"),
        ("checkouts/create", "checkouts_create"),
        ("orders/create", "orders_create"),
        ("fulfillments/create", "fulfillments_create"),
    ]:
        response = post_webhook(stack, seller, topic, fixture_bytes(f"shopify/{name}.json"))
        assert response.status_code == 200
    answers = drain_ingest(stack)
    assert all(a["batchItemFailures"] == [] for a in answers)
    order = _order(stack, seller)
    assert [f["fulfillment_id"] for f in order["fulfillments"]] == ["255858046"]
    (customer,) = body_of(
        call(stack, "GET", "/customers?email=bob.norman@hostmail.com", seller.api_key)
    )["customers"]
    assert (customer["first_name"], customer["country"]) == ("Bob", "US")
    # And the funnel stages land in the daily aggregates: the checkout on its own day (once,
    # however often it is redelivered), the order's stages on the order's day (authorized:
    # not paid; the fixture's fulfillment is still "pending", so not shipped either)
    post_webhook(stack, seller, "checkouts/create", fixture_bytes("shopify/checkouts_create.json"))
    drain_ingest(stack)
    checkout_day = body_of(
        call(stack, "GET", "/reports/daily?from=2012-10-12&to=2012-10-12", seller.api_key)
    )["rows"]
    assert [(r["date"], r["market"], r["checkouts"]) for r in checkout_day] == [
        ("2012-10-12", "US", 1)
    ]
    (order_day,) = _report(stack, seller)["rows"]
    assert (order_day["orders"], order_day["paid_orders"]) == (1, 0)
    assert (order_day["fulfilled"], order_day["delivered"]) == (0, 0)


def test_unprocessable_delivery_goes_to_dlq_with_reason_and_replays(
    stack: Stack, seller: Seller
) -> None:
    # Given a verified payload the adapter can't normalise (no currency)
    broken = order_body(currency=None, id=777)
    post_webhook(stack, seller, "orders/create", broken, event_id="broken-1")
    answers = drain_ingest(stack)
    # Then it is not retried five times but parked at once, with its reason
    assert all(a["batchItemFailures"] == [] for a in answers)
    listed = body_of(call(stack, "GET", "/admin/dlq", stack.admin_token))["messages"]
    mine = [m for m in listed if m["tenant_id"] == seller.tenant_id]
    assert len(mine) == 1
    assert mine[0]["code"] == "invalid_payload"
    assert "currency" in mine[0]["reason"]
    stats = body_of(call(stack, "GET", f"/stores/{seller.store_id}", seller.api_key))["ingest"]
    assert stats["dead_lettered"] == 1
    # When the operator replays it (after a fix), it goes back through ingest
    replay = call(
        stack, "POST", f"/admin/dlq/replay?tenant_id={seller.tenant_id}", stack.admin_token
    )
    assert body_of(replay)["replayed"] == 1
    queued = boto3.client("sqs").receive_message(
        QueueUrl=stack.resource("IngestQueue"), MessageAttributeNames=["All"]
    )["Messages"]
    assert json.loads(queued[0]["MessageAttributes"]["delivery"]["StringValue"])["event_id"] == (
        "broken-1"
    )
    drain_ingest(stack)


def test_domain_events_reach_the_bus_through_the_outbox(stack: Stack) -> None:
    # Given a rule on the bus that copies LinkStar events to a queue
    seller = new_seller(stack, "Outbox")
    bus = stack.resource("EventBus")
    sqs = boto3.client("sqs")
    events = boto3.client("events")
    url = sqs.create_queue(QueueName="captured-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="capture", EventBusName=bus, EventPattern='{"source": ["linkstar"]}')
    events.put_targets(Rule="capture", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    paid = order_body(financial_status="paid", updated_at="2008-01-10T11:05:00-05:00")
    post_webhook(stack, seller, "orders/create", fixture_bytes("shopify/orders_create.json"))
    post_webhook(stack, seller, "orders/paid", paid)
    post_webhook(stack, seller, "orders/paid", paid)  # a second copy with a new event id
    drain_ingest(stack)
    # When the publisher runs over the table's stream (filtered as the template declares)
    from functions.publisher.app import handler

    outbox = [
        r
        for r in stream_records(stack)
        if r["eventName"] == "INSERT" and r["dynamodb"]["Keys"]["sk"]["S"].startswith("EVT#")
    ]
    answer = handler({"Records": outbox}, FakeContext())
    assert answer == {"batchItemFailures": []}
    # Then each state change for this tenant is on the bus exactly once
    received = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for m in batch:
            received.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    mine = [e for e in received if e["detail"]["tenant_id"] == seller.tenant_id]
    assert sorted(e["detail-type"] for e in mine) == [
        "customer.created",
        "order.paid",
        "order.placed",
    ]
    placed = next(e for e in mine if e["detail-type"] == "order.placed")
    assert placed["detail"]["total"] == "409.94" and placed["detail"]["event_id"]


def test_amounts_are_exact_decimals_in_storage(stack: Stack, seller: Seller) -> None:
    body = fixture_json("shopify/orders_create.json")
    body.update(total_price="0.10", id=31)
    post_webhook(stack, seller, "orders/create", json.dumps(body).encode())
    body.update(total_price="0.20", id=32)
    post_webhook(stack, seller, "orders/create", json.dumps(body).encode())
    drain_ingest(stack)
    (row,) = _report(stack, seller)["rows"]
    assert Decimal(row["gmv"]["USD"]) == Decimal("0.30")


def test_replay_for_one_tenant_leaves_the_others_and_ends(stack: Stack) -> None:
    # Given dead letters from two tenants
    alpha, bravo = new_seller(stack, "ReplayA"), new_seller(stack, "ReplayB")
    for who, event in ((alpha, "ra-1"), (bravo, "rb-1"), (bravo, "rb-2")):
        post_webhook(stack, who, "orders/create", order_body(currency=None), event_id=event)
    drain_ingest(stack)
    # When the operator replays only alpha's
    replay = call(
        stack, "POST", f"/admin/dlq/replay?tenant_id={alpha.tenant_id}", stack.admin_token
    )
    # Then the call ends, alpha's letter moved and bravo's are still in the DLQ, visible
    assert body_of(replay)["replayed"] == 1
    listed = body_of(call(stack, "GET", "/admin/dlq", stack.admin_token))["messages"]
    left = sorted(
        m["event_id"] for m in listed if m["tenant_id"] in (alpha.tenant_id, bravo.tenant_id)
    )
    assert left == ["rb-1", "rb-2"]
    drain_ingest(stack)
    # and a replay for bravo moves both
    again = call(stack, "POST", f"/admin/dlq/replay?tenant_id={bravo.tenant_id}", stack.admin_token)
    assert body_of(again)["replayed"] == 2
    drain_ingest(stack)


def test_verified_body_that_is_not_utf8_is_400_not_500(stack: Stack, seller: Seller) -> None:
    body = '{"id": 1, "note": "café"}'.encode("utf-16")
    response = post_webhook(stack, seller, "orders/create", body)
    assert response.status_code == 400
    assert body_of(response)["code"] == "invalid_json"
