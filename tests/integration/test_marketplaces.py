"""TikTok Shop, Shopee and Lazada webhooks and Amazon SP-API notifications, end to end through
the handlers: the real published payloads, each platform's signature, routing to the store,
the canonical order, and the request to fetch its amounts."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.integration.conftest import Stack, body_of, call, drain_ingest, stream_records
from tests.support import fixture_bytes, fixture_json, marketplace_headers

APP_SECRET = "app-secret-0123456789"
APP_KEY = "6a1b2c3d4e5f"


def connect(stack: Stack, platform: str, external_id: str, market: str, **extra: Any) -> dict:
    created = call(stack, "POST", "/tenants", stack.admin_token, {"name": f"{platform} seller"})
    tenant = body_of(created)
    body = {"platform": platform, "external_id": external_id, "market": market, **extra}
    if platform != "amazon":
        body.setdefault("webhook_secret", APP_SECRET)
    store = call(stack, "POST", "/stores", tenant["api_key"], body)
    assert store.status_code == 201, store.body
    return {**body_of(store), "api_key": tenant["api_key"], "tenant_id": tenant["tenant_id"]}


def path_of(store: dict) -> str:
    return "/" + store["webhook_url"].split("/", 3)[3]


def get_order(stack: Stack, store: dict, external_id: str) -> Any:
    suffix = store["store_id"].rsplit("-", 1)[1]
    return call(stack, "GET", f"/orders/{suffix}-{external_id}", store["api_key"])


def enrichment_requests(stack: Stack, order_id: str) -> list[dict]:
    found = []
    for record in stream_records(stack):
        image = record["dynamodb"].get("NewImage") or {}
        if image.get("detail_type", {}).get("S") == "order.enrichment_requested":
            detail = json.loads(image["detail"]["S"])
            if detail["order_id"] == order_id:
                found.append(detail)
    return found


# ------------------------------------------------------------------ TikTok Shop


def test_tiktok_status_change_becomes_an_order_awaiting_its_amounts(stack: Stack) -> None:
    # Given: a TikTok shop connected with its app key, and TikTok's documented event
    store = connect(stack, "tiktok_shop", "7494049642642441621", "US", app_key=APP_KEY)
    body = fixture_bytes("tiktok_shop/order_status_change.json")

    # When: TikTok pushes it, signed over app_key + body
    response = stack.api.post(
        path_of(store), headers=marketplace_headers(APP_SECRET, APP_KEY.encode() + body), body=body
    )
    drain_ingest(stack)

    # Then: the order exists with TikTok's status, says its amounts are pending, and an
    # enrichment request was written with it
    assert response.status_code == 200, response.body
    assert body_of(response)["status"] == "accepted"
    order = body_of(get_order(stack, store, "576486316948490001"))
    assert order["platform"] == "tiktok_shop"
    assert order["status"] == "pending"
    assert order["platform_status"] == "UNPAID"
    assert order["amounts_pending"] is True
    assert enrichment_requests(stack, order["order_id"])


@pytest.mark.parametrize(
    "signed",
    [
        pytest.param(lambda body: body, id="without-app-key"),
        pytest.param(lambda body: b"other-key" + body, id="other-app-key"),
    ],
)
def test_tiktok_signature_must_cover_the_app_key(stack: Stack, signed: Any) -> None:
    store = connect(stack, "tiktok_shop", "7494049642642441621", "US", app_key=APP_KEY)
    body = fixture_bytes("tiktok_shop/order_status_change.json")

    response = stack.api.post(
        path_of(store), headers=marketplace_headers(APP_SECRET, signed(body)), body=body
    )

    assert response.status_code == 401
    assert body_of(response)["code"] == "invalid_signature"


def test_a_signed_push_for_another_shop_is_refused(stack: Stack) -> None:
    # Given: one app secret signs every shop's pushes, so a valid signature is not enough
    store = connect(stack, "tiktok_shop", "1111111111", "US", app_key=APP_KEY)
    body = fixture_bytes("tiktok_shop/order_status_change.json")  # shop 7494049642642441621

    response = stack.api.post(
        path_of(store), headers=marketplace_headers(APP_SECRET, APP_KEY.encode() + body), body=body
    )

    assert response.status_code == 400
    assert body_of(response)["code"] == "shop_mismatch"


def test_tiktok_older_status_never_overwrites_a_newer_one(stack: Stack) -> None:
    store = connect(stack, "tiktok_shop", "7494049642642441621", "US", app_key=APP_KEY)
    event = fixture_json("tiktok_shop/order_status_change.json")

    def push(status: str, at: int, nid: str) -> None:
        payload = {**event, "tts_notification_id": nid}
        payload["data"] = {**event["data"], "order_status": status, "update_time": at}
        body = json.dumps(payload).encode()
        signed = marketplace_headers(APP_SECRET, APP_KEY.encode() + body)
        assert stack.api.post(path_of(store), headers=signed, body=body).status_code == 200

    # When: the newer status arrives first, the older one after it
    push("AWAITING_SHIPMENT", 1644413000, "n-2")
    push("UNPAID", 1644412885, "n-1")
    drain_ingest(stack)

    # Then: the order is still paid
    order = body_of(get_order(stack, store, "576486316948490001"))
    assert order["status"] == "paid"
    assert order["platform_status"] == "AWAITING_SHIPMENT"


# ------------------------------------------------------------------ Shopee


def test_shopee_signature_covers_the_callback_url_as_shopee_calls_it(stack: Stack) -> None:
    # Given: a Shopee shop 123 (the shop in Shopee's documented push example)
    store = connect(stack, "shopee", "123", "SG")
    body = fixture_bytes("shopee/shop_authorization_push_doc_example.json")
    url = store["webhook_url"]

    # When: signed over another URL, then over the store's URL + "|" + body
    wrong = stack.api.post(
        path_of(store), headers=marketplace_headers(APP_SECRET, b"https://x/|" + body), body=body
    )
    right = stack.api.post(
        path_of(store),
        headers=marketplace_headers(APP_SECRET, f"{url}|".encode() + body),
        body=body,
    )

    # Then: only the second verifies; its topic (code 1, shop authorised) is counted, ignored
    assert wrong.status_code == 401
    assert right.status_code == 200, right.body
    assert body_of(right) == {"status": "ignored", "topic": "1"}


def test_shopee_order_status_push_and_tracking_number(stack: Stack) -> None:
    store = connect(stack, "shopee", "123", "SG")
    url = store["webhook_url"]
    # Shapes from Shopee's push-mechanism docs (order_status_push, code 3; tracking push, 4).
    status = {
        "data": {"ordersn": "2201010ABCDEF", "status": "READY_TO_SHIP", "update_time": 1660123456},
        "shop_id": 123,
        "code": 3,
        "timestamp": 1660123460,
    }
    tracking = {
        "data": {
            "ordersn": "2201010ABCDEF",
            "package_number": "OFG123456789",
            "tracking_no": "SPXSG0123456789",
        },
        "shop_id": 123,
        "code": 4,
        "timestamp": 1660130000,
    }
    for payload in (status, tracking):
        body = json.dumps(payload).encode()
        signed = marketplace_headers(APP_SECRET, f"{url}|".encode() + body)
        response = stack.api.post(path_of(store), headers=signed, body=body)
        assert response.status_code == 200, response.body
    drain_ingest(stack)

    order = body_of(get_order(stack, store, "2201010ABCDEF"))
    assert order["platform_status"] == "READY_TO_SHIP"
    detail = body_of(call(stack, "GET", f"/orders/{order['order_id']}", store["api_key"]))
    assert [f["tracking_numbers"] for f in detail.get("fulfillments", [])] in (
        [["SPXSG0123456789"]],
        [],
    )


# ------------------------------------------------------------------ Lazada


def test_lazada_reverse_order_notification(stack: Stack) -> None:
    store = connect(stack, "lazada", "1000114855", "VN", app_key=APP_KEY)
    body = fixture_bytes("lazada/reverse_order_notification.json")

    response = stack.api.post(
        path_of(store), headers=marketplace_headers(APP_SECRET, APP_KEY.encode() + body), body=body
    )
    drain_ingest(stack)

    assert response.status_code == 200, response.body
    order = body_of(get_order(stack, store, "252883361348153"))
    assert order["platform"] == "lazada"
    assert order["market"] == "VN"
    assert order["status"] == "refunded"


def test_lazada_needs_its_app_key_to_connect(stack: Stack) -> None:
    created = body_of(call(stack, "POST", "/tenants", stack.admin_token, {"name": "No key"}))
    response = call(
        stack,
        "POST",
        "/stores",
        created["api_key"],
        {"platform": "lazada", "external_id": "1", "market": "VN", "webhook_secret": APP_SECRET},
    )
    assert response.status_code == 400


# ------------------------------------------------------------------ Amazon SP-API via SQS


def _amazon_send(stack: Stack, body: bytes) -> None:
    boto3.client("sqs").send_message(
        QueueUrl=stack.resource("AmazonNotificationsQueue"), MessageBody=body.decode()
    )


def _drain_amazon(stack: Stack) -> list[dict]:
    from functions.ingest.app import handler
    from tests.integration.conftest import drain

    return drain(stack, "AmazonNotificationsQueue", handler)


def test_amazon_order_change_is_routed_by_seller_id(stack: Stack) -> None:
    # Given: the seller's Amazon account connected, and Amazon's ORDER_CHANGE example
    store = connect(stack, "amazon", "A3TH9S8BH6GOGM", "US")
    body = fixture_bytes("amazon_sp/order_change.json")

    # When: Amazon writes it to the queue, twice (SQS is at-least-once)
    _amazon_send(stack, body)
    _amazon_send(stack, body)
    answers = _drain_amazon(stack)

    # Then: one order, in the marketplace's market, the duplicate counted as such
    assert all(not a["batchItemFailures"] for a in answers)
    order = body_of(get_order(stack, store, "903-8868176-2219830"))
    assert order["market"] == "US"
    assert order["status"] == "paid"  # Unshipped
    assert order["amounts_pending"] is True
    stats = body_of(call(stack, "GET", f"/stores/{store['store_id']}", store["api_key"]))
    assert stats["ingest"]["duplicates"] == 1


def test_amazon_notification_for_an_unknown_seller_waits_in_the_dlq_until_replayed(
    stack: Stack,
) -> None:
    # Given: a notification for a seller nobody has connected yet
    body = fixture_bytes("amazon_sp/order_status_change.json")  # SellerId AXXXXXXXXXXXXX
    _amazon_send(stack, body)
    _drain_amazon(stack)
    letters = body_of(call(stack, "GET", "/admin/dlq", stack.admin_token))["messages"]
    assert any(d["code"] == "unknown_seller" for d in letters)

    # When: the seller connects, and the operator replays
    store = connect(stack, "amazon", "AXXXXXXXXXXXXX", "US")
    replayed = call(stack, "POST", "/admin/dlq/replay", stack.admin_token, {})
    drain_ingest(stack)

    # Then: the order is there
    assert body_of(replayed)["replayed"] >= 1
    order = body_of(get_order(stack, store, "333-7777777-7777777"))
    assert order["platform_status"] == "Unshipped"


def test_amazon_store_shows_the_queue_to_subscribe_not_a_webhook(stack: Stack) -> None:
    store = connect(stack, "amazon", "A1EXAMPLESELLER", "DE")

    assert store["webhook_url"] is None
    assert store["amazon_notifications_queue_arn"].startswith("arn:aws:sqs:")


def test_one_amazon_seller_id_belongs_to_one_tenant(stack: Stack) -> None:
    connect(stack, "amazon", "A1CLAIMEDSELLER", "US")
    other = body_of(call(stack, "POST", "/tenants", stack.admin_token, {"name": "Other"}))

    response = call(
        stack,
        "POST",
        "/stores",
        other["api_key"],
        {"platform": "amazon", "external_id": "A1CLAIMEDSELLER", "market": "US"},
    )

    assert response.status_code == 409


# ------------------------------------------------------------------ enrichment, end to end


@pytest.fixture
def marketplaces(monkeypatch: pytest.MonkeyPatch) -> Any:
    from linkstar.platforms.clients import config, credentials

    from infra.local.marketplaces import FakeMarketplaces

    with FakeMarketplaces() as fake:
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        config.reset()
        credentials.clear_cache()
        yield fake
    config.reset()


def publish_outbox(stack: Stack, tenant_id: str) -> None:
    from functions.publisher.app import handler
    from tests.integration.conftest import FakeContext

    mine = [
        r
        for r in stream_records(stack)
        if r["eventName"] == "INSERT"
        and r["dynamodb"]["Keys"]["sk"]["S"].startswith("EVT#")
        and r["dynamodb"]["Keys"]["pk"]["S"].startswith(f"T#{tenant_id}#")
    ]
    assert handler({"Records": mine}, FakeContext()) == {"batchItemFailures": []}


def run_enrichment(stack: Stack) -> list[dict]:
    from functions.enrich.app import handler
    from tests.integration.conftest import drain

    return drain(stack, "EnrichQueue", handler)


def test_tiktok_order_gets_its_amounts_from_the_order_api(stack: Stack, marketplaces: Any) -> None:
    from infra.local.marketplaces import tiktok_order

    # Given: a TikTok shop whose app is authorised, and the order as TikTok's API knows it
    store = connect(stack, "tiktok_shop", "7494049642642441621", "GB", app_key=APP_KEY)
    marketplaces.register_app("tiktok_shop", APP_KEY, APP_SECRET)
    marketplaces.authorize("tiktok_shop", APP_KEY, "cipher-gb-1")
    creds = marketplaces.credentials("tiktok_shop", APP_KEY, "cipher-gb-1")
    put = stack.api.put(
        f"/stores/{store['store_id']}/credentials",
        headers={"Authorization": f"Bearer {store['api_key']}", "Content-Type": "application/json"},
        body=json.dumps(creds).encode(),
    )
    assert put.status_code == 200, put.body
    assert body_of(put)["configured"] is True
    marketplaces.add_order(
        "tiktok_shop",
        "cipher-gb-1",
        **tiktok_order(
            "576486316948490001",
            [("MUG-1", "Mug", 2, "12.50")],
            status="UNPAID",
            currency="GBP",
            shipping="3.99",
            region_code="GB",
        ),
    )
    body = fixture_bytes("tiktok_shop/order_status_change.json")

    # When: the push arrives, ingest runs, the outbox reaches the bus, enrichment runs
    response = stack.api.post(
        path_of(store), headers=marketplace_headers(APP_SECRET, APP_KEY.encode() + body), body=body
    )
    assert response.status_code == 200
    drain_ingest(stack)
    publish_outbox(stack, store["tenant_id"])
    answers = run_enrichment(stack)

    # Then: the order has TikTok's amounts, and still the status the push reported
    assert answers and all(not a["batchItemFailures"] for a in answers)
    order = body_of(get_order(stack, store, "576486316948490001"))
    assert order["amounts_pending"] is False
    assert order["currency"] == "GBP"
    assert order["total"] == "28.99"
    assert order["units"] == 2
    assert order["platform_status"] == "UNPAID"
    assert marketplaces.count("tiktok_shop") >= 1
    # and the buyer enrichment named has this as their first order
    assert order["customer_id"]
    buyer = body_of(call(stack, "GET", f"/customers/{order['customer_id']}", store["api_key"]))
    assert buyer["orders_count"] == 1
    assert buyer["first_order_at"] is not None

    # When: the same order is notified again (a redelivered request after the answer landed)
    publish_outbox(stack, store["tenant_id"])
    before = marketplaces.count("tiktok_shop")
    stack.api.post(
        path_of(store), headers=marketplace_headers(APP_SECRET, APP_KEY.encode() + body), body=body
    )
    drain_ingest(stack)
    run_enrichment(stack)

    # Then: nothing is fetched again
    assert marketplaces.count("tiktok_shop") == before


def test_an_order_that_cannot_be_fetched_waits_in_the_enrich_dlq_until_replayed(
    stack: Stack, marketplaces: Any
) -> None:
    from infra.local.marketplaces import tiktok_order

    # Given: a TikTok push for a shop whose API credentials nobody has stored yet
    store = connect(stack, "tiktok_shop", "7494049642642441621", "GB", app_key=APP_KEY)
    body = fixture_bytes("tiktok_shop/order_status_change.json")
    stack.api.post(
        path_of(store), headers=marketplace_headers(APP_SECRET, APP_KEY.encode() + body), body=body
    )
    drain_ingest(stack)
    publish_outbox(stack, store["tenant_id"])
    run_enrichment(stack)

    # Then: the request is in the enrich DLQ with its reason, and the order still awaits amounts
    letters = body_of(call(stack, "GET", "/admin/dlq?queue=enrich", stack.admin_token))
    mine = [m for m in letters["messages"] if m["store_id"] == store["store_id"]]
    assert [m["code"] for m in mine] == ["credentials_missing"]
    assert body_of(get_order(stack, store, "576486316948490001"))["amounts_pending"] is True

    # When: the seller stores credentials and the operator replays that tenant's letters
    marketplaces.register_app("tiktok_shop", APP_KEY, APP_SECRET)
    marketplaces.authorize("tiktok_shop", APP_KEY, "cipher-dlq")
    marketplaces.add_order(
        "tiktok_shop",
        "cipher-dlq",
        **tiktok_order("576486316948490001", [("MUG-1", "Mug", 1, "10.00")], currency="GBP"),
    )
    stack.api.put(
        f"/stores/{store['store_id']}/credentials",
        headers={"Authorization": f"Bearer {store['api_key']}", "Content-Type": "application/json"},
        body=json.dumps(marketplaces.credentials("tiktok_shop", APP_KEY, "cipher-dlq")).encode(),
    )
    replayed = call(
        stack,
        "POST",
        f"/admin/dlq/replay?queue=enrich&tenant_id={store['tenant_id']}",
        stack.admin_token,
    )
    run_enrichment(stack)

    # Then: the order has its amounts
    assert body_of(replayed)["replayed"] == 1  # other tenants' letters are left in place
    order = body_of(get_order(stack, store, "576486316948490001"))
    assert order["amounts_pending"] is False
    assert order["total"] == "10.00"


def test_dlq_routes_reject_an_unknown_queue(stack: Stack) -> None:
    response = call(stack, "GET", "/admin/dlq?queue=nope", stack.admin_token)

    assert response.status_code == 400
    assert body_of(response)["code"] == "invalid_query"
