"""The sample events in events/ (also for `sam local invoke`) run through their handlers."""

from __future__ import annotations

import json
from decimal import Decimal

import boto3
from linkstar.orders.models import Platform, utcnow
from linkstar.store import stores as store_repo
from linkstar.stores.models import Store

from tests.integration.conftest import FakeContext, Stack
from tests.support import REPO

SAMPLE_TENANT, SAMPLE_STORE = "tsample0000a", "tsample0000a-ssample01"


def _event(name: str) -> dict:
    return json.loads((REPO / "events" / name).read_text())


def _sample_store() -> None:
    if store_repo.get(SAMPLE_TENANT, SAMPLE_STORE) is None:
        store_repo.create(
            Store(
                tenant_id=SAMPLE_TENANT,
                store_id=SAMPLE_STORE,
                platform=Platform.SHOPIFY,
                external_id="acme.myshopify.com",
                market="US",
                webhook_secrets=("sample-webhook-secret",),
                created_at=utcnow(),
            )
        )


def test_api_event_is_verified_and_enqueued(stack: Stack) -> None:
    from functions.api.app import app

    _sample_store()
    answer = app(_event("api_shopify_webhook.json"), FakeContext())
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"])["status"] == "accepted"
    sqs = boto3.client("sqs")
    for message in sqs.receive_message(
        QueueUrl=stack.resource("IngestQueue"), MaxNumberOfMessages=10
    ).get("Messages", []):
        sqs.delete_message(
            QueueUrl=stack.resource("IngestQueue"), ReceiptHandle=message["ReceiptHandle"]
        )


def test_ingest_event_stores_the_order(stack: Stack) -> None:
    from linkstar.store import orders

    from functions.ingest.app import handler

    _sample_store()
    answer = handler(_event("ingest_sqs_delivery.json"), FakeContext())
    assert answer == {"batchItemFailures": []}
    stored = orders.load(SAMPLE_TENANT, "ssample01-450789469")
    assert stored is not None and stored.snapshot.total == Decimal("409.94")


def test_publisher_event_reaches_the_bus(stack: Stack) -> None:
    from functions.publisher.app import handler

    sqs, events = boto3.client("sqs"), boto3.client("events")
    bus = stack.resource("EventBus")
    url = sqs.create_queue(QueueName="sample-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(
        Name="sample", EventBusName=bus, EventPattern='{"detail-type": ["order.placed"]}'
    )
    events.put_targets(Rule="sample", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    assert handler(_event("publisher_outbox_stream.json"), FakeContext()) == {
        "batchItemFailures": []
    }
    (message,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    published = json.loads(message["Body"])
    assert published["source"] == "linkstar"
    assert published["detail"]["event_id"] == "5d41402abc4b2a76b9719d911017c592"
    assert published["detail"]["order_id"] == "ssample01-450789469"
