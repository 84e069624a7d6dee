"""Daily aggregates per tenant x store x market, kept on write with atomic ADDs.

Each aggregate is one item, so a dashboard reads a month in one query. Counters are DynamoDB
numbers (exact decimals), so money adds without float error.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from linkstar.orders.state import AggregateKey
from linkstar.store import dynamo, keys


def delta_ops(tenant_id: str, deltas: dict[AggregateKey, dict[str, Decimal]]) -> list[dynamo.Op]:
    ops = []
    for (day, store_id, market), fields in sorted(deltas.items()):
        names = {"#d": "day"}
        values: dict[str, Any] = {
            ":d": day,
            ":s": store_id,
            ":m": market,
            ":t": tenant_id,
            ":type": "aggregate",
        }
        adds = []
        for i, (name, value) in enumerate(sorted(fields.items())):
            names[f"#a{i}"] = name
            values[f":a{i}"] = value
            adds.append(f"#a{i} :a{i}")
        ops.append(
            dynamo.update_op(
                keys.aggregate(tenant_id, day, store_id, market),
                "SET #d = :d, store_id = :s, market = :m, tenant_id = :t, #type = :type "
                "ADD " + ", ".join(adds),
                names={**names, "#type": "type"},
                values=values,
            )
        )
    return ops


def read_range(tenant_id: str, day_from: str, day_to: str) -> list[dict[str, Any]]:
    """Every aggregate item from ``day_from`` to ``day_to`` inclusive (YYYY-MM-DD)."""
    items: list[dict[str, Any]] = []
    month = day_from[:7]
    while month <= day_to[:7]:
        items.extend(
            dynamo.query_all(
                "pk",
                keys.aggregate_month(tenant_id, month),
                sk_between=(day_from, day_to + "#\uffff"),
            )
        )
        year, mon = int(month[:4]), int(month[5:7])
        month = f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"
    return items
