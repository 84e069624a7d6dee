"""`make demo`: replay 18 months of real purchases from five platforms into a local LinkStar.

It starts the embedded local stack, creates a tenant with eight stores: four on Shopify (US, EU,
UK, Japan) and one each on TikTok Shop (UK), Shopee (Singapore), Lazada (Malaysia) and Amazon
(one seller on amazon.de, .fr and .co.uk). It connects each marketplace store to the stack's
fake of that platform's order API (an app, the seller's grant, the credentials LinkStar keeps)
and seeds the orders that API will answer. Then it sends every delivery of
`scripts.demo_data.build_history()` as the platform would: signed webhooks over HTTP (Shopify,
TikTok Shop, Shopee, Lazada) and SP-API notifications into the Amazon SQS queue. It waits until
ingestion has drained and enrichment has fetched every marketplace order's amounts, then prints
what a seller would look at: the platforms side by side, sales by store and market, repeat
customers, the monthly trend, and what LinkStar deduplicated and ignored next to the
generator's ground truth. It exits non-zero when stored orders, GMV, cancellations, statuses or
pending amounts differ from what was sent.

    python -m scripts.demo [--orders 1000] [--seed 7] [--workers 8] [--timeout 900]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
import threading
import time
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
from linkstar.money import minor_units

from scripts import demo_billing, demo_costs, demo_kpis, demo_outreach
from scripts.demo_data import (
    DATE_SHIFT_NOTE,
    Delivery,
    DemoHistory,
    DemoStore,
    build_history,
    delivery_headers,
)
from scripts.demo_marketplaces import AMAZON, MARKETPLACES, PLATFORM_NAMES
from scripts.present import table

REPO_ROOT = Path(__file__).resolve().parents[1]
STATE_DIR = REPO_ROOT / ".local" / "demo"
TENANT = {"name": "Acme Global", "reporting_currency": "USD"}
HTTP_TIMEOUT = 30
RETRYABLE = {429, 500, 502, 503, 504}
POLL_SECONDS = 2.0
REPORT_SECONDS = 15.0
STALL_SECONDS = 90
PLATFORMS = ("shopify", *MARKETPLACES)
# The fake's token endpoints, told apart from the order API calls enrichment makes.
TOKEN_OPERATIONS = frozenset(
    {"lwaToken", "refreshToken", "refreshAccessToken", "RefreshAccessToken"}
)
TTY = sys.stdout.isatty()
CR = "\r" if TTY else ""
TREND_MONTHS = 6
TOP_CUSTOMERS = 5


class DemoError(RuntimeError):
    """Something the demo can't go on without (the stack, an API call) failed."""


# ---------------------------------------------------------------- HTTP


class Api:
    """The seller/operator API of the running stack, with errors that say what was called."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.session = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        token: str,
        *,
        json: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        expect: int = 200,
    ) -> dict[str, Any]:
        url = urljoin(self.base_url, path.lstrip("/"))
        # Reads are retried on 5xx and connection errors: a busy local stack (moto on two
        # cores) times out now and then, and a GET is safe to repeat. Writes are not retried.
        attempts = 3 if method == "GET" else 1
        problem = ""
        for attempt in range(attempts):
            if attempt:
                time.sleep(2**attempt)
            try:
                response = self.session.request(
                    method,
                    url,
                    json=json,
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=HTTP_TIMEOUT,
                )
            except requests.RequestException as exc:
                problem = f"{method} {path}: {exc}"
                continue
            if response.status_code == expect:
                return response.json()
            problem = (
                f"{method} {path} answered {response.status_code} (expected {expect}): "
                f"{response.text[:500]}"
            )
            if response.status_code < 500:
                break
        raise DemoError(problem)

    def pages(
        self, path: str, token: str, params: Mapping[str, Any], items: str, max_pages: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every item of a `next_token`-paginated list."""
        query = dict(params)
        for _ in range(max_pages):
            page = self.call("GET", path, token, params=query)
            yield from page.get(items, [])
            if not page.get("next_token"):
                return
            query["next_token"] = page["next_token"]


@dataclass(frozen=True, slots=True)
class Target:
    """Where one demo store's deliveries go, and what signs them."""

    store: DemoStore
    store_id: str
    webhook_url: str | None  # None for Amazon: notifications go to the SQS queue
    queue_url: str | None = None


@dataclass(frozen=True, slots=True)
class Sqs:
    """Where Amazon writes SP-API notifications: the stack's queue, in its moto."""

    endpoint_url: str
    region: str

    def client(self) -> Any:
        import boto3  # only the Amazon sender needs it

        from infra.local.runtime import LOCAL_AWS_ENV

        return boto3.client(
            "sqs",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=LOCAL_AWS_ENV["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
        )


@dataclass
class SendStats:
    total: int
    sent: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, outcome: str, failure: str | None = None) -> None:
        with self.lock:
            self.sent += 1
            self.outcomes[outcome] += 1
            if failure and len(self.failures) < 5:
                self.failures.append(failure)


