"""Measure the webhook path: AWS calls per webhook, DynamoDB write units per order, handler
time against json.loads + HMAC of the same body, and the API module's import time against
``import boto3; boto3.client("dynamodb")``.

Ratios and counts, not wall-clock promises: run ``make bench`` and read the table. Everything
runs against template.yaml's stack in moto, in-process, with the real Shopify payload.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import math
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.local.stack import DeployedStack

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 200

os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCOUNT_ID_ENDPOINT_MODE="disabled",
    POWERTOOLS_LOG_LEVEL="WARNING",
)


class CallRecorder:
    """Counts AWS API calls and the time spent inside them (botocore event hooks)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.writes: list[tuple[str, dict[str, Any]]] = []
        self.seconds = 0.0
        self._started: float | None = None

    def record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        self.calls[name] += 1
        if name.startswith("dynamodb.") and model.name in (
            "PutItem",
            "UpdateItem",
            "TransactWriteItems",
            "DeleteItem",
        ):
            self.writes.append((model.name, copy.deepcopy(params)))

    def before(self, **_: Any) -> None:
        self._started = time.perf_counter()

    def after(self, **_: Any) -> None:
        if self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self._started = None

    def reset(self) -> None:
        self.calls.clear()
        self.writes.clear()
        self.seconds = 0.0


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB item size: attribute names plus values (close to AWS's documented rules)."""

    def value_size(value: dict[str, Any]) -> int:
        ((kind, inner),) = value.items()
        if kind == "B":
            return len(inner) if isinstance(inner, bytes) else len(str(inner).encode())
        if kind in ("S", "N"):
            return len(str(inner).encode())
        if kind == "BOOL" or kind == "NULL":
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in inner.items())
        if kind == "L":
            return 3 + sum(value_size(v) + 1 for v in inner)
        return sum(len(str(x).encode()) for x in inner)

    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(writes: list[tuple[str, dict[str, Any]]], dynamodb: Any) -> float:
    """WCUs as DynamoDB bills them: 1 per KB per write, twice for transactional writes. Updates
    are charged on the item's size after the update, read back here."""
    units = 0.0

    def size_of(request: dict[str, Any]) -> int:
        if "Item" in request:
            return _item_size(request["Item"])
        got = dynamodb.get_item(TableName=request["TableName"], Key=request["Key"]).get("Item")
        return _item_size(got or request["Key"])

    for kind, params in writes:
        if kind == "TransactWriteItems":
            for entry in params["TransactItems"]:
                ((_op, request),) = entry.items()
                units += 2 * math.ceil(size_of(request) / 1024)
        else:
            units += math.ceil(size_of(params) / 1024)
    return units


def _api_event(
    path: str, resource: str, params: dict[str, str], body: bytes, headers: dict
) -> dict:
    return {
        "resource": resource,
        "path": path,
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {"resourcePath": resource, "httpMethod": "POST", "stage": "Prod"},
        "body": body.decode(),
        "isBase64Encoded": False,
    }


def import_ratio() -> tuple[float, float, float]:
    def timed(code: str, cwd: Path) -> float:
        samples = []
        for _ in range(5):
            out = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    f"import time;t=time.perf_counter();{code};print(time.perf_counter()-t)",
                ],
                cwd=cwd,
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONPATH": str(cwd)},
            )
            samples.append(float(out.stdout.strip().splitlines()[-1]))
        return statistics.median(samples)

    api = timed("import app", REPO / "functions" / "api")
    baseline = timed("import boto3;boto3.client('dynamodb',region_name='us-east-1')", REPO)
    return api, baseline, api / baseline


def deploy_stack(
    recorder: CallRecorder, env: Mapping[str, str] | None = None
) -> tuple[DeployedStack, str]:
    """Deploy template.yaml's stack into moto (call inside ``mock_aws()``), set every function's
    environment (then ``env``) for the handlers called in this process, and hook ``recorder``
    into every boto3 client made from now on. Returns the stack and the admin token."""
    import boto3

    from infra.local.stack import deploy_in_process

    deployed = deploy_in_process()
    for logical_id in deployed.functions:
        os.environ.update(deployed.function_env(logical_id))
    os.environ.update(env or {})
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    boto3.setup_default_session()
    session_events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
    session_events.register("before-parameter-build", recorder.record)
    session_events.register("before-call", recorder.before)
    session_events.register("after-call", recorder.after)

    from linkstar.settings import reset_settings

    reset_settings()
    secret = boto3.client("secretsmanager").get_secret_value(
        SecretId=deployed.resources["AdminTokenSecret"]
    )["SecretString"]
    return deployed, secret


def drain(sqs: Any, queue_url: str, handler: Callable[[dict, Any], Any]) -> int:
    """Deliver everything in the queue to ``handler`` as Lambda's SQS events, deleting each
    batch once handled; returns how many messages were delivered."""
    from tests.integration.conftest import FakeContext, sqs_event

    delivered = 0
    while got := sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    ).get("Messages"):
        handler(sqs_event(queue_url, got), FakeContext())
        for m in got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        delivered += len(got)
    return delivered


