"""Measure the KPI dashboard (issue 6): DynamoDB calls, items read, read units and wall time per
``GET /kpis/dashboard?period=`` at 1k, 10k and 100k orders, to show that what it reads is
bounded by days x stores x markets (and metrics x months), never by the number of orders.

One tenant per size on one stack (template.yaml in moto, in-process, the clock pinned at
2026-11-20 18:05 UTC), each with three Shopify stores selling to two markets (US, CA) and the
same eight KPIs: GMV against a target, AOV, refund rate, ROAS, ACoS, TACoS, ODR and repeat
purchase rate, created through ``POST /kpis``.

**How the orders get there.** Orders reach KPIs only through the daily aggregates
(``linkstar.store.aggregates``), one item per day x store x market. Sending 100k orders through
the webhooks would take the bench most of an hour, so each size's orders are generated as
``linkstar.orders.state.OrderState`` objects (a real ``Order`` snapshot: line items, a
customer, a destination; 2% cancelled, 6% refunded in full or in part; a customer pool so about
a quarter of orders are repeat purchases), spread uniformly over the 90 days to the pinned day,
and folded with ingest's own rules: ``linkstar.orders.state.contribution`` for each order, plus
a new-or-returning customer count as ``linkstar.customers.models.apply_order`` makes it. The
sums are written with ``linkstar.store.aggregates.delta_ops``, the operations ingest writes,
so the aggregate items are the ones the same orders sent through ingest would leave.

**The ad facts** are posted through ``POST /metrics`` for the same 90 days: three Sponsored
Products campaigns a day (ad spend, ad sales, clicks, impressions) and Amazon's ODR once a day,
1,170 facts per tenant whatever its order count (their amounts follow its GMV).

**What is counted**, for each dashboard call (the bench's own writes are not): DynamoDB calls
by operation and by what they read; items read (a query's ``ScannedCount``: what DynamoDB
bills); their bytes (attribute names plus values, ``bench.webhook_path._item_size``) and read
units as DynamoDB bills them on demand: per query page, the items' bytes rounded up to 4 KB
(at least one unit, a page with no items included), a whole unit per 4 KB for a strongly
consistent read, half for an eventually consistent one; a GetItem the same for its one item.
The dashboard's own ``reads`` (the loader's count of its queries) is printed next to them.
Wall time is printed, never asserted: in-process moto, not DynamoDB (a profile shows most of it
is moto serialising the items it returns, so it follows the items read, not the orders).
"""

from __future__ import annotations

import math
import random
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from bench.outreach import _table, item_kind
from bench.webhook_path import CallRecorder, _item_size, deploy_stack
from tests.integration.conftest import Stack, body_of, call

if TYPE_CHECKING:
    from linkstar.orders.state import AggregateKey, OrderState

SIZES = (1_000, 10_000, 100_000)
DAYS = 90
NOW = datetime(2026, 11, 20, 18, 5, tzinfo=UTC)
PERIOD = "2026-11"
REPEATS = 4  # dashboard calls per size: the first (cold) and the median of the rest
STORES = ("bench-towels", "bench-mats", "bench-linens")  # Shopify shops, each US-based
MARKETS = (("US", 0.7), ("CA", 0.3))  # destination country and its share of orders
CAMPAIGNS = ("SP - Towels - Auto", "SP - Towels - Exact", "SP - Bath Mats - Broad")
SHARES = (Decimal("0.5"), Decimal("0.3"), Decimal("0.2"))  # of the ad sales, per campaign
PRICES = (Decimal("12.99"), Decimal("19.50"), Decimal("24.00"), Decimal("39.90"), Decimal("64.00"))
READS = ("GetItem", "Query", "BatchGetItem", "Scan")
RCU_BYTES = 4096


# ------------------------------------------------------------------ the orders, as ingest sums them


