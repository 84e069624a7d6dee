"""The demo's funnel and global-cost part (issue 7), on the first demo tenant.

:func:`setup` runs before the orders are sent, as a seller would set things up when connecting
stores, so ingest costs every order as it arrives (no recost needed afterwards):

- ``PUT /cost-model``: illustrative, documented-looking rates for the demo's five platforms and
  seven markets, not a quote from any platform: marketplace commission (Amazon's 15% referral
  fee on music, TikTok Shop, Shopee, Lazada), Shopify Payments' card fees per currency, a small
  parcel's postage and return cost per destination, VAT/GST included in the price where the
  demo's stores include it, no duty (compact discs are duty-free under the WTO Information
  Technology Agreement), the COGS of each of the 24 CDs in CNY (pressed in China), a payout
  conversion spread, and ad spend allocated within markets;
- ``POST /fx-rates``: a rate a week over the whole history for every store currency and CNY,
  the demo's own fixed rates (``scripts.demo_data.USD_RATES``).

:func:`run` (after ingestion) picks the quarter with the most orders and prints, for it and the
quarter before:

- ``POST /metrics``: a daily ad budget per market (in USD, about 12% of its GMV) for the two
  quarters;
- ``GET /funnel?by=market``: each market's stages and the top drop-offs, with their numbers;
- ``GET /costs?by=market``: revenue, every cost component, CM1-3 and margins per market, how
  many orders are estimated and why;
- ``GET /orders/{id}/profit`` of one marketplace order, component by component with the rule
  behind each.

and returns the checks that failed: the sums ``GET /costs`` reads are the sum of every order's
``GET /orders/{id}/profit`` (ads aside, which are split per group), and the funnel's orders per
market are ``GET /reports/daily``'s.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from linkstar.costs.model import COMPONENTS
from linkstar.kpis import scoring
from linkstar.kpis.data import shift_month
from linkstar.kpis.scoring import period_bounds, period_label

from scripts.demo_data import GENRES, USD_RATES, DemoHistory
from scripts.demo_outreach import Caller
from scripts.present import say, table

MARKETS = ("US", "DE", "FR", "GB", "JP", "SG", "MY")
# Postage of a CD in a padded envelope and the cost of a return, in the destination's currency.
POSTAGE = {
    "US": ("USD", "4.20", "6.50"),
    "DE": ("EUR", "4.90", "6.90"),
    "FR": ("EUR", "5.60", "7.40"),
    "GB": ("GBP", "3.45", "5.20"),
    "JP": ("JPY", "520", "800"),
    "SG": ("SGD", "3.20", "5.00"),
    "MY": ("MYR", "6.50", "9.00"),
}
# Sales tax varies by US state: the order's own tax line is used, never a flat rate.
VAT = {"DE": "0.19", "FR": "0.20", "GB": "0.20", "JP": "0.10", "SG": "0.09", "MY": "0.10"}
AD_SHARE = Decimal("0.12")  # ad spend as a share of a market's GMV
CNY_PER_USD = Decimal("7.20")
STAGES = ("orders", "paid_orders", "fulfilled", "repeat_90d")


def cost_model() -> dict[str, Any]:
    shopify_fees = [
        {"platform": "shopify", "currency": "USD", "rate": "0.029", "fixed": "0.30"},
        {"platform": "shopify", "currency": "EUR", "rate": "0.019", "fixed": "0.25"},
        {"platform": "shopify", "currency": "GBP", "rate": "0.019", "fixed": "0.20"},
        {"platform": "shopify", "currency": "JPY", "rate": "0.0325", "fixed": "0"},
    ]
    taxes: list[dict[str, Any]] = []
    for country, rate in VAT.items():
        taxes.append({"country": country, "rate": rate, "prices_include_tax": True})
        for platform in ("amazon", "tiktok_shop"):
            if country == "GB" or (platform == "amazon" and country in ("DE", "FR")):
                # Marketplaces collect and remit VAT on imports they sell (EU/UK deemed supplier).
                remitted = {"platform": platform, "marketplace_facilitator": True}
                taxes.append(
                    {"country": country, "rate": rate, "prices_include_tax": True, **remitted}
                )
    taxes.append({"country": "US", "rate": "0", "prices_include_tax": False})
    cogs = {}
    for i in range(24):
        genre, volume = GENRES[i % len(GENRES)], i // len(GENRES) + 1
        cny = Decimal("18.00") + Decimal(i % 5) * Decimal("2.50")
        cogs[f"CD-{genre[:3].upper()}-{volume:03d}"] = {"unit_cost": str(cny), "currency": "CNY"}
    return {
        "reporting_currency": "USD",
        "commission": [
            {"platform": "shopify", "rate": "0"},
            {"platform": "amazon", "rate": "0.15"},
            {"platform": "tiktok_shop", "rate": "0.09"},
            {"platform": "shopee", "rate": "0.08"},
            {"platform": "lazada", "rate": "0.06"},
        ],
        "payment_fees": shopify_fees
        + [{"platform": p, "rate": "0"} for p in ("amazon", "tiktok_shop", "shopee", "lazada")],
        "logistics": [
            {"market": m, "currency": c, "brackets": [{"price": post}]}
            for m, (c, post, _) in POSTAGE.items()
        ],
        "ads": {"rule": "by_revenue_share", "within": "market"},
        "taxes": taxes,
        "duties": [{"country": m, "rate": "0"} for m in MARKETS],
        "returns": [
            {"market": m, "cost_per_return": ret, "currency": c, "write_off_rate": "0.2"}
            for m, (c, _, ret) in POSTAGE.items()
        ],
        "cogs": cogs,
        "fx": [{"spread": "0.01"}, {"platform": "amazon", "spread": "0.015"}],
    }


def fx_rates(first: date, last: date) -> list[dict[str, str]]:
    rows = []
    day = first - timedelta(days=7)
    while day <= last + timedelta(days=7):
        for currency, per_usd in USD_RATES.items():
            if currency != "USD":
                rate = (Decimal(1) / per_usd).quantize(Decimal("0.000001"))
                rows.append({"date": day.isoformat(), "base": currency, "quote": "USD",
                             "rate": str(rate)})  # fmt: skip
        cny = (Decimal(1) / CNY_PER_USD).quantize(Decimal("0.000001"))
        rows.append({"date": day.isoformat(), "base": "CNY", "quote": "USD", "rate": str(cny)})
        day += timedelta(days=7)
    return rows


def setup(info: Mapping[str, Any], api_key: str, history: DemoHistory) -> None:
    call = Caller(str(info["api_url"]))
    model = cost_model()
    call("PUT", "/cost-model", api_key, model)
    rates = fx_rates(history.first_day, history.last_day)
    posted = call("POST", "/fx-rates", api_key, {"rates": rates})
    say(
        f"costs: PUT /cost-model ({len(model['commission'])} platforms' commission, "
        f"{len(model['logistics'])} markets' postage and returns, {len(model['cogs'])} SKUs' COGS"
        f" in CNY); POST /fx-rates: {posted['accepted']} weekly rates"
    )


# ---------------------------------------------------------------- after ingestion


def _all_orders(call: Caller, key: str, first: date, last: date) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    token = None
    while True:
        path = f"/orders?from={first.isoformat()}&to={last.isoformat()}&limit=100"
        page = call("GET", path + (f"&next_token={token}" if token else ""), key)
        orders += page["orders"]
        token = page.get("next_token")
        if not token:
            return orders


def run(info: Mapping[str, Any], api_key: str) -> list[str]:
    call = Caller(str(info["api_url"]))
    failed: list[str] = []
    today = call.now(str(info["admin_token"])).date()
    since = today - timedelta(days=730)
    days = call("GET", f"/reports/daily?from={since}&to={today}", api_key)
    by_quarter: Counter[str] = Counter()
    for row in days["rows"]:
        quarter = period_label("quarter", date.fromisoformat(row["date"]))
        by_quarter[quarter] += row["orders"] - row["cancelled"]
    if not by_quarter:
        return ["costs: no orders to show"]
    period = by_quarter.most_common(1)[0][0]
    previous = scoring.previous(period)
    first, last = period_bounds("quarter", previous)[0], period_bounds("quarter", period)[1]
    # A steady daily budget per market, about AD_SHARE of what the market sold over the two
    # quarters (GMV at the demo's own rates), spent on quiet days too.
    gmv: dict[str, Decimal] = defaultdict(Decimal)
    for row in days["rows"]:
        if first.isoformat() <= row["date"] <= last.isoformat():
            for cur, amount in row["gmv"].items():
                gmv[row["market"]] += Decimal(amount) / USD_RATES.get(cur, Decimal(1))
    span = (last - first).days + 1
    budgets = {m: (total * AD_SHARE / span).quantize(Decimal("0.01")) for m, total in gmv.items()}
    facts = []
    day = first
    while day <= last:
        for market, budget in sorted(budgets.items()):
            if budget > 0:
                facts.append(
                    {"date": day.isoformat(), "metric": "ad_spend", "value": str(budget),
                     "market": market}
                )  # fmt: skip
        day += timedelta(days=1)
    posted = call("POST", "/metrics", api_key, {"facts": facts})
    if posted["accepted"] != len(facts):
        failed.append(f"costs: POST /metrics accepted {posted['accepted']} of {len(facts)} facts")
    say(
        f"costs: POST /metrics: a daily ad budget per market ({AD_SHARE:.0%} of its GMV),"
        f" {posted['accepted']:,} facts for"
        f" {previous} and {period} (the quarter with the most orders, {by_quarter[period]:,})"
    )
    # Marketplaces don't tell sellers about checkouts, and this demo doesn't import sessions or
    # delivery scans: the funnel shows the stages every store reports.
    call("PUT", "/funnel/stages", api_key, {"stages": list(STAGES)})
    say(f"funnel: PUT /funnel/stages: {' → '.join(STAGES)}")
    failed += _funnel(call, api_key, period)
    failed += _costs(call, api_key, period)
    failed += _unit_economics(call, api_key, period)
    _cohorts(call, api_key, period)
    return failed


def _funnel(call: Caller, key: str, period: str) -> list[str]:
    funnel = call("GET", f"/funnel?period={period}&by=market", key)
    print(f"\n  Funnel by market, {period} (GET /funnel?by=market)")
    groups = funnel["groups"]
    stages = [s["stage"] for s in groups[0]["stages"]] if groups else []
    shown = [s for s in stages if any(_count(g, s) is not None for g in groups)]
    rows = []
    for group in sorted(groups, key=lambda g: -(_count(g, "orders") or 0)):
        rows.append([group["key"], *[_cell(group, s) for s in shown]])
    print(table(["market", *shown], rows, "l" + "r" * len(shown)))
    for drop in funnel.get("drop_offs", [])[:3]:
        baselines = []
        if drop.get("previous_conversion") is not None:
            baselines.append(f"{_pct(drop['previous_conversion'])} the quarter before")
        if drop.get("peer_conversion") is not None:
            baselines.append(f"{_pct(drop['peer_conversion'])} in the other markets")
        say(
            f"drop-off: {drop['key']} {drop['from_stage']} → {drop['to_stage']} converted"
            f" {_pct(drop['conversion'])} against {' and '.join(baselines)}: about"
            f" {drop['lost_orders_estimate']} orders lost"
        )
    if not funnel.get("drop_offs"):
        say("drop-off: no step converted worse than the quarter before or the other markets")
    return []


def _count(group: Mapping[str, Any], stage: str) -> Any:
    for s in group["stages"]:
        if s["stage"] == stage:
            return s["count"]
    return None


def _cell(group: Mapping[str, Any], stage: str) -> str:
    for s in group["stages"]:
        if s["stage"] == stage:
            if s["count"] is None:
                return "-"
            conv = s.get("conversion")
            return f"{s['count']:,}" + (f" ({_pct(conv)})" if conv not in (None, "") else "")
    return "-"


def _pct(value: Any) -> str:
    if value in (None, ""):
        return "-"
    return f"{Decimal(str(value)) * 100:.1f}%"


def _costs(call: Caller, key: str, period: str) -> list[str]:
    costs = call("GET", f"/costs?period={period}&by=market", key)
    print(f"\n  Profit by market, {period}, in {costs['currency']} (GET /costs?by=market)")
    headers = ["market", "orders", "revenue", *COMPONENTS, "CM1", "CM2", "CM3", "CM3 %"]
    rows = []
    for g in sorted(costs["groups"], key=lambda g: -Decimal(g["revenue"])):
        if g["currency"] != costs["currency"]:
            continue
        rows.append(
            [g["key"], g["orders"], g["revenue"], *[g["components"][c] for c in COMPONENTS],
             g["cm1"], g["cm2"], g["cm3"], g["cm3_margin"] or "-"]
        )  # fmt: skip
    for t in costs["total"]:
        if t["currency"] == costs["currency"]:
            rows.append(
                ["all", t["orders"], t["revenue"], *[t["components"][c] for c in COMPONENTS],
                 t["cm1"], t["cm2"], t["cm3"], t["cm3_margin"] or "-"]
            )  # fmt: skip
            missing = ", ".join(f"{n} {c}" for n, c in sorted(t["missing"].items())) or "none"
            uncosted = ", ".join(f"{n} {r}" for r, n in t["uncosted"].items()) or "none"
            say(
                f"estimated: {t['estimated']} of {t['orders']} orders miss a component"
                f" (orders missing each: {missing}); not costed: {uncosted}"
            )
    print(table(headers, rows, "lr" + "r" * (len(headers) - 2)))
    if costs.get("unallocated_ads"):
        spent = sum(Decimal(u["amount"]) for u in costs["unallocated_ads"])
        say(
            f"ad spend not allocated: {spent} {costs['currency']} in"
            f" {len(costs['unallocated_ads'])} market-months without revenue"
        )
    return _check_sums(call, key, period, costs)


def _check_sums(call: Caller, key: str, period: str, costs: Mapping[str, Any]) -> list[str]:
    """The ledger's sums against every order's own profit, and one order shown in full."""
    first, last = period_bounds("quarter", period)
    orders = _all_orders(call, key, first, last + timedelta(days=1))
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    cogs: dict[str, Decimal] = defaultdict(Decimal)
    counted: Counter[str] = Counter()
    example = None
    for order in orders:
        day = order["created_at"][:10]
        if order["status"] == "cancelled" or not first.isoformat() <= day <= last.isoformat():
            continue
        profit = call("GET", f"/orders/{order['order_id']}/profit", key)
        revenue[profit["currency"]] += Decimal(profit["revenue"])
        cogs[profit["currency"]] += Decimal(profit["components"]["cogs"] or 0)
        counted[profit["currency"]] += 1
        if example is None and profit["platform"] != "shopify" and not profit["missing"]:
            example = profit
    if example is not None:
        print(f"\n  One order's profit (GET /orders/{example['order_id']}/profit)")
        rows = [["revenue", example["revenue"], ""]]
        for name in COMPONENTS:
            detail = example["details"].get(name, {})
            rows.append([name, example["components"][name], detail.get("how", "")[:70]])
        rows.append(["profit (CM3)", example["profit"], ""])
        print(table([example["platform"] + " " + example["market"], example["currency"], "how"],
                    rows, "lrl"))  # fmt: skip
        # The same order as a Chinese seller's console reads it: the API writes its sentences in
        # the language asked for.
        chinese = call("GET", f"/orders/{example['order_id']}/profit", key, language="zh-CN")
        print("\n  The same workings in Chinese (Accept-Language: zh-CN)")
        for name in COMPONENTS:
            how = chinese["details"].get(name, {}).get("how", "")
            if how:
                print(f"    {name:<12} {how[:70]}")
    failed = []
    for total in costs["total"]:
        cur = total["currency"]
        got = (total["orders"], Decimal(total["revenue"]), Decimal(total["components"]["cogs"]))
        want = (counted[cur], revenue[cur], cogs[cur])
        if got != want:
            failed.append(f"costs: GET /costs total in {cur} {got} != the orders' own {want}")
    ok = "ok" if not failed else "MISMATCH"
    say(
        f"check: GET /costs = the sum of {sum(counted.values()):,} orders'"
        f" GET /orders/{{id}}/profit (orders, revenue, COGS per currency): {ok}"
    )
    return failed


def _unit_economics(call: Caller, key: str, period: str) -> list[str]:
    got = call("GET", f"/unit-economics?period={period}&by=market", key)
    print(f"\n  Unit economics by market, {period}, in {got['currency']} (GET /unit-economics)")
    headers = ["market", "new customers", "ad spend", "CAC", "GM/customer 90d", "LTV 180d",
               "LTV:CAC", "payback (months)"]  # fmt: skip
    rows = []
    flags = []
    for g in sorted(got["groups"], key=lambda g: -g["new_customers"]):
        rows.append(
            [g["key"], g["new_customers"], g["ad_spend"], _value(g["cac"]),
             _value(g["margin_per_customer"]["90"]), _value(g["ltv"]), _value(g["ltv_to_cac"]),
             _value(g["payback_months"])]
        )  # fmt: skip
        if g["flag"]:
            flags.append(f"{g['key']}: {g['flag']}")
    print(table(headers, rows, "l" + "r" * (len(headers) - 1)))
    for flag in flags:
        say(f"flag: {flag}")
    rates = ", ".join(
        f"{g['key']} {Decimal(g['gross_margin_rate']) * 100:.0f}%"
        for g in got["groups"]
        if g["gross_margin_rate"]
    )
    say(f"gross margin rate applied to the cohorts' revenue (CM1 / paid): {rates}")
    return []


def _value(outcome: Mapping[str, Any]) -> str:
    return "-" if outcome.get("value") is None else str(outcome["value"])


def _cohorts(call: Caller, key: str, period: str) -> None:
    first, _ = period_bounds("quarter", period)
    start = first.strftime("%Y-%m")
    months = f"from={start}&to={shift_month(start, 5)}"  # six months from the quarter's first
    got = call("GET", f"/cohorts?{months}", key)
    print(f"\n  Repeat purchase by first-order month, in {got['currency']} (GET /cohorts)")
    headers = ["cohort", "customers"] + [f"{d}d repeat / revenue per customer" for d in
                                         got["windows"]]  # fmt: skip
    rows = []
    for c in got["cohorts"]:
        cells = []
        for w in c["windows"]:
            if w["repeat_rate"] is None:
                cells.append("not yet")
            else:
                cells.append(f"{_pct(w['repeat_rate'])} / {w['revenue_per_customer']}")
        rows.append([c["cohort"], c["customers"], *cells])
    print(table(headers, rows, "lr" + "r" * len(got["windows"])))
