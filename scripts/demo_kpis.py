"""The demo's KPI part (issue 6): owners, imported ad and account-health reports, KPIs over the
demo's real orders and those reports, a scorecard per owner and the agency's statement.

:func:`run` works on the first demo tenant, in the month the stack's clock is in (``GET
/_local/clock``: the outreach demo has moved it):

- ``PUT /owners``: Maria, who runs the US Shopify store (a person, with an email for alerts), and
  BrightAds, the agency that runs Acme's Sponsored Products on amazon.com.
- ``POST /metrics/import`` as ``text/csv``: this month's Sponsored Products campaign report and
  account-health sheet, written from the samples in ``tests/fixtures/kpi_reports`` with their
  dates moved into this month. The ad report repeats the sample's four days (three campaigns a
  day, a paused campaign, a day whose sales are not in yet) up to yesterday, as the ads console
  reports with a day's delay; the account-health sheet has the sample's rows for the month's
  first nine days (or up to today). Each keeps the sample's junk row, which the importer refuses
  with its line and reason. Both are imported twice: the second import must change nothing.
- ``POST /kpis``: GMV of the US store against last month + 10% (a growth target), its AOV, its
  conversion rate (no sessions are imported: "no data", not zero), ROAS, ACoS and ODR on
  amazon.com; ``PUT /settlements/contracts/brightads``: a base fee, a commission on ad sales only
  if ACoS <= 30% and ODR < 0.5%, a penalty if ROAS falls below 2.5 and a cap.

Then it prints ``GET /scorecards`` (one table per owner: actual, target, attainment, status, pace,
projection, freshness; the weighted score), ``GET /settlements`` as a statement with every input
and rule outcome, and how many reads ``GET /kpis/dashboard`` made. It returns the checks that
failed: re-importing changed no KPI value, the KPI without sessions says no data, ACoS, ROAS and
ODR are the reports' own totals, GMV and AOV agree with ``GET /reports/daily``, and the
statement adds up.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from linkstar.kpis import library
from linkstar.kpis.settlement import Statement

from scripts.demo_billing import print_table
from scripts.demo_outreach import Caller
from scripts.present import say

REPORTS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "kpi_reports"
SP_PRESET, HEALTH_PRESET = "amazon_sp_campaigns", "amazon_account_health"
SAMPLE_SP_DAYS = 4  # the sample ad report holds 1-4 October
AGENCY = "brightads"
PERSON = "maria"
OWNERS = {
    PERSON: {"name": "Maria Lopez", "kind": "person", "email": "maria@acme-global.example"},
    AGENCY: {"name": "BrightAds", "kind": "agency", "email": "accounts@brightads.example"},
}
AMAZON_US = {"platform": "amazon", "market": "US"}
CONTRACT: dict[str, Any] = {
    "currency": "USD",
    "base_fee": "1500.00",
    "scope": AMAZON_US,
    "rules": [
        {
            "type": "commission",
            "name": "8% of ad sales",
            "rate": "0.08",
            "on": {"metric": "ad_sales"},
            "conditions": [
                {"kpi": "acos", "op": "<=", "value": "0.30"},
                {"kpi": "odr", "op": "<", "value": "0.005"},
            ],
        },
        {
            "type": "penalty",
            "name": "ROAS floor 2.5",
            "amount": "250.00",
            "conditions": [{"kpi": "roas", "op": ">=", "value": "2.5"}],
        },
        {"type": "cap", "name": "Monthly cap", "max_payout": "5000.00"},
    ],
}
_SP_DATE = re.compile(r"[A-Z][a-z]{2} (\d{2}), \d{4}")
_HEALTH_DATE = re.compile(r"\d{2}/(\d{2})/\d{4}")


# ---------------------------------------------------------------- the reports


def _money(text: str) -> Decimal | None:
    cleaned = text.replace("$", "").replace(",", "").strip()
    return None if cleaned in ("", "--") else Decimal(cleaned)


def _rows(name: str) -> tuple[list[str], list[list[str]]]:
    text = (REPORTS / name).read_text(encoding="utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    return header, rows


def _csv(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _real_day(text: str, pattern: re.Pattern[str]) -> int | None:
    """The sample row's day of October, or None for its junk date (``Oct 32``)."""
    found = pattern.fullmatch(text)
    if found is None or not 1 <= int(found.group(1)) <= 31:
        return None
    return int(found.group(1))


