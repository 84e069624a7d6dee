"""Measure ``GET /funnel`` and ``GET /costs`` (issue 7): DynamoDB calls, items read and read
units per call at 1k, 10k and 100k orders, to show that what they read is bounded by days x
stores x markets (and SKUs, for ``by=sku``), never by the number of orders.

Same stack, tenants, stores, synthetic orders and ad facts as ``bench.kpis`` (whose module
docstring says how they are made and why they are not sent through webhooks). On top of the
daily aggregates each size gets the cost ledger ingest would leave: the tenant's cost model is
saved through ``PUT /cost-model``, and every order is costed with ingest's own
``linkstar.costs.ledger.compute`` (the profit engine; no FX rates are needed: the orders are in
the reporting currency) and its contributions summed and written with the ledger's own ADD
operations. The recost that ``PUT /cost-model`` queues is left unprocessed: the sums written are
already what it would produce.

Counted per call (the median of the warm calls; the bench's own writes are not): DynamoDB calls,
items read (a query's ``ScannedCount``), KB and read units as ``bench.kpis`` bills them, and the
endpoint's own ``reads``. Wall time is printed, never asserted.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bench.kpis import (
    NOW,
    PERIOD,
    STORES,
    ReadRecorder,
    ad_facts,
    aggregate_deltas,
    synthetic_orders,
    write_aggregates,
)
from bench.outreach import _table
from bench.webhook_path import deploy_stack
from tests.integration.conftest import Stack, body_of, call

SIZES = (1_000, 10_000, 100_000)
REPEATS = 4
MODEL = {
    "reporting_currency": "USD",
    "commission": [{"platform": "shopify", "rate": "0.02"}],
    "payment_fees": [{"platform": "shopify", "rate": "0.029", "fixed": "0.30",
                      "fixed_currency": "USD"}],
    "logistics": [{"market": "US", "currency": "USD", "brackets": [{"price": "6.50"}]},
                  {"market": "CA", "currency": "USD", "brackets": [{"price": "11.00"}]}],
    "ads": {"rule": "by_revenue_share", "within": "market"},
    "taxes": [{"country": "US", "rate": "0", "prices_include_tax": False},
              {"country": "CA", "rate": "0", "prices_include_tax": False}],
    "duties": [{"country": "US", "rate": "0", "de_minimis": "800", "currency": "USD"},
               {"country": "CA", "rate": "0.065", "de_minimis": "150", "currency": "USD"}],
    "returns": [{"cost_per_return": "7.50", "currency": "USD", "write_off_rate": "0.3"}],
    "fx": [{"spread": "0"}],
}  # fmt: skip
ENDPOINTS = (
    f"/funnel?period={PERIOD}&by=market",
    f"/costs?period={PERIOD}&by=market",
    f"/costs?period={PERIOD}&by=sku",
)


@dataclass
class Measured:
    seconds: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    items: list[int] = field(default_factory=list)
    kb: list[float] = field(default_factory=list)
    units: list[float] = field(default_factory=list)
    own_reads: int = 0
    answer: dict[str, Any] = field(default_factory=dict)

    def median(self, values: list[Any]) -> Any:
        return statistics.median(values[1:])  # the first call is the cold one


@dataclass
class Size:
    orders: int
    ledger_items: int = 0
    costed: int = 0
    seconds_costing: float = 0.0
    by_endpoint: dict[str, Measured] = field(default_factory=dict)


def write_ledger(tenant_id: str, states: list[Any], store_ids: dict[str, str]) -> tuple[int, int]:
    """Cost every order as ingest does and write the summed contributions."""
    from linkstar import memo
    from linkstar.costs import ledger
    from linkstar.store import dynamo

    sums: dict[ledger.Key, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    costed = 0
    # As one long ingest batch: the model and each day's FX rates (none: the orders are in the
    # reporting currency) are read once, not per order.
    with memo.scope():
        inputs = ledger.load_inputs(tenant_id)
        for state in states:
            state = state.model_copy(update={"store_id": store_ids[state.store_id]})
            contrib, status = ledger.compute(tenant_id, state, inputs)
            costed += status == "costed"
            for key, fields in contrib.items():
                for name, value in fields.items():
                    sums[key][name] += value
    ops = [ledger._add_op(tenant_id, key, dict(fields)) for key, fields in sums.items()]
    for at in range(0, len(ops), 100):
        dynamo.transact(ops[at : at + 100])
    return len(ops), costed


def setup_size(stack: Stack, n: int) -> tuple[Size, str]:
    tenant = body_of(call(stack, "POST", "/tenants", stack.admin_token, {"name": f"Costs {n}"}))
    key = tenant["api_key"]
    store_ids = {}
    for shop in STORES:
        created = call(stack, "POST", "/stores", key, {
            "platform": "shopify", "external_id": f"{shop}-c{n}.myshopify.com", "market": "US",
            "webhook_secret": f"bench-secret-{shop}",
        })  # fmt: skip
        assert created.status_code == 201, created.body
        store_ids[shop] = body_of(created)["store_id"]
    states = synthetic_orders(n, seed=n)
    deltas = aggregate_deltas(states, store_ids)
    write_aggregates(tenant["tenant_id"], deltas)
    posted = call(stack, "POST", "/metrics", key, {"facts": ad_facts(deltas)})
    assert posted.status_code == 200, posted.body
    saved = call(stack, "PUT", "/cost-model", key, MODEL)
    assert saved.status_code == 200, saved.body
    size = Size(n)
    started = time.perf_counter()
    size.ledger_items, size.costed = write_ledger(tenant["tenant_id"], states, store_ids)
    size.seconds_costing = time.perf_counter() - started
    return size, key


def measure_size(stack: Stack, recorder: ReadRecorder, size: Size, key: str) -> None:
    for path in ENDPOINTS:
        got = size.by_endpoint.setdefault(path, Measured())
        for _ in range(REPEATS):
            recorder.clear()
            recorder.on = True
            started = time.perf_counter()
            answer = call(stack, "GET", path, key)
            got.seconds.append(time.perf_counter() - started)
            recorder.on = False
            assert answer.status_code == 200, answer.body
            got.answer = body_of(answer)
            got.own_reads = int(got.answer.get("reads", 0))
            calls = Counter(recorder.calls)
            got.calls.append(sum(v for k, v in calls.items() if k.startswith("dynamodb.")))
            got.items.append(sum(r.items for r in recorder.reads))
            got.kb.append(sum(r.bytes for r in recorder.reads) / 1024)
            got.units.append(sum(r.units for r in recorder.reads))


def measure() -> list[Size]:
    import boto3
    from linkstar import aws, clock
    from moto import mock_aws

    from infra.local import moto_fixes

    moto_fixes.install()
    recorder = ReadRecorder()
    sizes: list[Size] = []
    with mock_aws(), clock.override(NOW):
        deployed, admin_token = deploy_stack(recorder)
        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        events.register("after-call.dynamodb", recorder.answered)
        aws.reset_clients()

        from chalice.test import Client

        from functions.api.app import app

        with Client(app) as client:
            stack = Stack(deployed, admin_token, client.http)
            for n in SIZES:
                size, key = setup_size(stack, n)
                measure_size(stack, recorder, size, key)
                sizes.append(size)
    return sizes


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def report(sizes: list[Size]) -> None:
    print("Funnel and cost reads (moto in-process, not AWS)")
    print(
        f"  clock pinned at {NOW:%Y-%m-%d %H:%M} UTC; orders as in bench.kpis (90 days x"
        f" {len(STORES)} stores x US/CA), costed with costs.ledger.compute and written as the"
        " ledger's own sums"
    )
    print("\nSetup per size")
    _table(
        ("orders", "costed", "ledger items (day x store x market, + per SKU)", "costing s"),
        [
            (f"{s.orders:,}", f"{s.costed:,}", s.ledger_items, f"{s.seconds_costing:.1f}")
            for s in sizes
        ],
    )
    for path in ENDPOINTS:
        print(f"\nGET {path} (median of {REPEATS - 1} warm calls)")
        rows = []
        for s in sizes:
            m = s.by_endpoint[path]
            rows.append(
                (
                    f"{s.orders:,}",
                    m.median(m.calls),
                    m.median(m.items),
                    f"{m.median(m.kb):.1f}",
                    f"{m.median(m.units):.1f}",
                    m.own_reads,
                    f"{m.median(m.seconds) * 1000:.0f}",
                )
            )
        _table(
            ("orders", "DynamoDB calls", "items read", "KB read", "RCU", "own reads", "wall ms"),
            rows,
        )
        small, large = sizes[0].by_endpoint[path], sizes[-1].by_endpoint[path]
        print(
            f"  {sizes[-1].orders // sizes[0].orders}x the orders: DynamoDB calls"
            f" {_ratio(large.median(large.calls), small.median(small.calls))}, items read"
            f" {_ratio(large.median(large.items), small.median(small.items))}, RCU"
            f" {_ratio(large.median(large.units), small.median(small.units))}"
        )
    costs = sizes[-1].by_endpoint[ENDPOINTS[1]].answer
    if costs.get("total"):
        total = costs["total"][0]
        print(
            f"\n  {sizes[-1].orders:,} orders, {PERIOD} to date: {total['orders']:,} costed,"
            f" revenue {total['revenue']} {total['currency']}, ads {total['components']['ads']},"
            f" CM3 {total['cm3']} ({total['cm3_margin']}%)"
        )


def main() -> None:
    started = time.perf_counter()
    report(measure())
    print(f"\n(bench took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
