"""The local stack's event-source runner, driven against throwaway handlers.

Everything here runs on tests/integration/fake_functions/template.yaml, a small synthetic SAM
template, so these tests do not depend on the real functions. The pollers are driven one step at
a time in-process under moto; the last test runs the same template as real processes
(supervisor, runtimes, API server) and checks that stopping it leaves nothing behind.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from infra.local import LocalStack, clock
from infra.local.api import chalice_server
from infra.local.control import alive, processes_of
from infra.local.patterns import matches_any
from infra.local.runtime import (
    FunctionRuntime,
    Poller,
    RuleShimPoller,
    SchedulePoller,
    StreamPoller,
    build_pollers,
)
from infra.local.schedule import parse
from infra.local.stack import DeployedStack, deploy_in_process
from infra.local.template import LocalTemplate, StreamSource, load_template

FAKE_DIR = Path(__file__).parent / "fake_functions"
FAKE_TEMPLATE = FAKE_DIR / "template.yaml"
REGION = "us-east-1"


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


@dataclass
class FakeStack:
    template: LocalTemplate
    deployed: DeployedStack

    def url(self, logical_id: str) -> str:
        return self.deployed.resources[logical_id]

    def pollers(self, logical_id: str) -> list[Poller]:
        runtime = FunctionRuntime(
            self.template.functions[logical_id],
            self.deployed,
            root=self.template.root,
            apply_environment=True,
        )
        return build_pollers(runtime, client)

    def observations(self) -> list[dict[str, Any]]:
        """What the fake handlers reported, in order (drains ObservationsQueue)."""
        sqs, seen = client("sqs"), []
        while True:
            messages = sqs.receive_message(
                QueueUrl=self.url("ObservationsQueue"), MaxNumberOfMessages=10
            ).get("Messages", [])
            if not messages:
                return seen
            for message in messages:
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(
                    QueueUrl=self.url("ObservationsQueue"), ReceiptHandle=message["ReceiptHandle"]
                )

    def queue_depth(self, logical_id: str) -> tuple[int, int]:
        attributes = client("sqs").get_queue_attributes(
            QueueUrl=self.url(logical_id), AttributeNames=["All"]
        )["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )


@pytest.fixture
def isolated_imports() -> Iterator[None]:
    # The fake handlers are all modules named "app"; keep them out of other tests' imports.
    saved_path = list(sys.path)
    saved_modules = dict(sys.modules)
    yield
    sys.path[:] = saved_path
    for name in [n for n in sys.modules if n not in saved_modules]:
        del sys.modules[name]
    sys.modules.update(saved_modules)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, isolated_imports: None) -> Iterator[FakeStack]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("LINKSTAR_LOCAL_RETRY_DELAY", "0")
    template = load_template(FAKE_TEMPLATE)
    with mock_aws():
        # Unique per test: other fixtures may share this moto backend.
        deployed = deploy_in_process(
            REGION, template=template, stack_name=f"fake-{uuid.uuid4().hex[:8]}"
        )
        yield FakeStack(template, deployed)


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Set the time every schedule reads through infra.local.clock.now()."""
    current = [datetime(2026, 3, 2, 1, 58, 30, tzinfo=UTC)]
    monkeypatch.setattr(clock, "now", lambda: current[0])

    def set_time(moment: datetime) -> None:
        current[0] = moment

    return set_time


# ---------------------------------------------------------------- SQS