def sp_report(today: date) -> tuple[str, dict[str, Decimal]]:
    """The sample Sponsored Products report moved into ``today``'s month: its four days
    repeated from the 1st to yesterday (the 1st alone on the 1st), then its junk row. Returns
    the CSV and the totals the importer should find (spend and sales of the valid rows)."""
    header, rows = _rows("amazon_sp_campaigns.csv")
    spend_at, sales_at = header.index("Spend"), header.index("7 Day Total Sales ")
    by_day: dict[int, list[list[str]]] = {}
    junk: list[list[str]] = []
    for row in rows:
        day = _real_day(row[0], _SP_DATE)
        if day is None:
            junk.append(row)
        else:
            by_day.setdefault(day, []).append(row)
    last = max(1, today.day - 1)
    out: list[list[str]] = []
    totals = {"ad_spend": Decimal(0), "ad_sales": Decimal(0)}
    for day in range(1, last + 1):
        when = today.replace(day=day)
        for row in by_day[(day - 1) % SAMPLE_SP_DAYS + 1]:
            out.append([f"{when:%b %d, %Y}", *row[1:]])
            totals["ad_spend"] += _money(row[spend_at]) or 0
            totals["ad_sales"] += _money(row[sales_at]) or 0
    out += [[f"{today:%b} 32, {today.year}", *row[1:]] for row in junk]
    return _csv(header, out), totals


def health_report(today: date) -> tuple[str, Decimal | None]:
    """The sample account-health sheet's rows for days 1-9, moved into ``today``'s month and cut
    at today (the junk row kept when its day has come). Returns the CSV and amazon.com's ODR on
    its last valid day, which ``last(odr)`` should show."""
    header, rows = _rows("amazon_account_health.csv")
    out: list[list[str]] = []
    odr: tuple[int, Decimal] | None = None
    for row in rows:
        day = _real_day(row[0], _HEALTH_DATE)
        if day is None or day > today.day:
            continue
        out.append([today.replace(day=day).strftime("%m/%d/%Y"), *row[1:]])
        us = row[1] in ("Amazon.com", "US", "ATVPDKIKX0DER")
        if us and row[2] not in ("", "--") and (odr is None or day >= odr[0]):
            text = row[2]
            value = Decimal(text.rstrip("%")) / 100 if text.endswith("%") else Decimal(text)
            odr = (day, value)
    return _csv(header, out), None if odr is None else odr[1]


def _import_line(label: str, result: Mapping[str, Any]) -> str:
    refused = "; ".join(
        f"line {p['line']} {p['column']}: {p['reason']}" for p in result["rejected"][:2]
    )
    return (
        f"{label}: {result['rows_read']} rows, {result['facts']} facts,"
        f" {len(result['skipped'])} rows without values skipped"
        + (f", refused {refused}" if refused else "")
    )


# ---------------------------------------------------------------- the KPIs


def kpi_definitions(us_store: str) -> list[dict[str, Any]]:
    store = {"store_id": us_store}
    return [
        {"name": "GMV, US store", "builtin": "sales_target_attainment", "owner": PERSON,
         "target": {"kind": "growth", "value": "0.10"}, "weight": "3", "scope": store},
        {"name": "AOV, US store", "builtin": "aov", "owner": PERSON, "target": "75",
         "scope": store},
        {"name": "Conversion rate, US store", "builtin": "cvr", "owner": PERSON,
         "target": "0.025", "scope": store},
        {"name": "ODR, amazon.com", "builtin": "odr", "owner": PERSON, "target": "0.005",
         "weight": "2", "scope": AMAZON_US},
        {"name": "ROAS, amazon.com SP", "builtin": "roas", "owner": AGENCY, "target": "3",
         "scope": AMAZON_US},
        {"name": "ACoS, amazon.com SP", "builtin": "acos", "owner": AGENCY, "target": "0.30",
         "weight": "2", "scope": AMAZON_US},
    ]  # fmt: skip


