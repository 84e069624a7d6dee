"""Measure what usage metering (issue 5) adds to a send: AWS calls and DynamoDB write units per
email and per SMS, the read the alert check makes after each send, usage records per second
through the metered pipeline, the counter shards a month's sends spread over, and whether the
month reconciles afterwards.

Two tenants on one stack (template.yaml in moto, in-process, on the pinned clock of
``tests.integration.outreach.pipeline``), each with ``CONTACTS`` contacts and the flow of
``bench.outreach`` (a marketing email, then a marketing SMS, on ``contact.subscribed``):

- **metered**: a plan put through ``PUT /plan`` (base fee, 10,000 emails included, an SMS rate
  card, a spend limit with a billing contact); every send is metered as in production.
- **metering off**: the same flow and contacts (same sizes: tenant names of equal length), with
  ``linkstar.billing.service.meter`` answering "bill nothing, stamp nothing" and the alert check
  after the send skipped, for this tenant only. This is the baseline, not a plan-less tenant: a
  tenant without a plan is still metered, on the starter plan.

Metering's cost is shown two ways. By item: the writes whose key is a billing item (the usage
record, ``T#<t>#UREC#…``, and a counter shard, ``T#<t>#USAGE#…``) and the reads of the month's
counters (``#USAGE#``) and plan versions (``#PLAN``). By difference: the metered run against
the metering-off run, which also catches what the item view can't see (the billing stamp the
message item carries from its claim on, which can move the item over a KB boundary).

Calls and write units are counted with ``bench.outreach``'s recorder and rules (transactional
writes 2 WCU per started KB of the larger image; GSI writes on projection change). A query's
read units are worked out as DynamoDB bills them: the returned items' sizes summed, rounded up
to 4 KB, once for a strongly consistent read. Counts and ratios, not wall-clock promises.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench.outreach import (
    FLOW,
    SMS_TEMPLATE,
    PhaseRecorder,
    _table,
    contacts_body,
    instrumented_stack,
    message_states,
    run_pipeline,
    write_units,
)
from bench.webhook_path import _item_size
from tests.integration.conftest import Stack, body_of, call

CONTACTS = 40  # per tenant: 80 emails and 80 SMS in all, ~40 s with the bench's image reads
MONTH = "2026-11"  # the pinned clock's month (tests.integration.outreach.START)
PHASES = {"email": "sender.email", "sms": "sender.sms"}
BILLING_WRITES = {"#UREC#": "usage record", "#USAGE#": "counter shard"}
BILLING_READS = ("usage", "plan")  # bench.outreach.item_kind of T#<t>#USAGE#<m>, T#<t>#PLAN
PLAN: dict[str, Any] = {
    "plan_id": "bench-growth",
    "currency": "USD",
    "effective_from": f"{MONTH}-01",
    "base_fee": "49.00",
    "channels": {
        "email": {
            "included_units": 10_000,
            "model": "graduated",
            "tiers": [
                {"up_to": 100_000, "per_thousand": "1.00"},
                {"up_to": None, "per_thousand": "0.80"},
            ],
        },
        "sms": {
            "included_units": 0,
            "model": "rate_card",
            "rates": [
                {"country": "US", "unit_price": "0.0079", "provider_cost": "0.0059"},
                {"country": "CA", "unit_price": "0.0079", "provider_cost": "0.0060"},
                {"country": "GB", "unit_price": "0.0400", "provider_cost": "0.0340"},
            ],
        },
    },
    "spend_limit": "500.00",
    "alert_emails": ["billing@bench.example"],
}


# ------------------------------------------------------------------ what is recorded


class BillingRecorder(PhaseRecorder):
    """``bench.outreach``'s recorder, plus the size of what each counted query of a month's
    usage counters returned (the alert check's read)."""

    def __init__(self) -> None:
        super().__init__()
        self.usage_reads: list[tuple[str, int, int]] = []  # phase, items, bytes
        self._usage_query: str | None = None

    def record(self, model: Any, params: dict[str, Any], **kwargs: Any) -> None:
        super().record(model, params, **kwargs)
        pk = params.get("ExpressionAttributeValues", {}).get(":pk", {}).get("S", "")
        if model.name == "BatchGetItem":
            wanted = [
                key["pk"]["S"]
                for request in params.get("RequestItems", {}).values()
                for key in request.get("Keys", [])
            ]
            pk = wanted[0] if wanted else ""
        reads = model.name in ("Query", "BatchGetItem")
        counted = self.phase is not None and reads and "#USAGE#" in pk
        self._usage_query = self.phase if counted else None

    def answered(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if self._usage_query is None or model.name not in ("Query", "BatchGetItem"):
            return
        items = parsed.get("Items", [])
        if model.name == "BatchGetItem":
            items = [i for found in parsed.get("Responses", {}).values() for i in found]
        self.usage_reads.append(
            (self._usage_query, len(items), sum(_item_size(item) for item in items))
        )
        self._usage_query = None

    def clear(self) -> None:
        self.by_phase.clear()
        self.reads.clear()
        self.items_written.clear()
        self.usage_reads.clear()


def _billing_item(pk: str) -> str | None:
    return next((name for marker, name in BILLING_WRITES.items() if marker in pk), None)


# ------------------------------------------------------------------ the runs


@dataclass
class Run:
    label: str
    tenant_id: str
    runs: int
    sent: Counter[str]  # channel -> messages sent
    states: Counter[str]
    seconds: float
    calls: dict[str, Counter[str]]  # phase -> operation -> calls
    billing_calls: dict[str, int]  # phase -> calls reading billing items
    wcu: dict[str, int]  # phase -> write units (table + GSI)
    billing_wcu: dict[str, dict[str, int]]  # phase -> billing item -> write units
    billing_writes: dict[str, dict[str, int]]  # phase -> billing item -> items written
    message_bytes: dict[str, int]  # channel -> average message item size as the sender wrote it
    message_wcu: dict[str, int]  # channel -> the sender's write units on message items
    usage_reads: list[tuple[str, int, int]]
    records: int
    record_shards: Counter[int] = field(default_factory=Counter)
    failed_writes: int = 0


@contextmanager
def metering_off(tenant_id: str) -> Iterator[None]:
    """For ``tenant_id`` only: nothing metered, no billing stamp, no alert check."""
    from unittest import mock

    from linkstar.billing import service

    class Unmetered(service.Metered):
        @property
        def stamp(self) -> Any:
            return None

        def record_ops(self, message: Any) -> list[Any]:
            return []

    real_meter, real_after = service.meter, service.after_send

    def meter(message: Any, contact: Any, now: Any, *args: Any, **kwargs: Any) -> Any:
        if message.tenant_id == tenant_id:
            return Unmetered(service.month_of(now), [])
        return real_meter(message, contact, now, *args, **kwargs)

    def after_send(tid: str, now: Any) -> None:
        if tid != tenant_id:
            real_after(tid, now)

    with (
        mock.patch.object(service, "meter", meter),
        mock.patch.object(service, "after_send", after_send),
    ):
        yield


def setup_tenant(stack: Stack, name: str) -> tuple[str, str]:
    from linkstar.outreach import presets

    tenant = body_of(call(stack, "POST", "/tenants", stack.admin_token, {"name": name}))
    key = tenant["api_key"]
    for template in [*presets.PRESETS["welcome"].templates(), SMS_TEMPLATE]:
        if template["template_id"] in ("preset.welcome.email", SMS_TEMPLATE["template_id"]):
            answer = call(stack, "POST", "/templates", key, template)
            assert answer.status_code == 200, answer.body
    answer = call(stack, "POST", "/flows", key, FLOW)
    assert answer.status_code == 200, answer.body
    return tenant["tenant_id"], key


def run_tenant(
    recorder: BillingRecorder, stack: Stack, label: str, tenant_id: str, key: str, offset: int
) -> Run:
    from tests.integration.outreach import pipeline

    recorder.clear()
    with pipeline(stack) as (flow, _clock):
        if label == "metered":
            answer = call(stack, "PUT", "/plan", key, PLAN)
            assert answer.status_code == 200, answer.body
        started, overhead = time.perf_counter(), recorder.overhead
        with recorder.phase_of("api.contacts"):
            answer = call(stack, "POST", "/contacts", key, contacts_body(CONTACTS, offset))
        assert answer.status_code == 200, answer.body
        run_pipeline(recorder, stack, flow.stream)
        seconds = time.perf_counter() - started - (recorder.overhead - overhead)
    states, runs = message_states(tenant_id)
    sent = Counter({ch: states[f"{ch} sent"] for ch in PHASES})

    wcu: Counter[str] = Counter()
    billing_wcu: dict[str, Counter[str]] = {p: Counter() for p in PHASES.values()}
    billing_writes: dict[str, Counter[str]] = {p: Counter() for p in PHASES.values()}
    message_sizes: dict[str, list[int]] = {"email": [], "sms": []}
    message_wcu: Counter[str] = Counter()
    shards: Counter[int] = Counter()
    records = 0
    for write in recorder.items_written:
        table, index = write_units(write, recorder.shape(write.table))
        wcu[write.phase] += table + index
        pk = write.key.get("pk", {}).get("S", "")
        what = _billing_item(pk)
        if what is not None and write.phase in billing_wcu:
            billing_wcu[write.phase][what] += table + index
            billing_writes[write.phase][what] += 1
            if what == "usage record" and not write.failed:
                records += 1
                shards[int(pk.rsplit("#", 1)[1])] += 1
        image = write.after or write.request_item
        if write.phase in PHASES.values() and image and "#MSG#" in pk and "doc" in image:
            channel = json.loads(image["doc"]["S"])["channel"]
            message_sizes.setdefault(channel, []).append(_item_size(image))
            message_wcu[channel] += table + index
    billing_calls = {
        phase: sum(
            n
            for target, n in reads.items()
            if target.removeprefix("batch ").split(" ", 1)[1] in BILLING_READS
        )
        for phase, reads in recorder.reads.items()
    }
    return Run(
        label=label,
        tenant_id=tenant_id,
        runs=runs,
        sent=sent,
        states=states,
        seconds=seconds,
        calls={p: Counter(c) for p, c in recorder.by_phase.items()},
        billing_calls=billing_calls,
        wcu=dict(wcu),
        billing_wcu={p: dict(c) for p, c in billing_wcu.items()},
        billing_writes={p: dict(c) for p, c in billing_writes.items()},
        message_bytes={ch: sum(s) // max(len(s), 1) for ch, s in message_sizes.items()},
        message_wcu=dict(message_wcu),
        usage_reads=list(recorder.usage_reads),
        records=records,
        record_shards=shards,
        failed_writes=sum(w.failed for w in recorder.items_written),
    )


@dataclass
class Result:
    metered: Run
    unmetered: Run
    reconcile: dict[str, Any]
    counter_shards: dict[int, int]  # shard -> units, as the counters hold them after the run
    counter_bytes: list[int]  # each counter shard item's size after the run


def measure() -> Result:
    recorder = BillingRecorder()
    hooks = {
        "after-call.dynamodb.Query": recorder.answered,
        "after-call.dynamodb.BatchGetItem": recorder.answered,
    }
    with instrumented_stack(recorder, hooks) as (deployed, admin_token):
        from chalice.test import Client

        from functions.api.app import app

        with Client(app) as client:
            stack = Stack(deployed, admin_token, client.http)
            # Tenant names of one length: the messages (which name the tenant) are the same size.
            metered_id, metered_key = setup_tenant(stack, "Bench Goods M")
            plain_id, plain_key = setup_tenant(stack, "Bench Goods U")
            metered = run_tenant(recorder, stack, "metered", metered_id, metered_key, 0)
            with metering_off(plain_id):
                unmetered = run_tenant(
                    recorder, stack, "metering off", plain_id, plain_key, CONTACTS
                )
            path = f"/admin/billing/reconcile?tenant_id={metered_id}&month={MONTH}"
            answer = call(stack, "GET", path, admin_token)
            assert answer.status_code == 200, answer.body
            reconcile = body_of(answer)

        from linkstar.store import billing as store
        from linkstar.store import keys

        counter_shards: dict[int, int] = {}
        counter_bytes: list[int] = []
        table = deployed.resources["AppTable"]
        for shard in range(keys.USAGE_SHARDS):
            found = recorder.raw.get_item(
                TableName=table,
                Key={k: {"S": v} for k, v in keys.usage_counter(metered_id, MONTH, shard).items()},
                ConsistentRead=True,
            ).get("Item")
            if not found:
                continue
            counter_bytes.append(_item_size(found))
            counter_shards[shard] = sum(
                int(value["N"])
                for name, value in found.items()
                if name.startswith(store.COUNTER_PREFIX)
            )
        return Result(metered, unmetered, reconcile, counter_shards, counter_bytes)


# ------------------------------------------------------------------ the report


def _per(n: float, d: int) -> float:
    return n / max(d, 1)


def _engine_share(run: Run) -> tuple[float, float]:
    """The engine's calls and write units per message built (it builds two per run)."""
    built = max(run.runs * 2, 1)
    return sum(run.calls.get("engine", Counter()).values()) / built, run.wcu.get(
        "engine", 0
    ) / built


def calls_per_message(run: Run, channel: str) -> float:
    engine_calls, _ = _engine_share(run)
    phase = PHASES[channel]
    return engine_calls + _per(sum(run.calls.get(phase, Counter()).values()), run.sent[channel])


def wcu_per_message(run: Run, channel: str) -> float:
    _, engine_wcu = _engine_share(run)
    return engine_wcu + _per(run.wcu.get(PHASES[channel], 0), run.sent[channel])


def report(r: Result) -> None:
    m, u = r.metered, r.unmetered
    print("Usage metering (moto in-process, not AWS)")
    print(
        f"  {CONTACTS} contacts per tenant (US, +1 415), bench.outreach's flow: a marketing email"
        " then a 1-segment marketing SMS each; clock pinned at 2026-11-20 18:05 UTC"
    )
    for run in (m, u):
        print(
            f"  {run.label:<12} tenant {run.tenant_id}: runs {run.runs}, sent"
            f" {dict(run.sent)}, states {dict(sorted(run.states.items()))},"
            f" failed writes {run.failed_writes}"
        )
    print(
        "  baseline: the same pipeline with billing.service.meter stubbed to bill and stamp"
        " nothing and the after-send alert check skipped (a plan-less tenant is still metered,"
        " on the starter plan)"
    )

    print("\nAWS calls per message (sender, plus the engine's share: its calls / 2 per run)")
    rows: list[tuple[Any, ...]] = []
    for channel in PHASES:
        phase = PHASES[channel]
        own = _per(m.billing_calls.get(phase, 0), m.sent[channel])
        with_m, without = calls_per_message(m, channel), calls_per_message(u, channel)
        rows.append((channel, with_m, own, with_m - own, without, with_m - without))
    _table(
        (
            "channel",
            "metered",
            "billing reads",
            "metered - billing reads",
            "metering off",
            "metered - off",
        ),
        rows,
    )
    print(
        "  billing reads: the alert check's query of the month's counters after each send"
        " (1 per send) and the plan versions (once per tenant per 30 s cache per process);"
        " the usage record and counter add no call: they ride in the claim's TransactWriteItems"
    )

    print("\nDynamoDB write units per message (table + GSI; transactional writes 2 WCU per KB)")
    rows = []
    for channel in PHASES:
        phase = PHASES[channel]
        items = m.billing_wcu.get(phase, {})
        written = m.billing_writes.get(phase, {})
        record = _per(items.get("usage record", 0), m.sent[channel])
        counter = _per(items.get("counter shard", 0), m.sent[channel])
        with_m, without = wcu_per_message(m, channel), wcu_per_message(u, channel)
        rows.append(
            (
                channel,
                with_m,
                record,
                counter,
                f"{_per(written.get('usage record', 0), m.sent[channel]):.2f}"
                f"/{_per(written.get('counter shard', 0), m.sent[channel]):.2f}",
                without,
                with_m - without,
                f"{u.message_bytes.get(channel, 0)} -> {m.message_bytes.get(channel, 0)}",
                f"{_per(u.message_wcu.get(channel, 0), u.sent[channel]):.2f} -> "
                f"{_per(m.message_wcu.get(channel, 0), m.sent[channel]):.2f}",
            )
        )
    _table(
        (
            "channel",
            "metered",
            "usage record",
            "counter",
            "writes rec/ctr",
            "metering off",
            "metered - off",
            "message bytes off -> on",
            "message WCU off -> on",
        ),
        rows,
    )
    print(
        "  metered - off, beyond record + counter: the billing stamp ({month, lines}) the message"
        " item carries from its claim on, in both of the sender's writes of it (claim, sent);"
        " message bytes and WCU are the sender's writes of the message item, per message"
    )

    reads = [(items, size) for phase, items, size in m.usage_reads if phase in PHASES.values()]
    if reads:
        sends = sum(m.sent.values())
        read_items = sum(i for i, _ in reads)
        print(
            f"\nAlert check after each send: {len(reads)} strongly consistent reads for {sends}"
            f" sends (a BatchGetItem of the month's 10 counter shards and a Query of its fired"
            f" alerts per check); items per send {read_items / max(sends, 1):.1f},"
            f" bytes per send {sum(s for _, s in reads) / max(sends, 1):.0f};"
            f" RCU per send ~{read_items / max(sends, 1):.1f} (each item under 4 KB is 1 RCU; at"
            " on-demand prices about $0.0000025 a send, against $0.0079 for a US SMS segment)"
        )

    print("\nThroughput (in-process moto, whole run from POST /contacts to idle)")
    for run in (m, u):
        sends = sum(run.sent.values())
        line = f"  {run.label:<12} sends/s {_per(sends, 1) / run.seconds:6.1f}"
        if run is m:
            line += f"   usage records/s {run.records / run.seconds:6.1f}  ({run.records} records)"
        print(line + f"  ({sends} sends in {run.seconds:.1f} s, the bench's image reads excluded)")
    ratio = (sum(m.sent.values()) / m.seconds) / (sum(u.sent.values()) / u.seconds)
    print(f"  metered / metering-off sends per second: {ratio:.2f}")

    print(
        "\nCounter shards after the run (10 per tenant-month, chosen by a hash of the message id)"
    )
    shards = r.counter_shards
    units = sorted(shards.values())
    n = sum(m.sent.values())
    expected = 10 * (1 - 0.9**n)
    print(
        f"  {n} metered sends wrote to {len(shards)} of 10 shards (expected {expected:.1f} for"
        f" a uniform hash); units per shard min {units[0] if units else 0}"
        f" max {units[-1] if units else 0}; usage records per shard"
        f" {dict(sorted(m.record_shards.items()))}"
    )
    if r.counter_bytes:
        print(
            f"  counter shard item size {min(r.counter_bytes)}-{max(r.counter_bytes)} bytes"
            " (each (channel, country, category, kind) line is one attribute; the ADD is billed"
            " on the whole item, 2 WCU per KB in the transaction)"
        )

    rec = r.reconcile
    verdict = "ok" if rec["ok"] else "DIFFERENCES"
    print(
        f"\nReconcile {rec['tenant_id']} {rec['month']}: {verdict}  (records {rec['records']},"
        f" messages {rec['messages']}, units {rec['units']}, differences"
        f" {len(rec['differences'])}, recorded-not-billed"
        f" {len(rec['recorded_but_not_billed'])}, billed-not-recorded"
        f" {len(rec['billed_but_not_recorded'])})"
    )
    if not rec["ok"]:
        raise SystemExit("reconcile found differences: " + json.dumps(rec["differences"]))


def main() -> None:
    report(measure())


if __name__ == "__main__":
    main()
