"""The demo's billing part (issue 5): each demo tenant's plan, then, after the outreach demo's
sends, what it used and what it would be invoiced, checked against the message log.

:func:`setup` runs before anything is sent: ``GET /plan`` for each tenant (the starter plan until
one is chosen), then for the first tenant a plan of its own from the first day of the stack's
current month, as its owner would set it: ``PUT /plan`` (base fee, a dedicated-number fee,
10,000 emails included then graduated, a welcome credit, a spend limit alerting the billing
contact) and the SMS rate card as CSV through ``PUT /rate-cards/sms``. A version applies to whole
months from ``effective_from``, so it prices the outreach demo's sends even when the stack's
moved clock carries them into the next month.

:func:`run` prints, per tenant and per month with sends, ``GET /usage`` as a table (channel x
country: units, included, overage, amount; total and forecast), the invoice preview with its
credits and the operator's ``/admin/billing/reconcile``; then ``/admin/billing/margin``. It
returns the checks that failed: the recount finds no difference, and the units billed are the
units the message log says went out (an email per recipient, an SMS per segment).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from linkstar.tenants.keys import parse

from scripts.demo_outreach import Caller
from scripts.present import say, table

# States a message reaches only after its claim, which is when it is metered.
BILLED_STATES = frozenset({"sent", "delivered", "opened", "clicked", "bounced", "complained"})
ALERT_EMAIL = "billing@acme-global.example"
# What the tenant pays a segment and what the SMS provider charges LinkStar for it (USD), as an
# operator's price list exports them. Illustrative, in the range public price lists show.
SMS_RATE_CARD = """country,unit_price,provider_cost
US,0.0085,0.0059
CA,0.0085,0.0060
GB,0.0420,0.0340
DE,0.0950,0.0760
FR,0.0850,0.0690
JP,0.0850,0.0660
CN,0.0320,0.0230
SG,0.0480,0.0370
MY,0.0370,0.0280
AU,0.0520,0.0410
"""


def growth_plan(first_day: date) -> dict[str, Any]:
    """The plan the first demo tenant chooses, from ``first_day`` (the 1st of a month)."""
    return {
        "plan_id": "growth",
        "currency": "USD",
        "effective_from": first_day.isoformat(),
        "base_fee": "49.00",
        "channels": {
            "email": {
                "included_units": 10_000,
                "model": "graduated",
                "tiers": [
                    {"up_to": 90_000, "per_thousand": "0.90"},
                    {"up_to": None, "per_thousand": "0.70"},
                ],
            },
            "in_app": {
                "included_units": 100_000,
                "model": "graduated",
                "tiers": [{"up_to": None, "per_thousand": "0.05"}],
            },
        },
        "recurring_fees": [
            {
                "code": "dedicated_number",
                "description": "Dedicated US toll-free number",
                "amount": "2.00",
            }
        ],
        "credits": [
            {
                "credit_id": "welcome",
                "amount": "25.00",
                "granted_at": first_day.isoformat(),
                "expires_at": _last_day(_add_months(first_day, 2)).isoformat(),
            }
        ],
        "spend_limit": "150.00",
        "alert_emails": [ALERT_EMAIL],
    }


def _add_months(first_day: date, months: int) -> date:
    year, month = divmod(first_day.month - 1 + months, 12)
    return date(first_day.year + year, month + 1, 1)


def _last_day(first_day: date) -> date:
    return _add_months(first_day, 1) - timedelta(days=1)


def _plan_summary(plan: Mapping[str, Any]) -> str:
    channels = plan["channels"]
    parts = [
        f"{channels[name]['included_units']:,} {name} included"
        for name in ("email", "in_app")
        if name in channels
    ]
    by_card = [name for name in ("sms", "whatsapp") if name in channels]
    if by_card:
        parts.append(" and ".join(by_card) + " by rate card")
    fee = f"{plan['currency']} {plan['base_fee']} a month"
    return f"{plan['plan_id']!r} ({fee}): " + ", ".join(parts)


def setup(info: Mapping[str, Any], tenants: Mapping[str, str]) -> None:
    """Show each tenant's plan and give the first one a plan of its own (see the module doc)."""
    api_url = str(info["api_url"])
    call = Caller(api_url)
    now = call.now(str(info["admin_token"]))
    first_day = now.date().replace(day=1)
    for index, (name, key) in enumerate(tenants.items()):
        current = call("GET", "/plan", key)
        which = "the starter plan (none chosen yet)" if current["is_default"] else "its own plan"
        say(f"billing: GET /plan: {name} is on {which}, {_plan_summary(current['plan'])}")
        if index:
            continue
        call("PUT", "/plan", key, growth_plan(first_day))
        path = f"/rate-cards/sms?effective_from={first_day.isoformat()}"
        card = call("PUT", path, key, SMS_RATE_CARD, content_type="text/csv")
        plan = card["plan"]
        countries = ", ".join(
            f"{r['country']} {r['unit_price']}" for r in plan["channels"]["sms"]["rates"][:4]
        )
        audit = call("GET", "/plan/audit", key)["changes"]
        fee, credit = plan["recurring_fees"][0], plan["credits"][0]
        say(
            f"billing: PUT /plan: {name}'s owner chose {_plan_summary(plan)}, from {first_day};"
            f" {fee['description']} {fee['amount']} a month; welcome credit"
            f" {credit['amount']} until {credit['expires_at']}; spend limit"
            f" {plan['spend_limit']}, alerting {ALERT_EMAIL} at"
            f" {' and '.join(f'{p}%' for p in plan['alert_thresholds'])}"
        )
        rows = len(plan["channels"]["sms"]["rates"])
        say(
            f"billing: PUT /rate-cards/sms as CSV ({rows} countries): {countries}, ... a segment;"
            f" {len(audit)} plan changes audited, by the {audit[0]['actor'].get('role', '?')}"
        )