def send_all(history: DemoHistory, targets: dict[str, Target], workers: int, sqs: Sqs) -> SendStats:
    """Send every delivery. Deliveries sharing an ordering key (a customer, a marketplace order)
    go through one worker in list order, so the only out-of-order arrivals are the ones the
    history injected."""
    lanes: list[list[Delivery]] = [[] for _ in range(workers)]
    for d in history.deliveries:
        lanes[zlib.crc32(d.ordering_key.encode()) % workers].append(d)
    stats = SendStats(total=len(history.deliveries))
    started = time.monotonic()
    progress = Progress(stats.total)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="demo-send") as pool:
        futures = [pool.submit(_send_lane, lane, targets, stats, sqs) for lane in lanes if lane]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_EXCEPTION)
            for future in done:
                future.result()  # a crashed worker stops the demo with its error
            progress.show(stats.sent, time.monotonic() - started)
    progress.finish(stats.sent, time.monotonic() - started)
    return stats


def _send_lane(
    lane: list[Delivery], targets: dict[str, Target], stats: SendStats, sqs: Sqs
) -> None:
    # One session (and one SQS client) per worker: requests.Session isn't documented as
    # thread-safe, and boto3 clients are cheap to share only within a thread.
    client: Any = None
    with requests.Session() as session:
        for delivery in lane:
            target = targets[delivery.store_key]
            if target.webhook_url is None:
                client = client or sqs.client()
                _enqueue(client, str(target.queue_url), delivery, stats)
                continue
            headers = delivery_headers(delivery, target.store, target.webhook_url)
            _post(session, target.webhook_url, delivery, headers, stats)


def _enqueue(client: Any, queue_url: str, delivery: Delivery, stats: SendStats) -> None:
    """What Amazon does with a notification: SendMessage to the destination queue, the
    notification JSON as the body and nothing else (botocore retries throttling itself)."""
    try:
        client.send_message(QueueUrl=queue_url, MessageBody=delivery.body.decode())
    except Exception as exc:  # botocore's errors have no common base worth naming here
        stats.record("failed", f"{delivery.topic} {delivery.event_id}: {exc}")
        return
    stats.record("queued")


def _post(
    session: requests.Session,
    url: str,
    delivery: Delivery,
    headers: dict[str, str],
    stats: SendStats,
) -> None:
    """One delivery, retried on 429/5xx and connection errors as Shopify would retry it."""
    problem = ""
    for attempt in range(5):
        if attempt:
            with stats.lock:
                stats.retries += 1
            time.sleep(0.2 * 2**attempt)
        try:
            response = session.post(url, data=delivery.body, headers=headers, timeout=HTTP_TIMEOUT)
        except requests.RequestException as exc:
            problem = f"{delivery.topic} {delivery.event_id}: {exc}"
            continue
        if response.status_code in RETRYABLE:
            problem = f"{delivery.topic} {delivery.event_id}: HTTP {response.status_code}"
            continue
        if response.ok:
            try:
                outcome = str(response.json().get("status", "ok"))
            except ValueError:
                outcome = "ok"
            stats.record(outcome)
        else:
            stats.record(
                f"HTTP {response.status_code}",
                f"{delivery.topic} {delivery.event_id}: HTTP {response.status_code} "
                f"{response.text[:200]}",
            )
        return
    stats.record("failed", problem)


class Progress:
    """A one-line progress bar on a terminal; a line per 10% when output is captured."""

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.last_decile = -1

    def show(self, done: int, elapsed: float) -> None:
        share = done / self.total
        rate = done / elapsed if elapsed > 0 else 0.0
        if TTY:
            bar = "#" * int(share * 30)
            print(f"\r  [{bar:<30}] {done:>6,}/{self.total:,}  {rate:5.0f}/s", end="", flush=True)
        elif int(share * 10) > self.last_decile:
            self.last_decile = int(share * 10)
            print(f"  {done:>6,}/{self.total:,} sent  ({rate:.0f}/s)", flush=True)

    def finish(self, done: int, elapsed: float) -> None:
        self.show(done, elapsed)
        if TTY:
            print()


# ---------------------------------------------------------------- reading LinkStar back


@dataclass
class StoreFigures:
    """One store's (or store x market's) totals as LinkStar reports them."""

    orders: int = 0
    units: int = 0
    cancelled: int = 0
    refunds: int = 0
    pending: int = 0  # marketplace orders whose amounts enrichment hasn't fetched yet
    gmv: dict[str, Decimal] = field(default_factory=dict)
    refunded: dict[str, Decimal] = field(default_factory=dict)

    def add(self, row: Mapping[str, Any]) -> None:
        self.orders += int(row.get("orders", 0))
        self.units += int(row.get("units", 0))
        self.cancelled += int(row.get("cancelled", 0))
        self.refunds += int(row.get("refunds", 0))
        self.pending += int(row.get("amounts_pending", 0))
        for name in ("gmv", "refunded"):
            money: dict[str, Decimal] = getattr(self, name)
            for currency, amount in (row.get(name) or {}).items():
                money[currency] = money.get(currency, Decimal(0)) + Decimal(str(amount))


