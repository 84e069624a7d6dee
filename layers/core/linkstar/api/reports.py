"""``GET /reports/daily?from=&to=``: the daily aggregates (one query per month of range)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from chalice import Blueprint

from linkstar import clock
from linkstar.api.auth import principal
from linkstar.api.http import Auth, Param, query_params, route
from linkstar.errors import BadRequest
from linkstar.store import aggregates
from linkstar.text import Text

bp = Blueprint(__name__)
COUNTERS = (
    "orders",
    "units",
    "cancelled",
    "refunds",
    "amounts_pending",
    "new_customers",
    "returning_customers",
    "checkouts",
    "paid_orders",
    "fulfilled",
    "delivered",
)
MONEY = ("gmv", "refunded")
MAX_DAYS = 732


def _row(item: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "date": item["day"],
        "store_id": item["store_id"],
        "market": item["market"],
    }
    for name in COUNTERS:
        row[name] = int(item.get(name, 0))
    for name in MONEY:
        row[name] = {
            key.split("#", 1)[1]: str(value)
            for key, value in sorted(item.items())
            if key.startswith(f"{name}#") and value != 0
        }
    return row


def _totals(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    grouped: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        slot = grouped.setdefault(
            (row["store_id"], row["market"]),
            {"store_id": row["store_id"], "market": row["market"], **dict.fromkeys(COUNTERS, 0)}
            | {name: {} for name in MONEY},
        )
        for name in COUNTERS:
            slot[name] += row[name]
        for name in MONEY:
            for currency, amount in row[name].items():
                slot[name][currency] = str(Decimal(slot[name].get(currency, "0")) + Decimal(amount))
    return [grouped[k] for k in sorted(grouped)]


@route(
    bp,
    "/reports/daily",
    methods=["GET"],
    response="DailyReport",
    params=(
        Param(
            "from", "first day (default: 30 days before to)", {"type": "string", "format": "date"}
        ),
        Param("to", "last day (default: today)", {"type": "string", "format": "date"}),
        Param("store_id", "only this store"),
    ),
    auth=Auth.API_KEY,
    tags=["reports"],
)
def daily_report() -> dict:
    """Daily counters and amounts per store and market over a range of at most 732 days, and
    their totals."""
    who = principal(bp)
    params = query_params(bp)
    try:
        day_to = date.fromisoformat(params["to"]) if "to" in params else clock.now().date()
        day_from = (
            date.fromisoformat(params["from"]) if "from" in params else day_to - timedelta(days=30)
        )
    except ValueError as exc:
        raise BadRequest(Text("request.invalid_dates"), code="invalid_query") from exc
    if day_from > day_to or (day_to - day_from).days > MAX_DAYS:
        raise BadRequest(Text("request.invalid_range", max_days=MAX_DAYS), code="invalid_query")
    items = aggregates.read_range(who.tenant_id, day_from.isoformat(), day_to.isoformat())
    rows = [_row(i) for i in items if i.get("type") == "aggregate"]
    store_filter = params.get("store_id")
    if store_filter:
        rows = [r for r in rows if r["store_id"] == store_filter]
    rows.sort(key=lambda r: (r["date"], r["store_id"], r["market"]))
    return {
        "from": day_from.isoformat(),
        "to": day_to.isoformat(),
        "rows": rows,
        "totals": _totals(rows),
    }
