"""Marketplaces on the local stack over HTTP: an Amazon SP-API notification written to the
stack's Amazon queue, routed by SellerId, enriched from the stack's fake SP-API (LWA token,
getOrder, getOrderItems), read back with its amounts."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import requests

from tests.support import fixture_json


def _wait_for(check: Callable[[], Any], what: str, attempts: int = 240) -> Any:
    """Poll until ``check`` returns something truthy: bounded by attempts, not by a clock."""
    for _ in range(attempts):
        found = check()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_amazon_notification_is_routed_and_enriched(stack: dict[str, Any]) -> None:
    from infra.local.marketplaces import amazon_order

    api, fake = stack["api_url"], stack["marketplaces_url"]
    admin = {"Authorization": f"Bearer {stack['admin_token']}"}
    # Given: a seller connects its Amazon account (SellerId) and authorises LinkStar's app
    tenant = requests.post(f"{api}/tenants", json={"name": "E2E Amazon"}, headers=admin, timeout=10)
    key = {"Authorization": f"Bearer {tenant.json()['api_key']}"}
    seller_id = "A" + uuid.uuid4().hex[:12].upper()
    store = requests.post(
        f"{api}/stores",
        json={"platform": "amazon", "external_id": seller_id, "market": "DE", "currency": "EUR"},
        headers=key,
        timeout=10,
    ).json()
    app = {"platform": "amazon", "app_id": "amzn1.application-oa2-client.e2e"}
    requests.post(f"{fake}/_fake/apps", json={**app, "app_secret": "lwa-secret"}, timeout=10)
    grant = requests.post(f"{fake}/_fake/grants", json={**app, "shop": seller_id}, timeout=10)
    saved = requests.put(
        f"{api}/stores/{store['store_id']}/credentials",
        json=grant.json()["credentials"],
        headers=key,
        timeout=10,
    )
    assert saved.status_code == 200, saved.text
    order_id = "302-" + uuid.uuid4().hex[:7] + "-1234567"
    seeded = amazon_order(
        order_id,
        [("KETTLE-DE", "Wasserkocher", 1, "39.90"), ("MUG-DE", "Tasse", 2, "7.50")],
        status="Unshipped",
        marketplace_id="A1PA6795UKMFR9",
        currency="EUR",
        shipping="4.99",
        country="DE",
    )
    requests.post(
        f"{fake}/_fake/orders",
        json={"platform": "amazon", "shop": seller_id, **seeded},
        timeout=10,
    ).raise_for_status()

    # When: Amazon writes an ORDER_CHANGE for it to the queue
    notification = fixture_json("amazon_sp/order_change.json")
    change = notification["Payload"]["OrderChangeNotification"]
    change.update(SellerId=seller_id, AmazonOrderId=order_id)
    change["Summary"]["MarketplaceId"] = "A1PA6795UKMFR9"
    notification["NotificationMetadata"]["NotificationId"] = str(uuid.uuid4())
    boto3.client(
        "sqs",
        endpoint_url=stack["aws_endpoint_url"],
        region_name=stack["region"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).send_message(
        QueueUrl=stack["amazon_notifications_queue_url"], MessageBody=json.dumps(notification)
    )

    # Then: the order appears in Germany and, once enriched, carries Amazon's amounts
    suffix = store["store_id"].rsplit("-", 1)[1]

    def enriched() -> dict[str, Any] | None:
        got = requests.get(f"{api}/orders/{suffix}-{order_id}", headers=key, timeout=10)
        body = got.json() if got.status_code == 200 else {}
        return body if body.get("amounts_pending") is False else None

    order = _wait_for(enriched, "the enriched Amazon order")
    assert order["market"] == "DE"
    assert order["currency"] == "EUR"
    assert order["total"] == "59.89"
    assert order["units"] == 3
    assert order["status"] == "paid"