# ---------------------------------------------------------------- after the sends


def _billed(log: list[Mapping[str, Any]]) -> dict[str, Counter[str]]:
    """Units per month and channel as the message log tells them (an SMS per segment)."""
    months: dict[str, Counter[str]] = {}
    for message in log:
        if message["state"] not in BILLED_STATES or not message.get("sent_at"):
            continue
        units = int(message.get("sms_segments") or 1) if message["channel"] == "sms" else 1
        months.setdefault(message["sent_at"][:7], Counter())[message["channel"]] += units
    return months


def print_usage(usage: Mapping[str, Any]) -> None:
    rows = [
        [
            line["channel"],
            line["country"] or "?",
            f"{line['units']:,}",
            f"{line['included_units']:,}",
            f"{line['overage_units']:,}",
            line["amount"],
        ]
        for line in usage["lines"]
    ]
    if rows:
        print_table(
            ["channel", "country", "units", "included", "overage", f"amount {usage['currency']}"],
            rows,
            "llrrrr",
        )
    else:
        print("  no billable sends")
    currency = usage["currency"]
    say(
        f"total so far {currency} {usage['total']} (fixed fees {usage['fixed_fees']});"
        f" forecast to month end {currency} {usage['forecast_total']}"
    )
    say("included left: " + ", ".join(f"{c} {n:,}" for c, n in usage["remaining"].items()))
    if usage["unpriced"]:
        say(f"unpriced: {', '.join(usage['unpriced'])}")


def print_preview(preview: Mapping[str, Any]) -> None:
    credits = "".join(
        f", {c['credit_id']} credit -{c['applied']} ({c['remaining']} left)"
        for c in preview["credits"]
    )
    say(
        f"invoice preview: subtotal {preview['subtotal']}{credits}, total {preview['currency']}"
        f" {preview['total']}"
    )