@dataclass
class Snapshot:
    rows: list[dict[str, Any]]
    by_store: dict[str, StoreFigures]
    by_store_market: dict[tuple[str, str], StoreFigures]
    ingest: dict[str, dict[str, Any]]

    def pending(self) -> int:
        return sum(f.pending for f in self.by_store.values())

    def handled(self) -> int:
        """Deliveries the ingest function has finished with, as its counters tell."""
        names = ("deliveries_processed", "duplicates", "stale_ignored", "dead_lettered")
        return sum(int(stats.get(n) or 0) for stats in self.ingest.values() for n in names)

    def key(self) -> tuple[Any, ...]:
        """What must stop changing before the numbers are final."""
        stores = sorted(self.by_store.items())
        ingest = sorted((k, repr(sorted(v.items()))) for k, v in self.ingest.items())
        return (repr(stores), repr(ingest))


def read_ingest(api: Api, api_key: str, targets: dict[str, Target]) -> dict[str, dict[str, Any]]:
    """Each store's ingest counters: two item reads per store, cheap enough to poll often."""
    return {
        t.store_id: api.call("GET", f"/stores/{t.store_id}", api_key).get("ingest") or {}
        for t in targets.values()
    }


def read_back(
    api: Api, api_key: str, day_from: date, day_to: date, ingest: dict[str, dict[str, Any]]
) -> Snapshot:
    report = api.call(
        "GET",
        "/reports/daily",
        api_key,
        params={"from": day_from.isoformat(), "to": day_to.isoformat()},
    )
    rows = list(report.get("rows", []))
    by_store: dict[str, StoreFigures] = defaultdict(StoreFigures)
    by_store_market: dict[tuple[str, str], StoreFigures] = defaultdict(StoreFigures)
    # Aggregated here from the daily rows, so nothing depends on the shape of `totals`.
    for row in rows:
        by_store[row["store_id"]].add(row)
        by_store_market[(row["store_id"], row.get("market") or "?")].add(row)
    return Snapshot(rows, dict(by_store), dict(by_store_market), ingest)


def wait_for_drain(
    api: Api,
    api_key: str,
    history: DemoHistory,
    targets: dict[str, Target],
    timeout: float,
) -> tuple[Snapshot, str | None]:
    """Poll until every store's order count matches, no order waits for its amounts, and
    nothing changes between two polls (duplicate and stale counters trail the orders). Returns
    the last snapshot and, when it gave up (timeout, or nothing moved for STALL_SECONDS), why.

    The ingest counters are polled every POLL_SECONDS; the daily report (a query per month of
    history, competing with ingestion for the same emulated DynamoDB) only when the counters
    stood still since the last poll, or every REPORT_SECONDS to show progress."""
    day_from, day_to = report_range(history)
    wanted = history.expected.total("orders")
    started = time.monotonic()
    ingest: dict[str, dict[str, Any]] | None = None
    previous: tuple[Any, ...] | None = None
    snap: Snapshot | None = None
    last_change = reported_at = started
    printed_at = 0.0
    while True:
        ingest, last = read_ingest(api, api_key, targets), ingest
        now = time.monotonic()
        quiet = ingest == last
        if not quiet:
            last_change = now
        stable = False
        if snap is None or quiet or now - reported_at >= REPORT_SECONDS:
            snap = read_back(api, api_key, day_from, day_to, ingest)
            reported_at = now
            current = snap.key()
            stable = quiet and current == previous
            previous = current if quiet else None
        else:
            snap.ingest = ingest
        matched = snap.pending() == 0 and all(
            snap.by_store.get(t.store_id, StoreFigures()).orders
            == history.expected.stores[key].orders
            for key, t in targets.items()
        )
        # On a terminal one line updates in place; in a log, a line every 15 s is enough.
        if TTY or now - printed_at >= 15 or (matched and stable):
            printed_at = now
            print(
                f"{CR}  {snap.handled():>6,} deliveries ingested, "
                f"{sum(f.orders for f in snap.by_store.values()):>6,}/{wanted:,}"
                f" orders stored, {snap.pending():>4,} awaiting amounts  ({now - started:4.0f} s)",
                end="" if TTY else "\n",
                flush=True,
            )
        gave_up = None
        if now - started > timeout:
            gave_up = f"ingestion had not drained after {timeout:.0f} s (--timeout)"
        elif now - last_change > STALL_SECONDS and not matched:
            gave_up = f"ingestion stalled: nothing changed for {STALL_SECONDS} s"
        if gave_up and snap.pending():
            waiting = ", ".join(
                f"{t.store.name} {snap.by_store[t.store_id].pending}"
                for t in targets.values()
                if snap.by_store.get(t.store_id, StoreFigures()).pending
            )
            gave_up += (
                f"; {snap.pending()} marketplace orders still have amounts_pending ({waiting}):"
                " enrichment did not fetch them (see the EnrichFunction log and the enrich DLQ"
                " in the state directory)"
            )
        if (matched and stable) or gave_up:
            if TTY:
                print()
            return snap, gave_up
        time.sleep(POLL_SECONDS)


