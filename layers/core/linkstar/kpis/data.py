"""Loading a KPI's data: formula windows from the order aggregates and the imported facts, within
the KPI's scope, and each metric's freshness.

- **Order metrics** (``library.ORDER_METRICS``) come from the daily aggregates that ingest keeps
  per store x market: one query per month of the range, however many orders there are. Money
  (``gmv``, ``refund_amount``) is the part in the tenant's reporting currency; other currencies
  are not converted here (issue 7's FX owns that) and are reported as left out. ``customers`` is
  new plus returning customers of the day. Aggregates can be scoped by store, platform (the
  store's) and market, not by campaign, SKU or owner: a KPI scoped that way gets no order data
  (its reason says so) rather than the whole store's numbers passed off as the campaign's.
- **Imported metrics** come from the facts (``linkstar.store.kpis``): one query per metric per
  month, filtered to the scope's dimensions. A scope key the fact doesn't carry excludes it.
  Flows and levels of several stores on one day add up; a rate or a time (ODR, response hours)
  from several marketplaces on one day is their plain mean, not their sum — scope the KPI to a
  market for that market's own rate.
- **Freshness**: an imported metric's last fact date and last import time; order metrics are as
  fresh as the latest aggregate day seen in the range. A metric is *stale* when its last fact is
  more than ``STALE_AFTER_DAYS`` days before the end of what was asked (today for a period in
  progress), so a KPI never shows last week's numbers as current.

A :class:`Loader` caches what it read for the length of one request, so a dashboard over many
KPIs and six periods reads each (metric, month) once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from linkstar.kpis.formula import Window
from linkstar.kpis.library import METRICS, ORDER_METRICS

STALE_AFTER_DAYS = 2
RATE_UNITS = frozenset({"percent", "ratio", "hours"})
SCOPE_KEYS = ("store_id", "platform", "market", "campaign", "sku", "owner")
ORDER_SCOPE_KEYS = frozenset({"store_id", "platform", "market"})

_COUNTERS = {
    "orders": "orders",
    "units": "units",
    "refunds": "refunded_orders",  # the metric counts orders refunded, not refund events
    "cancellations": "cancelled",
    "new_customers": "new_customers",
    "returning_customers": "returning_customers",
}


def months(start: date, end: date) -> list[str]:
    """The ``YYYY-MM`` labels of the months ``start``..``end`` touch, in order."""
    out = []
    month = date(start.year, start.month, 1)
    while month <= end:
        out.append(month.strftime("%Y-%m"))
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return out


def shift_month(label: str, months_later: int) -> str:
    """The ``YYYY-MM`` label ``months_later`` months after ``label`` (before, when negative)."""
    year, month = divmod(int(label[:4]) * 12 + int(label[5:7]) - 1 + months_later, 12)
    return f"{year:04d}-{month + 1:02d}"


class Loader:
    """Reads for one tenant, cached per (source, month) for one request."""

    def __init__(self, tenant_id: str, reporting_currency: str) -> None:
        self.tenant_id = tenant_id
        self.currency = reporting_currency
        self._aggregates: dict[str, list[dict[str, Any]]] = {}
        self._facts: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._platforms: dict[str, str] | None = None
        self.reads = 0  # DynamoDB queries made (bench/kpis.py reports it)
        self.other_currencies: set[str] = set()
        self._sources: dict[str, dict[str, Any]] | None = None

    # -------------------------------------------------------------- raw reads

    def aggregate_month(self, month: str) -> list[dict[str, Any]]:
        """The tenant's daily order aggregates (every store x market) of ``month``."""
        if month not in self._aggregates:
            from linkstar.store import dynamo, keys

            self.reads += 1
            self._aggregates[month] = [
                item
                for item in dynamo.query_all("pk", keys.aggregate_month(self.tenant_id, month))
                if item.get("type") == "aggregate"
            ]
        return self._aggregates[month]

    def fact_month(self, metric: str, month: str) -> list[dict[str, Any]]:
        """The imported facts of ``metric`` dated in ``month``, every dimension."""
        if (metric, month) not in self._facts:
            from linkstar.store import dynamo, keys

            self.reads += 1
            self._facts[(metric, month)] = list(
                dynamo.query_all("pk", keys.metric_month(self.tenant_id, metric, month))
            )
        return self._facts[(metric, month)]

    def platform_of(self, store_id: str) -> str | None:
        if self._platforms is None:
            from linkstar.store import stores

            self.reads += 1
            self._platforms = {
                s.store_id: str(s.platform.value if hasattr(s.platform, "value") else s.platform)
                for s in stores.list_all(self.tenant_id)
            }
        return self._platforms.get(store_id)

    # -------------------------------------------------------------- series

    def order_series(
        self, metric: str, start: date, end: date, scope: Mapping[str, str]
    ) -> list[tuple[date, Decimal]]:
        if set(scope) - ORDER_SCOPE_KEYS:
            return []
        pairs: list[tuple[date, Decimal]] = []
        for month in months(start, end):
            for item in self.aggregate_month(month):
                day = date.fromisoformat(item["day"])
                if not start <= day <= end or not self._in_order_scope(item, scope):
                    continue
                value = self._order_value(metric, item)
                if value is not None:
                    pairs.append((day, value))
        return pairs

    def _in_order_scope(self, item: Mapping[str, Any], scope: Mapping[str, str]) -> bool:
        if "store_id" in scope and item.get("store_id") != scope["store_id"]:
            return False
        if "market" in scope and item.get("market") != scope["market"]:
            return False
        return not (
            "platform" in scope and self.platform_of(str(item.get("store_id"))) != scope["platform"]
        )

    def _order_value(self, metric: str, item: Mapping[str, Any]) -> Decimal | None:
        if metric in _COUNTERS:
            return Decimal(item.get(_COUNTERS[metric], 0))
        if metric == "customers":
            return Decimal(item.get("new_customers", 0)) + Decimal(
                item.get("returning_customers", 0)
            )
        prefix = {"gmv": "gmv#", "refund_amount": "refunded#"}.get(metric)
        if prefix is None:
            return None
        for name, value in item.items():
            if name.startswith(prefix) and name != f"{prefix}{self.currency}" and value:
                self.other_currencies.add(name.split("#", 1)[1])
        return Decimal(item.get(f"{prefix}{self.currency}", 0))

    def fact_series(
        self, metric: str, start: date, end: date, scope: Mapping[str, str]
    ) -> list[tuple[date, Decimal]]:
        pairs: list[tuple[date, Decimal]] = []
        for month in months(start, end):
            for item in self.fact_month(metric, month):
                day = date.fromisoformat(item["date"])
                if not start <= day <= end:
                    continue
                if any(item.get(key) != value for key, value in scope.items()):
                    continue
                pairs.append((day, Decimal(item["value"])))
        info = METRICS.get(metric)
        if info is not None and info.unit in RATE_UNITS:
            # A rate from several marketplaces or stores on one day is not their sum (the
            # window adds same-day values): the day's value is their plain mean.
            by_day: dict[date, list[Decimal]] = {}
            for day, value in pairs:
                by_day.setdefault(day, []).append(value)
            pairs = [(day, sum(v, Decimal(0)) / len(v)) for day, v in sorted(by_day.items())]
        return pairs

    def window(
        self, metrics: Iterable[str], start: date, end: date, scope: Mapping[str, str]
    ) -> Window:
        values = {}
        for metric in sorted(set(metrics)):
            series = (
                self.order_series(metric, start, end, scope)
                if metric in ORDER_METRICS
                else self.fact_series(metric, start, end, scope)
            )
            if series:
                values[metric] = series
        return Window(start=start, end=end, values=values)

    # -------------------------------------------------------------- freshness

    def freshness(self, metrics: Iterable[str], as_of: date) -> dict[str, Any]:
        """Per metric: its last fact date, last import and whether it is stale as of ``as_of``."""
        if self._sources is None:
            from linkstar.store import kpis as store

            self.reads += 1
            self._sources = {
                item["sk"].removeprefix("METRIC#"): item
                for item in store.sources(self.tenant_id)
                if item["sk"].startswith("METRIC#")
            }
        sources = self._sources
        out: dict[str, Any] = {}
        stale_before = as_of - timedelta(days=STALE_AFTER_DAYS)
        wanted = sorted(set(metrics))
        last_order_day: str | None = None
        if ORDER_METRICS.intersection(wanted):
            # Every order metric is as fresh as the latest aggregate day: scan them once.
            days = [
                item["day"]
                for month in months(as_of - timedelta(days=31), as_of)
                for item in self.aggregate_month(month)
                if item["day"] <= as_of.isoformat()
            ]
            last_order_day = max(days) if days else None
        for metric in wanted:
            if metric in ORDER_METRICS:
                last = last_order_day
                out[metric] = {"source": "orders", "last_fact_date": last, "last_import_at": None}
            else:
                item = sources.get(metric) or {}
                last = item.get("last_fact_date")
                out[metric] = {
                    "source": item.get("last_source", "import"),
                    "last_fact_date": last,
                    "last_import_at": item.get("last_import_at"),
                }
            out[metric]["stale"] = last is None or date.fromisoformat(last) < stale_before
        return out