def test_sqs_batch_with_partial_failure_deletes_only_successes(
    fake: FakeStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given: a batch where one message fails, retried only after a long delay
    monkeypatch.setenv("LINKSTAR_LOCAL_RETRY_DELAY", "60")
    sqs = client("sqs")
    for body in ("ok-1", "fail-1", "ok-2"):
        sqs.send_message(
            QueueUrl=fake.url("WorkQueue"),
            MessageBody=body,
            MessageAttributes={"tenant": {"DataType": "String", "StringValue": "T1"}},
        )
    (poller,) = fake.pollers("BatchFunction")

    # When: the runner delivers one batch
    assert poller.poll_once(wait_seconds=0)

    # Then: the successes were processed and deleted; the failure waits, invisible, for a retry
    records = [o["payload"] for o in fake.observations()]
    assert sorted(r["body"] for r in records) == ["ok-1", "ok-2"]
    assert fake.queue_depth("WorkQueue") == (0, 1)
    record = records[0]
    assert set(record) >= {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(fake.url("WorkQueue").rsplit("/", 1)[1])
    assert set(record["attributes"]) >= {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    }
    assert record["messageAttributes"]["tenant"] == {
        "stringValue": "T1",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }


def test_message_failing_max_receive_count_times_lands_in_the_dlq(
    fake: FakeStack, caplog: pytest.LogCaptureFixture
) -> None:
    # Given: a message the handler always fails (WorkQueue's maxReceiveCount is 2)
    client("sqs").send_message(QueueUrl=fake.url("WorkQueue"), MessageBody="fail-always")
    (poller,) = fake.pollers("BatchFunction")

    # When: the runner keeps polling until the queue has nothing for it
    with caplog.at_level(logging.INFO, logger="infra.local.runtime"):
        rounds = 0
        while poller.poll_once(wait_seconds=0):
            rounds += 1
            assert rounds < 10, "the message never left the queue"

    # Then: it was tried twice, then redriven to the DLQ with its body intact
    assert sum("records=1 failures=1" in r.message for r in caplog.records) == 2
    assert fake.queue_depth("WorkQueue") == (0, 0)
    (dead,) = client("sqs").receive_message(QueueUrl=fake.url("WorkDLQ"))["Messages"]
    assert dead["Body"] == "fail-always"
    assert fake.observations() == []


# ---------------------------------------------------------------- DynamoDB streams


def test_stream_records_matching_filter_criteria_reach_the_handler(fake: FakeStack) -> None:
    # Given: an event item, an item the filter excludes, and a modification of the event item
    dynamodb = client("dynamodb")
    table = fake.url("Table")
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "T#1"}, "sk": {"S": "EVT#1"}})
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "T#1"}, "sk": {"S": "ORDER#1"}})
    dynamodb.put_item(
        TableName=table,
        Item={"pk": {"S": "T#1"}, "sk": {"S": "EVT#1"}, "seen": {"BOOL": True}},
    )
    (poller,) = fake.pollers("StreamFunction")

    # When: the runner reads the stream
    assert poller.poll_once()

    # Then: only the INSERT of the EVT# item was delivered, shaped as Lambda delivers it
    (record,) = [o["payload"] for o in fake.observations()]
    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "T#1"}, "sk": {"S": "EVT#1"}}
    assert isinstance(poller, StreamPoller)
    assert record["eventSourceARN"] == poller.stream_arn
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)


def test_stream_batch_failing_past_its_retries_goes_to_the_on_failure_queue(
    fake: FakeStack,
) -> None:
    # Given: a good event, a poison event the handler reports as failed, and one after it
    dynamodb = client("dynamodb")
    table = fake.url("Table")
    for sk, extra in (("EVT#a", {}), ("EVT#b", {"poison": {"S": "yes"}}), ("EVT#c", {})):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "T#1"}, "sk": {"S": sk}, **extra})
    (poller,) = fake.pollers("StreamFunction")

    # When: the runner delivers the batch (MaximumRetryAttempts is 1)
    poller.poll_once()

    # Then: the good record was processed; the rest of the batch went to the OnFailure queue
    assert [o["payload"]["dynamodb"]["Keys"]["sk"]["S"] for o in fake.observations()] == ["EVT#a"]
    (message,) = client("sqs").receive_message(QueueUrl=fake.url("StreamFailures"))["Messages"]
    failure = json.loads(message["Body"])
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 2
    assert failure["requestContext"]["functionArn"] == fake.deployed.function_arn("StreamFunction")
    info = failure["DDBStreamBatchInfo"]
    assert info["batchSize"] == 2
    assert info["streamArn"] == poller.stream_arn  # type: ignore[union-attr]
    assert info["shardId"]
    assert int(info["startSequenceNumber"]) < int(info["endSequenceNumber"])