def synthetic_orders(n: int, seed: int) -> list[OrderState]:
    """``n`` orders over the ``DAYS`` days to ``NOW``, oldest first (see the module doc)."""
    from linkstar.orders.models import (
        Address,
        LineItem,
        Order,
        OrderStatus,
        Person,
        Platform,
        Refund,
    )
    from linkstar.orders.state import OrderState

    rng = random.Random(seed)
    first_day = NOW.date() - timedelta(days=DAYS - 1)
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    span = (NOW - start).total_seconds()
    customers = max(1, round(n * 1.5))  # about a quarter of orders are repeat
    markets = [market for market, _ in MARKETS]
    shares = [share for _, share in MARKETS]
    states: list[OrderState] = []
    for created_at in sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(n)):
        i = len(states)
        store = rng.choice(STORES)
        lines = tuple(
            LineItem(line_id=f"{i}-{k}", title="Towel", quantity=q, unit_price=p, total=p * q)
            for k, (q, p) in enumerate(
                (rng.choice((1, 1, 1, 2, 3)), rng.choice(PRICES))
                for _ in range(rng.choice((1, 1, 2)))
            )
        )
        subtotal = sum((line.total for line in lines), Decimal(0))
        total = subtotal + (Decimal("0") if subtotal >= 50 else Decimal("5.00"))
        roll = rng.random()
        cancelled = roll < 0.02
        refunds: tuple[Refund, ...] = ()
        if not cancelled and roll < 0.08:
            amount = total if roll < 0.05 else (total / 3).quantize(Decimal("0.01"))
            refunds = (
                Refund(refund_id=f"r{i}", amount=amount, created_at=created_at + timedelta(days=3)),
            )
        who = rng.randrange(customers)
        snapshot = Order(
            platform=Platform.SHOPIFY,
            external_id=str(5_000_000 + i),
            status=OrderStatus.CANCELLED if cancelled else OrderStatus.PAID,
            platform_status="voided" if cancelled else "paid",
            currency="USD",
            subtotal=subtotal,
            total=total,
            line_items=lines,
            customer=Person(email=f"buyer{who}@example.com"),
            shipping_address=Address(country_code=rng.choices(markets, shares)[0]),
            created_at=created_at,
            updated_at=created_at,
            paid=not cancelled,
            cancelled_at=created_at + timedelta(hours=2) if cancelled else None,
        )
        states.append(
            OrderState(
                tenant_id="bench",
                store_id=store,
                order_id=f"o{i}",
                platform=Platform.SHOPIFY,
                external_id=snapshot.external_id,
                store_market="US",
                snapshot=snapshot,
                refunds=refunds,
            )
        )
    return states


