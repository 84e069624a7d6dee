"""A local Lambda runtime for one function: it imports the handler and drives its event sources.

Run one per function, each in its own process so each has its own environment variables, as in
Lambda::

    python -m infra.local.runtime --function IngestFunction --state-dir .local

The supervisor (``python -m infra.local supervise``) starts these; the process reads the deployed
stack from ``<state-dir>/deployment.json`` and the function's wiring from template.yaml.

The handler is imported the way Lambda does it: the function's code directory first on
``sys.path``, then its layers' directories, then ``module.attr`` from ``Handler``. Invocations
are serialized (one execution environment) and get a Lambda-like context object; an invocation
running past the function's ``Timeout`` counts as failed, as Lambda would have stopped it.

Event sources, emulated as Lambda's pollers behave:

* ``SQS`` - long-polls the queue, builds records exactly as Lambda does, honours
  ``ReportBatchItemFailures`` (deletes only successes; nothing when the handler raises) and
  ``FilterCriteria`` (non-matching messages are deleted unprocessed). Redrive to the DLQ after
  ``maxReceiveCount`` receives is done by moto's SQS on receive, as in AWS.
* ``DynamoDB`` streams - reads each shard from ``StartingPosition``, filters, delivers batches
  of up to ``BatchSize``, retries from the first failed sequence number, bisects on error when
  asked, and after ``MaximumRetryAttempts`` sends the batch's description to the ``OnFailure``
  destination and moves on.
* ``Schedule`` / ``ScheduleV2`` - fires ``rate()``/``cron()`` expressions as EventBridge's
  "Scheduled Event" (or the declared ``Input``), reading time through ``infra.local.clock``; when
  the clock jumps past several times they coalesce into one firing for the latest. Each schedule
  reports its state in ``<state-dir>/run/schedules/<Function>.<Event>.json`` (``fired_for``,
  ``completed_at``, ``ok``, ``next_due``), which ``POST /_local/clock`` waits on.
* ``EventBridgeRule`` - drains the rule's SQS shim queue; each message body is the event. As an
  asynchronous invoke, a failing event is tried three times in all, then dropped with a log line.

Local acceleration (deliberately not AWS behaviour): a failed message or batch is retried after
``LINKSTAR_LOCAL_RETRY_DELAY`` seconds (default 1) instead of after the queue's visibility
timeout (180 s for the ingest queue) or Lambda's backoff. The runner shortens the visibility of
failed SQS messages with ChangeMessageVisibility to do so; receive counts and the DLQ redrive are
unchanged.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.client import BaseClient

from infra.local import clock, schedule
from infra.local.control import default_state_dir
from infra.local.patterns import matches_any
from infra.local.stack import DeployedStack
from infra.local.template import (
    DEFAULT_TEMPLATE,
    EventBridgeRuleSource,
    FunctionSpec,
    ScheduleSource,
    SqsSource,
    StreamSource,
    UnemulatedSource,
    load_template,
)

log = logging.getLogger("infra.local.runtime")

RETRY_DELAY_ENV = "LINKSTAR_LOCAL_RETRY_DELAY"
CLOCK_FILE_ENV = "LINKSTAR_CLOCK_FILE"
"""Set by the supervisor to ``<state>/clock.json``; ``linkstar.clock`` reads its offset."""
CLOCK_FILE_NAME = "clock.json"
SCHEDULE_MARKERS = Path("run") / "schedules"
"""Where each schedule reports what it last fired, relative to the state directory."""
ASYNC_ATTEMPTS = 3
"""Lambda's asynchronous invoke: the first try and two retries."""
SQS_WAIT_SECONDS = 2
"""Long-poll length; short enough that SIGTERM is honoured within a couple of seconds."""
STREAM_IDLE_SECONDS = 0.25
"""Lambda polls each stream shard about four times a second."""


LOCAL_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    # Stream ARNs carry no account endpoint; without this botocore insists on one.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}
"""What every process of the local stack talks to moto with (moto accepts any credentials)."""