def test_stream_batch_bisects_on_error_to_isolate_the_failing_record(fake: FakeStack) -> None:
    # Given: a stream source that bisects on error, and a record that makes the handler raise
    dynamodb = client("dynamodb")
    table = fake.url("Table")
    for sk, extra in (("EVT#a", {}), ("EVT#b", {"explode": {"S": "yes"}}), ("EVT#c", {})):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "T#1"}, "sk": {"S": sk}, **extra})
    spec = fake.template.functions["StreamFunction"]
    (source,) = spec.background_sources
    assert isinstance(source, StreamSource)
    runtime = FunctionRuntime(spec, fake.deployed, root=fake.template.root, apply_environment=True)
    poller = StreamPoller(
        runtime,
        replace(source, bisect_on_error=True, report_batch_item_failures=False),
        client("dynamodb"),
        client("dynamodbstreams"),
        client("sqs"),
    )

    # When: the runner delivers the batch
    poller.poll_once()

    # Then: the records around the failing one were processed; only it went to OnFailure
    processed = [o["payload"]["dynamodb"]["Keys"]["sk"]["S"] for o in fake.observations()]
    # EVT#a is seen again after the split, as in Lambda: delivery is at least once.
    assert processed == ["EVT#a", "EVT#a", "EVT#c"]
    (message,) = client("sqs").receive_message(QueueUrl=fake.url("StreamFailures"))["Messages"]
    failure = json.loads(message["Body"])
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert failure["responseContext"]["functionError"] == "Unhandled"


# ---------------------------------------------------------------- schedules


def test_rate_schedule_fires_a_scheduled_event_when_its_time_comes(
    fake: FakeStack, frozen_clock: Callable[[datetime], None]
) -> None:
    # Given: the runner started at 01:58:30 with rate(1 minute)
    started = clock.now()
    every_minute, _ = fake.pollers("TickFunction")
    assert isinstance(every_minute, SchedulePoller)

    # When: time moves to just before, then just after, one minute later
    frozen_clock(started + timedelta(seconds=59))
    fired_early = every_minute.poll_once()
    frozen_clock(started + timedelta(seconds=61))
    fired = every_minute.poll_once()

    # Then: it fired once, as EventBridge's "Scheduled Event"
    assert (fired_early, fired) == (False, True)
    (observation,) = [o["payload"] for o in fake.observations()]
    event = observation["event"]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2026-03-02T01:59:30Z"
    assert event["account"] == fake.deployed.account_id
    rule = fake.deployed.resources["TickFunctionEveryMinute"]
    assert event["resources"] == [f"arn:aws:events:{REGION}:{fake.deployed.account_id}:rule/{rule}"]
    assert event["detail"] == {}
    # And: the handler got a Lambda-like context
    assert observation["function_name"] == fake.deployed.function_name("TickFunction")
    assert observation["invoked_function_arn"] == fake.deployed.function_arn("TickFunction")
    assert observation["memory_limit_in_mb"] == "256"
    assert 0 < observation["remaining_ms"] <= 5000


def test_cron_schedule_v2_fires_at_its_next_match(
    fake: FakeStack, frozen_clock: Callable[[datetime], None]
) -> None:
    # Given: cron(0 2 * * ? *), the runner started at 01:58:30
    _, nightly = fake.pollers("TickFunction")

    # When: time reaches 02:00
    frozen_clock(datetime(2026, 3, 2, 2, 0, 0, tzinfo=UTC))

    # Then: it fires once for 02:00, as an EventBridge Scheduler schedule
    assert nightly.poll_once()
    assert not nightly.poll_once()
    (observation,) = [o["payload"] for o in fake.observations()]
    assert observation["event"]["time"] == "2026-03-02T02:00:00Z"
    assert ":schedule/default/" in observation["event"]["resources"][0]


