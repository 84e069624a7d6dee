"""Measure the outreach pipeline (issue 4): AWS calls per email and per SMS, DynamoDB write units
per message and which items they go to, and sends per second through the local pipeline.

One tenant, ``CONTACTS`` contacts added in one ``POST /contacts`` call with email and SMS
marketing consent, and a flow saved through ``POST /flows`` that sends a marketing email, then a
marketing SMS, on ``contact.subscribed`` (which adding a contact with email consent emits). The
consumers then run in-process, as Lambda's event sources would call them, until nothing is left
to do: outbox stream → publisher → bus → flow queue → flow engine → email and SMS queues →
sender. Everything runs against template.yaml's stack in moto, in-process, on the pinned clock
of ``tests.integration.outreach.pipeline``.

Counts and ratios, not wall-clock promises. What is counted:

- **AWS calls** are what the functions' code asks for, by phase (the handler running when the
  call is made). The event sources' own work (SQS receive/delete, stream reads) is the bench's
  driver and is not counted. The engine builds both messages of a run in one invocation, so its
  calls are shared evenly between the two: per email = sender calls per email + engine calls per
  message built; the same for SMS. Write units are shared the same way, except that the
  engine's writes of a message item count for that message's channel.
- **Write units** are worked out from the items, as DynamoDB bills them on demand: each item
  written costs 1 WCU per started KB of the larger of its size before and after the write (a
  delete: its size before), twice that inside ``TransactWriteItems``; each GSI the item is (or
  was) in costs another write of the projected item's size when the projection changes (a key
  change: a delete plus a put). Approximations: item size is attribute name lengths plus value
  sizes, with numbers counted as their decimal text (DynamoDB stores about one byte per two
  digits); GSI writes are assumed not doubled inside a transaction (if they are, the GSI part
  doubles). Before and after images are read with a separate, uncounted client; the time that
  takes is taken off the wall clock. Unsubscribe links (three copies per marketing email) are
  sized with an execute-api base URL, as a stack without a custom domain has.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bench.webhook_path import CallRecorder, _item_size, deploy_stack
from tests.integration.conftest import FakeContext, Stack, body_of, call, drain

if TYPE_CHECKING:
    from infra.local.stack import DeployedStack
    from tests.integration.outreach import StreamTail

CONTACTS = 200
ZONE = "America/Los_Angeles"
PUBLIC_BASE_URL = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/Prod"
SEND_QUEUES = {"EmailQueue": "sender.email", "SmsQueue": "sender.sms"}
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem")
READS = ("GetItem", "Query", "BatchGetItem")
CALL_COLUMNS = (
    *("operation", "engine/run", "engine/msg"),
    *("email sender", "per email", "SMS sender", "per SMS"),
)
UNIT_COLUMNS = (
    *("item", "avg bytes", "engine WCU/run", "WCU/email", "WCU/SMS"),
    *("engine writes/run", "sender writes/email", "sender writes/SMS"),
)

SMS_TEMPLATE = {
    "template_id": "bench.welcome.sms",
    "channel": "sms",
    "locale": "en",
    "purpose": "marketing",
    "body": (
        "{{ tenant.name }}: thanks for subscribing, {{ contact.first_name | default('there') }}!"
        " New arrivals and offers are on the way.\nReply STOP to opt out"
    ),
}
FLOW = {
    "name": "Bench welcome (email + SMS)",
    "enabled": True,
    "trigger": {"event": "contact.subscribed"},
    "steps": [
        {
            "id": "welcome_email",
            "type": "send",
            "channel": "email",
            "template": "preset.welcome.email",
            "purpose": "marketing",
        },
        {
            "id": "welcome_sms",
            "type": "send",
            "channel": "sms",
            "template": SMS_TEMPLATE["template_id"],
            "purpose": "marketing",
        },
    ],
    "reentry": {"policy": "once"},
}


# ------------------------------------------------------------------ what the functions ask AWS


@dataclass
class Write:
    """One item written, with its images around the write (DynamoDB JSON, None: absent)."""

    phase: str
    kind: str  # Put, Update, Delete or ConditionCheck
    table: str
    key: dict[str, Any]
    transactional: bool
    request_item: dict[str, Any] | None  # a Put's item
    before: dict[str, Any] | None
    after: dict[str, Any] | None = None
    failed: bool = False


@dataclass
class TableShape:
    key: tuple[str, ...]
    # Per GSI: name, key attributes, projection type, projected non-key attributes.
    indexes: list[tuple[str, tuple[str, ...], str, tuple[str, ...]]]


class PhaseRecorder(CallRecorder):
    """AWS calls by phase, plus every item written with its images (for write units) and the
    item each read was for. Calls made outside a phase (the bench driving the queues) are not
    counted."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: Any = None  # a client outside the default session: its calls aren't recorded
        self.phase: str | None = None
        self.by_phase: dict[str, Counter[str]] = defaultdict(Counter)
        self.reads: dict[str, Counter[str]] = defaultdict(Counter)
        self.items_written: list[Write] = []
        self.overhead = 0.0  # seconds spent reading images: not the pipeline's time
        self._pending: list[Write] = []
        self._shapes: dict[str, TableShape] = {}

    @contextmanager
    def phase_of(self, name: str) -> Iterator[None]:
        previous, self.phase = self.phase, name
        try:
            yield
        finally:
            self.phase = previous

    def counted(self, handler: Callable[..., Any], name: str) -> Callable[..., Any]:
        def run(event: dict[str, Any], context: Any) -> Any:
            with self.phase_of(name):
                return handler(event, context)

        return run

    def record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if self.phase is None:
            return
        service, operation = model.service_model.service_name, model.name
        self.by_phase[self.phase][f"{service}.{operation}"] += 1
        if service != "dynamodb":
            return
        if operation in READS:
            self.reads[self.phase][_read_target(params)] += 1
        elif operation in WRITES:
            started = time.perf_counter()
            writes = _writes_in(self.phase, operation, params)
            self._pending = [self._with_before(w) for w in writes]
            self.overhead += time.perf_counter() - started

    def written(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if not self._pending or model.name not in WRITES:
            return
        started = time.perf_counter()
        failed = "Error" in parsed
        for write in self._pending:
            write.failed = failed
            write.after = write.before if failed else self._image(write.table, write.key)
            self.items_written.append(write)
        self._pending = []
        self.overhead += time.perf_counter() - started

    def shape(self, table: str) -> TableShape:
        if table not in self._shapes:
            described = self.raw.describe_table(TableName=table)["Table"]
            self._shapes[table] = TableShape(
                key=tuple(k["AttributeName"] for k in described["KeySchema"]),
                indexes=[
                    (
                        index["IndexName"],
                        tuple(k["AttributeName"] for k in index["KeySchema"]),
                        index["Projection"]["ProjectionType"],
                        tuple(index["Projection"].get("NonKeyAttributes", ())),
                    )
                    for index in described.get("GlobalSecondaryIndexes", [])
                ],
            )
        return self._shapes[table]

    def _with_before(self, write: Write) -> Write:
        if not write.key and write.request_item is not None:
            write.key = {k: write.request_item[k] for k in self.shape(write.table).key}
        write.before = self._image(write.table, write.key)
        return write

    def _image(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        got: dict[str, Any] | None = self.raw.get_item(
            TableName=table, Key=key, ConsistentRead=True
        ).get("Item")
        return got


def _writes_in(phase: str, operation: str, params: dict[str, Any]) -> Iterator[Write]:
    params = copy.deepcopy(params)
    if operation == "TransactWriteItems":
        for entry in params["TransactItems"]:
            ((kind, request),) = entry.items()
            yield _write(phase, kind, request, transactional=True)
    elif operation == "BatchWriteItem":
        for table, requests in params["RequestItems"].items():
            for entry in requests:
                ((kind, request),) = entry.items()
                yield _write(
                    phase, kind.removesuffix("Request"), {"TableName": table, **request}, False
                )
    else:
        yield _write(phase, operation.removesuffix("Item"), params, transactional=False)


def _write(phase: str, kind: str, request: dict[str, Any], transactional: bool) -> Write:
    return Write(
        phase=phase,
        kind=kind,
        table=request["TableName"],
        key=dict(request.get("Key") or {}),
        transactional=transactional,
        request_item=request.get("Item"),
        before=None,
    )


def _read_target(params: dict[str, Any]) -> str:
    batch = [key for r in params.get("RequestItems", {}).values() for key in r.get("Keys", [])]
    if batch:
        return "batch get " + item_kind(batch[0]["pk"]["S"], batch[0].get("sk", {}).get("S"))
    if "Key" in params:
        return "get " + item_kind(params["Key"]["pk"]["S"], params["Key"].get("sk", {}).get("S"))
    pk = params.get("ExpressionAttributeValues", {}).get(":pk", {}).get("S", "?")
    index = params.get("IndexName")
    return "query " + item_kind(pk, None) + (f" ({index})" if index else "")


def item_kind(pk: str, sk: str | None) -> str:
    """What a key is for, in the words of ``linkstar.store.keys``."""
    for prefix, name in (
        ("TIMER#", "timer"),
        ("PMSG#", "provider route"),
        ("INBOUND#", "inbound route"),
        ("SEGFLOWS", "segment flow registry"),
    ):
        if pk.startswith(prefix):
            return name
    parts = pk.split("#")
    if len(parts) == 2:  # T#<tenant>
        return {"TENANT": "tenant", "OUTREACH": "outreach settings"}.get(sk or "", f"tenant {sk}")
    kind = parts[2] if len(parts) > 2 else pk
    if kind == "CONTACT":
        if sk is None:
            return "contact partition"
        for prefix, name in (
            ("CONSENT#", "consent history"),
            ("CAP#", "frequency cap"),
            ("CONTACT", "contact"),
        ):
            if sk.startswith(prefix):
                return name
    if kind == "FLOW":
        if sk is None:
            return "flow partition"
        for prefix, name in (("STATS", "flow stats"), ("ENTRY#", "entry guard"), ("FLOW", "flow")):
            if sk.startswith(prefix):
                return name
    return {
        "EVT": "outbox event",
        "WATCH": "exit watch",
        "REP": "reputation day",
        "SUPP": "suppression",
        "TPL": "template",
        "TPLS": "templates index",
        "INBOX": "inbox",
        "CMSG": "contact's messages",
        "FMSG": "flow's messages",
        "FLOWS": "tenant's flows",
        "CONTACTS": "contacts index",
        "MSG": "message",
        "RUN": "flow run",
        "KEY": "api key",
        "CHECKOUT": "checkout",
        "ORDER": "order",
    }.get(kind, kind.lower())


# ------------------------------------------------------------------ write units


def _kb(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def write_units(write: Write, shape: TableShape) -> tuple[int, int]:
    """(table WCUs, GSI WCUs) of one item written; see the module docstring."""
    before = _item_size(write.before) if write.before else 0
    if write.kind == "Put" and write.request_item is not None:
        size = max(before, _item_size(write.request_item))
    elif write.kind == "Update":
        size = max(before, _item_size(write.after) if write.after else 0)
    else:  # Delete, ConditionCheck
        size = before
    table = _kb(size) * (2 if write.transactional else 1)
    index = 0
    for _name, keys, projection, extra in shape.indexes:
        old = _projected(write.before, keys, projection, extra, shape)
        new = _projected(write.after, keys, projection, extra, shape)
        if old == new:  # not in the index, or unchanged in it
            continue
        moved = old is not None and new is not None and any(old[k] != new[k] for k in keys)
        if old is not None and (new is None or moved):
            index += _kb(_item_size(old))
        if new is not None:
            index += _kb(_item_size(new))
    return table, index


def _projected(
    image: dict[str, Any] | None,
    keys: tuple[str, ...],
    projection: str,
    extra: tuple[str, ...],
    shape: TableShape,
) -> dict[str, Any] | None:
    if image is None or any(k not in image for k in keys):
        return None
    if projection == "ALL":
        return image
    kept = set(keys) | set(shape.key) | (set(extra) if projection == "INCLUDE" else set())
    return {k: v for k, v in image.items() if k in kept}


# ------------------------------------------------------------------ the run


@dataclass
class Result:
    contacts: int
    runs: int
    emails: int
    texts: int
    states: Counter[str]
    seconds: float
    instrumented: float
    calls: dict[str, Counter[str]]
    reads: dict[str, Counter[str]]
    units: dict[str, dict[str, list[int]]]  # phase -> item -> [table, gsi, writes, bytes]
    failed_writes: int


def contacts_body(count: int, offset: int = 0) -> dict[str, Any]:
    """``count`` contacts, numbered from ``offset`` (phone numbers are global routes: two
    tenants must not share them)."""
    return {
        "contacts": [
            {
                "email": f"bench.buyer{n}@example.com",
                "phone": f"+1 415 201 {n:04d}",
                "first_name": f"Buyer{n}",
                "country": "US",
                "region": "CA",
                "locale": "en-US",
                "time_zone": ZONE,
                "consent": {"email": "subscribed", "sms": "subscribed"},
            }
            for n in range(offset, offset + count)
        ]
    }


def publish(recorder: PhaseRecorder, stream: StreamTail) -> int:
    """The outbox stream's new INSERTs to the publisher, as its event source mapping would."""
    from functions.publisher.app import handler

    fresh = [r for r in stream.read() if r["eventName"] == "INSERT"]
    if fresh:
        recorder.counted(handler, "publisher")({"Records": fresh}, FakeContext())
    return len(fresh)


def run_pipeline(recorder: PhaseRecorder, stack: Stack, stream: StreamTail) -> None:
    from functions.feedback.app import handler as feedback
    from functions.flows.app import handler as flows
    from functions.senders.app import handler as senders

    for _ in range(30):
        moved = publish(recorder, stream)
        moved += len(drain(stack, "FlowQueue", recorder.counted(flows, "engine")))
        for queue, phase in SEND_QUEUES.items():
            moved += len(drain(stack, queue, recorder.counted(senders, phase)))
        moved += len(drain(stack, "FeedbackQueue", recorder.counted(feedback, "feedback")))
        if not moved:
            return
    raise RuntimeError("the pipeline did not go idle")


def message_states(tenant_id: str) -> tuple[Counter[str], int]:
    from linkstar.store import outreach as repo

    states: Counter[str] = Counter()
    flow_ids = [f["flow_id"] for f in repo.list_flows(tenant_id)]
    for flow_id in flow_ids:
        token = None
        while True:
            page, token = repo.messages_of_flow(tenant_id, flow_id, 100, token)
            states.update(f"{m.channel} {m.state}" for m in page)
            if not token:
                break
    runs = sum(int(repo.flow_stats(tenant_id, f).get("entered", 0)) for f in flow_ids)
    return states, runs


@contextmanager
def instrumented_stack(
    recorder: PhaseRecorder, hooks: dict[str, Callable[..., Any]] | None = None
) -> Iterator[tuple[DeployedStack, str]]:
    """The stack deployed into moto, every client created from then on reporting its DynamoDB
    writes (and the events of ``hooks``) to ``recorder``; ``recorder.raw`` is an unhooked client.
    Yields the deployed stack and its admin token."""
    import boto3
    from moto import mock_aws

    from infra.local import moto_fixes
    from tests import moto_outbox

    moto_fixes.install()
    moto_outbox.install()
    with mock_aws():
        deployed, admin_token = deploy_stack(recorder, {"PUBLIC_BASE_URL": PUBLIC_BASE_URL})
        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        for event, handler in {"after-call.dynamodb": recorder.written, **(hooks or {})}.items():
            events.register(event, handler)
        from linkstar import aws

        aws.reset_clients()  # every client from here on carries the hooks
        recorder.raw = boto3.session.Session().client("dynamodb", region_name="us-east-1")
        yield deployed, admin_token


def measure() -> Result:
    from tests import moto_outbox
    from tests.integration.outreach import pipeline

    recorder = PhaseRecorder()
    with instrumented_stack(recorder) as (deployed, admin_token):
        from chalice.test import Client
        from linkstar.outreach import presets

        from functions.api.app import app

        with Client(app) as client:
            stack = Stack(deployed, admin_token, client.http)
            tenant = body_of(call(stack, "POST", "/tenants", admin_token, {"name": "Bench Goods"}))
            key = tenant["api_key"]
            # The welcome preset's email copy (en and zh-CN), without its flow, and an SMS.
            for template in [*presets.PRESETS["welcome"].templates(), SMS_TEMPLATE]:
                if template["template_id"] in ("preset.welcome.email", SMS_TEMPLATE["template_id"]):
                    answer = call(stack, "POST", "/templates", key, template)
                    assert answer.status_code == 200, answer.body
            answer = call(stack, "POST", "/flows", key, FLOW)
            assert answer.status_code == 200, answer.body
            emails_before = len(moto_outbox.sent_emails())
            texts_before = len(moto_outbox.sent_sms())

            with pipeline(stack) as (flow, _clock):
                started, overhead = time.perf_counter(), recorder.overhead
                with recorder.phase_of("api.contacts"):
                    answer = call(stack, "POST", "/contacts", key, contacts_body(CONTACTS))
                assert answer.status_code == 200, answer.body
                assert body_of(answer)["created"] == CONTACTS, answer.body
                run_pipeline(recorder, stack, flow.stream)
                elapsed = time.perf_counter() - started
                instrumented = recorder.overhead - overhead
            states, runs = message_states(tenant["tenant_id"])

        units: dict[str, dict[str, list[int]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0, 0, 0])
        )
        names = {physical: logical for logical, physical in deployed.resources.items()}
        for write in recorder.items_written:
            table, index = write_units(write, recorder.shape(write.table))
            pk = write.key.get("pk", {}).get("S")
            sk = write.key.get("sk", {}).get("S")
            what = item_kind(pk, sk) if pk else names.get(write.table, write.table)
            image = write.after or write.request_item or write.before or {}
            if what == "message":  # one row per channel: their sizes differ
                what += f" ({json.loads(image['doc']['S'])['channel']})"
            tally = units[write.phase][what]
            tally[0] += table
            tally[1] += index
            tally[2] += 1
            tally[3] += _item_size(image)
        return Result(
            contacts=CONTACTS,
            runs=runs,
            emails=len(moto_outbox.sent_emails()) - emails_before,
            texts=len(moto_outbox.sent_sms()) - texts_before,
            states=states,
            seconds=elapsed - instrumented,
            instrumented=instrumented,
            calls=dict(recorder.by_phase),
            reads=dict(recorder.reads),
            units=dict(units),
            failed_writes=sum(w.failed for w in recorder.items_written),
        )


# ------------------------------------------------------------------ the report


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    cells = [header, *[tuple(_cell(v) for v in row) for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for n, row in enumerate(cells):
        print(
            "  "
            + "  ".join(
                v.ljust(widths[i]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(row)
            )
        )
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if value == 0 else f"{value:.2f}"
    return str(value)


def report(r: Result) -> None:
    messages = r.emails + r.texts
    print("Outreach pipeline (moto in-process, not AWS)")
    print(
        f"  {r.contacts} contacts (email + SMS marketing consent, {ZONE}, US-CA, +1 415) via one"
        " POST /contacts; flow from POST /flows: on contact.subscribed send a marketing email,"
        " then a marketing SMS"
    )
    print(
        "  clock pinned at 2026-11-20 18:05 UTC = 10:05 local: inside TCPA/CA hours, no quiet"
        " hours hold, first send per contact so no frequency cap"
    )
    print(
        f"  runs entered {r.runs}; emails sent {r.emails}; SMS sent {r.texts}; message states"
        f" {dict(sorted(r.states.items()))}; failed writes {r.failed_writes}"
    )
    print(
        f"  sends per second, whole run from POST /contacts to idle: "
        f"{messages / r.seconds:.1f}  ({messages} sends in {r.seconds:.1f} s of in-process moto;"
        f" {r.instrumented:.1f} s of the bench's image reads excluded)"
    )
    calls_table(r)
    reads_table(r)
    units_table(r)
    upstream(r)


def calls_table(r: Result) -> None:
    print("\nAWS calls per message (engine: per run and its share per message built, 1/2 run)")
    built = max(r.runs * 2, 1)  # the engine builds one email and one SMS per run
    engine = r.calls.get("engine", Counter())
    email = r.calls.get("sender.email", Counter())
    sms = r.calls.get("sender.sms", Counter())
    rows: list[tuple[Any, ...]] = []
    for op in sorted(set(engine) | set(email) | set(sms)):
        share = engine[op] / built
        per_email = email[op] / max(r.emails, 1)
        per_sms = sms[op] / max(r.texts, 1)
        runs = engine[op] / max(r.runs, 1)
        rows.append((op, runs, share, per_email, share + per_email, per_sms, share + per_sms))
    rows.append(("total", *(sum(row[i] for row in rows) for i in range(1, 7))))
    _table(CALL_COLUMNS, rows)


def reads_table(r: Result) -> None:
    print("\nDynamoDB reads per message, by item (GetItem/Query)")
    engine = r.reads.get("engine", Counter())
    email = r.reads.get("sender.email", Counter())
    sms = r.reads.get("sender.sms", Counter())
    rows: list[tuple[Any, ...]] = [
        (
            target,
            engine[target] / max(r.runs, 1),
            email[target] / max(r.emails, 1),
            sms[target] / max(r.texts, 1),
        )
        for target in sorted(set(engine) | set(email) | set(sms))
    ]
    _table(("item read", "engine/run", "email sender/email", "SMS sender/SMS"), rows)


def units_table(r: Result) -> None:
    print("\nDynamoDB write units per message (table WCU + GSI WCU; transactions count 2x)")
    phases = ("engine", "sender.email", "sender.sms")
    found = {p: r.units.get(p, {}) for p in phases}
    empty = [0, 0, 0, 0]
    rows: list[tuple[Any, ...]] = []
    for item in sorted({i for by_item in found.values() for i in by_item}):
        engine, email, sms = (found[p].get(item, empty) for p in phases)
        # The engine's writes of one channel's message are that channel's; the rest (run, stats,
        # entry guard) is shared evenly by the run's two messages.
        to_email = 1.0 if item.endswith("(email)") else 0.0 if item.endswith("(sms)") else 0.5
        per_run = (engine[0] + engine[1]) / max(r.runs, 1)
        writes = engine[2] + email[2] + sms[2]
        rows.append(
            (
                item,
                (engine[3] + email[3] + sms[3]) // max(writes, 1),
                per_run,
                per_run * to_email + (email[0] + email[1]) / max(r.emails, 1),
                per_run * (1 - to_email) + (sms[0] + sms[1]) / max(r.texts, 1),
                engine[2] / max(r.runs, 1),
                email[2] / max(r.emails, 1),
                sms[2] / max(r.texts, 1),
            )
        )
    rows.sort(key=lambda row: -(row[3] + row[4]))
    rows.append(("total", "", *(sum(row[i] for row in rows) for i in range(2, 8))))
    _table(UNIT_COLUMNS, rows)
    gsi = {
        p: sum(t[1] for t in by_item.values()) / max(sum(t[0] + t[1] for t in by_item.values()), 1)
        for p, by_item in found.items()
    }
    print("  GSI share of write units: " + ", ".join(f"{p} {v:.0%}" for p, v in gsi.items()))


def upstream(r: Result) -> None:
    print("\nPer contact, outside the per-message figures (feedback only if anything came back)")
    for phase in ("api.contacts", "publisher", "feedback"):
        if phase == "feedback" and phase not in r.calls:
            continue
        calls = r.calls.get(phase, Counter())
        wcu = sum(t[0] + t[1] for t in r.units.get(phase, {}).values())
        print(
            f"  {phase:13} AWS calls {sum(calls.values()) / r.contacts:.2f}"
            f"  {dict(sorted((k, round(v / r.contacts, 2)) for k, v in calls.items()))}"
            f"  WCU {wcu / r.contacts:.2f}"
        )


def main() -> None:
    report(measure())


if __name__ == "__main__":
    main()