def configure_logging(name: str) -> None:
    """One line per event on stderr, which the supervisor sends to stack.log."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format=f"%(asctime)s {name} %(levelname)s %(message)s",
    )
    # boto3 announces where it found credentials and endpoints on every client; werkzeug logs
    # every request moto serves. Neither helps someone reading what the stack did.
    for noisy in ("botocore", "boto3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def retry_delay() -> float:
    return float(os.environ.get(RETRY_DELAY_ENV, "1"))


# ---------------------------------------------------------------- invoking the handler


class LambdaContext:
    """The attributes and method of the Python runtime's context object."""

    def __init__(self, function_name: str, arn: str, memory_size: int, timeout: int) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = arn
        # The Python runtime hands this over as read from the environment: a string.
        self.memory_limit_in_mb = str(memory_size)
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class InvocationError(RuntimeError):
    """The handler raised or ran past its timeout; Lambda reports both as a function error."""


@dataclass
class FunctionRuntime:
    """One function's execution environment inside this process."""

    spec: FunctionSpec
    deployed: DeployedStack
    root: Path = DEFAULT_TEMPLATE.parent
    apply_environment: bool = False
    """Set the function's variables in os.environ around import and each invocation: for tests
    that run several functions in one process (a runtime process already has them)."""
    _handler: Callable[[Any, Any], Any] | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def name(self) -> str:
        return self.deployed.function_name(self.spec.logical_id)

    @property
    def arn(self) -> str:
        return self.deployed.function_arn(self.spec.logical_id)

    def _environment(self) -> contextlib.AbstractContextManager[Any]:
        if self.apply_environment:
            return self.deployed.function_environment(self.spec.logical_id)
        return contextlib.nullcontext()

    def load(self) -> Callable[[Any, Any], Any]:
        """Import the handler like Lambda: code directory first, then the layers."""
        with self._environment():
            return self._load()

    def _load(self) -> Callable[[Any, Any], Any]:
        if self._handler is None:
            module_name, _, attribute = self.spec.handler.rpartition(".")
            if not module_name:
                raise ValueError(f"{self.spec.logical_id}: Handler must be module.attribute")
            paths = [
                str(self.root / self.spec.code_dir),
                *(str(self.root / d) for d in self.spec.layer_dirs),
            ]
            for path in reversed(paths):
                if path in sys.path:
                    sys.path.remove(path)
                sys.path.insert(0, path)
            # Several functions in one test process all call their module "app".
            top = module_name.split(".", 1)[0]
            for loaded in [m for m in sys.modules if m == top or m.startswith(f"{top}.")]:
                del sys.modules[loaded]
            module = importlib.import_module(module_name)
            self._handler = getattr(module, attribute)
        return self._handler

    def invoke(self, event: Any) -> Any:
        handler = self.load()
        with self._lock, self._environment():
            context = LambdaContext(self.name, self.arn, self.spec.memory_size, self.spec.timeout)
            started = time.monotonic()
            try:
                result = handler(event, context)
            except Exception as exc:
                log.exception("%s raised", self.spec.logical_id)
                raise InvocationError(f"{type(exc).__name__}: {exc}") from exc
            elapsed = time.monotonic() - started
            if elapsed > self.spec.timeout:
                message = f"Task timed out after {self.spec.timeout:.2f} seconds"
                log.error("%s: %s", self.spec.logical_id, message)
                raise InvocationError(message)
            return result

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no invocation is running; False if one still is after ``timeout``."""
        if self._lock.acquire(timeout=timeout):
            self._lock.release()
            return True
        return False

    def report(self, source: str, records: int, failures: int, note: str = "") -> None:
        extra = f" {note}" if note else ""
        log.info(
            "%s %s records=%d failures=%d%s",
            self.spec.logical_id,
            source,
            records,
            failures,
            extra,
        )


def _failed_identifiers(result: Any, known: Sequence[str]) -> set[str] | None:
    """``batchItemFailures`` of a handler's answer; None when Lambda would fail the whole batch."""
    if result is None:
        return set()
    if not isinstance(result, Mapping):
        return None
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    identifiers: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not identifier or identifier not in known:
            return None
        identifiers.add(str(identifier))
    return identifiers


# ---------------------------------------------------------------- SQS


