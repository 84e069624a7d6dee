"""KPIs through the API on moto: reports imported (idempotently), orders from a real Shopify
webhook, KPI definitions by role, evaluation with pace and freshness, scorecards, an agency
statement, and off-track alerts told to the owner once. Every expected number is worked out in
the comments."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests import moto_outbox
from tests.integration.conftest import Seller, Stack, call, new_seller, post_webhook
from tests.integration.outreach import START, pipeline
from tests.support import fixture_json

pytestmark = pytest.mark.xdist_group("kpis")

# Sponsored Products, 1-2 November (the console's headers). Totals: spend 60.00, sales 180.00,
# clicks 100, impressions 2,500 → ACoS 60/180 = 0.3333…, ROAS 3, CTR 0.04, CPC 0.60.
SP_REPORT = (
    (
        "Date,Campaign Name,Currency,Impressions,Clicks,Spend,7 Day Total Orders (#),"
        "7 Day Total Sales\n"
    )
    + """"Nov 01, 2026",SP - Towels,USD,"1,000",50,$20.00,4,$100.00
"Nov 01, 2026",SP - Mats,USD,500,10,$10.00,0,$0.00
"Nov 02, 2026",SP - Towels,USD,"1,000",40,$30.00,3,$80.00
"""
)
# Account health on two dates: last(odr) for November is the 15th's 0.60% = 0.006.
HEALTH_REPORT = """Date,Order Defect Rate,Late Shipment Rate
11/01/2026,0.40%,1.10%
11/15/2026,0.60%,1.30%
"""


def body(response: Any) -> Any:
    return json.loads(response.body)


def import_report(stack: Stack, seller: Seller, preset: str, text: str, **query: str) -> Any:
    suffix = "&".join(f"{k}={v}" for k, v in {"preset": preset, **query}.items())
    answer = call(
        stack, "POST", f"/metrics/import?{suffix}", seller.api_key, text, content_type="text/csv"
    )
    assert answer.status_code == 200, answer.body
    return body(answer)


def create_kpi(stack: Stack, key: str, **kpi: Any) -> dict[str, Any]:
    answer = call(stack, "POST", "/kpis", key, kpi)
    assert answer.status_code == 201, answer.body
    return dict(body(answer))


def kpi_for(stack: Stack, key: str, kpi_id: str, period: str = "2026-11") -> dict[str, Any]:
    answer = call(stack, "GET", f"/kpis/{kpi_id}?period={period}", key)
    assert answer.status_code == 200, answer.body
    return dict(body(answer))


def paid_order(buyer: str) -> bytes:
    order = fixture_json("shopify/orders_create.json")  # total_price 409.94 USD
    placed = (START - timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    order.update(email=buyer, financial_status="paid", processed_at=placed)
    order.update(created_at=placed, updated_at=placed)
    order["customer"]["email"] = buyer
    return json.dumps(order).encode()


@pytest.fixture
def seller_with_data(stack: Stack) -> Seller:
    seller = new_seller(stack, "KPI Seller")
    with pipeline(stack) as (run, _):
        import_report(stack, seller, "amazon_sp_campaigns", SP_REPORT)
        import_report(stack, seller, "amazon_account_health", HEALTH_REPORT, market="US")
        post_webhook(stack, seller, "orders/create", paid_order("kpi@example.com"))
        run.run()
    return seller


def test_reports_import_once_and_kpis_compute_from_them_and_from_orders(
    stack: Stack, seller_with_data: Seller
) -> None:
    seller = seller_with_data
    with pipeline(stack):
        # Re-importing the same report replaces its facts, never doubles them
        again = import_report(stack, seller, "amazon_sp_campaigns", SP_REPORT)
        assert (again["facts"], again["rejected"]) == (15, [])  # 3 rows x 5 metrics
        acos = create_kpi(stack, seller.api_key, name="ACoS", builtin="acos", target="0.28")
        roas = create_kpi(stack, seller.api_key, name="ROAS", builtin="roas", target="2.5")
        gmv = create_kpi(
            stack,
            seller.api_key,
            name="GMV",
            builtin="sales_target_attainment",
            target="30000",
            owner="lin",
        )
        odr = create_kpi(stack, seller.api_key, name="ODR", builtin="odr", target="0.005")
        cvr = create_kpi(stack, seller.api_key, name="CVR", builtin="cvr", target="0.1")
        broken = create_kpi(
            stack,
            seller.api_key,
            name="Clicks per new impression",
            formula="clicks / (impressions - impressions)",
        )
        a = kpi_for(stack, seller.api_key, acos["kpi_id"])
        r = kpi_for(stack, seller.api_key, roas["kpi_id"])
        g = kpi_for(stack, seller.api_key, gmv["kpi_id"])
        o = kpi_for(stack, seller.api_key, odr["kpi_id"])
        c = kpi_for(stack, seller.api_key, cvr["kpi_id"])
        b = kpi_for(stack, seller.api_key, broken["kpi_id"])
    # ACoS 60/180 = 0.333…, lower is better: attainment 0.28/0.3333 = 0.84 → off track
    assert Decimal(a["actual"]).quantize(Decimal("0.0001")) == Decimal("0.3333")
    assert (a["attainment"], a["status"]) == ("0.8400", "off_track")
    # ROAS 180/60 = 3 against 2.5: 1.2 → on track
    assert (Decimal(r["actual"]), r["attainment"], r["status"]) == (
        Decimal(3),
        "1.2000",
        "on_track",
    )
    # GMV: one order of 409.94 by the 20th of 30 days. The target is paced: 30,000 x 20/30 =
    # 20,000; projected 409.94 x 30/20 = 614.91; attainment 614.91/30,000 = 0.0205
    assert Decimal(g["actual"]) == Decimal("409.94")
    assert Decimal(g["pace"]) == Decimal(20000)
    assert Decimal(g["projected"]) == Decimal("614.91")
    assert (g["attainment"], g["status"], g["in_progress"]) == ("0.0205", "off_track", True)
    # ODR is the latest rate, 0.60%, above the 0.5% target: 0.005/0.006 = 0.8333
    assert (Decimal(o["actual"]), o["attainment"]) == (Decimal("0.006"), "0.8333")
    # CVR needs sessions, which nobody imported: no data, said so, not zero
    assert (c["actual"], c["status"], c["reason"]) == (None, "no_data", "no data: sessions")
    assert "sessions" in c["freshness"]["stale_metrics"]
    # A zero denominator is "no data" with the reason, never a crash or an infinity
    assert (b["actual"], b["reason"]) == (None, "division by zero: impressions - impressions")
    # The ad report's data ends on the 2nd: stale as of the 20th, and the KPI says so
    assert a["freshness"]["stale"] is True
    assert a["freshness"]["metrics"]["ad_spend"]["last_fact_date"] == "2026-11-02"


def test_roles_decide_who_defines_who_targets_and_who_sees(
    stack: Stack, seller_with_data: Seller
) -> None:
    seller = seller_with_data

    def key(role: str, owner: str | None = None) -> str:
        made = call(stack, "POST", "/api-keys", seller.api_key, {"role": role, "owner": owner})
        assert made.status_code == 201, made.body
        return str(body(made)["api_key"])

    manager, operator, viewer = key("manager"), key("operator", owner="lin"), key("viewer")
    with pipeline(stack) as (_, clock):
        mine = create_kpi(stack, seller.api_key, name="GMV", builtin="sales_target_attainment",
                          target="30000", owner="lin")  # fmt: skip
        create_kpi(stack, seller.api_key, name="ACoS", builtin="acos", target="0.28", owner="ads")
        # A viewer reads but defines nothing; a manager sets targets but not formulas
        assert (
            call(stack, "POST", "/kpis", viewer, {"name": "x", "builtin": "roas"}).status_code
            == 403
        )
        path = f"/kpis/{mine['kpi_id']}"
        assert call(stack, "PATCH", path, manager, {"formula": "orders"}).status_code == 403
        clock.advance(seconds=1)
        retarget = call(stack, "PATCH", path, manager, {"target": "25000"})
        assert retarget.status_code == 200, retarget.body
        # An operator sees only the KPIs of the owner its key acts for
        seen = body(call(stack, "GET", "/kpis", operator))["kpis"]
        assert [k["name"] for k in seen] == ["GMV"]
        audit = body(call(stack, "GET", "/kpis/audit", seller.api_key))["changes"]
    change = audit[0]
    assert change["entity_id"] == mine["kpi_id"] and change["actor"]["role"] == "manager"
    assert change["before"]["target"]["value"] == "30000"
    assert change["after"]["target"]["value"] == "25000"


def test_scorecards_weigh_owners_kpis_and_the_agency_statement_shows_its_inputs(
    stack: Stack, seller_with_data: Seller
) -> None:
    seller = seller_with_data
    with pipeline(stack):
        for name, builtin, target, weight in (
            ("ROAS", "roas", "2.5", "2"),  # attainment 1.2
            ("ACoS", "acos", "0.28", "1"),  # attainment 0.84
            ("CVR", "cvr", "0.1", "1"),  # no data: left out of the weight
        ):
            create_kpi(stack, seller.api_key, name=name, builtin=builtin, target=target,
                       weight=weight, owner="acme-ads")  # fmt: skip
        card = body(call(stack, "GET", "/scorecards?owner=acme-ads&period=2026-11", seller.api_key))
        # Commission: 5% of ad sales, only if ACoS <= 35% and ODR < 0.5%; a 100 base fee
        contract = {
            "currency": "USD",
            "base_fee": "100.00",
            "rules": [
                {
                    "type": "commission",
                    "name": "5% of ad sales",
                    "rate": "0.05",
                    "on": {"metric": "ad_sales"},
                    "conditions": [
                        {"kpi": "acos", "op": "<=", "value": "0.35"},
                        {"kpi": "odr", "op": "<", "value": "0.005"},
                    ],
                }
            ],
        }
        put = call(stack, "PUT", "/settlements/contracts/acme-ads", seller.api_key, contract)
        assert put.status_code == 200, put.body
        statement = body(
            call(stack, "GET", "/settlements?agency=acme-ads&period=2026-11", seller.api_key)
        )
    (scorecard,) = card["scorecards"]
    # (2 x 1.2 + 1 x 0.84) / 3 = 3.24 / 3 = 1.08; CVR has no data and no weight in it
    assert scorecard["weighted_score"] == "1.0800"
    assert scorecard["kpis_without_data"] == [next(
        r["kpi_id"] for r in scorecard["rows"] if r["name"] == "CVR"
    )]  # fmt: skip
    # ODR 0.6% fails "< 0.5%": no commission, only the base fee; every input is shown
    assert statement["total"] == "100.00"
    inputs = {i["name"]: i["value"] for i in statement["inputs"]}
    assert Decimal(inputs["ad_sales"]) == Decimal(180)
    assert Decimal(inputs["odr"]) == Decimal("0.006")


def test_an_off_track_kpi_is_told_to_its_owner_once_per_change(
    stack: Stack, seller_with_data: Seller
) -> None:
    seller = seller_with_data
    from functions.timers.app import handler as timers
    from tests.integration.conftest import FakeContext

    emails_before = len(moto_outbox.sent_emails())
    sms_before = len(moto_outbox.sent_sms())
    with pipeline(stack) as (run, clock):
        owner = {
            "name": "Lin",
            "kind": "person",
            "email": "lin@kpi-seller.example",
            "phone": "+14155550188",
        }
        assert call(stack, "PUT", "/owners/lin", seller.api_key, owner).status_code == 200
        create_kpi(stack, seller.api_key, name="ACoS", builtin="acos", target="0.28", owner="lin")
        # When the daily job runs twice on the same day, and again the next day
        first = timers({"job": "kpi_alerts"}, FakeContext())
        run.run()
        second = timers({"job": "kpi_alerts"}, FakeContext())
        clock.advance(days=1)
        third = timers({"job": "kpi_alerts"}, FakeContext())
        run.run()
    # Then the owner was told once that ACoS went off track, by email, and not again (the
    # counts cover every tenant on the shared stack: earlier tests' KPIs are told too, once)
    assert first["kpi_alerts"] >= 1 and second["kpi_alerts"] == third["kpi_alerts"] == 0
    told = [
        e.subject
        for e in moto_outbox.sent_emails()[emails_before:]
        if "lin@kpi-seller.example" in e.destinations
    ]
    assert told == ["KPI off track: ACoS (2026-11)"]
    texts = [t.message for t in moto_outbox.sent_sms()[sms_before:] if t.phone == "+14155550188"]
    assert len(texts) == 1 and texts[0].startswith("LinkStar: ACoS is off track for 2026-11")


def test_the_dashboard_reads_a_bounded_number_of_items(
    stack: Stack, seller_with_data: Seller
) -> None:
    seller = seller_with_data
    with pipeline(stack):
        for builtin in ("roas", "acos", "sales_target_attainment", "odr"):
            create_kpi(stack, seller.api_key, name=builtin, builtin=builtin, target="1")
        board = body(call(stack, "GET", "/kpis/dashboard?period=2026-11", seller.api_key))
    assert len(board["kpis"]) == 4
    roas = next(k for k in board["kpis"] if k["name"] == "roas")
    assert [t["period"] for t in roas["trend"]] == [
        "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11",
    ]  # fmt: skip
    assert [t["actual"] for t in roas["trend"]][-2:] == [None, "3"]
    # Reads: per (metric, month) touched and the aggregates per month, never per order:
    # 12 months (6 trend periods + their previous and previous-year windows) at most.
    assert board["reads"] <= 80


def test_a_rate_from_two_marketplaces_is_their_mean_not_their_sum(stack: Stack) -> None:
    seller = new_seller(stack, "Two Marketplaces")
    facts = [
        {"date": "2026-11-10", "metric": "odr", "value": "0.0049", "market": "US"},
        {"date": "2026-11-10", "metric": "odr", "value": "0.0015", "market": "GB"},
    ]
    with pipeline(stack):
        assert call(stack, "POST", "/metrics", seller.api_key, {"facts": facts}).status_code == 200
        every = create_kpi(stack, seller.api_key, name="ODR", builtin="odr", target="0.005")
        us = create_kpi(stack, seller.api_key, name="ODR US", builtin="odr", target="0.005",
                        scope={"market": "US"})  # fmt: skip
        both = kpi_for(stack, seller.api_key, every["kpi_id"])
        one = kpi_for(stack, seller.api_key, us["kpi_id"])
    # (0.0049 + 0.0015) / 2 = 0.0032, not 0.0064; scoped to the US: its own 0.0049
    assert Decimal(both["actual"]) == Decimal("0.0032")
    assert Decimal(one["actual"]) == Decimal("0.0049")