def main() -> None:
    import boto3
    from moto import mock_aws

    recorder = CallRecorder()
    with mock_aws():
        deployed, secret = deploy_stack(recorder)

        from chalice.test import Client

        from functions.api.app import app
        from functions.ingest.app import handler as ingest_handler
        from tests.integration.conftest import Stack, body_of, call
        from tests.support import fixture_json, shopify_signature

        with Client(app) as client:
            stack = Stack(deployed, secret, client.http)
            tenant = body_of(call(stack, "POST", "/tenants", secret, {"name": "Bench"}))
            store = body_of(
                call(
                    stack,
                    "POST",
                    "/stores",
                    tenant["api_key"],
                    {
                        "platform": "shopify",
                        "external_id": "bench.myshopify.com",
                        "market": "US",
                        "webhook_secret": "bench-secret-123",
                    },
                )
            )
        store_id = store["store_id"]
        template_order = fixture_json("shopify/orders_create.json")

        def delivery(order_id: int, topic: str = "orders/create", **changes: Any) -> tuple:
            body = json.dumps({**template_order, "id": order_id, **changes}).encode()
            headers = {
                "content-type": "application/json",
                "x-shopify-topic": topic,
                "x-shopify-hmac-sha256": shopify_signature("bench-secret-123", body),
                "x-shopify-event-id": str(uuid.uuid4()),
                "host": "bench.local",
            }
            event = _api_event(
                f"/webhooks/shopify/{store_id}",
                "/webhooks/{platform}/{store_id}",
                {"platform": "shopify", "store_id": store_id},
                body,
                headers,
            )
            return event, body

        def paid(order_id: int) -> dict[str, Any]:
            return delivery(
                order_id,
                "orders/paid",
                financial_status="paid",
                updated_at="2008-01-10T12:00:00-05:00",
            )[0]

        # --- webhook: AWS calls, cold and warm
        recorder.reset()
        event, _ = delivery(1)
        assert app(event, None)["statusCode"] == 200
        cold_calls = dict(recorder.calls)
        recorder.reset()
        timings, baseline = [], []
        for i in range(ROUNDS):
            event, body = delivery(10_000 + i)
            started = time.perf_counter()
            answer = app(event, None)
            timings.append(time.perf_counter() - started)
            assert answer["statusCode"] == 200
            started = time.perf_counter()
            json.loads(body)
            hmac.compare_digest(
                hmac.new(b"bench-secret-123", body, hashlib.sha256).digest(), b"x" * 32
            )
            baseline.append(time.perf_counter() - started)
        warm_calls = {k: v / ROUNDS for k, v in recorder.calls.items()}
        aws_seconds = recorder.seconds / ROUNDS
        handler_s = statistics.median(timings)
        base_s = statistics.median(baseline)

        # --- ingest: calls and write units per order
        sqs, dynamodb = boto3.client("sqs"), boto3.client("dynamodb")
        queue = deployed.resources["IngestQueue"]

        recorder.reset()
        drain(sqs, queue, ingest_handler)
        processed = ROUNDS + 1
        create_calls = {k: v / processed for k, v in recorder.calls.items()}
        create_wcu = write_units(recorder.writes, dynamodb) / processed

        recorder.reset()
        for i in range(ROUNDS):
            app(paid(10_000 + i), None)
        drain(sqs, queue, ingest_handler)
        paid_wcu = write_units(recorder.writes, dynamodb) / ROUNDS

        recorder.reset()
        for i in range(ROUNDS):
            event = paid(10_000 + i)
            event["headers"]["x-shopify-event-id"] = "dup-" + str(i)
            app(event, None)
            app(event, None)
        drain(sqs, queue, ingest_handler)
        recorder_dups = dict(recorder.calls)
        dup_wcu = write_units(recorder.writes, dynamodb) / (2 * ROUNDS)

    api_import, boto_import, ratio = import_ratio()
    print("LinkStar webhook path (moto in-process, real Shopify orders/create payload)")
    print(f"  rounds: {ROUNDS}")
    print(f"  AWS calls, first webhook (cold caches):   {cold_calls}")
    print(f"  AWS calls per warm webhook:               {warm_calls}")
    print(f"  handler time / (json.loads + HMAC):       {handler_s / base_s:8.1f}x")
    print(f"  handler time without AWS I/O / baseline:  {(handler_s - aws_seconds) / base_s:8.1f}x")
    print(f"  ingest AWS calls per orders/create:       {create_calls}")
    print(f"  DynamoDB write units per new order:       {create_wcu:8.1f}")
    print(f"  DynamoDB write units per status change:   {paid_wcu:8.1f}")
    print(f"  write units per delivery, half duplicates:{dup_wcu:8.1f}  calls {recorder_dups}")
    print(
        f"  import app / import boto3+client:         {ratio:8.2f}x"
        f"  ({api_import * 1000:.0f} ms vs {boto_import * 1000:.0f} ms)"
    )


if __name__ == "__main__":
    main()