def sqs_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """A received SQS message as Lambda puts it in the event."""
    attributes: dict[str, Any] = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        attribute: dict[str, Any] = {
            "stringListValues": list(value.get("StringListValues", [])),
            "binaryListValues": [
                base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])
            ],
            "dataType": value["DataType"],
        }
        if "StringValue" in value:
            attribute["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        attributes[name] = attribute
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def _filterable_sqs(record: Mapping[str, Any]) -> dict[str, Any]:
    # Lambda matches a JSON body as an object and any other body as a plain string.
    data = dict(record)
    with contextlib.suppress(ValueError, TypeError):
        data["body"] = json.loads(record["body"])
    return data


class SqsPoller:
    """Lambda's SQS event source mapping for one queue."""

    def __init__(self, runtime: FunctionRuntime, source: SqsSource, sqs: BaseClient) -> None:
        self.runtime = runtime
        self.source = source
        self.sqs = sqs
        self.label = f"sqs:{source.name}"
        self.queue_url, self.queue_arn = _queue(runtime.deployed, source.queue, sqs)

    def receive(self, wait_seconds: int = SQS_WAIT_SECONDS) -> list[dict[str, Any]]:
        wanted = self.source.batch_size
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.source.batching_window_seconds
        wait = wait_seconds
        while len(messages) < wanted:
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, wanted - len(messages)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages.extend(received)
            # After the first message, keep gathering until the batch is full or the window ends.
            if not messages or time.monotonic() >= deadline:
                break
            wait = 0
            if not received:
                time.sleep(0.05)
        return messages

    def poll_once(self, wait_seconds: int = SQS_WAIT_SECONDS) -> bool:
        """Receive and process one batch; False when the queue had nothing."""
        messages = self.receive(wait_seconds)
        if not messages:
            return False
        region = self.runtime.deployed.region
        records = [sqs_record(m, self.queue_arn, region) for m in messages]
        matching = [r for r in records if matches_any(self.source.filters, _filterable_sqs(r))]
        dropped = [r for r in records if r not in matching]
        self._delete(dropped)
        if not matching:
            self.runtime.report(self.label, 0, 0, note=f"filtered={len(dropped)}")
            return True
        ids = [r["messageId"] for r in matching]
        try:
            result = self.runtime.invoke({"Records": matching})
            failed = (
                _failed_identifiers(result, ids)
                if self.source.report_batch_item_failures
                else set()
            )
            if failed is None:
                log.warning("%s: invalid batchItemFailures, whole batch failed", self.label)
                failed = set(ids)
        except InvocationError:
            failed = set(ids)
        self._delete([r for r in matching if r["messageId"] not in failed])
        self._retry_soon([r for r in matching if r["messageId"] in failed])
        self.runtime.report(self.label, len(matching), len(failed))
        return True

    def _delete(self, records: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)
                ],
            )

    def _retry_soon(self, records: Sequence[Mapping[str, Any]]) -> None:
        delay = round(retry_delay())
        for start in range(0, len(records), 10):
            chunk = records[start : start + 10]
            self.sqs.change_message_visibility_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": delay}
                    for i, r in enumerate(chunk)
                ],
            )


def _queue(deployed: DeployedStack, queue: str, sqs: BaseClient) -> tuple[str, str]:
    """(URL, ARN) of a queue named by logical id or ARN."""
    if queue.startswith("arn:"):
        account, name = queue.split(":")[4:6]
        url = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        return url, queue
    url = deployed.resources[queue]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


# ---------------------------------------------------------------- EventBridge rules


class RuleShimPoller:
    """EventBridge's asynchronous invoke of a rule target, drained from the rule's shim queue."""

    def __init__(
        self, runtime: FunctionRuntime, source: EventBridgeRuleSource, sqs: BaseClient
    ) -> None:
        self.runtime = runtime
        self.source = source
        self.sqs = sqs
        self.label = f"eventbridge:{source.name}"
        self.queue_url = runtime.deployed.resources[source.shim_queue]

    def poll_once(self, wait_seconds: int = SQS_WAIT_SECONDS) -> bool:
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["ApproximateReceiveCount"],
        ).get("Messages", [])
        for message in messages:
            attempt = int(message["Attributes"]["ApproximateReceiveCount"])
            failed = False
            event = json.loads(message["Body"])
            # moto's EventBridge leaves out the account; AWS always sends it.
            if isinstance(event, dict):
                event.setdefault("account", self.runtime.deployed.account_id)
            try:
                self.runtime.invoke(event)
            except InvocationError:
                failed = True
            if not failed or attempt >= ASYNC_ATTEMPTS:
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
            else:
                self.sqs.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=round(retry_delay()),
                )
            note = f"attempt={attempt}"
            if failed and attempt >= ASYNC_ATTEMPTS:
                note += " dropped (asynchronous retries exhausted)"
            self.runtime.report(self.label, 1, int(failed), note=note)
        return bool(messages)