def report_range(history: DemoHistory) -> tuple[date, date]:
    # Aggregates are keyed by the UTC day of order creation: a Tokyo morning is the UTC day
    # before, a New York night the day after, so pad the local range by a day each side.
    return history.first_day - timedelta(days=1), history.last_day + timedelta(days=1)


# ---------------------------------------------------------------- presenting


def money(amounts: Mapping[str, Decimal]) -> str:
    return (
        ", ".join(
            f"{currency} {amount:,.{minor_units(currency)}f}"
            for currency, amount in sorted(amounts.items())
            if amount
        )
        or "-"
    )


def heading(text: str) -> None:
    print(f"\n{text}\n{'=' * len(text)}")


def print_sales(snap: Snapshot, targets: dict[str, Target]) -> None:
    heading("Sales by store and market (market = destination country)")
    names = {t.store_id: t.store.name for t in targets.values()}
    order = {t.store_id: i for i, t in enumerate(targets.values())}
    rows = []
    for (store_id, market), f in sorted(
        snap.by_store_market.items(), key=lambda kv: (order.get(kv[0][0], 99), -kv[1].orders)
    ):
        rows.append(
            [
                names.get(store_id, store_id),
                market,
                f"{f.orders:,}",
                f"{f.units:,}",
                money(f.gmv),
                f.cancelled,
                f.refunds,
                money(f.refunded),
            ]
        )
    headers = ["Store", "Market", "Orders", "Units", "GMV", "Cancelled", "Refunds", "Refunded"]
    print(table(headers, rows, "llrrrrrr"))


def currencies_of(history: DemoHistory) -> list[str]:
    """Every currency the stores sell in, in store order."""
    found: dict[str, None] = {}
    for store in history.stores:
        for currency in (store.currency, *history.expected.stores[store.key].gmv):
            found.setdefault(currency)
    return list(found)


def print_trend(snap: Snapshot, history: DemoHistory) -> None:
    last = history.last_day.replace(day=1)
    months = []
    for _ in range(TREND_MONTHS):
        months.append(last.strftime("%Y-%m"))
        last = (last - timedelta(days=1)).replace(day=1)
    months.reverse()
    orders: Counter[str] = Counter()
    gmv: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in snap.rows:
        month = str(row["date"])[:7]
        orders[month] += int(row.get("orders", 0))
        for currency, amount in (row.get("gmv") or {}).items():
            gmv[month][currency] += Decimal(str(amount))
    seen = {c for m in months for c in gmv[m]}
    currencies = [c for c in currencies_of(history) if c in seen]
    heading(f"Monthly trend, last {TREND_MONTHS} months (all stores, GMV per currency)")
    rows = [
        [
            m,
            f"{orders[m]:,}",
            *[f"{gmv[m][c]:,.{minor_units(c)}f}" if gmv[m][c] else "-" for c in currencies],
        ]
        for m in months
    ]
    print(table(["Month", "Orders", *currencies], rows, "lr" + "r" * len(currencies)))
    if history.last_day.day < 28:
        print(f"  ({months[-1]} is partial: the history ends on {history.last_day.isoformat()})")


def print_repeat_customers(api: Api, api_key: str, history: DemoHistory) -> None:
    customers = list(api.pages("/customers", api_key, {"min_orders": 2, "limit": 500}, "customers"))
    heading("Repeat customers (2+ orders, merged by email across stores)")
    print(
        f"  {len(customers):,} repeat customers "
        f"(generator: {history.expected.repeat_customers:,} of "
        f"{history.expected.customers:,} buyers LinkStar can tell apart; "
        f"{history.expected.cross_store_customers} bought in two stores)"
    )
    print(
        "  (TikTok Shop and Amazon give a relay address per buyer, Shopee a buyer id; Lazada"
        " names no buyer)"
    )
    top = sorted(
        customers,
        key=lambda c: (-int(c.get("orders_count", 0)), str(c.get("last_order_at") or "")),
    )[:TOP_CUSTOMERS]
    rows = [
        [
            i,
            c.get("email") or "(no email: a platform buyer id)",
            c.get("orders_count", "?"),
            money({k: Decimal(str(v)) for k, v in (c.get("total_spent") or {}).items()}),
            str(c.get("first_order_at") or "-")[:10],
            str(c.get("last_order_at") or "-")[:10],
        ]
        for i, c in enumerate(top, 1)
    ]
    headers = ["#", "Email", "Orders", "Spent (net of refunds)", "First order", "Last order"]
    print(table(headers, rows, "rlrrll"))


