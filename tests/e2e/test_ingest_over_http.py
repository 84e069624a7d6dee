"""The whole ingest path over HTTP on the local stack: a signed Shopify webhook → API server →
SQS → ingest runtime → DynamoDB → stream → publisher runtime → EventBridge → a rule's queue."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import requests

from tests.support import fixture_bytes, order_body, shopify_headers


def _wait_for(check: Callable[[], Any], what: str, attempts: int = 120) -> Any:
    """Poll until ``check`` returns something truthy: bounded by attempts, not by a clock."""
    for _ in range(attempts):
        found = check()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def seller(stack: dict[str, Any]) -> dict[str, Any]:
    api = stack["api_url"]
    admin = {"Authorization": f"Bearer {stack['admin_token']}"}
    tenant = requests.post(f"{api}/tenants", json={"name": "E2E"}, headers=admin, timeout=10)
    assert tenant.status_code == 201, tenant.text
    key = tenant.json()["api_key"]
    store = requests.post(
        f"{api}/stores",
        json={
            "platform": "shopify",
            "external_id": "e2e.myshopify.com",
            "market": "US",
            "webhook_secret": "e2e-webhook-secret",
        },
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert store.status_code == 201, store.text
    return {"key": key, "secret": "e2e-webhook-secret", **store.json()}


def _aws(stack: dict[str, Any], service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=stack["aws_endpoint_url"],
        region_name=stack.get("region", "us-east-1"),
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _get(stack: dict[str, Any], seller: dict[str, Any], path: str) -> requests.Response:
    return requests.get(
        f"{stack['api_url']}{path}",
        headers={"Authorization": f"Bearer {seller['key']}"},
        timeout=10,
    )


def test_signed_webhook_becomes_an_order_and_an_event_on_the_bus(
    stack: dict[str, Any], seller: dict[str, Any]
) -> None:
    # Given a rule on LinkStar's bus copying order events to a queue
    sqs, events = _aws(stack, "sqs"), _aws(stack, "events")
    bus = stack["outputs"]["EventBusName"]
    url = sqs.create_queue(QueueName="e2e-order-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="e2e", EventBusName=bus, EventPattern='{"source": ["linkstar"]}')
    events.put_targets(Rule="e2e", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    # When Shopify delivers orders/create, twice with the same event id, over HTTP
    body = fixture_bytes("shopify/orders_create.json")
    for _ in range(2):
        answer = requests.post(
            seller["webhook_url"],
            data=body,
            headers=shopify_headers("orders/create", body, seller["secret"], event_id="e2e-1"),
            timeout=10,
        )
        assert answer.status_code == 200, answer.text

    # Then the order is there once, with its customer and the day's aggregate
    orders = _wait_for(
        lambda: _get(stack, seller, "/orders").json()["orders"], "the order to be stored"
    )
    assert [(o["external_id"], o["total"]) for o in orders] == [("450789469", "409.94")]

    def duplicate_counted() -> dict[str, Any] | None:
        ingest = _get(stack, seller, f"/stores/{seller['store_id']}").json()["ingest"]
        return ingest if ingest["duplicates"] == 1 else None

    stats = _wait_for(duplicate_counted, "the duplicate to be counted")
    assert stats["deliveries_processed"] == 1
    report = _get(stack, seller, "/reports/daily?from=2008-01-01&to=2008-01-31").json()
    assert [(r["orders"], r["gmv"]) for r in report["rows"]] == [(1, {"USD": "409.94"})]

    # and order.placed reached the bus through the outbox, once
    def placed() -> list[dict[str, Any]]:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in got]

    received = _wait_for(placed, "events on the bus")
    time.sleep(1)
    received += placed()
    kinds = sorted(e["detail-type"] for e in received)
    assert kinds == ["customer.created", "order.placed"]


def test_bad_signature_is_refused_over_http(stack: dict[str, Any], seller: dict[str, Any]) -> None:
    body = fixture_bytes("shopify/orders_create.json")
    answer = requests.post(
        seller["webhook_url"],
        data=body,
        headers=shopify_headers("orders/create", body, "wrong-secret"),
        timeout=10,
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "invalid_signature"


def test_unprocessable_delivery_is_dead_lettered_and_replayed(
    stack: dict[str, Any], seller: dict[str, Any]
) -> None:
    admin = {"Authorization": f"Bearer {stack['admin_token']}"}
    body = order_body(id=4242, currency=None)
    answer = requests.post(
        seller["webhook_url"],
        data=body,
        headers=shopify_headers("orders/create", body, seller["secret"], event_id="e2e-broken"),
        timeout=10,
    )
    assert answer.status_code == 200

    def parked() -> list[dict[str, Any]]:
        listed = requests.get(f"{stack['api_url']}/admin/dlq", headers=admin, timeout=10).json()
        return [m for m in listed["messages"] if m.get("event_id") == "e2e-broken"]

    (letter,) = _wait_for(parked, "the dead letter")
    assert letter["code"] == "invalid_payload"
    replayed = requests.post(
        f"{stack['api_url']}/admin/dlq/replay", headers=admin, timeout=10
    ).json()
    assert replayed["replayed"] >= 1
    # still broken, so it comes back to the DLQ with its reason (nothing is lost)
    _wait_for(parked, "the replayed dead letter to return")
