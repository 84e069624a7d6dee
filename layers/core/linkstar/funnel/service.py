"""``GET /funnel``: each group's stage counts for a period and the one before, loaded from the
daily aggregates (checkouts, orders, paid, fulfilled, delivered and the repeat stages: ingest keeps
them per day x store x market) and the imported facts (impressions, clicks, sessions,
add-to-carts, reviews), then analysed by :mod:`linkstar.funnel.analysis`.

Grouping (``by``): ``market`` (the destination), ``store``, ``platform`` and ``channel`` (the
sales channel: the store's platform), and ``campaign``. Order-side stages can't be split by
campaign, so a campaign's funnel has only its imported stages (the others are "no data", not
zero). An imported fact without the grouping's dimension falls in the group ``unknown``.

**Repeat stages** (``repeat_30d``, ``60d``, ``90d``): of the customers whose first purchase fell
in the period (cancelled orders aside), those who bought again within N days of it. Ingest counts
each customer on the day, store and market of their first purchase
(:mod:`linkstar.funnel.contribution`), and moves them when an earlier order arrives late, so the
stage is a sum of aggregates like the others. Until N days have passed since the period's last
day, some of those customers may still come back: the count is *growing*, the analysis says so
and leaves the step out of the drop-offs, and the ``repeat`` block of the answer gives the day
the count becomes final (``complete_on``; final once ``as_of``, the last whole day, reaches it)
with each group's cohort size and repeat rate so far.

Reads are bounded by days, stores and markets (the aggregates) and by imported facts, never by
orders or customers.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from linkstar.errors import BadRequest
from linkstar.funnel import cohorts
from linkstar.funnel import stages as catalogue
from linkstar.funnel.contribution import (
    COHORT_CUSTOMERS,
    REVENUE_PREFIX,
    repeat_field,
)
from linkstar.kpis import scoring
from linkstar.kpis.data import Loader, months, shift_month
from linkstar.money import is_currency
from linkstar.text import Text

GroupBy = Literal["market", "store", "platform", "channel", "campaign"]
GROUPINGS: tuple[str, ...] = ("market", "store", "platform", "channel", "campaign")
UNKNOWN = "unknown"
MAX_COHORT_MONTHS = 60

_AGGREGATE_FIELDS = {
    "checkouts": "checkouts",
    "orders": "orders",
    "paid_orders": "paid_orders",
    "fulfilled": "fulfilled",
    "delivered": "delivered",
    # Ingest names a repeat window's field after the stage (linkstar.funnel.contribution).
    "repeat_30d": repeat_field(30),
    "repeat_60d": repeat_field(60),
    "repeat_90d": repeat_field(90),
}
_FACT_DIMENSION = {
    "market": "market",
    "store": "store_id",
    "platform": "platform",
    "channel": "platform",
    "campaign": "campaign",
}


def load_config(tenant_id: str) -> catalogue.StageConfig:
    from linkstar.store import dynamo, keys

    item = dynamo.get(keys.funnel_config(tenant_id))
    if not item:
        return catalogue.StageConfig()
    return catalogue.StageConfig.model_validate_json(item["doc"])


def save_config(tenant_id: str, body: dict[str, Any]) -> catalogue.StageConfig:
    from linkstar.store import dynamo, keys

    config = catalogue.StageConfig.model_validate(body)
    dynamo.put(
        {**keys.funnel_config(tenant_id), "type": "funnel_config", "doc": config.model_dump_json()}
    )
    return config


def counts(
    loader: Loader, stages: list[str], start: date, end: date, by: str
) -> dict[str, dict[str, int | None]]:
    """``counts[group][stage]`` for ``start``..``end`` inclusive (see the module docstring)."""
    out: dict[str, dict[str, int | None]] = {}

    def add(group: str, stage: str, value: int) -> None:
        row = out.setdefault(group, {})
        row[stage] = (row.get(stage) or 0) + value

    order_stages = [s for s in stages if s in _AGGREGATE_FIELDS]
    sums = _aggregate_sums(loader, [_AGGREGATE_FIELDS[s] for s in order_stages], start, end, by)
    for group, fields in sums.items():
        for stage in order_stages:
            add(group, stage, fields[_AGGREGATE_FIELDS[stage]])
    for stage in stages:
        metric = catalogue.CATALOGUE[stage].metric
        if catalogue.CATALOGUE[stage].source != "import" or metric is None:
            continue
        for month in months(start, end):
            for fact in loader.fact_month(metric, month):
                day = date.fromisoformat(fact["date"])
                if start <= day <= end:
                    group = str(fact.get(_FACT_DIMENSION[by]) or UNKNOWN)
                    add(group, stage, int(fact["value"]))
    for row in out.values():
        for stage in stages:
            row.setdefault(stage, None)  # not seen for this group: no data, not zero
    return out


def _aggregate_sums(
    loader: Loader, fields: list[str], start: date, end: date, by: str
) -> dict[str, dict[str, int]]:
    """``sums[group][field]`` over the daily aggregates of ``start``..``end`` (none by campaign:
    aggregates don't know it)."""
    out: dict[str, dict[str, int]] = {}
    if not fields or by == "campaign":
        return out
    for month in months(start, end):
        for item in loader.aggregate_month(month):
            if not start <= date.fromisoformat(item["day"]) <= end:
                continue
            row = out.setdefault(_aggregate_group(loader, item, by), dict.fromkeys(fields, 0))
            for name in fields:
                row[name] += int(item.get(name, 0))
    return out


def _aggregate_group(loader: Loader, item: dict[str, Any], by: str) -> str:
    if by == "market":
        return str(item.get("market") or UNKNOWN)
    if by == "store":
        return str(item.get("store_id") or UNKNOWN)
    return loader.platform_of(str(item.get("store_id"))) or UNKNOWN


def report(tenant_id: str, reporting_currency: str, label: str, by: str, today: date) -> Any:
    from linkstar.funnel import analysis

    if by not in GROUPINGS:
        raise BadRequest(
            Text("funnel.invalid_grouping", groupings=", ".join(GROUPINGS)), code="invalid_query"
        )
    try:
        ranges = scoring.data_ranges(label, today)
    except ValueError as exc:
        raise BadRequest(str(exc), code="invalid_query") from exc
    config = load_config(tenant_id)
    names: list[str] = list(config.stages)
    loader = Loader(tenant_id, reporting_currency)
    current = counts(loader, names, *ranges.current, by)
    previous = counts(loader, names, *ranges.previous, by)
    # The last whole day: an order placed later today may still be someone's repeat.
    as_of = today - timedelta(days=1)
    repeat = next((s for s in config.stages if s in catalogue.REPEAT_STAGES), None)
    windows = {}
    if repeat is not None:
        windows = {
            side: _repeat_window(loader, repeat, *span, by, as_of)
            for side, span in (("current", ranges.current), ("previous", ranges.previous))
        }
        # A group whose orders name no buyer (a marketplace that hides them) has no first-time
        # customers to follow: its repeat stage is "no data", not a repeat rate of 0.
        for side, table in (("current", current), ("previous", previous)):
            for group, row in table.items():
                if not windows[side]["groups"].get(group, {}).get("customers"):
                    row[repeat] = None
    result = analysis.funnel(
        config,
        current,
        previous,
        period=label,
        growing=[repeat] if repeat and not windows["current"]["complete"] else [],
        previous_growing=[repeat] if repeat and not windows["previous"]["complete"] else [],
    )
    view: dict[str, Any] = result.model_dump(mode="json")
    view.update(by=by, reads=loader.reads)
    view["repeat"] = (
        {"stage": repeat, "as_of": as_of.isoformat(), **windows} if repeat is not None else None
    )
    return view


def _repeat_window(
    loader: Loader, stage: str, start: date, end: date, by: str, as_of: date
) -> dict[str, Any]:
    """A repeat stage over one period: when its count becomes final, and per group the cohort
    (customers whose first purchase fell in ``start``..``end``) and its repeat rate so far."""
    days = catalogue.CATALOGUE[stage].repeat_days
    assert days is not None  # a repeat stage always has its window
    complete_on = end + timedelta(days=days)
    field = repeat_field(days)
    groups = {
        group: {
            "customers": sums[COHORT_CUSTOMERS],
            "repeat_customers": sums[field],
            "repeat_rate": _rate(sums[field], sums[COHORT_CUSTOMERS]),
        }
        for group, sums in _aggregate_sums(
            loader, [COHORT_CUSTOMERS, field], start, end, by
        ).items()
    }
    return {
        "first_orders_from": start.isoformat(),
        "first_orders_to": end.isoformat(),
        "days": days,
        "complete_on": complete_on.isoformat(),
        "complete": as_of >= complete_on,
        "groups": groups,
    }


def _rate(part: int, whole: int) -> str | None:
    if whole <= 0:
        return None
    return str((Decimal(part) / whole).quantize(cohorts.RATE_PLACES, rounding=ROUND_HALF_EVEN))


def cohort_report(
    tenant_id: str,
    currency: str,
    first: str | None,
    last: str | None,
    today: date,
) -> dict[str, Any]:
    """``GET /cohorts``: per first-order month from ``first`` to ``last`` (``YYYY-MM``; the last
    twelve months by default), the customers, and at 30, 60, 90 and 180 days the repeat rate and
    the revenue per customer in ``currency``, with the rules of :mod:`linkstar.funnel.cohorts`: a
    window that has not closed for every customer of the month is withheld and says when it
    will be complete. Revenue in other currencies is converted at the rate of the cohort
    month's last day (the tenant's FX rates); a currency without one is left out and named in
    ``unconverted_currencies`` (the per-customer figure still divides by every customer). One
    query over the tenant's cohort items, and the FX rates of each month, however many orders
    or customers."""
    from linkstar.store import cohorts as cohort_repo

    last = last or scoring.period_label("month", today)
    try:
        scoring.period_bounds("month", last)
        first = first or shift_month(last, -11)  # twelve months by default
        scoring.period_bounds("month", first)
    except ValueError as exc:
        raise BadRequest(
            Text("funnel.invalid_months", error=str(exc)), code="invalid_query"
        ) from exc
    if not 0 <= _month_index(last) - _month_index(first) < MAX_COHORT_MONTHS:
        raise BadRequest(
            Text("funnel.invalid_month_range", months=MAX_COHORT_MONTHS), code="invalid_query"
        )
    currency = currency.upper()
    if not is_currency(currency):
        raise BadRequest(
            Text("funnel.invalid_currency", currency=repr(currency)), code="invalid_query"
        )
    from linkstar.costs.service import MonthEndRates

    items = cohort_repo.read_months(tenant_id, first, last)
    rates = MonthEndRates(tenant_id, currency)
    unconverted: set[str] = set()
    totals = {}
    for item in items:
        month = str(item["month"])
        revenue = dict.fromkeys(cohorts.COHORT_WINDOWS, Decimal(0))
        for name, value in item.items():
            if not name.startswith(REVENUE_PREFIX) or not value:
                continue
            window, cur = name[len(REVENUE_PREFIX) :].split("#", 1)
            converted = rates.convert(Decimal(value), cur, month)
            if converted is None:
                unconverted.add(cur)
            else:
                revenue[int(window.rstrip("d"))] += converted
        totals[month] = cohorts.CohortTotals(
            customers=int(item.get(COHORT_CUSTOMERS, 0)),
            repeat_customers={
                days: int(item.get(repeat_field(days), 0)) for days in cohorts.COHORT_WINDOWS
            },
            revenue=revenue,
        )
    # The last whole day: an order placed later today may still be someone's repeat.
    as_of = today - timedelta(days=1)
    rows = cohorts.from_totals(totals, as_of=as_of, currency=currency)
    return {
        "from": first,
        "to": last,
        "currency": currency,
        "as_of": as_of.isoformat(),
        "windows": list(cohorts.COHORT_WINDOWS),
        "cohorts": [row.model_dump(mode="json") for row in rows],
        "unconverted_currencies": sorted(unconverted),
        "reads": 1 + len(rates.tables),
    }


def _month_index(label: str) -> int:
    return int(label[:4]) * 12 + int(label[5:7]) - 1