# ---------------------------------------------------------------- schedules


def latest_due(
    expression: schedule.Rate | schedule.Cron, first: datetime, now: datetime
) -> tuple[datetime, int]:
    """The last time at or before ``now`` on ``expression``'s timeline starting at ``first``
    (itself due), and how many earlier times it stands for: EventBridge coalesces missed times.

    The poller and ``POST /_local/clock`` both use this, so they agree on which time a jump of the
    clock makes due. A rate is computed directly: a month's jump of ``rate(1 minute)`` would
    otherwise be 43,200 steps.
    """
    if isinstance(expression, schedule.Rate):
        skipped = max(0, (now - first) // expression.period)
        return first + skipped * expression.period, skipped
    due, skipped = first, 0
    while (following := expression.next_after(due)) <= now:
        due, skipped = following, skipped + 1
    return due, skipped


def schedule_marker(state_dir: Path, function: str, event: str) -> Path:
    """The file a function's schedule ``event`` reports its state in."""
    return state_dir / SCHEDULE_MARKERS / f"{function}.{event}.json"


def read_schedule_marker(path: Path) -> dict[str, Any] | None:
    """A schedule's last report, or None when its poller has not written one (yet)."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return data


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


class SchedulePoller:
    """Fires a schedule when ``clock.now()`` passes its next time; missed times coalesce.

    With a ``marker`` path (:func:`schedule_marker`), it reports there when it starts and after
    each firing's outcome is final (after the retries of a failing one): ``fired_for`` (the due
    time), ``completed_at`` (local clock), ``ok``, ``attempts`` and ``next_due``. That is how
    ``POST /_local/clock`` learns that what fell due has run.
    """

    def __init__(
        self, runtime: FunctionRuntime, source: ScheduleSource, marker: Path | None = None
    ) -> None:
        self.runtime = runtime
        self.source = source
        self.label = f"schedule:{source.name}"
        self.expression = schedule.parse(source.expression, source.timezone)
        self.next_due = self.expression.first_after(clock.now())
        deployed = runtime.deployed
        name = deployed.resources.get(source.resource, source.resource)
        if source.kind == "Schedule":
            self.resource_arn = (
                f"arn:aws:events:{deployed.region}:{deployed.account_id}:rule/{name}"
            )
        else:
            self.resource_arn = (
                f"arn:aws:scheduler:{deployed.region}:{deployed.account_id}:schedule/default/{name}"
            )
        self.marker = marker
        # A restarted runtime keeps what the previous process of this stack last fired.
        previous = read_schedule_marker(self.marker) if self.marker else None
        self.last_firing: dict[str, Any] = {
            key: (previous or {}).get(key)
            for key in ("fired_for", "completed_at", "ok", "attempts")
        }
        self._publish()

    def event(self, due: datetime) -> Any:
        if self.source.input is not None:
            return json.loads(self.source.input)
        deployed = self.runtime.deployed
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": deployed.account_id,
            "time": due.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": deployed.region,
            "resources": [self.resource_arn],
            "detail": {},
        }

    def poll_once(self) -> bool:
        now = clock.now()
        if now < self.next_due:
            return False
        due, skipped = latest_due(self.expression, self.next_due, now)
        self.next_due = self.expression.next_after(due)
        note = f"time={due:%Y-%m-%dT%H:%M:%SZ}" + (f" coalesced={skipped}" if skipped else "")
        ok = False
        for attempt in range(1, ASYNC_ATTEMPTS + 1):
            try:
                self.runtime.invoke(self.event(due))
            except InvocationError:
                self.runtime.report(self.label, 1, 1, note=f"{note} attempt={attempt}")
                if attempt < ASYNC_ATTEMPTS:
                    time.sleep(retry_delay())
                continue
            self.runtime.report(self.label, 1, 0, note=note)
            ok = True
            break
        self.last_firing = {
            "fired_for": _iso(due),
            "completed_at": _iso(clock.now()),
            "ok": ok,
            "attempts": attempt,
        }
        self._publish()
        return True

    def _publish(self) -> None:
        if self.marker is None:
            return
        write_json_atomic(
            self.marker,
            {
                "function": self.runtime.spec.logical_id,
                "event": self.source.name,
                "expression": self.source.expression,
                **self.last_firing,
                "next_due": _iso(self.next_due),
            },
        )


# ---------------------------------------------------------------- DynamoDB streams


def _json_safe(value: Any) -> Any:
    # Lambda delivers binary attribute values base64-encoded, as the wire format has them.
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_json_safe(v) for v in value]
    return value


def stream_record(raw: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda puts it in the event."""
    record = _json_safe(dict(raw))
    dynamodb = dict(record["dynamodb"])
    created = raw["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    record["dynamodb"] = dynamodb
    record["eventSourceARN"] = stream_arn
    return dict(record)


@dataclass
class _Shard:
    shard_id: str
    iterator: str | None
    buffer: list[dict[str, Any]] = field(default_factory=list)
    first_buffered: float | None = None


class StreamPoller:
    """Lambda's DynamoDB stream event source mapping for one table stream."""

    def __init__(
        self,
        runtime: FunctionRuntime,
        source: StreamSource,
        dynamodb: BaseClient,
        streams: BaseClient,
        sqs: BaseClient,
        sns: BaseClient | None = None,
    ) -> None:
        self.runtime = runtime
        self.source = source
        self.streams = streams
        self.sqs = sqs
        self.sns = sns
        self.label = f"dynamodb:{source.name}"
        if source.table is not None:
            table = runtime.deployed.resources[source.table]
            self.stream_arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
        else:
            self.stream_arn = str(source.stream_arn)
        self.shards: dict[str, _Shard] = {}
        self._described = 0.0
        self.refresh_shards()

    def refresh_shards(self) -> None:
        description = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
        first_time = not self.shards
        for shard in description["Shards"]:
            shard_id = shard["ShardId"]
            if shard_id in self.shards:
                continue
            # Shards that appear later are new children: read them from their start.
            position = self.source.starting_position if first_time else "TRIM_HORIZON"
            iterator = self.streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType=position
            )["ShardIterator"]
            self.shards[shard_id] = _Shard(shard_id, iterator)
        self._described = time.monotonic()

    def poll_once(self) -> bool:
        if time.monotonic() - self._described > 5:
            self.refresh_shards()
        worked = False
        for shard in self.shards.values():
            worked |= self._poll_shard(shard)
        return worked

    def _poll_shard(self, shard: _Shard) -> bool:
        if shard.iterator is not None:
            page = self.streams.get_records(ShardIterator=shard.iterator, Limit=1000)
            shard.iterator = page.get("NextShardIterator")
            for raw in page.get("Records", []):
                record = stream_record(raw, self.stream_arn)
                if matches_any(self.source.filters, record):
                    shard.buffer.append(record)
            if shard.buffer and shard.first_buffered is None:
                shard.first_buffered = time.monotonic()
        if not shard.buffer:
            return False
        window_open = (
            shard.first_buffered is not None
            and time.monotonic() - shard.first_buffered < self.source.batching_window_seconds
        )
        if len(shard.buffer) < self.source.batch_size and window_open:
            return False
        batch = shard.buffer[: self.source.batch_size]
        shard.buffer = shard.buffer[self.source.batch_size :]
        shard.first_buffered = time.monotonic() if shard.buffer else None
        self._deliver(shard.shard_id, batch, attempts=0)
        return True

    def _deliver(self, shard_id: str, batch: list[dict[str, Any]], attempts: int) -> None:
        pending = batch
        while pending:
            sequence_numbers = [r["dynamodb"]["SequenceNumber"] for r in pending]
            function_error = False
            try:
                result = self.runtime.invoke({"Records": pending})
            except InvocationError:
                function_error = True
                retry_from = 0
            else:
                failed = (
                    _failed_identifiers(result, sequence_numbers)
                    if self.source.report_batch_item_failures
                    else set()
                )
                if failed is None:
                    retry_from = 0
                elif failed:
                    retry_from = min(sequence_numbers.index(s) for s in failed)
                else:
                    self.runtime.report(self.label, len(pending), 0)
                    return
            self.runtime.report(self.label, len(pending), len(pending) - retry_from)
            if function_error and self.source.bisect_on_error and len(pending) > 1:
                # Splitting does not use up retries; each half is delivered on its own.
                half = len(pending) // 2
                self._deliver(shard_id, pending[:half], attempts)
                self._deliver(shard_id, pending[half:], attempts)
                return
            attempts += 1
            pending = pending[retry_from:]
            limit = self.source.maximum_retry_attempts
            if limit != -1 and attempts > limit:
                self._on_failure(shard_id, pending, attempts, function_error)
                return
            time.sleep(retry_delay())

    def _on_failure(
        self, shard_id: str, records: list[dict[str, Any]], attempts: int, function_error: bool
    ) -> None:
        def arrival(record: Mapping[str, Any]) -> str:
            seconds = record["dynamodb"].get("ApproximateCreationDateTime", 0)
            return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if function_error:
            response["functionError"] = "Unhandled"
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.runtime.arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": response,
            "version": "1.0",
            "timestamp": clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": arrival(records[0]),
                "approximateArrivalOfLastRecord": arrival(records[-1]),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
        }
        destination = self.source.on_failure
        note = "retries exhausted"
        if destination is None:
            note += ", records discarded (no OnFailure destination)"
        elif ":sns:" in destination:
            assert self.sns is not None
            self.sns.publish(TopicArn=destination, Message=json.dumps(message))
            note += ", sent to OnFailure topic"
        else:
            url, _ = _queue(self.runtime.deployed, destination, self.sqs)
            self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
            note += ", sent to OnFailure queue"
        self.runtime.report(self.label, len(records), len(records), note=note)


