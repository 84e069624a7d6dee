"""KPIs on the local stack over HTTP: a report CSV imported twice (replaced, not doubled), a
built-in KPI and a custom formula evaluated for the stack's current month, and a scorecard."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import requests


def _headers(token: str, content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": content_type}


def test_a_report_import_feeds_kpis_and_a_scorecard(stack: dict[str, Any]) -> None:
    api, admin = stack["api_url"], stack["admin_token"]
    tenant = requests.post(
        f"{api}/tenants", headers=_headers(admin), json={"name": "KPI e2e"}, timeout=10
    ).json()
    key = tenant["api_key"]
    now = requests.get(f"{api}/_local/clock", headers=_headers(admin), timeout=10).json()["now"]
    month = now[:7]
    # Spend 30.00 and sales 120.00 on the 1st of the stack's month: ROAS 4, ACoS 0.25
    report = (
        "Date,Campaign Name,Currency,Impressions,Clicks,Spend,7 Day Total Orders (#),"
        f"7 Day Total Sales\n{month}-01,SP - Towels,USD,900,45,$30.00,5,$120.00\n"
    )
    for _ in range(2):
        imported = requests.post(
            f"{api}/metrics/import?preset=amazon_sp_campaigns",
            headers=_headers(key, "text/csv"),
            data=report.encode(),
            timeout=30,
        )
        assert imported.status_code == 200, imported.text
        assert imported.json()["rejected"] == []
    made = {}
    for name, spec in (
        ("ROAS", {"builtin": "roas", "target": "3"}),
        (
            "Cost per order",
            {
                "formula": "ad_spend / ad_orders",
                "unit": "currency",
                "direction": "lower",
                "target": "10",
            },
        ),
    ):
        answer = requests.post(
            f"{api}/kpis",
            headers=_headers(key),
            json={"name": name, "owner": "ads-team", **spec},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        made[name] = answer.json()["kpi_id"]
    roas = requests.get(
        f"{api}/kpis/{made['ROAS']}?period={month}", headers=_headers(key), timeout=30
    ).json()
    cpo = requests.get(
        f"{api}/kpis/{made['Cost per order']}?period={month}", headers=_headers(key), timeout=30
    ).json()
    # ROAS 120 / 30 = 4 against 3; cost per order 30 / 5 = 6 against at most 10: 10 / 6
    assert Decimal(roas["actual"]) == 4 and roas["status"] == "on_track"
    assert Decimal(cpo["actual"]) == 6 and cpo["attainment"] == "1.6667"
    # Imported twice, the facts were replaced: the month's spend is 30.00, not 60.00
    spend_kpi = requests.post(
        f"{api}/kpis",
        headers=_headers(key),
        json={"name": "Spend", "formula": "ad_spend", "unit": "currency"},
        timeout=10,
    ).json()
    spend_now = requests.get(
        f"{api}/kpis/{spend_kpi['kpi_id']}?period={month}", headers=_headers(key), timeout=30
    ).json()
    assert Decimal(spend_now["actual"]) == Decimal("30.00")
    card = requests.get(
        f"{api}/scorecards?owner=ads-team&period={month}", headers=_headers(key), timeout=30
    ).json()["scorecards"][0]
    assert card["owner"] == "ads-team" and len(card["rows"]) == 2
    sources = requests.get(f"{api}/metrics/sources", headers=_headers(key), timeout=10).json()
    spend = next(m for m in sources["metrics"] if m["metric"] == "ad_spend")
    assert spend["last_fact_date"] == f"{month}-01"