def _ignored_count(ingest: Mapping[str, Any]) -> int:
    ignored = ingest.get("ignored_topics") or {}
    return sum(ignored.values()) if isinstance(ignored, Mapping) else int(ignored)


def print_ingest(snap: Snapshot, history: DemoHistory, targets: dict[str, Target]) -> None:
    heading("What LinkStar deduplicated and ignored, next to what the generator injected")
    rows = []
    for key, t in targets.items():
        truth, ingest = history.expected.stores[key], snap.ingest.get(t.store_id, {})
        rows.append(
            [
                t.store.name,
                f"{truth.deliveries:,}",
                f"{truth.duplicates} / {ingest.get('duplicates', '?')}",
                f"{truth.out_of_order} / {ingest.get('stale_ignored', '?')}",
                f"{truth.ignored_topics} / {_ignored_count(ingest)}",
                ingest.get("dead_lettered", "?"),
            ]
        )
    headers = ["Store", "Sent", "Duplicates", "Out of order", "Ignored", "Dead-lettered"]
    print(table(headers, rows, "lrrrrr"))
    print(
        textwrap.fill(
            "(sent by the generator / caught by LinkStar. Duplicates: same event id again; out"
            " of order: older than a state already stored; ignored: topics it doesn't ingest,"
            " and marketplace events it acknowledges without applying, such as a cancellation"
            " still being requested. Marketplace stores count more: an order fetched twice"
            " while its notifications kept coming gives the same answer twice (a duplicate),"
            " and the fetched order, which already knows the latest status, makes"
            " notifications still on their way stale.)",
            width=96,
            initial_indent="  ",
            subsequent_indent="  ",
        )
    )


def enrichment_calls(stats: Mapping[str, Any]) -> dict[str, Counter[str]]:
    """The fake marketplaces' request counters: platform → operation → requests."""
    calls: dict[str, Counter[str]] = defaultdict(Counter)
    for entry in stats.get("requests", []):
        calls[str(entry["platform"])][str(entry["operation"])] += int(entry["count"])
    return calls


@dataclass
class Column:
    """One platform's stores added up: what LinkStar shows, next to what was sent."""

    stores: int = 0
    markets: set[str] = field(default_factory=set)
    figures: StoreFigures = field(default_factory=StoreFigures)
    sent: int = 0
    duplicates: tuple[int, int] = (0, 0)  # (sent, caught)
    out_of_order: tuple[int, int] = (0, 0)  # (sent, stale)
    ignored: tuple[int, int] = (0, 0)  # (sent, counted)

    def add(self, truth: Any, ingest: Mapping[str, Any]) -> None:
        self.stores += 1
        self.sent += truth.deliveries

        def plus(pair: tuple[int, int], sent: int, caught: Any) -> tuple[int, int]:
            return pair[0] + sent, pair[1] + int(caught or 0)

        self.duplicates = plus(self.duplicates, truth.duplicates, ingest.get("duplicates"))
        self.out_of_order = plus(self.out_of_order, truth.out_of_order, ingest.get("stale_ignored"))
        self.ignored = plus(self.ignored, truth.ignored_topics, _ignored_count(ingest))