def _shown(value: Any, unit: str | None) -> str:
    if value is None:
        return "-"
    number = Decimal(str(value))
    if unit == "percent":
        return f"{number * 100:.2f}%"
    if unit == "currency":
        return f"{number:,.2f}"
    if unit == "count":
        return f"{number:,.0f}"
    return f"{number:.2f}"


def _freshness(row: Mapping[str, Any]) -> str:
    fresh = row["freshness"]
    if not fresh["stale"]:
        return "fresh"
    parts = []
    for metric in fresh["stale_metrics"]:
        last = fresh["metrics"][metric]["last_fact_date"]
        parts.append(f"{metric} {'never' if last is None else 'to ' + last[5:]}")
    return "STALE: " + ", ".join(parts)


def print_scorecard(card: Mapping[str, Any], owner: Mapping[str, Any] | None) -> None:
    who = f"{owner['name']} ({owner['kind']})" if owner else card["owner"]
    print(f"\n  {who}")
    rows = []
    for row in card["rows"]:
        unit = row["unit"]
        attainment = row["attainment"]
        rows.append(
            [
                row["name"],
                _shown(row["actual"], unit),
                _shown(row["target"], unit),
                "-" if attainment is None else f"{Decimal(attainment) * 100:.1f}%",
                row["status"] + (f" ({row['reason']})" if row["status"] == "no_data" else ""),
                _shown(row["pace"], unit),
                _shown(row["projected"], unit),
                _freshness(row),
            ]
        )
    print_table(
        ["KPI", "actual", "target", "attained", "status", "pace", "projected", "data"],
        rows,
        "lrrrlrrl",
    )
    score = card["weighted_score"]
    left_out = [r["name"] for r in card["rows"] if r["attainment"] is None]
    say(
        f"weighted score {'-' if score is None else f'{Decimal(score) * 100:.1f}%'} over weight"
        f" {card['scored_weight']} of {card['total_weight']}"
        + (f" ({', '.join(left_out)}: no attainment, left out)" if left_out else "")
    )


def _input(kind: str, name: str, value: Any) -> str:
    if value is None:
        return "-"
    if kind == "kpi" and name in library.BUILTINS:
        return _shown(value, library.BUILTINS[name].unit)
    return _shown(value, "currency")


def print_statement(view: Mapping[str, Any]) -> None:
    """The statement as ``Statement.to_text`` writes it, with the KPI values in their units
    (the JSON carries them unrounded: ACoS 0.0511483523...)."""
    statement = Statement.model_validate(view)
    scope = ", ".join(f"{k}={v}" for k, v in view["scope"].items())
    final = "final" if view["final"] else "provisional: the period is not over"
    lines = [
        f"Settlement for {statement.agency}, {statement.period} ({statement.currency};"
        f" {scope}; {final})",
        "Inputs:",
    ]
    for item in statement.inputs:
        shown = (
            _input(item.kind, item.name, item.value)
            if item.value is not None
            else f"no value ({item.reason})"
        )
        lines.append(f"  {item.kind} {item.name}: {shown}")
    lines.append(f"Base fee: {statement.base_fee:,.2f}")
    for rule in statement.rules:
        lines.append(f"{rule.name} [{rule.type}]: {rule.amount:,.2f} - {rule.explanation}")
        for c in rule.conditions:
            if c.actual is None:
                lines.append(f"    {c.explanation}")
                continue
            actual, threshold = (_input(c.kind, c.name, v) for v in (c.actual, c.threshold))
            verdict = "met" if c.met else "NOT met"
            lines.append(f"    {c.name} {actual} {c.op} {threshold}: {verdict}")
    lines += [
        f"Subtotal: {statement.subtotal:,.2f}",
        f"Penalties: {statement.penalties:,.2f}",
        *(f"Note: {note}" for note in statement.notes),
        f"Total: {statement.currency} {statement.total:,.2f}",
    ]
    for line in lines:
        print("  " + line)


# ---------------------------------------------------------------- checks


