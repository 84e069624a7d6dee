"""Measure the marketplace paths: AWS calls per notification at the edge and in ingest, per
platform, and per order the enrichment's marketplace API calls and AWS calls.

Counts, not wall-clock promises: ``make bench`` prints them. Everything runs against
template.yaml's stack in moto, in-process, with the local fake of the marketplace APIs (which
checks every signature and token, so the counted calls are the real ones, refreshes included).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.webhook_path import CallRecorder, deploy_stack, drain
from infra.local.marketplaces import (
    FakeMarketplaces,
    Line,
    amazon_order,
    lazada_order,
    shopee_order,
    tiktok_order,
)
from tests.integration.conftest import FakeContext, Stack, body_of, call
from tests.support import fixture_json, marketplace_headers

ORDERS = 20
APP_KEY, APP_SECRET = "benchappkey", "bench-app-secret-0123"
AMAZON_DE = "A1PA6795UKMFR9"
AMAZON_NOTIFICATION = fixture_json("amazon_sp/order_change.json")


@dataclass(frozen=True)
class Seller:
    platform: str
    shop: str  # the store's external id, as the notifications name it
    market: str
    currency: str
    api_shop: str  # the seller as the platform's API knows it (TikTok Shop: the shop_cipher)
    app_id: str = APP_KEY


SELLERS = (
    Seller("tiktok_shop", "7494049642642441621", "GB", "GBP", "cipher-gb"),
    Seller("shopee", "123456", "SG", "SGD", "123456", app_id="2001"),
    Seller("lazada", "1000114855", "MY", "MYR", "1000114855"),
    Seller("amazon", "ABENCHSELLER1", "DE", "EUR", "ABENCHSELLER1"),
)

# ------------------------------------------------------------- the notifications
# Per platform, for the nth new order: (the order as the platform's API answers it, the
# notification, what the webhook signature covers before the body; None: Amazon's notifications
# reach the queue without our edge).
Notification = tuple[dict[str, Any], dict[str, Any], bytes | None]


def _order_id(n: int) -> str:
    return f"9{n:04d}{uuid.uuid4().int % 10**10:010d}"


def _lines(n: int) -> list[Line]:
    return [("SKU-1", "Item", 1 + n % 3, "19.90")]


def _tiktok(seller: Seller, store: dict[str, Any], n: int) -> Notification:
    oid = _order_id(n)
    push = {
        "type": 1,
        "tts_notification_id": str(uuid.uuid4().int)[:19],
        "shop_id": seller.shop,
        "timestamp": 1700000000 + n,
        "data": {
            "order_id": oid,
            "order_status": "AWAITING_SHIPMENT",
            "update_time": 1700000000 + n,
        },
    }
    return tiktok_order(oid, _lines(n), currency=seller.currency), push, APP_KEY.encode()


def _shopee(seller: Seller, store: dict[str, Any], n: int) -> Notification:
    oid = _order_id(n)
    push = {
        "shop_id": int(seller.shop),
        "code": 3,
        "timestamp": 1700000000 + n,
        "data": {"ordersn": oid, "status": "READY_TO_SHIP", "update_time": 1700000000 + n},
    }
    signed = f"{store['webhook_url']}|".encode()
    return shopee_order(oid, _lines(n), currency=seller.currency), push, signed


def _lazada(seller: Seller, store: dict[str, Any], n: int) -> Notification:
    oid = _order_id(n)
    push = {
        "seller_id": seller.shop,
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
    order = lazada_order(
        oid, _lines(n), status="packed", site="lazada_my", currency=seller.currency
    )
    return order, push, APP_KEY.encode()


def _amazon(seller: Seller, store: dict[str, Any], n: int) -> Notification:
    oid = f"302-{n:07d}-{uuid.uuid4().int % 10**7:07d}"
    note = copy.deepcopy(AMAZON_NOTIFICATION)
    inner = note["Payload"]["OrderChangeNotification"]
    inner.update(SellerId=seller.shop, AmazonOrderId=oid)
    inner["Summary"]["MarketplaceId"] = AMAZON_DE
    note["NotificationMetadata"]["NotificationId"] = str(uuid.uuid4())
    order = amazon_order(
        oid, _lines(n), marketplace_id=AMAZON_DE, currency=seller.currency, country="DE"
    )
    return order, note, None


NOTIFICATIONS: dict[str, Callable[[Seller, dict[str, Any], int], Notification]] = {
    "tiktok_shop": _tiktok,
    "shopee": _shopee,
    "lazada": _lazada,
    "amazon": _amazon,
}


# --------------------------------------------------------------------- the stack


class Outbox:
    """The table's stream from now on, handed to the publisher as its event source would: the
    INSERTs of outbox (``EVT#``) items."""

    def __init__(self, table: str) -> None:
        import boto3

        self.streams = boto3.client("dynamodbstreams")
        self.arn = boto3.client("dynamodb").describe_table(TableName=table)["Table"][
            "LatestStreamArn"
        ]
        shards = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        self.iterators = {
            shard["ShardId"]: self.streams.get_shard_iterator(
                StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
            )["ShardIterator"]
            for shard in shards
        }

    def publish(self) -> None:
        from functions.publisher.app import handler

        records = []
        for shard, iterator in list(self.iterators.items()):
            page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
            self.iterators[shard] = page["NextShardIterator"]
            for r in page["Records"]:
                sk = r["dynamodb"]["Keys"]["sk"]["S"]
                if r["eventName"] == "INSERT" and sk.startswith("EVT#"):
                    records.append({**r, "eventSourceARN": self.arn})
        if records:
            handler({"Records": records}, FakeContext())


@dataclass
class Bench:
    stack: Stack
    api_key: str  # the bench tenant's
    fake: FakeMarketplaces
    recorder: CallRecorder
    sqs: Any
    outbox: Outbox


def connect(bench: Bench, seller: Seller) -> dict[str, Any]:
    """The seller's store in LinkStar, its app authorised in the fake, the credentials stored."""
    body: dict[str, Any] = {
        "platform": seller.platform,
        "external_id": seller.shop,
        "market": seller.market,
        "currency": seller.currency,
    }
    if seller.platform != "amazon":
        body["webhook_secret"] = APP_SECRET
    if seller.platform in ("tiktok_shop", "lazada"):
        body["app_key"] = APP_KEY
    store = body_of(call(bench.stack, "POST", "/stores", bench.api_key, body))
    bench.fake.register_app(seller.platform, seller.app_id, APP_SECRET)
    bench.fake.authorize(seller.platform, seller.app_id, seller.api_shop)
    credentials = bench.fake.credentials(seller.platform, seller.app_id, seller.api_shop)
    call(bench.stack, "PUT", f"/stores/{store['store_id']}/credentials", bench.api_key, credentials)
    return store


def ingest_calls(bench: Bench, queue: str) -> Counter[str]:
    """Ingest's AWS calls for what sits in ``queue`` (the bench's receive and delete not
    counted)."""
    from functions.ingest.app import handler

    calls = Counter[str]()

    def counted(event: dict[str, Any], context: Any) -> Any:
        bench.recorder.reset()
        answer = handler(event, context)
        calls.update(bench.recorder.calls)
        return answer

    drain(bench.sqs, queue, counted)
    return calls


def notify(bench: Bench, seller: Seller, store: dict[str, Any], n: int) -> tuple[Counter, Counter]:
    """The nth new order in the fake API and its notification, through the edge and ingest:
    their AWS calls."""
    order, notification, signed = NOTIFICATIONS[seller.platform](seller, store, n)
    bench.fake.add_order(seller.platform, seller.api_shop, **order)
    body = json.dumps(notification)
    if signed is None:
        # Amazon writes to the queue itself: no edge call of ours.
        queue = bench.stack.resource("AmazonNotificationsQueue")
        bench.sqs.send_message(QueueUrl=queue, MessageBody=body)
        edge = Counter[str]()
    else:
        raw = body.encode()
        bench.recorder.reset()
        bench.stack.api.post(
            f"/webhooks/{seller.platform}/{store['store_id']}",
            headers=marketplace_headers(APP_SECRET, signed + raw),
            body=raw,
        )
        edge = Counter(bench.recorder.calls)
        queue = bench.stack.resource("IngestQueue")
    return edge, ingest_calls(bench, queue)


def measure(bench: Bench, seller: Seller) -> tuple[Any, ...]:
    """One platform's row: AWS calls per notification at the edge and in ingest, then per
    enriched order the marketplace API calls and AWS calls, the orders enriched and the enrich
    dead-letter queue's depth."""
    from linkstar.platforms.clients import http as clients

    from functions.enrich.app import handler as enrich_handler

    store = connect(bench, seller)
    edge, ingest = Counter[str](), Counter[str]()
    for n in range(ORDERS):
        at_edge, in_ingest = notify(bench, seller, store, n)
        edge.update(at_edge)
        ingest.update(in_ingest)
    bench.outbox.publish()
    clients.reset_calls()
    bench.recorder.reset()
    enriched = drain(bench.sqs, bench.stack.resource("EnrichQueue"), enrich_handler)
    # The queue's own receive and delete are Lambda's event source's, not the function's.
    calls = bench.recorder.calls
    enrich_aws = sum(calls.values()) - calls["sqs.ReceiveMessage"] - calls["sqs.DeleteMessage"]
    letters = bench.sqs.get_queue_attributes(
        QueueUrl=bench.stack.resource("EnrichDLQ"), AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    api_calls = sum(clients.calls_snapshot().get(seller.platform, {}).values())
    return (
        seller.platform,
        sum(edge.values()) / ORDERS,
        sum(ingest.values()) / ORDERS,
        api_calls / max(enriched, 1),
        enrich_aws / max(enriched, 1),
        enriched,
        int(letters),
    )


def main() -> None:
    import boto3
    from moto import mock_aws

    from infra.local import moto_fixes

    moto_fixes.install()
    recorder = CallRecorder()
    with mock_aws(), FakeMarketplaces() as fake:
        deployed, admin_token = deploy_stack(recorder, fake.env())

        from chalice.test import Client

        from functions.api.app import app

        outbox = Outbox(deployed.resources["AppTable"])
        with Client(app) as client:
            stack = Stack(deployed, admin_token, client.http)
            tenant = body_of(
                call(stack, "POST", "/tenants", admin_token, {"name": "Bench marketplaces"})
            )
            bench = Bench(
                stack=stack,
                api_key=tenant["api_key"],
                fake=fake,
                recorder=recorder,
                sqs=boto3.client("sqs"),
                outbox=outbox,
            )
            rows = [measure(bench, seller) for seller in SELLERS]
    report(rows)


def report(rows: list[tuple[Any, ...]]) -> None:
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
