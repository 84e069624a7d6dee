"""The funnel through the API on moto: stage counts from the daily aggregates ingest writes and
from imported facts, by market, against the previous period, with a planted collapse ranked
first among the drop-offs; and the repeat stages and ``GET /cohorts`` from real order payloads fed
through the ingest handler, out of order and twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from linkstar import clock

from tests.integration.conftest import (
    Seller,
    Stack,
    call,
    drain_ingest,
    new_seller,
    post_webhook,
)
from tests.integration.outreach import pipeline
from tests.support import order_body

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


# --- repeat stages and cohorts from ingested orders ---------------------------------------------

BOB, ANN, CAT, DAN = "bob.norman@hostmail.com", "ann@example.com", "cat@example.com", "dan@x.org"


def _order(seller: Seller, stack: Stack, order_id: int, email: str, day: str, total: str) -> bytes:
    """The real orders/create payload as another order: placed at noon UTC on ``day``."""
    at = f"{day}T12:00:00+00:00"
    body = order_body(id=order_id, email=email, created_at=at, updated_at=at, total_price=total)
    post_webhook(stack, seller, "orders/create", body, event_id=f"create-{order_id}")
    return body


def _cancel(seller: Seller, stack: Stack, order_id: int, email: str, day: str, total: str) -> None:
    at = f"{day}T12:00:00+00:00"
    body = order_body(
        id=order_id,
        email=email,
        created_at=at,
        updated_at=f"{day}T18:00:00+00:00",
        total_price=total,
        cancelled_at=f"{day}T18:00:00+00:00",
        cancel_reason="customer",
        financial_status="voided",
    )
    post_webhook(stack, seller, "orders/cancelled", body)


def _ingest_history(stack: Stack, seller: Seller) -> None:
    """Bob: 10, 20 January and 5 February (the 10 January order arrives last); Ann: 15 January
    and 20 March (64 days later); Cat: 25 January, cancelled, then 10 February; Dan: 20
    February. Amounts in USD."""
    _order(seller, stack, 101, BOB, "2026-01-20", "20.00")
    body = _order(seller, stack, 102, BOB, "2026-02-05", "30.00")
    _order(seller, stack, 200, ANN, "2026-01-15", "40.00")
    _order(seller, stack, 201, ANN, "2026-03-20", "50.00")
    _order(seller, stack, 300, CAT, "2026-01-25", "99.00")
    _order(seller, stack, 301, CAT, "2026-02-10", "70.00")
    _order(seller, stack, 400, DAN, "2026-02-20", "80.00")
    drain_ingest(stack)
    # A duplicate delivery (same event id), and the same state again under a new one
    post_webhook(stack, seller, "orders/create", body, event_id="create-102")
    post_webhook(stack, seller, "orders/updated", body)
    drain_ingest(stack)
    # Cat's January order is cancelled, and Bob's earliest order arrives late
    _cancel(seller, stack, 300, CAT, "2026-01-25", "99.00")
    _order(seller, stack, 100, BOB, "2026-01-10", "10.00")
    drain_ingest(stack)


def _windows(cohort: dict[str, Any]) -> dict[int, tuple[Any, ...]]:
    return {
        w["days"]: (
            w["complete"],
            w["repeat_customers"],
            w["repeat_rate"],
            w["revenue_per_customer"],
        )
        for w in cohort["windows"]
    }


def test_repeat_stages_and_cohorts_from_out_of_order_and_duplicate_deliveries(
    stack: Stack,
) -> None:
    # Given the history ingested as it arrived (see _ingest_history)
    seller = new_seller(stack, "Cohort Seller")
    _ingest_history(stack, seller)
    stats = body(call(stack, "GET", f"/stores/{seller.store_id}", seller.api_key))["ingest"]
    # Nine deliveries changed something; the duplicate was answered from the idempotency record
    # and the same state under a new event id changed nothing
    assert (stats["deliveries_processed"], stats["duplicates"]) == (9, 1)

    # When the funnel and the cohorts are read on 15 April 2026 (the last whole day: 14 April)
    with clock.override(datetime(2026, 4, 15, 9, tzinfo=UTC)):
        funnel = call(stack, "GET", "/funnel?period=2026-01&by=market", seller.api_key)
        cohorts = call(stack, "GET", "/cohorts?from=2026-01&to=2026-03", seller.api_key)
        stages = {"stages": ["orders", "repeat_90d"]}
        assert call(stack, "PUT", "/funnel/stages", seller.api_key, stages).status_code == 200
        funnel_90 = body(call(stack, "GET", "/funnel?period=2026-01&by=market", seller.api_key))
        later = datetime(2026, 8, 1, 9, tzinfo=UTC)
    with clock.override(later):
        august = body(call(stack, "GET", "/cohorts?from=2026-01&to=2026-03", seller.api_key))

    # Then January's new customers are Bob (10 January, once his late order arrived) and Ann;
    # Cat's cancelled January order makes her February's. Within 30 days Bob came back (20
    # January, 10 days later), Ann not (64 days): repeat_30d = 1 of 2, window closed on
    # 31 January + 30 = 2 March.
    assert funnel.status_code == 200, funnel.body
    report = body(funnel)
    (us,) = report["groups"]
    rows = {row["stage"]: row for row in us["stages"]}
    assert rows["orders"]["count"] == 4  # 100, 101, 200 and the cancelled 300
    assert (rows["repeat_30d"]["count"], rows["repeat_30d"]["growing"]) == (1, False)
    assert report["repeat"]["current"] == {
        "first_orders_from": "2026-01-01",
        "first_orders_to": "2026-01-31",
        "days": 30,
        "complete_on": "2026-03-02",
        "complete": True,
        "groups": {"US": {"customers": 2, "repeat_customers": 1, "repeat_rate": "0.5000"}},
    }
    # Within 90 days Ann came back too, but the window is open until 1 May: 2 so far, growing
    rows_90 = {row["stage"]: row for row in funnel_90["groups"][0]["stages"]}
    assert (rows_90["repeat_90d"]["count"], rows_90["repeat_90d"]["growing"]) == (2, True)
    assert funnel_90["repeat"]["current"]["complete_on"] == "2026-05-01"
    assert funnel_90["repeat"]["current"]["complete"] is False
    assert funnel_90["drop_offs"] == []

    # Cohorts, revenue first order included (Bob 10 + 20 + 30, Ann 40; + Ann's 50 at 90 days):
    #   January, 2 customers: 30 and 60 days 1 repeat, 100.00 / 2 = 50.00; 90 and 180 withheld
    #   February (Cat 70, Dan 80), 2 customers: 30 days (closed 30 March) 0 repeats, 75.00
    #   March: nobody's first order (Ann's is a repeat), so no cohort
    assert cohorts.status_code == 200, cohorts.body
    answer = body(cohorts)
    assert (answer["currency"], answer["as_of"], answer["reads"]) == ("USD", "2026-04-14", 1)
    january, february = answer["cohorts"]
    assert (january["cohort"], january["customers"]) == ("2026-01", 2)
    assert _windows(january) == {
        30: (True, 1, "0.5000", "50.00"),
        60: (True, 1, "0.5000", "50.00"),
        90: (False, None, None, None),
        180: (False, None, None, None),
    }
    assert january["windows"][2]["reason"] == "window incomplete: complete on 2026-05-01"
    assert (february["cohort"], february["customers"]) == ("2026-02", 2)
    assert _windows(february)[30] == (True, 0, "0.0000", "75.00")
    assert _windows(february)[60][0] is False
    # By August every January window has closed: Ann's 20 March order counts from 90 days
    assert _windows(august["cohorts"][0]) == {
        30: (True, 1, "0.5000", "50.00"),
        60: (True, 1, "0.5000", "50.00"),
        90: (True, 2, "1.0000", "75.00"),
        180: (True, 2, "1.0000", "75.00"),
    }
    # Another tenant sees none of it
    other = new_seller(stack, "Other Cohort Seller")
    with clock.override(later):
        theirs = body(call(stack, "GET", "/cohorts?from=2026-01&to=2026-03", other.api_key))
    assert theirs["cohorts"] == []


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13&to=2026-12",
        "from=2026-05&to=2026-04",
        "from=2020-01&to=2026-01",
        "currency=$$",
    ],
)
def test_bad_cohort_queries_are_400(stack: Stack, query: str) -> None:
    seller = new_seller(stack, f"Cohort Query {query[:9]}")
    answer = call(stack, "GET", f"/cohorts?{query}", seller.api_key)
    assert answer.status_code == 400, answer.body
    assert body(answer)["code"] == "invalid_query"


@pytest.mark.parametrize(
    "path",
    [
        "/funnel?period=0001-01",
        "/funnel?period=9999-W52",
        "/costs?period=0001-Q1",
        "/costs?period=9999-12-31",
        "/unit-economics?period=0001-01-01",
        "/kpis/dashboard?period=9999-W52",
        "/scorecards?period=9999-W52",
    ],
)
def test_a_period_at_the_calendars_ends_is_400_on_every_report(stack: Stack, path: str) -> None:
    # Given a seller (these answered 500: the period before year 1, or the days after 9999-12-31,
    # can't be worked out)
    seller = new_seller(stack, f"Edge {path[:12]}")
    # When a report is asked for such a period
    answer = call(stack, "GET", path, seller.api_key)
    # Then it is refused as a bad query
    assert answer.status_code == 400, answer.body
    assert body(answer)["code"] == "invalid_query"
