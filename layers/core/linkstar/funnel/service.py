"""``GET /funnel``: each group's stage counts for a period and the one before, loaded from the
daily aggregates (checkouts, orders, paid, fulfilled, delivered: ingest keeps them per day x
store x market) and the imported facts (impressions, clicks, sessions, add-to-carts, reviews),
then analysed by :mod:`linkstar.funnel.analysis`.

Grouping (``by``): ``market`` (the destination), ``store``, ``platform`` and ``channel`` (the
sales channel: the store's platform), and ``campaign``. Order-side stages can't be split by
campaign, so a campaign's funnel has only its imported stages (the others are "no data", not
zero). An imported fact without the grouping's dimension falls in the group ``unknown``.

The repeat stages (``repeat_30d`` …) need each new customer's next order date, which ingest does
not keep yet: they are "no data" until it does. Reads are bounded by days, stores and markets
(the aggregates) and by imported facts, never by orders.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from linkstar.errors import BadRequest
from linkstar.funnel import stages as catalogue
from linkstar.kpis import scoring
from linkstar.kpis.data import Loader, months

GroupBy = Literal["market", "store", "platform", "channel", "campaign"]
GROUPINGS: tuple[str, ...] = ("market", "store", "platform", "channel", "campaign")
UNKNOWN = "unknown"

_AGGREGATE_FIELDS = {
    "checkouts": "checkouts",
    "orders": "orders",
    "paid_orders": "paid_orders",
    "fulfilled": "fulfilled",
    "delivered": "delivered",
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
    if order_stages and by != "campaign":
        for month in months(start, end):
            for item in loader.aggregate_month(month):
                day = date.fromisoformat(item["day"])
                if not start <= day <= end:
                    continue
                group = _aggregate_group(loader, item, by)
                for stage in order_stages:
                    add(group, stage, int(item.get(_AGGREGATE_FIELDS[stage], 0)))
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


def _aggregate_group(loader: Loader, item: dict[str, Any], by: str) -> str:
    if by == "market":
        return str(item.get("market") or UNKNOWN)
    if by == "store":
        return str(item.get("store_id") or UNKNOWN)
    return loader.platform_of(str(item.get("store_id"))) or UNKNOWN


def report(tenant_id: str, reporting_currency: str, label: str, by: str, today: date) -> Any:
    from linkstar.funnel import analysis

    if by not in GROUPINGS:
        raise BadRequest(f"by must be one of {', '.join(GROUPINGS)}", code="invalid_query")
    try:
        ranges = scoring.data_ranges(label, today)
    except ValueError as exc:
        raise BadRequest(str(exc), code="invalid_query") from exc
    config = load_config(tenant_id)
    names: list[str] = list(config.stages)
    loader = Loader(tenant_id, reporting_currency)
    current = counts(loader, names, *ranges.current, by)
    previous = counts(loader, names, *ranges.previous, by)
    result = analysis.funnel(config, current, previous, period=label)
    view: dict[str, Any] = result.model_dump(mode="json")
    view.update(by=by, reads=loader.reads)
    return view