# ---------------------------------------------------------------- wiring a process


Poller = SqsPoller | RuleShimPoller | SchedulePoller | StreamPoller


def build_pollers(
    runtime: FunctionRuntime,
    clients: Callable[[str], BaseClient],
    state_dir: Path | None = None,
) -> list[Poller]:
    """One poller per event source the runner emulates; unemulated ones are logged.

    With ``state_dir``, schedules report their firings under it (see :class:`SchedulePoller`).
    """
    pollers: list[Poller] = []
    for source in runtime.spec.background_sources:
        if isinstance(source, UnemulatedSource):
            log.warning(
                "%s: %s event %s is not emulated locally",
                runtime.spec.logical_id,
                source.type,
                source.name,
            )
        elif not getattr(source, "enabled", True):
            log.info("%s: event %s is disabled", runtime.spec.logical_id, source.name)
        elif isinstance(source, SqsSource):
            pollers.append(SqsPoller(runtime, source, clients("sqs")))
        elif isinstance(source, StreamSource):
            pollers.append(
                StreamPoller(
                    runtime,
                    source,
                    clients("dynamodb"),
                    clients("dynamodbstreams"),
                    clients("sqs"),
                    clients("sns"),
                )
            )
        elif isinstance(source, ScheduleSource):
            marker = (
                schedule_marker(state_dir, runtime.spec.logical_id, source.name)
                if state_dir is not None
                else None
            )
            pollers.append(SchedulePoller(runtime, source, marker))
        elif isinstance(source, EventBridgeRuleSource):
            pollers.append(RuleShimPoller(runtime, source, clients("sqs")))
    return pollers