def print_margin(margin: Mapping[str, Any], names: Mapping[str, str]) -> None:
    title = f"Operator margin, {margin['month']} (GET /admin/billing/margin)"
    print(f"\n{title}\n{'=' * len(title)}")
    rows = []
    for tenant in margin["tenants"]:
        for line in tenant["lines"]:
            pct = line["margin_pct"]
            rows.append(
                [
                    names.get(tenant["tenant_id"], tenant["tenant_id"]),
                    line["channel"],
                    line["country"] or "?",
                    f"{line['units']:,}",
                    f"{tenant['currency']} {line['charged']}",
                    "-" if line["provider_cost"] is None else line["provider_cost"],
                    "-" if line["margin"] is None else line["margin"],
                    "-" if pct is None else f"{pct}%",
                ]
            )
    if not rows:
        print("  no tenant has usage this month")
        return
    print_table(
        ["tenant", "channel", "country", "units", "charged", "provider cost", "margin", "margin %"],
        rows,
        "lllrrrrr",
    )
    say(
        "(provider cost: SES per 1,000 emails, the rate card's cost per SMS segment; it accrues"
        " on included units too. Fixed fees are not in the margin.)"
    )


def run(info: Mapping[str, Any], tenants: Mapping[str, str]) -> list[str]:
    """Print each tenant's usage, invoice preview and recount, and the operator's margin;
    returns the checks that failed."""
    call = Caller(str(info["api_url"]))
    admin = str(info["admin_token"])
    now_month = call.now(admin).strftime("%Y-%m")
    names = {str(parse(key)): name for name, key in tenants.items()}
    checks: list[tuple[bool, str]] = []
    months_shown: set[str] = set()
    for index, (name, key) in enumerate(tenants.items()):
        tenant_id = str(parse(key))
        billed = _billed(call("GET", "/messages?limit=500", key)["messages"])
        for month in sorted(set(billed) | {now_month}):
            usage = call("GET", f"/usage?month={month}", key)
            if not usage["lines"] and month != now_month:
                continue
            months_shown.add(month)
            preview = call("GET", f"/usage/invoice-preview?month={month}", key)
            recount = call(
                "GET", f"/admin/billing/reconcile?tenant_id={tenant_id}&month={month}", admin
            )
            title = f"Usage and invoice preview: {name}, {month} (GET /usage)"
            print(f"\n{title}\n{'=' * len(title)}")
            print_usage(usage)
            print_preview(preview)
            verdict = "ok" if recount["ok"] else "DIFFERENCES " + str(recount["differences"])
            say(
                f"reconcile (GET /admin/billing/reconcile): {verdict}, {recount['records']} usage"
                f" records, {recount['messages']} billed messages, {recount['units']} units"
            )
            counted: Counter[str] = Counter()
            for line in usage["lines"]:
                if line["kind"] == "send":
                    counted[line["channel"]] += int(line["units"])
            sent = billed.get(month, Counter())
            detail = ", ".join(
                f"{channel} {counted[channel]} billed / {sent[channel]} sent"
                for channel in sorted(set(counted) | set(sent))
            )
            checks.append(
                (recount["ok"], f"reconcile ok for {name}, {month}: counters = records = log")
            )
            checks.append(
                (
                    counted == sent,
                    f"{name}, {month}: each send metered once ({detail or 'nothing sent'};"
                    " SMS in segments)",
                )
            )
            if index == 0:
                checks.append(
                    (
                        preview["plan_id"] == "growth" and not usage["unpriced"],
                        f"{name}, {month}: priced by the plan chosen before the sends"
                        f" ({preview['plan_id']}), nothing unpriced",
                    )
                )
    for month in sorted(months_shown):
        print_margin(call("GET", f"/admin/billing/margin?month={month}", admin), names)

    print("\nBilling checks")
    for ok, what in sorted(checks, key=lambda check: not check[1].startswith("reconcile")):
        print(f"  [{'ok' if ok else 'FAILED'}] {what}")
    return [what for ok, what in checks if not ok]


def print_table(headers: list[str], rows: list[list[Any]], align: str) -> None:
    print(table(headers, rows, align))
