"""Driving the outreach pipeline in-process, as the local stack's pollers would: ingest queue →
outbox stream → bus → flow queue → send queues → feedback queue, plus the minute tick."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3

from tests import moto_outbox
from tests.integration.conftest import (
    FakeContext,
    Seller,
    Stack,
    call,
    drain,
    drain_ingest,
)

SEND_QUEUES = ("EmailQueue", "SmsQueue", "WhatsAppQueue", "InAppQueue")
# The Shopify header fixture says the webhook was triggered at 2026-11-20T18:00:27Z (10:00 in
# Los Angeles): the tests' clock starts just after it, so no event looks like history.
START = datetime(2026, 11, 20, 18, 5, tzinfo=UTC)


class StreamTail:
    """The table's stream from where the last read stopped (its first read starts at the end).
    ``conftest.stream_records`` reads from the start on every call, which made each test in a
    worker slower than the one before; the pipeline only ever wants what is new."""

    def __init__(self, stack: Stack) -> None:
        table = boto3.client("dynamodb").describe_table(TableName=stack.resource("AppTable"))
        self.arn = str(table["Table"]["LatestStreamArn"])
        self.streams = boto3.client("dynamodbstreams")
        self.iterators: dict[str, str] = {}

    def read(self) -> list[dict[str, Any]]:
        records = []
        shards = self.streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]
        for shard in shards:
            iterator = (
                self.iterators.get(shard["ShardId"])
                or self.streams.get_shard_iterator(
                    StreamArn=self.arn, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
                )["ShardIterator"]
            )
            while True:
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                iterator = page["NextShardIterator"]
                for record in page["Records"]:
                    record["eventSourceARN"] = self.arn
                    records.append(record)
                if not page["Records"]:
                    break
            self.iterators[shard["ShardId"]] = iterator
        return records


class Pipeline:
    """Runs every outreach consumer until nothing is left to do."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.stream = StreamTail(stack)
        self.stream.read()  # only what happens from here on is published

    def publish(self) -> int:
        from functions.publisher.app import handler

        fresh = [r for r in self.stream.read() if r["eventName"] == "INSERT"]
        if fresh:
            handler({"Records": fresh}, FakeContext())
        return len(fresh)

    def run(self, rounds: int = 20) -> None:
        from functions.feedback.app import handler as feedback
        from functions.flows.app import handler as flows
        from functions.senders.app import handler as senders

        for _ in range(rounds):
            moved = len(drain_ingest(self.stack))
            moved += self.publish()
            moved += len(drain(self.stack, "FlowQueue", flows))
            for queue in SEND_QUEUES:
                moved += len(drain(self.stack, queue, senders))
            moved += len(drain(self.stack, "FeedbackQueue", feedback))
            if not moved:
                return

    def tick(self) -> dict[str, int]:
        from functions.timers.app import handler

        answer: dict[str, int] = handler({"detail-type": "Scheduled Event"}, FakeContext())
        self.run()
        return answer


@contextmanager
def pipeline(stack: Stack, start: datetime = START) -> Iterator[tuple[Pipeline, Any]]:
    """The pipeline and a pinned clock (``.advance(seconds=…)``, ``.set(moment)``)."""
    from linkstar import clock

    with clock.override(start) as pinned:
        flow = Pipeline(stack)
        yield flow, pinned


def enable_preset(stack: Stack, seller: Seller, preset: str) -> dict[str, Any]:
    created = call(stack, "POST", "/flows", seller.api_key, {"preset": preset})
    assert created.status_code == 200, created.body
    return dict(json.loads(created.body))


def add_contact(stack: Stack, seller: Seller, **contact: Any) -> dict[str, Any]:
    answer = call(stack, "POST", "/contacts", seller.api_key, contact)
    assert answer.status_code == 200, answer.body
    return dict(json.loads(answer.body))


def add_template(stack: Stack, seller: Seller, template: dict[str, Any]) -> None:
    saved = call(stack, "POST", "/templates", seller.api_key, template)
    assert saved.status_code == 200, saved.body


def add_flow(stack: Stack, seller: Seller, definition: dict[str, Any]) -> dict[str, Any]:
    created = call(stack, "POST", "/flows", seller.api_key, definition)
    assert created.status_code == 200, created.body
    return dict(json.loads(created.body))


def stats(stack: Stack, seller: Seller, flow_id: str) -> dict[str, Any]:
    answer = call(stack, "GET", f"/flows/{flow_id}/stats", seller.api_key)
    assert answer.status_code == 200, answer.body
    return dict(json.loads(answer.body))


def emails_to(address: str, since: int) -> list[moto_outbox.SentEmail]:
    """What moto sent to ``address`` since ``since`` (a count of ``sent_emails()``)."""
    return [e for e in moto_outbox.sent_emails()[since:] if address in e.destinations]


def sms_to(phone: str | set[str], since: int) -> list[moto_outbox.SentSms]:
    """What moto sent to ``phone`` (or to any of a set) since ``since``."""
    phones = {phone} if isinstance(phone, str) else phone
    return [t for t in moto_outbox.sent_sms()[since:] if t.phone in phones]


def messages(stack: Stack, seller: Seller, **query: str) -> list[dict[str, Any]]:
    suffix = "&".join(f"{k}={v}" for k, v in query.items())
    answer = call(stack, "GET", "/messages" + (f"?{suffix}" if suffix else ""), seller.api_key)
    assert answer.status_code == 200, answer.body
    return list(json.loads(answer.body)["messages"])


def publish_feedback(stack: Stack, message: dict[str, Any]) -> None:
    """A provider event as the FeedbackTopic delivers it to its queue (an SNS envelope)."""
    envelope = {
        "Type": "Notification",
        "MessageId": "feedback-test",
        "TopicArn": stack.resource("FeedbackTopic"),
        "Message": json.dumps(message),
        "Timestamp": "2026-11-20T19:10:00.000Z",
    }
    boto3.client("sqs").send_message(
        QueueUrl=stack.resource("FeedbackQueue"), MessageBody=json.dumps(envelope)
    )
