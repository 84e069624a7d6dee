"""The funnel through the API on moto: stage counts from the daily aggregates ingest writes and
from imported facts, by market, against the previous period, with a planted collapse ranked
first among the drop-offs."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.conftest import Stack, call, new_seller
from tests.integration.outreach import pipeline

pytestmark = pytest.mark.xdist_group("funnel")

# Checkouts and orders per market on 5 October and 5 November (inside both windows: the clock
# is pinned at 20 November, so both periods are cut to their first 20 days).
OCTOBER = {"US": (100, 60), "GB": (100, 60), "DE": (100, 60), "FR": (100, 60)}
NOVEMBER = {"US": (100, 60), "GB": (100, 58), "DE": (100, 20), "FR": (100, 55)}


def _aggregates(tenant_id: str, store_id: str, day: str, rows: dict[str, tuple[int, int]]) -> None:
    """The aggregate deltas ingest would write for these checkouts and orders (the same ops)."""
    from linkstar.store import aggregates, dynamo

    deltas = {
        (day, store_id, market): {
            "checkouts": Decimal(c),
            "orders": Decimal(o),
            "paid_orders": Decimal(o),
        }
        for market, (c, o) in rows.items()
    }
    dynamo.transact(aggregates.delta_ops(tenant_id, deltas))


def body(response: Any) -> Any:
    return json.loads(response.body)


def test_a_collapsed_checkout_conversion_is_the_top_drop_off(stack: Stack) -> None:
    seller = new_seller(stack, "Funnel Seller")
    _aggregates(seller.tenant_id, seller.store_id, "2026-10-05", OCTOBER)
    _aggregates(seller.tenant_id, seller.store_id, "2026-11-05", NOVEMBER)
    with pipeline(stack):
        # Sessions for the US only (imported): other markets have no session data, not zero
        facts = [
            {"date": day, "metric": "sessions", "value": "2000", "market": "US"}
            for day in ("2026-10-05", "2026-11-05")
        ]
        assert call(stack, "POST", "/metrics", seller.api_key, {"facts": facts}).status_code == 200
        stages = {"stages": ["sessions", "checkouts", "orders", "paid_orders"]}
        assert call(stack, "PUT", "/funnel/stages", seller.api_key, stages).status_code == 200
        answer = call(stack, "GET", "/funnel?period=2026-11&by=market", seller.api_key)
    assert answer.status_code == 200, answer.body
    report = body(answer)
    groups = {g["key"]: g for g in report["groups"]}
    de = {s["stage"]: s for s in groups["DE"]["stages"]}
    assert (de["checkouts"]["count"], de["orders"]["count"]) == (100, 20)
    assert de["orders"]["conversion"] == "0.2000"
    assert de["sessions"]["count"] is None  # no import for DE: no data, not zero
    us = {s["stage"]: s for s in groups["US"]["stages"]}
    assert us["checkouts"]["conversion"] == "0.0500"  # 100 / 2,000 sessions
    top = report["drop_offs"][0]
    # DE checkouts → orders: 20% against 60% last month and the peers' pooled
    # (60 + 58 + 55) / 300 = 57.67%; expected = the lower, 57.67%; lost = (0.5767 - 0.2) x 100
    # checkouts x 1 (orders are the unit) = 37.7
    assert (top["key"], top["from_stage"], top["to_stage"]) == ("DE", "checkouts", "orders")
    assert top["lost_orders_estimate"] == "37.7"
    assert report["reads"] < 20