def _adds_up(view: Mapping[str, Any]) -> tuple[bool, str]:
    rules = view["rules"]
    commissions = sum(
        (Decimal(r["amount"]) for r in rules if r["type"] in ("commission", "tiered_commission")),
        Decimal(0),
    )
    penalties = sum((Decimal(r["amount"]) for r in rules if r["type"] == "penalty"), Decimal(0))
    subtotal = Decimal(view["base_fee"]) + commissions
    total = subtotal - penalties
    if view["cap"] is not None:
        total = min(total, Decimal(view["cap"]))
    total = max(total, Decimal(0))
    earned_right = all(
        Decimal(r["amount"])
        == ((Decimal(r["rate"]) * Decimal(r["base"])).quantize(Decimal("0.01")) if r["met"] else 0)
        for r in rules
        if r["type"] == "commission"
    )
    ok = (
        earned_right
        and subtotal == Decimal(view["subtotal"])
        and penalties == Decimal(view["penalties"])
        and total == Decimal(view["total"])
    )
    return ok, (
        f"statement adds up: base {view['base_fee']} + commissions {commissions} ="
        f" {view['subtotal']}, - penalties {penalties}, capped at {view['cap']} ="
        f" total {view['total']}"
    )


def _close(actual: Any, expected: Decimal | None, places: str = "0.000001") -> bool:
    if actual is None or expected is None:
        return actual is None and expected is None
    step = Decimal(places)
    return Decimal(str(actual)).quantize(step) == expected.quantize(step)


def _report_totals(call: Caller, key: str, store_id: str, first: date, today: date) -> dict:
    report = call("GET", f"/reports/daily?from={first}&to={today}", key)
    gmv, orders, cancelled = Decimal(0), 0, 0
    for row in report["rows"]:
        if row["store_id"] == store_id:
            gmv += Decimal(row["gmv"].get("USD", "0"))
            orders += int(row["orders"])
            cancelled += int(row["cancelled"])
    return {"gmv": gmv, "orders": orders, "kept": orders - cancelled}


