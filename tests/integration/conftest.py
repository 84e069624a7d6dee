"""Integration tier: template.yaml's stack deployed into moto in-process, handlers called
directly (the API through Chalice's test client, ingest and publisher with Lambda-shaped
events built from what really sits in the queues and the table's stream)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws

from infra.local import moto_fixes
from infra.local.stack import DeployedStack, deploy_in_process
from tests.support import shopify_headers

os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
)


@dataclass
class Stack:
    deployed: DeployedStack
    admin_token: str
    api: Any  # chalice.test.Client's http

    def resource(self, logical_id: str) -> str:
        return self.deployed.resources[logical_id]


def _reset_caches() -> None:
    from linkstar import secrets
    from linkstar.billing import service as billing
    from linkstar.ingest import processor
    from linkstar.outreach import policy
    from linkstar.settings import reset_settings
    from linkstar.store import stores as store_repo

    reset_settings()
    store_repo._cache.clear()
    secrets.forget()
    processor._idempotent.cache_clear()
    policy.forget()
    billing.forget()


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    moto_fixes.install()
    with mock_aws():
        deployed = deploy_in_process()
        env: dict[str, str] = {}
        for logical_id in deployed.functions:
            env.update(deployed.function_env(logical_id))
        os.environ.update(env)
        _reset_caches()
        secret = boto3.client("secretsmanager").get_secret_value(
            SecretId=deployed.resources["AdminTokenSecret"]
        )["SecretString"]
        from functions.api.app import app

        with Client(app) as client:
            yield Stack(deployed=deployed, admin_token=secret, api=client.http)


@pytest.fixture(autouse=True)
def _fresh_caches(stack: Stack) -> None:
    _reset_caches()


def call(
    stack: Stack,
    method: str,
    path: str,
    token: str | None,
    body: Any = None,
    content_type: str = "application/json",
    language: str | None = None,
) -> Any:
    """A request to the API; ``body`` is sent as JSON, or as it is with another content type;
    ``language`` is sent as ``Accept-Language``."""
    headers = {"Content-Type": content_type}
    if language:
        headers["Accept-Language"] = language
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if content_type == "application/json":
        raw = json.dumps(body).encode() if body is not None else b""
    else:
        raw = body.encode() if isinstance(body, str) else (body or b"")
    response = getattr(stack.api, method.lower())(path, headers=headers, body=raw)
    return response


def body_of(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


@dataclass
class Seller:
    tenant_id: str
    api_key: str
    store_id: str
    secret: str
    webhook_path: str


def new_seller(stack: Stack, name: str = "Acme", market: str = "US") -> Seller:
    created = call(stack, "POST", "/tenants", stack.admin_token, {"name": name})
    assert created.status_code == 201, created.body
    tenant = body_of(created)
    secret = "shpss_" + hashlib.sha256(name.encode()).hexdigest()[:24]
    store = call(
        stack,
        "POST",
        "/stores",
        tenant["api_key"],
        {
            "platform": "shopify",
            "external_id": f"{name.lower()}-{tenant['tenant_id']}.myshopify.com",
            "market": market,
            "webhook_secret": secret,
        },
    )
    assert store.status_code == 201, store.body
    view = body_of(store)
    path = "/" + view["webhook_url"].split("/", 3)[3]
    return Seller(tenant["tenant_id"], tenant["api_key"], view["store_id"], secret, path)


@pytest.fixture
def seller(stack: Stack) -> Seller:
    return new_seller(stack)


def post_webhook(
    stack: Stack, seller: Seller, topic: str, body: bytes, *, event_id: str | None = None
) -> Any:
    headers = shopify_headers(topic, body, seller.secret, event_id=event_id)
    return stack.api.post(seller.webhook_path, headers=headers, body=body)


# ------------------------------------------------------------------ event sources


def sqs_event(queue_url: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Messages from ReceiveMessage shaped as Lambda's SQS event."""
    arn = "arn:aws:sqs:us-east-1:123456789012:" + queue_url.rsplit("/", 1)[1]
    records = []
    for m in messages:
        records.append(
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "dataType": value["DataType"],
                        "stringListValues": [],
                        "binaryListValues": [],
                    }
                    for name, value in (m.get("MessageAttributes") or {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }
        )
    return {"Records": records}


class FakeContext:
    function_name = "IngestFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:IngestFunction"
    aws_request_id = "test-request"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def drain_ingest(stack: Stack, *, max_rounds: int = 50) -> list[dict[str, Any]]:
    """Deliver everything in the ingest queue to the ingest handler, as Lambda would:
    delete what succeeded, leave reported failures. Returns the handler's answers."""
    from functions.ingest.app import handler

    return drain(stack, "IngestQueue", handler, max_rounds=max_rounds)


def drain(stack: Stack, queue: str, handler: Any, *, max_rounds: int = 50) -> list[dict[str, Any]]:
    """Deliver everything in ``queue`` (a template logical id) to ``handler`` like Lambda's
    SQS event source: delete what succeeded, leave reported failures visible again."""
    sqs = boto3.client("sqs")
    url = stack.resource(queue)
    answers = []
    for _ in range(max_rounds):
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=30,
        ).get("Messages", [])
        if not got:
            break
        answer = handler(sqs_event(url, got), FakeContext())
        answers.append(answer)
        failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
        for m in got:
            if m["MessageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        if failed and len(failed) == len(got):
            break
    return answers


def stream_records(stack: Stack) -> list[dict[str, Any]]:
    """Every record the table's stream holds, in Lambda's DynamoDB event record shape."""
    table = boto3.client("dynamodb").describe_table(TableName=stack.resource("AppTable"))
    arn = table["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams")
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            for r in page["Records"]:
                r["eventSourceARN"] = arn
                records.append(r)
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records
