"""Repeat-purchase cohorts in DynamoDB: one item per tenant x first-order month (``T#<tid>#COHORT``
/ ``<yyyy-mm>``), kept on write with atomic ADDs in the order's transaction.

An item holds the cohort fields of :mod:`linkstar.funnel.contribution` (``cohort_customers``,
``repeat_{N}d``, ``cohort_revenue_{N}d#<currency>``) summed over the month's first-order days,
stores and markets: the same deltas ingest adds to the daily aggregates, rolled up by month, so
``GET /cohorts`` reads any range of months in one query however many orders and customers there
are.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from linkstar.funnel.contribution import is_cohort_field
from linkstar.orders.state import AggregateKey
from linkstar.store import dynamo, keys

ITEM_TYPE = "cohort"


def delta_ops(
    tenant_id: str, deltas: Mapping[AggregateKey, Mapping[str, Decimal]]
) -> list[dynamo.Op]:
    """The cohort items' share of aggregate ``deltas`` (other fields are left out), one op per
    month: a transaction may not touch an item twice."""
    by_month: dict[str, dict[str, Decimal]] = {}
    for (day, _store_id, _market), fields in deltas.items():
        for name, value in fields.items():
            if is_cohort_field(name):
                slot = by_month.setdefault(day[:7], {})
                slot[name] = slot.get(name, Decimal(0)) + value
    ops = []
    for month, fields in sorted(by_month.items()):
        adds = sorted((name, value) for name, value in fields.items() if value != 0)
        if not adds:
            continue
        names = {"#type": "type", "#month": "month"}
        values: dict[str, Any] = {":t": tenant_id, ":type": ITEM_TYPE, ":month": month}
        for i, (name, value) in enumerate(adds):
            names[f"#a{i}"] = name
            values[f":a{i}"] = value
        ops.append(
            dynamo.update_op(
                keys.cohort(tenant_id, month),
                "SET tenant_id = :t, #type = :type, #month = :month ADD "
                + ", ".join(f"#a{i} :a{i}" for i in range(len(adds))),
                names=names,
                values=values,
            )
        )
    return ops


def read_months(tenant_id: str, first: str, last: str) -> list[dict[str, Any]]:
    """Every cohort item from month ``first`` to ``last`` inclusive (``YYYY-MM``): one query."""
    return [
        item
        for item in dynamo.query_all("pk", keys.cohorts(tenant_id), sk_between=(first, last))
        if item.get("type") == ITEM_TYPE
    ]
