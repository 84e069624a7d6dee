"""The webhook edge through the Chalice handler: verify over raw bytes, then enqueue."""

from __future__ import annotations

import boto3

from tests.integration.conftest import Seller, Stack, body_of, call, post_webhook
from tests.support import fixture_bytes, shopify_headers, shopify_signature


def _queued(stack: Stack) -> list[dict]:
    sqs = boto3.client("sqs")
    found = sqs.receive_message(
        QueueUrl=stack.resource("IngestQueue"),
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
        VisibilityTimeout=0,
    ).get("Messages", [])
    return found


def _purge(stack: Stack) -> None:
    # PurgeQueue is rate-limited (once a minute), so empty the queue message by message.
    sqs = boto3.client("sqs")
    url = stack.resource("IngestQueue")
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_verified_order_is_enqueued_with_raw_body(stack: Stack, seller: Seller) -> None:
    # Given the real orders/create payload, signed with the store's secret
    _purge(stack)
    body = fixture_bytes("shopify/orders_create.json")
    # When Shopify delivers it
    response = post_webhook(stack, seller, "orders/create", body, event_id="evt-1")
    # Then it is accepted and the exact bytes wait in the ingest queue
    assert response.status_code == 200
    assert body_of(response)["status"] == "accepted"
    queued = _queued(stack)
    assert [m["Body"].encode() for m in queued] == [body]
    assert "evt-1" in queued[0]["MessageAttributes"]["delivery"]["StringValue"]


def test_bad_or_missing_signature_is_401_and_nothing_is_stored(
    stack: Stack, seller: Seller
) -> None:
    _purge(stack)
    body = fixture_bytes("shopify/orders_create.json")
    headers = shopify_headers("orders/create", body, "not-the-secret")
    bad = stack.api.post(seller.webhook_path, headers=headers, body=body)
    del headers["X-Shopify-Hmac-Sha256"]
    missing = stack.api.post(seller.webhook_path, headers=headers, body=body)
    tampered = stack.api.post(
        seller.webhook_path,
        headers=shopify_headers("orders/create", body, seller.secret),
        body=body.replace(b"409.94", b"1.00"),
    )
    assert (bad.status_code, missing.status_code, tampered.status_code) == (401, 401, 401)
    assert body_of(bad)["code"] == "invalid_signature"
    assert _queued(stack) == []


def test_unknown_store_or_platform_is_404(stack: Stack, seller: Seller) -> None:
    body = b"{}"
    headers = shopify_headers("orders/create", body, seller.secret)
    other_store = seller.store_id[:-1] + ("a" if seller.store_id[-1] != "a" else "b")
    assert (
        stack.api.post(f"/webhooks/shopify/{other_store}", headers=headers, body=body).status_code
        == 404
    )
    assert (
        stack.api.post("/webhooks/shopify/garbage", headers=headers, body=body).status_code == 404
    )
    wrong_platform = seller.webhook_path.replace("/shopify/", "/ebay/")
    assert stack.api.post(wrong_platform, headers=headers, body=body).status_code == 404


def test_verified_body_that_is_not_json_is_400(stack: Stack, seller: Seller) -> None:
    body = b"foo=anything"
    response = stack.api.post(
        seller.webhook_path,
        headers=shopify_headers("orders/create", body, seller.secret),
        body=body,
    )
    assert response.status_code == 400
    assert body_of(response)["code"] == "invalid_json"


def test_over_one_mebibyte_is_413(stack: Stack, seller: Seller) -> None:
    body = b'{"pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = stack.api.post(
        seller.webhook_path,
        headers=shopify_headers("orders/create", body, seller.secret),
        body=body,
    )
    assert response.status_code == 413


def test_large_body_is_parked_in_s3_and_enqueued_by_reference(stack: Stack, seller: Seller) -> None:
    _purge(stack)
    body = b'{"id": 1, "note": "' + b"y" * (300 * 1024) + b'"}'
    response = post_webhook(stack, seller, "orders/create", body)
    assert response.status_code == 200
    (message,) = _queued(stack)
    assert len(message["Body"]) < 100
    key = message["MessageAttributes"]["delivery"]["StringValue"].split('"body_s3_key": "')[1]
    stored = boto3.client("s3").get_object(
        Bucket=stack.resource("RawDeliveriesBucket"), Key=key.split('"')[0]
    )
    assert stored["Body"].read() == body
    _purge(stack)


def test_unused_topic_is_acknowledged_and_counted(stack: Stack, seller: Seller) -> None:
    _purge(stack)
    body = b'{"id": 632910392, "title": "IPod Nano - 8GB"}'
    first = post_webhook(stack, seller, "products/update", body)
    second = post_webhook(stack, seller, "products/update", body)
    assert (first.status_code, second.status_code) == (200, 200)
    assert body_of(first)["status"] == "ignored"
    assert _queued(stack) == []
    store = body_of(call(stack, "GET", f"/stores/{seller.store_id}", seller.api_key))
    assert store["ingest"]["ignored_topics"] == {"products/update": 2}


def test_secret_rotation_accepts_old_and_new_until_retired(stack: Stack, seller: Seller) -> None:
    _purge(stack)
    body = fixture_bytes("shopify/customers_create.json")
    new_secret = "shpss_rotated_secret_value"
    rotated = call(
        stack,
        "POST",
        f"/stores/{seller.store_id}/webhook-secrets",
        seller.api_key,
        {"webhook_secret": new_secret},
    )
    assert rotated.status_code == 200
    assert body_of(rotated)["webhook_secrets_active"] == 2
    for secret in (seller.secret, new_secret):
        headers = shopify_headers("customers/create", body, secret)
        assert stack.api.post(seller.webhook_path, headers=headers, body=body).status_code == 200
    call(
        stack,
        "POST",
        f"/stores/{seller.store_id}/webhook-secrets",
        seller.api_key,
        {"webhook_secret": new_secret, "retire_previous": True},
    )
    old = shopify_headers("customers/create", body, seller.secret)
    assert stack.api.post(seller.webhook_path, headers=old, body=body).status_code == 401
    _purge(stack)


def test_signature_helper_matches_shopify_vectors() -> None:
    from tests.support import fixture_json

    for vector in fixture_json("shopify/hmac_vectors.json"):
        raw = bytes.fromhex(vector["raw_body_hex"])
        assert shopify_signature(vector["secret"], raw) == vector["expected_X-Shopify-Hmac-Sha256"]