# ---------------------------------------------------------------- EventBridge rules


def test_eventbridge_rule_delivers_matching_events_through_its_shim_queue(
    fake: FakeStack,
) -> None:
    # Given: one event the rule matches and one it does not, put on the stack's bus
    events = client("events")
    bus = fake.deployed.resources["Bus"]
    events.put_events(
        Entries=[
            {
                "Source": "linkstar.test",
                "DetailType": "OrderPlaced",
                "Detail": json.dumps({"order_id": "o-1"}),
                "EventBusName": bus,
            },
            {
                "Source": "linkstar.test",
                "DetailType": "OrderCancelled",
                "Detail": "{}",
                "EventBusName": bus,
            },
        ]
    )
    (poller,) = fake.pollers("RuleFunction")
    assert isinstance(poller, RuleShimPoller)

    # When: the runner drains the rule's shim queue
    assert poller.poll_once(wait_seconds=0)

    # Then: the handler got the matching event itself
    (event,) = [o["payload"] for o in fake.observations()]
    assert event["source"] == "linkstar.test"
    assert event["detail-type"] == "OrderPlaced"
    assert event["detail"] == {"order_id": "o-1"}
    assert event["account"] == fake.deployed.account_id
    assert fake.queue_depth("RuleFunctionOrderPlacedLocalShimQueue") == (0, 0)


# ---------------------------------------------------------------- the API


def test_api_routes_requests_through_chalice_by_resource_path(fake: FakeStack) -> None:
    # Given: the fake Chalice app served like `chalice local`
    spec = fake.template.functions["ApiFunction"]
    server = chalice_server(spec, fake.deployed, fake.template.root)
    host, port = server.server.server_address[:2]
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    base = f"http://{host}:{port}"
    try:
        with fake.deployed.function_environment("ApiFunction"):
            # When: routes are called over HTTP
            echo = requests.get(f"{base}/echo/bob", timeout=10).json()
            health = requests.get(f"{base}/health", timeout=10).json()
            missing = requests.get(f"{base}/nowhere", timeout=10)
    finally:
        server.shutdown()
        server.server.server_close()
        thread.join(timeout=5)

    # Then: Chalice matched by resource path and the function's environment was in place
    assert echo == {"name": "bob", "resource_path": "/echo/{name}"}
    assert health == {"status": "ok", "table": fake.deployed.resources["Table"]}
    assert missing.status_code == 403  # API Gateway's answer for an unknown route


# ---------------------------------------------------------------- pure pieces


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ({"a": ["x"]}, {"a": "x"}, True),
        ({"a": ["x"]}, {"a": "y"}, False),
        ({"a": [{"prefix": "EVT#"}]}, {"a": "EVT#1"}, True),
        ({"a": [{"prefix": "EVT#"}]}, {"a": "ORD#1"}, False),
        ({"a": [{"anything-but": ["x", "y"]}]}, {"a": "z"}, True),
        ({"a": [{"anything-but": ["x", "y"]}]}, {"a": "x"}, False),
        ({"a": [{"anything-but": "x"}]}, {}, False),
        ({"a": [{"exists": True}]}, {"a": 1}, True),
        ({"a": [{"exists": False}]}, {"a": 1}, False),
        ({"a": [{"exists": False}]}, {}, True),
        ({"a": {"b": {"c": ["x"]}}}, {"a": {"b": {"c": "x"}}}, True),
        ({"a": {"b": ["x"]}}, {"a": "x"}, False),
        ({"a": ["x", "y"]}, {"a": "y"}, True),
        ({"a": ["x"]}, {"a": ["q", "x"]}, True),
        ({"a": [5]}, {"a": 5.0}, True),
        ({"a": [{"numeric": [">", 0, "<=", 5]}]}, {"a": 3}, True),
        ({"body": {"kind": ["order"]}}, {"body": {"kind": "order"}}, True),
    ],
)
def test_filter_patterns_follow_eventbridge_semantics(
    pattern: dict[str, Any], event: dict[str, Any], expected: bool
) -> None:
    assert matches_any([pattern], event) is expected


