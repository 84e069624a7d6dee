"""Measure the marketplace paths: AWS calls per notification at the edge and in ingest, per
platform, and per order the enrichment's marketplace API calls and AWS calls.

Counts, not wall-clock promises: ``make bench`` prints them. Everything runs against
template.yaml's stack in moto, in-process, with the local fake of the marketplace APIs (which
checks every signature and token, so the counted calls are the real ones, refreshes included).
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench.webhook_path import CallRecorder

ORDERS = 20
AMAZON_FIXTURE = (
    Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "amazon_sp" / "order_change.json"
)
APP_KEY, APP_SECRET = "benchappkey", "bench-app-secret-0123"

os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    POWERTOOLS_LOG_LEVEL="WARNING",
)


class Context:
    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def _drain(sqs: Any, url: str, handler: Any) -> int:
    handled = 0
    while True:
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not got:
            return handled
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    k: {"stringValue": v.get("StringValue"), "dataType": v["DataType"]}
                    for k, v in (m.get("MessageAttributes") or {}).items()
                },
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
            }
            for m in got
        ]
        handler({"Records": records}, Context())
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        handled += len(got)


def main() -> None:
    import boto3
    from moto import mock_aws

    from infra.local import moto_fixes
    from infra.local.marketplaces import (
        FakeMarketplaces,
        amazon_order,
        lazada_order,
        shopee_order,
        tiktok_order,
    )

    moto_fixes.install()
    with mock_aws(), FakeMarketplaces() as fake:
        from infra.local.stack import deploy_in_process

        deployed = deploy_in_process()
        for logical_id in deployed.functions:
            os.environ.update(deployed.function_env(logical_id))
        os.environ.update(fake.env())
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
        recorder = CallRecorder()
        boto3.setup_default_session()
        session_events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        session_events.register("before-parameter-build", recorder.record)

        from chalice.test import Client
        from linkstar.platforms.clients import http as clients
        from linkstar.platforms.edge import hmac_hex
        from linkstar.settings import reset_settings

        from functions.api.app import app
        from functions.enrich.app import handler as enrich_handler
        from functions.ingest.app import handler as ingest_handler
        from functions.publisher.app import handler as publish_handler

        reset_settings()
        sqs = boto3.client("sqs")
        res = deployed.resources
        secret = boto3.client("secretsmanager").get_secret_value(SecretId=res["AdminTokenSecret"])[
            "SecretString"
        ]
        stream_arn = boto3.client("dynamodb").describe_table(TableName=res["AppTable"])["Table"][
            "LatestStreamArn"
        ]
        streams = boto3.client("dynamodbstreams")
        iterators = {
            shard["ShardId"]: streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
            for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"][
                "Shards"
            ]
        }

        def publish() -> None:
            records = []
            for shard, iterator in list(iterators.items()):
                page = streams.get_records(ShardIterator=iterator, Limit=1000)
                iterators[shard] = page["NextShardIterator"]
                for r in page["Records"]:
                    r["eventSourceARN"] = stream_arn
                    keys = r["dynamodb"]["Keys"]
                    if r["eventName"] == "INSERT" and keys["sk"]["S"].startswith("EVT#"):
                        records.append(r)
            if records:
                publish_handler({"Records": records}, Context())

        rows = []
        with Client(app) as client:

            def call(method: str, path: str, token: str, body: Any) -> Any:
                response = getattr(client.http, method)(
                    path,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                    },
                    body=json.dumps(body),
                )
                return json.loads(response.body)

            tenant = call("post", "/tenants", secret, {"name": "Bench marketplaces"})
            key = tenant["api_key"]
            specs = {
                "tiktok_shop": ("7494049642642441621", "GB", "GBP", "cipher-gb"),
                "shopee": ("123456", "SG", "SGD", "123456"),
                "lazada": ("1000114855", "MY", "MYR", "1000114855"),
                "amazon": ("ABENCHSELLER1", "DE", "EUR", "ABENCHSELLER1"),
            }
            for platform, (shop, market, currency, grant_shop) in specs.items():
                body: dict[str, Any] = {
                    "platform": platform,
                    "external_id": shop,
                    "market": market,
                    "currency": currency,
                }
                if platform != "amazon":
                    body["webhook_secret"] = APP_SECRET
                if platform in ("tiktok_shop", "lazada"):
                    body["app_key"] = APP_KEY
                store = call("post", "/stores", key, body)
                app_id = "2001" if platform == "shopee" else APP_KEY
                fake.register_app(platform, app_id, APP_SECRET)
                fake.authorize(platform, app_id, grant_shop)
                call(
                    "put",
                    f"/stores/{store['store_id']}/credentials",
                    key,
                    fake.credentials(platform, app_id, grant_shop),
                )
                edge, ingest = Counter[str](), Counter[str]()
                for n in range(ORDERS):
                    oid = f"9{n:04d}{uuid.uuid4().int % 10**10:010d}"
                    lines = [("SKU-1", "Item", 1 + n % 3, "19.90")]
                    if platform == "tiktok_shop":
                        fake.add_order(
                            platform, grant_shop, **tiktok_order(oid, lines, currency=currency)
                        )
                        payload: dict[str, Any] = {
                            "type": 1,
                            "tts_notification_id": str(uuid.uuid4().int)[:19],
                            "shop_id": shop,
                            "timestamp": 1700000000 + n,
                            "data": {
                                "order_id": oid,
                                "order_status": "AWAITING_SHIPMENT",
                                "update_time": 1700000000 + n,
                            },
                        }
                        signed = APP_KEY.encode()
                    elif platform == "shopee":
                        fake.add_order(
                            platform, grant_shop, **shopee_order(oid, lines, currency=currency)
                        )
                        payload = {
                            "shop_id": int(shop),
                            "code": 3,
                            "timestamp": 1700000000 + n,
                            "data": {
                                "ordersn": oid,
                                "status": "READY_TO_SHIP",
                                "update_time": 1700000000 + n,
                            },
                        }
                        signed = f"{store['webhook_url']}|".encode()
                    elif platform == "lazada":
                        fake.add_order(
                            platform,
                            grant_shop,
                            **lazada_order(
                                oid, lines, status="packed", site="lazada_my", currency=currency
                            ),
                        )
                        payload = {
                            "seller_id": shop,
                            "message_type": 0,
                            "timestamp": 1700000000000 + n,
                            "site": "lazada_my",
                            "data": {
                                "trade_order_id": oid,
                                "trade_order_line_id": oid + "1",
                                "order_status": "packed",
                                "status_update_time": 1700000000 + n,
                            },
                        }
                        signed = APP_KEY.encode()
                    else:
                        oid = f"302-{n:07d}-{uuid.uuid4().int % 10**7:07d}"
                        fake.add_order(
                            platform,
                            grant_shop,
                            **amazon_order(
                                oid,
                                lines,
                                marketplace_id="A1PA6795UKMFR9",
                                currency="EUR",
                                country="DE",
                            ),
                        )
                    recorder.reset()
                    if platform == "amazon":
                        # Amazon writes to the queue itself: no edge call of ours.
                        note = json.loads(AMAZON_FIXTURE.read_text(encoding="utf-8"))
                        inner = note["Payload"]["OrderChangeNotification"]
                        inner.update(SellerId=shop, AmazonOrderId=oid)
                        inner["Summary"]["MarketplaceId"] = "A1PA6795UKMFR9"
                        note["NotificationMetadata"]["NotificationId"] = str(uuid.uuid4())
                        boto3.client("sqs").send_message(
                            QueueUrl=res["AmazonNotificationsQueue"], MessageBody=json.dumps(note)
                        )
                        recorder.reset()
                        queue = res["AmazonNotificationsQueue"]
                    else:
                        raw = json.dumps(payload).encode()
                        client.http.post(
                            f"/webhooks/{platform}/{store['store_id']}",
                            headers={
                                "Content-Type": "application/json",
                                "Authorization": hmac_hex(APP_SECRET, signed + raw),
                            },
                            body=raw,
                        )
                        edge.update(recorder.calls)
                        recorder.reset()
                        queue = res["IngestQueue"]
                    records = sqs.receive_message(
                        QueueUrl=queue,
                        MaxNumberOfMessages=1,
                        AttributeNames=["All"],
                        MessageAttributeNames=["All"],
                    )["Messages"]
                    recorder.reset()
                    ingest_handler(
                        {
                            "Records": [
                                {
                                    "messageId": m["MessageId"],
                                    "receiptHandle": m["ReceiptHandle"],
                                    "body": m["Body"],
                                    "attributes": {"ApproximateReceiveCount": "1"},
                                    "messageAttributes": {
                                        k: {
                                            "stringValue": v.get("StringValue"),
                                            "dataType": v["DataType"],
                                        }
                                        for k, v in (m.get("MessageAttributes") or {}).items()
                                    },
                                    "eventSource": "aws:sqs",
                                }
                                for m in records
                            ]
                        },
                        Context(),
                    )
                    ingest.update(recorder.calls)
                    for m in records:
                        sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
                publish()
                clients.reset_calls()
                recorder.reset()
                enriched = _drain(sqs, res["EnrichQueue"], enrich_handler)
                enrich_aws = sum(recorder.calls.values())
                letters = sqs.get_queue_attributes(
                    QueueUrl=res["EnrichDLQ"], AttributeNames=["ApproximateNumberOfMessages"]
                )["Attributes"]["ApproximateNumberOfMessages"]
                api_calls = sum(clients.calls_snapshot().get(platform, {}).values())
                rows.append(
                    (
                        platform,
                        sum(edge.values()) / ORDERS,
                        sum(ingest.values()) / ORDERS,
                        api_calls / max(enriched, 1),
                        enrich_aws / max(enriched, 1),
                        enriched,
                        int(letters),
                    )
                )
    print(f"Marketplace paths, {ORDERS} new orders per platform (counts per notification/order)")
    header = (
        "platform",
        "edge AWS calls",
        "ingest AWS calls",
        "API calls/order",
        "enrich AWS calls/order",
        "enriched",
        "dead-lettered (cumulative)",
    )
    print(" | ".join(header))
    for row in rows:
        print(" | ".join([row[0], *(f"{v:.1f}" for v in row[1:5]), str(row[5]), str(row[6])]))


if __name__ == "__main__":
    main()