def lambda_environment(
    deployed: DeployedStack, spec: FunctionSpec, endpoint_url: str | None
) -> dict[str, str]:
    """The environment a function's process gets: Lambda's reserved variables, then its own."""
    name = deployed.function_name(spec.logical_id)
    env = {
        **LOCAL_AWS_ENV,
        "AWS_REGION": deployed.region,
        "AWS_DEFAULT_REGION": deployed.region,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "_HANDLER": spec.handler,
        # No X-Ray daemon locally: Powertools Tracer would otherwise try to send segments.
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    if endpoint_url:
        env["AWS_ENDPOINT_URL"] = endpoint_url
    env.update(deployed.function_env(spec.logical_id))
    return env


def run_pollers(pollers: Sequence[Poller], stop: threading.Event) -> list[threading.Thread]:
    def loop(poller: Poller) -> None:
        while not stop.is_set():
            try:
                worked = poller.poll_once()
            except Exception:
                log.exception("%s: poller failed, retrying", getattr(poller, "label", poller))
                stop.wait(1)
                continue
            if not worked and not isinstance(poller, SqsPoller | RuleShimPoller):
                stop.wait(STREAM_IDLE_SECONDS)

    threads = [threading.Thread(target=loop, args=(p,), name=p.label, daemon=True) for p in pollers]
    for thread in threads:
        thread.start()
    return threads


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    def handle(signum: int, _frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass(frozen=True)
class Deployment:
    """``<state>/deployment.json``: what the supervisor deployed, for its child processes."""

    stack: DeployedStack
    endpoint_url: str | None
    functions: dict[str, FunctionSpec]


def wait_for_stop(stop: threading.Event) -> None:
    """Block until told to stop, or until the process that started this one has gone."""
    parent = os.getppid()
    while not stop.wait(0.5):
        # An orphan would poll a moto server that died with its supervisor, forever.
        if os.getppid() != parent:
            log.warning("parent process %d has gone; stopping", parent)
            return


def read_deployment(state_dir: Path, template: Path = DEFAULT_TEMPLATE) -> Deployment:
    data = json.loads((state_dir / "deployment.json").read_text(encoding="utf-8"))
    specs = data.get("function_specs")
    functions = (
        {lid: FunctionSpec.from_dict(spec) for lid, spec in specs.items()}
        if specs is not None
        else load_template(template).functions
    )
    return Deployment(
        DeployedStack.from_dict(data["stack"]), data.get("aws_endpoint_url"), functions
    )


def write_json_atomic(target: Path, data: Any) -> None:
    """Write JSON through a scratch file and a rename: readers see the old or the new file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    scratch.write_text(json.dumps(data), encoding="utf-8")
    scratch.replace(target)


def mark_ready(state_dir: Path, name: str, **details: Any) -> None:
    write_json_atomic(state_dir / "run" / f"{name}.json", {"pid": os.getpid(), **details})


def use_clock_file(state_dir: Path) -> Path:
    """Make this process read the stack's clock: ``$LINKSTAR_CLOCK_FILE``, which the supervisor
    sets, or ``<state>/clock.json`` for a process started by hand."""
    return Path(os.environ.setdefault(CLOCK_FILE_ENV, str(state_dir / CLOCK_FILE_NAME)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.runtime", description=__doc__)
    parser.add_argument("--function", required=True, help="logical id in template.yaml")
    parser.add_argument("--state-dir", type=Path, default=None)
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    args = parser.parse_args(argv)
    state = (args.state_dir or default_state_dir()).resolve()
    configure_logging(f"runtime[{args.function}]")
    deployment = read_deployment(state, args.template)
    spec = deployment.functions.get(args.function)
    if spec is None:
        parser.error(f"no function {args.function} in {args.template.name}")
    deployed = deployment.stack
    os.environ.update(lambda_environment(deployed, spec, deployment.endpoint_url))
    use_clock_file(state)

    def clients(service: str) -> BaseClient:
        return boto3.client(service, region_name=deployed.region)

    runtime = FunctionRuntime(spec, deployed, root=args.template.resolve().parent)
    runtime.load()
    pollers = build_pollers(runtime, clients, state)
    stop = threading.Event()
    with _stop_on_signals(stop):
        run_pollers(pollers, stop)
        sources = ", ".join(p.label for p in pollers) or "none"
        log.info("%s ready, sources: %s", args.function, sources)
        mark_ready(state, args.function)
        wait_for_stop(stop)
        log.info("%s stopping", args.function)
        # Let an invocation in flight finish; idle pollers are daemon threads and just end.
        if not runtime.wait_idle(timeout=spec.timeout):
            log.warning("%s: stopped during an invocation", args.function)
    return 0


if __name__ == "__main__":
    sys.exit(main())