def print_platforms(
    snap: Snapshot,
    history: DemoHistory,
    targets: dict[str, Target],
    calls: Mapping[str, Counter[str]],
) -> None:
    """One column per platform: what it sold, in which currencies, and what ingesting it took."""
    heading("The five platforms side by side")
    columns: dict[str, Column] = {}
    for t in targets.values():
        column = columns.setdefault(t.store.platform, Column())
        column.add(history.expected.stores[t.store.key], snap.ingest.get(t.store_id, {}))
    platform_of = {t.store_id: t.store.platform for t in targets.values()}
    for row in snap.rows:
        if row["store_id"] in platform_of:
            column = columns[platform_of[row["store_id"]]]
            column.figures.add(row)
            column.markets.add(row.get("market") or "?")
    platforms = [p for p in PLATFORMS if p in columns]

    def pair(sent_and_caught: tuple[int, int]) -> str:
        return f"{sent_and_caught[0]:,} / {sent_and_caught[1]:,}"

    def api_calls(platform: str, tokens: bool) -> str:
        if platform == "shopify":
            return "-"
        ops = calls.get(platform, Counter())
        return f"{sum(n for op, n in ops.items() if (op in TOKEN_OPERATIONS) == tokens):,}"

    rows: list[list[str]] = [
        ["Stores", *[str(columns[p].stores) for p in platforms]],
        ["Markets (shipped to)", *[" ".join(sorted(columns[p].markets)) for p in platforms]],
        ["Orders", *[f"{columns[p].figures.orders:,}" for p in platforms]],
        ["Cancelled", *[f"{columns[p].figures.cancelled:,}" for p in platforms]],
    ]
    for currency in currencies_of(history):
        places = minor_units(currency)
        amounts = [columns[p].figures.gmv.get(currency, Decimal(0)) for p in platforms]
        rows.append([f"GMV {currency}", *[f"{a:,.{places}f}" if a else "-" for a in amounts]])
    rows += [
        ["Amounts still pending", *[f"{columns[p].figures.pending:,}" for p in platforms]],
        [
            "Deliveries sent",
            *[f"{columns[p].sent:,}" + (" (SQS)" if p == AMAZON else "") for p in platforms],
        ],
        ["Duplicates sent / caught", *[pair(columns[p].duplicates) for p in platforms]],
        ["Out of order sent / stale", *[pair(columns[p].out_of_order) for p in platforms]],
        ["Ignored sent / counted", *[pair(columns[p].ignored) for p in platforms]],
        ["Order API calls", *[api_calls(p, tokens=False) for p in platforms]],
        ["Token requests", *[api_calls(p, tokens=True) for p in platforms]],
    ]
    headers = ["", *[PLATFORM_NAMES[p] for p in platforms]]
    print(table(headers, rows, "l" + "r" * len(platforms)))
    detail = "; ".join(
        f"{PLATFORM_NAMES[p]} " + ", ".join(f"{op} {n:,}" for op, n in sorted(calls[p].items()))
        for p in platforms
        if calls.get(p)
    )
    print(
        textwrap.fill(
            "(Shopify webhooks carry the whole order. A marketplace notification carries an id"
            " and a status, so LinkStar fetches the order from the platform's API, here the"
            f" stack's fake of it, to learn its amounts: {detail}.)",
            width=96,
            initial_indent="  ",
            subsequent_indent="  ",
        )
    )


def read_orders(api: Api, api_key: str, targets: dict[str, Target]) -> dict[str, list[dict]]:
    """Every order of each marketplace store, as GET /orders lists them."""
    return {
        key: list(api.pages("/orders", api_key, {"store_id": t.store_id, "limit": 200}, "orders"))
        for key, t in targets.items()
        if t.store.platform != "shopify"
    }


def _order_problem(view: Mapping[str, Any], truth: Any) -> str | None:
    if truth is None:
        return "not sent"
    if view.get("amounts_pending"):
        return "amounts still pending"
    got = (view.get("status"), Decimal(str(view.get("total") or 0)), view.get("currency"))
    want = (truth.status, truth.total, truth.currency)
    return None if got == want else f"stored {got}, sent {want}"


def check(
    snap: Snapshot,
    history: DemoHistory,
    targets: dict[str, Target],
    orders: Mapping[str, list[dict[str, Any]]],
) -> list[str]:
    """Print the per-store checks; return what failed. Orders, GMV and cancellations are what a
    seller reads, so they must match exactly; marketplace orders must also all have their
    amounts, and each its status and total as generated. The ingest counters are shown above."""
    heading("Checks")
    failed = []
    for key, t in targets.items():
        truth = history.expected.stores[key]
        got = snap.by_store.get(t.store_id, StoreFigures())
        checks: list[tuple[str, Any, Any]] = [
            ("orders stored == unique orders sent", got.orders, truth.orders),
            ("cancelled", got.cancelled, truth.cancelled),
            ("GMV of non-cancelled orders", money(got.gmv), money(truth.gmv)),
        ]
        if t.store.platform != "shopify":
            expected = history.expected.orders_by_store.get(key, {})
            listed = orders.get(key, [])
            problems = {
                str(view.get("external_id")): _order_problem(
                    view, expected.get(str(view.get("external_id")))
                )
                for view in listed
            }
            matching = sum(1 for problem in problems.values() if problem is None)
            checks += [
                ("amounts pending after enrichment", got.pending, 0),
                ("orders with the status and total sent", matching, len(expected)),
            ]
            for external_id, problem in list((k, v) for k, v in problems.items() if v)[:3]:
                print(f"  {t.store.name:<15} order {external_id}: {problem}")
        for label, actual, wanted in checks:
            ok = actual == wanted
            verdict = "OK" if ok else "MISMATCH"
            print(f"  {t.store.name:<15} {label}: {verdict} ({actual} vs {wanted})")
            if not ok:
                failed.append(f"{t.store.name}: {label}: stored {actual}, sent {wanted}")
    return failed


# ---------------------------------------------------------------- the stack


@contextmanager
def local_stack(state_dir: Path, keep: bool = False) -> Iterator[Mapping[str, Any]]:
    """Start the embedded stack, yield its stack.json (api_url, admin_token, ...), stop it
    (unless ``keep``: then it runs on until ``make down STATE=...``)."""
    try:
        # Imported here: it pulls in moto, which the generator and --help don't need.
        from infra.local import LocalStack
    except ImportError as exc:
        raise DemoError(f"the local stack is not available (infra.local): {exc}") from exc
    stack = LocalStack(state_dir)
    info = stack.start()
    try:
        yield info
    except BaseException:
        stack.stop()
        raise
    if not keep:
        stack.stop()