def test_no_filters_pass_everything_and_several_filters_are_alternatives() -> None:
    assert matches_any([], {"a": 1})
    assert matches_any([{"a": ["x"]}, {"a": ["y"]}], {"a": "y"})


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("rate(5 minutes)", "2026-03-02T10:00:00", "2026-03-02T10:05:00"),
        ("cron(0 12 * * ? *)", "2026-03-02T12:00:00", "2026-03-03T12:00:00"),
        ("cron(0/15 * * * ? *)", "2026-03-02T10:01:00", "2026-03-02T10:15:00"),
        ("cron(0 9 ? * MON-FRI *)", "2026-03-06T09:00:00", "2026-03-09T09:00:00"),
        ("cron(0 0 L * ? *)", "2026-02-01T00:00:00", "2026-02-28T00:00:00"),
        ("cron(0 8 ? * 6L *)", "2026-03-01T00:00:00", "2026-03-27T08:00:00"),
        ("cron(0 8 ? * 2#1 *)", "2026-03-03T00:00:00", "2026-04-06T08:00:00"),
        ("cron(0 0 1 JAN ? 2027)", "2026-03-02T00:00:00", "2027-01-01T00:00:00"),
    ],
)
def test_schedule_expressions_follow_aws_semantics(
    expression: str, after: str, expected: str
) -> None:
    start = datetime.fromisoformat(after).replace(tzinfo=UTC)

    assert parse(expression).first_after(start) == datetime.fromisoformat(expected).replace(
        tzinfo=UTC
    )


# ---------------------------------------------------------------- as processes


def test_local_stack_runs_the_template_as_processes_and_stops_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINKSTAR_LOCAL_RETRY_DELAY", "0")
    state = tmp_path / "state"
    with LocalStack(state_dir=state, template=FAKE_TEMPLATE) as local:
        info = local.info
        # Then: stack.json says where everything is
        assert {"api_url", "aws_endpoint_url", "admin_token", "region", "supervisor_pid"} <= set(
            info
        )
        assert set(info["pids"]) == set(load_template(FAKE_TEMPLATE).functions)
        # And: starting again finds the running stack
        assert LocalStack(state_dir=state, template=FAKE_TEMPLATE).start() == info

        # When: work arrives on the queue and the bus
        aws = {
            "endpoint_url": info["aws_endpoint_url"],
            "region_name": info["region"],
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        sqs = boto3.client("sqs", **aws)
        sqs.send_message(QueueUrl=info["resources"]["WorkQueue"], MessageBody="hello")
        boto3.client("events", **aws).put_events(
            Entries=[
                {
                    "Source": "linkstar.test",
                    "DetailType": "OrderPlaced",
                    "Detail": "{}",
                    "EventBusName": info["resources"]["Bus"],
                }
            ]
        )
        health = requests.get(f"{info['api_url']}/health", timeout=10).json()

        # Then: each function's own process handled it, with its own environment
        seen: dict[str, str] = {}
        deadline = time.monotonic() + 30
        while len(seen) < 2 and time.monotonic() < deadline:
            for message in sqs.receive_message(
                QueueUrl=info["resources"]["ObservationsQueue"],
                MaxNumberOfMessages=10,
                WaitTimeSeconds=1,
            ).get("Messages", []):
                body = json.loads(message["Body"])
                seen[body["kind"]] = body["function"]
        assert seen == {
            "sqs": info["resources"]["BatchFunction"],
            "rule": info["resources"]["RuleFunction"],
        }
        assert health["table"] == info["resources"]["Table"]
        pids = {info["supervisor_pid"], *info["pids"].values()}

    # Then: stopping leaves no process and no stack.json behind
    assert not (state / "stack.json").exists()
    assert processes_of(state) == set()
    assert alive(pids) == set()