def run(info: Mapping[str, Any], tenants: Mapping[str, str]) -> list[str]:
    """The KPI story on the first tenant (see the module docstring); returns failed checks."""
    api_url = str(info["api_url"])
    call = Caller(api_url)
    name, key = next(iter(tenants.items()))
    today = call.now(str(info["admin_token"])).date()
    period, first = today.strftime("%Y-%m"), today.replace(day=1)
    title = f"KPIs: {name}, {period} as of {today} (owners, reports, scorecards, settlement)"
    print(f"\n{title}\n{'=' * len(title)}")

    stores = call("GET", "/stores", key)["stores"]
    us = next(
        s for s in stores if s["platform"] == "shopify" and s["market"] == "US" and
        s["currency"] == "USD"
    )  # fmt: skip
    for owner_id, owner in OWNERS.items():
        call("PUT", f"/owners/{owner_id}", key, owner)
    say(
        "PUT /owners: "
        + "; ".join(f"{o['name']} ({o['kind']}, {o['email']})" for o in OWNERS.values())
    )

    sp_text, sp_totals = sp_report(today)
    health_text, last_odr = health_report(today)
    sp_path = f"/metrics/import?preset={SP_PRESET}&market=US"
    health_path = f"/metrics/import?preset={HEALTH_PRESET}"
    sp = call("POST", sp_path, key, sp_text, content_type="text/csv")
    health = call("POST", health_path, key, health_text, content_type="text/csv")
    say(_import_line(f"POST {sp_path} (text/csv)", sp))
    say(_import_line(f"POST {health_path} (text/csv)", health))

    made = {}
    for kpi in kpi_definitions(us["store_id"]):
        created = call("POST", "/kpis", key, kpi)
        made[created["builtin"]] = created["kpi_id"]
    call("PUT", f"/settlements/contracts/{AGENCY}", key, CONTRACT)
    say(
        f"POST /kpis: {len(made)} KPIs (US store {us['store_id']}: GMV vs last month +10%, AOV,"
        " CVR; amazon.com: ODR, ROAS, ACoS); PUT /settlements/contracts/brightads: base fee"
        f" {CONTRACT['base_fee']}, 8% of ad sales if ACoS <= 30% and ODR < 0.5%, 250.00 off if"
        " ROAS < 2.5, capped at 5,000.00"
    )

    before = call("GET", f"/scorecards?period={period}", key)
    again = (
        call("POST", sp_path, key, sp_text, content_type="text/csv"),
        call("POST", health_path, key, health_text, content_type="text/csv"),
    )
    cards = call("GET", f"/scorecards?period={period}", key)
    sources = call("GET", "/metrics/sources", key)["sources"]
    say(
        f"re-imported both reports ({again[0]['facts']} + {again[1]['facts']} facts, replaced by"
        " their keys); GET /metrics/sources: "
        + "; ".join(
            f"{s['source']} data to {s['last_fact_date']}, imported {s['last_import_at'][:16]}"
            for s in sources
        )
    )

    print(f"\nScorecards, {period} (GET /scorecards)")
    owners = {o["owner_id"]: o for o in call("GET", "/owners", key)["owners"]}
    for card in cards["scorecards"]:
        print_scorecard(card, owners.get(card["owner"]))
    say(
        "(pace: the target prorated to today for a KPI that adds up over the month; projected:"
        " the month-to-date value carried to month end, which attainment is measured on)"
    )

    title = f"Agency statement: BrightAds, {period} (GET /settlements)"
    print(f"\n{title}\n{'=' * len(title)}")
    view = call("GET", f"/settlements?agency={AGENCY}&period={period}", key)
    print_statement(view)
    board = call("GET", f"/kpis/dashboard?period={period}", key)
    print()
    say(
        f"GET /kpis/dashboard?period={period}: {len(board['kpis'])} KPIs, each with its last"
        f" {len(board['kpis'][0]['trend'])} months, in {board['reads']} reads (queries per"
        " metric x month and aggregate month, never per order)"
    )

    # ---- checks
    rows = {r["kpi_id"]: r for card in cards["scorecards"] for r in card["rows"]}
    earlier = {r["kpi_id"]: r for card in before["scorecards"] for r in card["rows"]}
    by_builtin = {builtin: rows[kpi_id] for builtin, kpi_id in made.items()}
    changed = [r["name"] for k, r in rows.items() if r["actual"] != earlier[k]["actual"]]
    cvr = by_builtin["cvr"]
    totals = _report_totals(call, key, us["store_id"], first, today)
    gmv, aov = by_builtin["sales_target_attainment"], by_builtin["aov"]
    want_aov = totals["gmv"] / totals["kept"] if totals["kept"] else None
    want_gmv = totals["gmv"] if totals["orders"] else None
    acos, roas, odr = by_builtin["acos"], by_builtin["roas"], by_builtin["odr"]
    want_acos = sp_totals["ad_spend"] / sp_totals["ad_sales"]
    inputs = {i["name"] for i in view["inputs"]}
    adds_up, adds_up_text = _adds_up(view)
    checks: list[tuple[bool, str]] = [
        (
            not changed and len(rows) == len(earlier) == len(made),
            f"re-importing both reports changed no KPI value ({len(rows)} compared"
            + (f"; changed: {', '.join(changed)}" if changed else "")
            + ")",
        ),
        (
            cvr["actual"] is None and cvr["status"] == "no_data" and "sessions" in cvr["reason"],
            f"the KPI with no sessions says no data ({cvr['status']}: {cvr['reason']})",
        ),
        (
            _close(acos["actual"], want_acos) and _close(roas["actual"], 1 / want_acos),
            f"ACoS and ROAS are the report's totals: spend {sp_totals['ad_spend']} / sales"
            f" {sp_totals['ad_sales']} = {_shown(want_acos, 'percent')}",
        ),
        (
            _close(odr["actual"], last_odr),
            f"ODR is amazon.com's latest imported rate ({_shown(last_odr, 'percent')})",
        ),
        (
            _close(gmv["actual"], want_gmv, "0.01") and _close(aov["actual"], want_aov),
            f"GMV and AOV of the US store agree with GET /reports/daily {first}..{today}"
            f" ({totals['orders']} orders, USD {totals['gmv']:,.2f})",
        ),
        (
            {"ad_sales", "acos", "odr", "roas"} <= inputs,
            f"the statement shows every input its rules read ({', '.join(sorted(inputs))})",
        ),
        (adds_up, adds_up_text),
    ]
    print("\nKPI checks")
    for ok, what in checks:
        print(f"  [{'ok' if ok else 'FAILED'}] {what}")
    return [what for ok, what in checks if not ok]