class Fake:
    """The stack's fake of the marketplaces' order APIs (infra.local.marketplaces)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        try:
            response = self.session.request(
                method, f"{self.base_url}/_fake/{path}", json=body, timeout=HTTP_TIMEOUT
            )
        except requests.RequestException as exc:
            raise DemoError(f"fake marketplaces: {method} {path}: {exc}") from exc
        if response.status_code >= 300:
            raise DemoError(
                f"fake marketplaces: {method} {path} answered {response.status_code}: "
                f"{response.text[:300]}"
            )
        return response.json()

    def connect(self, store: DemoStore) -> dict[str, Any]:
        """Register the store's app and have the seller authorise it: the credentials."""
        self.call(
            "POST",
            "apps",
            {"platform": store.platform, "app_id": store.app_id, "app_secret": store.app_secret},
        )
        grant = self.call(
            "POST",
            "grants",
            {"platform": store.platform, "app_id": store.app_id, "shop": store.api_shop},
        )
        return dict(grant["credentials"])


def create_tenant_and_stores(
    api: Api, admin_token: str, history: DemoHistory, fake: Fake, queue_url: str
) -> tuple[str, dict[str, Target]]:
    tenant = api.call("POST", "/tenants", admin_token, json=TENANT, expect=201)
    api_key = tenant["api_key"]
    targets: dict[str, Target] = {}
    for store in history.stores:
        request: dict[str, Any] = {
            "platform": store.platform,
            "external_id": store.external_id,
            "market": store.market,
            "currency": store.currency,
            "name": store.name,
        }
        if store.webhook_secret:
            request["webhook_secret"] = store.webhook_secret
        if store.app_key:
            request["app_key"] = store.app_key
        created = api.call("POST", "/stores", api_key, json=request, expect=201)
        store_id = str(created["store_id"])
        url: str | None = None
        if store.platform != AMAZON:
            # webhook_url may be absolute or a path under the API's base URL.
            url = str(created["webhook_url"])
            if not url.startswith(("http://", "https://")):
                url = urljoin(api.base_url, url.lstrip("/"))
        if store.platform != "shopify":
            credentials = fake.connect(store)
            api.call("PUT", f"/stores/{store_id}/credentials", api_key, json=credentials)
        targets[store.key] = Target(
            store, store_id, url, queue_url if store.platform == AMAZON else None
        )
    print(f"  tenant {tenant.get('tenant_id', '?')} ({TENANT['name']})")
    for t in targets.values():
        where = "SQS" if t.store.platform == AMAZON else "webhooks"
        print(
            f"  {t.store.name:<15} {PLATFORM_NAMES[t.store.platform]:<12} "
            f"{t.store.external_id:<24} {t.store.currency}  {t.store_id}  ({where})"
        )
    return api_key, targets


def seed_marketplaces(fake: Fake, history: DemoHistory) -> None:
    """The orders the marketplaces' APIs will answer, there before any notification."""
    for seed in history.seeds:
        fake.call(
            "POST",
            "orders",
            {
                "platform": seed.platform,
                "shop": seed.shop,
                "order": seed.order,
                "items": seed.items,
            },
        )
    counts = Counter(PLATFORM_NAMES[s.platform] for s in history.seeds)
    print(
        f"  {len(history.seeds):,} orders seeded into the marketplaces' order APIs ("
        + ", ".join(f"{name} {n}" for name, n in counts.items())
        + ")"
    )


# ---------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--orders", type=int, default=1000, help="about this many orders")
    parser.add_argument("--seed", type=int, default=7, help="generator seed")
    parser.add_argument("--workers", type=int, default=8, help="parallel senders")
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds to wait for ingestion to drain"
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the stack up with the demo's data, to look at it in the seller console",
    )
    args = parser.parse_args(argv)
    if args.orders < 1 or args.workers < 1:
        parser.error("--orders and --workers must be positive")
    return args