def aggregate_deltas(
    states: list[OrderState], store_ids: dict[str, str]
) -> dict[AggregateKey, dict[str, Decimal]]:
    """What ingest adds to the daily aggregates for ``states`` (oldest first): each order's
    ``contribution``, and a new or a returning customer on the order's day (a customer's first
    order is new, later ones returning: ``customers.models.apply_order`` in arrival order).
    Fields that stay zero are left out, as ingest's ``diff`` leaves them out."""
    from linkstar.orders.state import contribution

    sums: dict[AggregateKey, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    seen: set[str] = set()
    for state in states:
        for (day, store, market), values in contribution(state).items():
            key = (day, store_ids[store], market)
            cell = sums[key]
            for name, value in values.items():
                cell[name] += value
            buyer = state.customer_key or ""
            cell["returning_customers" if buyer in seen else "new_customers"] += 1
            seen.add(buyer)
    return {key: {k: v for k, v in cell.items() if v} for key, cell in sums.items()}


def write_aggregates(tenant_id: str, deltas: dict[AggregateKey, dict[str, Decimal]]) -> int:
    from linkstar.store import aggregates, dynamo

    ops = aggregates.delta_ops(tenant_id, deltas)
    for at in range(0, len(ops), 100):
        dynamo.transact(ops[at : at + 100])
    return len(ops)


def ad_facts(deltas: dict[AggregateKey, dict[str, Decimal]]) -> list[dict[str, Any]]:
    """A day's Sponsored Products results per campaign and the day's ODR, for every day with
    orders: ad sales about 30% of the day's GMV at an ACoS near 25%."""
    rng = random.Random(11)
    gmv: dict[str, Decimal] = defaultdict(Decimal)
    for (day, _store, _market), cell in deltas.items():
        gmv[day] += cell.get("gmv#USD", Decimal(0))
    facts: list[dict[str, Any]] = []
    dims = {"platform": "amazon", "market": "US"}
    for day in sorted(gmv):
        for share, campaign in zip(SHARES, CAMPAIGNS, strict=True):
            sales = (gmv[day] * Decimal("0.3") * share).quantize(Decimal("0.01"))
            spend = (sales * Decimal(str(rng.uniform(0.18, 0.34)))).quantize(Decimal("0.01"))
            clicks = max(1, int(spend / Decimal("0.62")))
            values = {
                "ad_sales": sales,
                "ad_spend": spend,
                "clicks": clicks,
                "impressions": clicks * rng.randint(30, 60),
            }
            for metric, value in values.items():
                facts.append(
                    {"date": day, "metric": metric, "value": str(value), "campaign": campaign}
                    | dims
                )
        odr = Decimal(str(round(rng.uniform(0.0030, 0.0055), 4)))
        facts.append({"date": day, "metric": "odr", "value": str(odr)} | dims)
    return facts


def kpis(n: int) -> list[dict[str, Any]]:
    """The eight KPIs; the GMV target is a month of this tenant's orders plus 5%."""
    month_gmv = Decimal(n) / DAYS * 30 * Decimal("68")
    return [
        {"name": "GMV", "builtin": "sales_target_attainment", "target": str(month_gmv.quantize(1)),
         "weight": "3", "owner": "sales"},
        {"name": "AOV", "builtin": "aov", "target": "68", "owner": "sales"},
        {"name": "Refund rate", "builtin": "refund_rate", "target": "0.05", "owner": "ops"},
        {"name": "ROAS", "builtin": "roas", "target": "3.5", "owner": "ads-agency"},
        {"name": "ACoS", "builtin": "acos", "target": "0.28", "owner": "ads-agency"},
        {"name": "TACoS", "builtin": "tacos", "target": "0.10", "owner": "ads-agency"},
        {"name": "ODR", "builtin": "odr", "target": "0.005", "owner": "ops"},
        {"name": "Repeat purchase rate", "builtin": "repeat_purchase_rate", "target": "0.30",
         "owner": "crm"},
    ]  # fmt: skip


# ------------------------------------------------------------------ what a dashboard call reads


@dataclass
class Read:
    operation: str
    target: str
    consistent: bool
    partition: str = ""  # a query's partition key
    items: int = 0
    bytes: int = 0
    units: float = 0.0


class ReadRecorder(CallRecorder):
    """AWS calls while ``on``, and for each DynamoDB read what it returned."""

    def __init__(self) -> None:
        super().__init__()
        self.on = False
        self.reads: list[Read] = []
        self._pending: Read | None = None

    def record(self, model: Any, params: dict[str, Any], **kwargs: Any) -> None:
        if not self.on:
            return
        super().record(model, params, **kwargs)
        if model.service_model.service_name == "dynamodb" and model.name in READS:
            consistent = bool(params.get("ConsistentRead"))
            for request in params.get("RequestItems", {}).values():
                consistent = bool(request.get("ConsistentRead"))
            pk = params.get("ExpressionAttributeValues", {}).get(":pk", {}).get("S", "")
            self._pending = Read(model.name, read_target(params), consistent, pk)

    def answered(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        read, self._pending = self._pending, None
        if read is None or model.name != read.operation:
            return
        half = 1.0 if read.consistent else 0.5
        if model.name == "GetItem":
            found = [parsed["Item"]] if "Item" in parsed else []
        elif model.name == "BatchGetItem":
            found = [i for items in parsed.get("Responses", {}).values() for i in items]
        else:
            found = parsed.get("Items", [])
        sizes = [_item_size(item) for item in found]
        read.items = int(parsed.get("ScannedCount", len(found)))
        read.bytes = sum(sizes)
        if model.name == "BatchGetItem":  # each item is billed on its own
            read.units = half * sum(max(1, math.ceil(s / RCU_BYTES)) for s in sizes)
        else:  # a query page, or a GetItem's one item: rounded up once, at least one unit
            read.units = half * max(1, math.ceil(read.bytes / RCU_BYTES))
        self.reads.append(read)

    def clear(self) -> None:
        self.reset()
        self.reads.clear()
        self._pending = None


def read_target(params: dict[str, Any]) -> str:
    """What a read is for: the KPI partitions by name, the rest in ``bench.outreach``'s words."""
    batch = [key for r in params.get("RequestItems", {}).values() for key in r.get("Keys", [])]
    if batch:
        return "batch get " + item_kind(batch[0]["pk"]["S"], batch[0].get("sk", {}).get("S"))
    if "Key" in params:
        return "get " + item_kind(params["Key"]["pk"]["S"], params["Key"].get("sk", {}).get("S"))
    pk = params.get("ExpressionAttributeValues", {}).get(":pk", {}).get("S", "?")
    kind = pk.split("#")[2] if pk.count("#") >= 2 else pk
    named = {
        "AGG": "query daily aggregates (a month)",
        "METRIC": "query metric facts (a metric x month)",
        "SOURCES": "query metric sources",
        "KPIS": "query KPI definitions",
    }
    return named.get(kind) or "query " + item_kind(pk, None)


@dataclass
class Call:
    seconds: float
    calls: Counter[str]
    reads: list[Read]
    loader_reads: int

    @property
    def items(self) -> int:
        return sum(r.items for r in self.reads)

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.reads)

    @property
    def units(self) -> float:
        return sum(r.units for r in self.reads)

    @property
    def dynamodb_calls(self) -> int:
        return sum(n for name, n in self.calls.items() if name.startswith("dynamodb."))


@dataclass
class Size:
    orders: int
    tenant_id: str
    aggregate_items: int
    aggregate_bytes: int
    facts: int
    generate_seconds: float
    calls: list[Call] = field(default_factory=list)
    board: dict[str, Any] = field(default_factory=dict)
    gmv_month_to_date: Decimal = Decimal(0)

    @property
    def warm(self) -> Call:
        """The median warm call by wall time (the first call is the cold one)."""
        rest = sorted(self.calls[1:], key=lambda c: c.seconds)
        return rest[len(rest) // 2]

    @property
    def median_seconds(self) -> float:
        return statistics.median(c.seconds for c in self.calls[1:])


def setup_size(stack: Stack, n: int) -> tuple[Size, str]:
    tenant = body_of(call(stack, "POST", "/tenants", stack.admin_token, {"name": f"Bench {n}"}))
    key = tenant["api_key"]
    store_ids = {}
    for shop in STORES:
        created = call(stack, "POST", "/stores", key, {
            "platform": "shopify", "external_id": f"{shop}-{n}.myshopify.com", "market": "US",
            "webhook_secret": f"bench-secret-{shop}",
        })  # fmt: skip
        assert created.status_code == 201, created.body
        store_ids[shop] = body_of(created)["store_id"]
    started = time.perf_counter()
    states = synthetic_orders(n, seed=n)
    deltas = aggregate_deltas(states, store_ids)
    generated = time.perf_counter() - started
    items = write_aggregates(tenant["tenant_id"], deltas)
    stored = stored_items(stack, tenant["tenant_id"], sorted({d[:7] for d, _, _ in deltas}))
    assert len(stored) == items, (len(stored), items)
    size_bytes = sum(_item_size(item) for item in stored)
    facts = ad_facts(deltas)
    posted = call(stack, "POST", "/metrics", key, {"facts": facts})
    assert posted.status_code == 200, posted.body
    assert body_of(posted)["accepted"] == len(facts), posted.body
    for kpi in kpis(n):
        made = call(stack, "POST", "/kpis", key, kpi)
        assert made.status_code == 201, made.body
    first = NOW.date().replace(day=1)
    mtd = sum(
        (c.get("gmv#USD", Decimal(0)) for (d, _, _), c in deltas.items() if d >= first.isoformat()),
        Decimal(0),
    )
    size = Size(n, tenant["tenant_id"], items, size_bytes // max(items, 1), len(facts), generated)
    size.gmv_month_to_date = mtd
    return size, key


def stored_items(stack: Stack, tenant_id: str, months: list[str]) -> list[dict[str, Any]]:
    """The aggregate items as DynamoDB holds them (typed JSON, for their sizes)."""
    import boto3

    client = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    for month in months:
        kwargs: dict[str, Any] = {
            "TableName": stack.resource("AppTable"),
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"T#{tenant_id}#AGG#{month}"}},
        }
        while True:
            page = client.query(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    return items


def measure_dashboard(stack: Stack, recorder: ReadRecorder, size: Size, key: str) -> None:
    for _ in range(REPEATS):
        recorder.clear()
        recorder.on = True
        started = time.perf_counter()
        answer = call(stack, "GET", f"/kpis/dashboard?period={PERIOD}", key)
        seconds = time.perf_counter() - started
        recorder.on = False
        assert answer.status_code == 200, answer.body
        size.board = body_of(answer)
        size.calls.append(
            Call(seconds, Counter(recorder.calls), list(recorder.reads), size.board["reads"])
        )


def measure() -> list[Size]:
    import boto3
    from linkstar import clock
    from moto import mock_aws

    from infra.local import moto_fixes

    moto_fixes.install()
    recorder = ReadRecorder()
    sizes: list[Size] = []
    with mock_aws(), clock.override(NOW):
        deployed, admin_token = deploy_stack(recorder)
        events = boto3.DEFAULT_SESSION.events  # type: ignore[union-attr]
        events.register("after-call.dynamodb", recorder.answered)
        from linkstar import aws

        aws.reset_clients()  # every client from here on carries the hooks

        from chalice.test import Client

        from functions.api.app import app

        with Client(app) as client:
            stack = Stack(deployed, admin_token, client.http)
            for n in SIZES:
                size, key = setup_size(stack, n)
                measure_dashboard(stack, recorder, size, key)
                sizes.append(size)
    return sizes


# ------------------------------------------------------------------ the report


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def report(sizes: list[Size]) -> None:
    print("KPI dashboard reads (moto in-process, not AWS)")
    print(
        f"  GET /kpis/dashboard?period={PERIOD}, clock pinned at {NOW:%Y-%m-%d %H:%M} UTC; 8 KPIs"
        " (GMV vs target, AOV, refund rate, ROAS, ACoS, TACoS, ODR, repeat purchase rate), each"
        " with its trend of 6 months and freshness"
    )
    print(
        f"  orders: synthetic OrderStates over {DAYS} days x {len(STORES)} Shopify stores x"
        f" {len(MARKETS)} markets, folded with orders.state.contribution (+ new/returning"
        " customers as ingest counts them) and written with store.aggregates.delta_ops: the"
        " aggregate items ingest would leave, without sending the orders through webhooks"
    )
    print(
        f"  ad facts: POST /metrics, {len(CAMPAIGNS)} SP campaigns x 4 metrics + ODR per day"
        f" for the same days ({sizes[0].facts} facts per tenant)"
    )
    print("\nSetup per size (not measured against the dashboard)")
    _table(
        ("orders", "orders generated+folded s", "aggregate items", "avg item bytes", "facts"),
        [
            (
                f"{s.orders:,}",
                f"{s.generate_seconds:.1f}",
                s.aggregate_items,
                s.aggregate_bytes,
                s.facts,
            )
            for s in sizes
        ],
    )

    print(f"\nPer dashboard call (the median of {REPEATS - 1} warm calls; the first, cold, after)")
    rows: list[tuple[Any, ...]] = []
    for s in sizes:
        w, cold = s.warm, s.calls[0]
        ops = ", ".join(
            f"{name.split('.', 1)[1]} {n}"
            for name, n in sorted(w.calls.items())
            if name.startswith("dynamodb.")
        )
        rows.append(
            (
                f"{s.orders:,}",
                w.dynamodb_calls,
                ops,
                w.items,
                f"{w.bytes / 1024:.1f}",
                f"{w.units:.1f}",
                w.loader_reads,
                f"{s.median_seconds * 1000:.0f}",
                f"{cold.seconds * 1000:.0f} ({cold.dynamodb_calls} calls)",
            )
        )
    _table(
        ("orders", "DynamoDB calls", "by operation", "items read", "KB read", "RCU",
         "loader reads", "wall ms", "first call ms"),
        rows,
    )  # fmt: skip
    small, large = sizes[0], sizes[-1]
    print(
        f"\n  {large.orders:,} / {small.orders:,} orders = {large.orders / small.orders:.0f}x;"
        f" items read {_ratio(large.warm.items, small.warm.items)},"
        f" KB read {_ratio(large.warm.bytes, small.warm.bytes)},"
        f" RCU {_ratio(large.warm.units, small.warm.units)},"
        f" DynamoDB calls {_ratio(large.warm.dynamodb_calls, small.warm.dynamodb_calls)},"
        f" wall time {_ratio(large.median_seconds, small.median_seconds)}"
    )
    print(
        "  (items read grow only while days x stores x markets fill up: at 1k orders some"
        " day/store/market cells have no order and no item; the bytes grow with the digits)"
    )

    print(f"\nWhat one dashboard call reads, {large.orders:,} orders")
    by_target: dict[str, list[Read]] = defaultdict(list)
    for read in large.warm.reads:
        by_target[read.target].append(read)
    _table(
        ("read", "calls", "items", "KB", "RCU", "consistent"),
        [
            (
                target,
                len(reads),
                sum(r.items for r in reads),
                f"{sum(r.bytes for r in reads) / 1024:.1f}",
                f"{sum(r.units for r in reads):.1f}",
                "yes" if all(r.consistent for r in reads) else "no",
            )
            for target, reads in sorted(by_target.items(), key=lambda kv: -len(kv[1]))
        ],
    )
    print(
        "  RCU: per query page the items' bytes rounded up to 4 KB (at least 1), 1 per 4 KB"
        " strongly consistent, 0.5 eventually consistent; on demand about $0.125 per million"
    )
    months = sorted(
        {r.partition.rsplit("#", 1)[1] for r in large.warm.reads if "#AGG#" in r.partition}
    )
    metrics = sorted(
        {r.partition.split("#")[3] for r in large.warm.reads if "#METRIC#" in r.partition}
    )
    print(
        f"  loader reads {large.warm.loader_reads} = {len(months)} aggregate months"
        f" ({_runs(months)}) + {len(metrics)} imported metrics"
        f" ({', '.join(metrics)}) x those months + one metric-sources query per KPI for"
        " freshness; each KPI's current, previous and previous-year windows are loaded for"
        " every trend period, whether or not its formula uses prev() or prev_year()"
    )

    print(f"\nThe dashboard's answer, {large.orders:,} orders, {PERIOD} (as of the 20th)")
    rows = []
    for row in large.board["kpis"]:
        trend = " ".join(_short(t["actual"]) for t in row["trend"])
        rows.append(
            (
                row["name"],
                _short(row["actual"]),
                _short(row["target"]),
                row["attainment"] or "-",
                row["status"],
                "stale" if row["freshness"]["stale"] else "fresh",
                trend,
            )
        )
    _table(("KPI", "actual", "target", "attainment", "status", "data", "trend Jun..Nov"), rows)
    gmv = next(r for r in large.board["kpis"] if r["name"] == "GMV")
    ok = Decimal(gmv["actual"]) == large.gmv_month_to_date
    print(
        f"  GMV month to date from the dashboard {gmv['actual']} == the synthetic orders'"
        f" {large.gmv_month_to_date}: {'yes' if ok else 'NO'}"
    )
    if not ok:
        raise SystemExit("the dashboard's GMV differs from the orders written")


def _runs(months: list[str]) -> str:
    """``2025-06..2025-11, 2026-05..2026-11`` for consecutive months."""
    runs: list[list[str]] = []
    for month in months:
        if runs and _next(runs[-1][-1]) == month:
            runs[-1].append(month)
        else:
            runs.append([month])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in runs)


def _next(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def _short(value: Any) -> str:
    if value is None:
        return "-"
    number = Decimal(str(value))
    return f"{number:,.0f}" if abs(number) >= 1000 else f"{number.normalize():f}"[:8]


def main() -> None:
    started = time.perf_counter()
    sizes = measure()
    report(sizes)
    print(f"\n(bench took {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