def print_intro(history: DemoHistory) -> None:
    truth = history.expected.total
    heading("LinkStar demo: Acme Global sells CDs on Shopify, TikTok Shop, Shopee, Lazada, Amazon")
    sent = Counter(d.platform for d in history.deliveries)
    print(
        f"  {truth('orders'):,} orders by {len(history.customers):,} real CDNOW customers in "
        f"{len(history.stores)} stores, {history.first_day.isoformat()} to "
        f"{history.last_day.isoformat()}; {len(history.deliveries):,} deliveries: "
        + ", ".join(f"{PLATFORM_NAMES[p]} {sent[p]:,}" for p in PLATFORMS if sent[p])
    )
    print(
        f"  injected faults: {truth('duplicates')} duplicate deliveries, "
        f"{truth('out_of_order')} out-of-order deliveries, "
        f"{truth('ignored_topics')} deliveries LinkStar acknowledges and doesn't apply"
    )
    print(textwrap.fill(DATE_SHIFT_NOTE, width=98, initial_indent="  ", subsequent_indent="  "))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    history = build_history(max_orders=args.orders, seed=args.seed)
    print_intro(history)

    # A demo that was killed (not interrupted) left its stack running, and deleting its state
    # would orphan it: a second stack on two cores halves the speed of this one.
    from infra.local import control

    if control.down(STATE_DIR):
        print("  stopped the stack a previous, interrupted demo left running")
    shutil.rmtree(STATE_DIR, ignore_errors=True)  # a fresh stack: old state would blur the checks
    STATE_DIR.mkdir(parents=True)
    failed: list[str] = []
    try:
        heading("Starting the local stack")
        with local_stack(STATE_DIR, keep=args.keep) as info:
            api = Api(str(info["api_url"]))
            fake = Fake(str(info["marketplaces_url"]))
            sqs = Sqs(str(info["aws_endpoint_url"]), str(info["region"]))
            print(f"  API {info['api_url']}  (state in {STATE_DIR.relative_to(REPO_ROOT)})")
            api_key, targets = create_tenant_and_stores(
                api,
                str(info["admin_token"]),
                history,
                fake,
                str(info["amazon_notifications_queue_url"]),
            )
            seed_marketplaces(fake, history)
            flows = demo_outreach.enable_presets(str(info["api_url"]), api_key)
            print(f"  outreach presets on: {', '.join(f['name'] for f in flows)}")
            demo_billing.setup(info, {TENANT["name"]: api_key})
            demo_costs.setup(info, api_key, history)

            heading(
                f"Sending {len(history.deliveries):,} signed deliveries ({args.workers} workers)"
            )
            sent_at = time.monotonic()
            stats = send_all(history, targets, args.workers, sqs)
            seconds = time.monotonic() - sent_at
            outcomes = ", ".join(f"{n:,} {k}" for k, n in stats.outcomes.most_common())
            rate = stats.sent / max(seconds, 1e-9)
            print(f"  {stats.sent:,} sent in {seconds:.1f} s ({rate:.0f}/s): {outcomes}")
            if stats.retries:
                print(f"  {stats.retries} retries after 429/5xx or connection errors")
            for failure in stats.failures:
                print(f"  rejected: {failure}")

            heading("Waiting for ingestion to drain and enrichment to fetch every amount")
            snap, gave_up = wait_for_drain(api, api_key, history, targets, args.timeout)
            if gave_up:
                failed.append(gave_up)
            calls = enrichment_calls(fake.call("GET", "stats"))
            orders = read_orders(api, api_key, targets)

            print_platforms(snap, history, targets, calls)
            print_sales(snap, targets)
            print_repeat_customers(api, api_key, history)
            print_trend(snap, history)
            print_ingest(snap, history, targets)
            dlq = api.call("GET", "/admin/dlq", str(info["admin_token"]), params={"limit": 500})
            print(f"\n  Dead-letter queue: {len(dlq.get('messages', [])):,} messages")
            failed += check(snap, history, targets, orders)
            shop = next(t for t in targets.values() if t.store.platform == "shopify")
            failed += demo_outreach.run(
                info,
                api_key,
                str(shop.webhook_url),
                str(shop.store.webhook_secret),
                sqs.client(),
            )
            failed += demo_billing.run(info, {TENANT["name"]: api_key})
            failed += demo_kpis.run(info, {TENANT["name"]: api_key})
            heading("Funnel and the global cost of every order")
            failed += demo_costs.run(info, api_key)
            if not args.keep:
                print("\n  Stopping the local stack ...")
    except DemoError as exc:
        print(f"\ndemo failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130

    print(f"\nDone in {time.monotonic() - began:.0f} s.")
    if failed:
        print("\nIngestion did not match what was sent:", file=sys.stderr)
        for reason in failed:
            print(f"  - {reason}", file=sys.stderr)
        return 1
    print("Everything LinkStar stored matches what the platforms sent.")
    where = STATE_DIR.relative_to(REPO_ROOT)
    if args.keep:
        print(
            "\nThe stack is still up with the demo's data. Seller console:"
            f" {info.get('console_url')}\n  sign in with the API key {api_key}"
            f" ({TENANT['name']}, owner); stop it with `make down STATE={where}`."
        )
    else:
        print(
            f"\nThe seller console was at {info.get('console_url')} while the demo ran; that"
            " stack has stopped. To look around it with the demo's data, run `make demo KEEP=1`"
            f" (it leaves the stack up and prints the console's URL and an API key; `make down"
            f" STATE={where}` stops it), or `make up` for an empty stack."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
