"""``GET /costs?period=&by=``: profit and its components rolled up from the cost ledger's daily
sums (:mod:`linkstar.costs.ledger`), with ad spend allocated as it is read.

Groups (``by``): ``market``, ``platform``, ``store``, ``sku``, or the period's ``day``, ``week``
or ``month``. Each group is a :class:`linkstar.costs.profit.Rollup` (orders, how many are
estimated, revenue, every component, the orders missing each, CM1-3 and their margins) plus
``uncosted``: the orders left out of the sums and why (no cost model yet, amounts pending, an
order the engine refused). A group's orders shown in their own currency (no FX rate into the
reporting currency) form their own row, never mixed in.

**Ads** (rule ``by_revenue_share`` within ``market``): a calendar month's imported ``ad_spend``
for a market is spread over that month's costed revenue in the market (reporting currency), so
every order carries ``spend x its revenue / the month's revenue there``: a campaign that runs on
days without orders still lands on the month's orders, and any period (a day, a week, a
quarter) gets the same shares, summed per group and rounded to the cent. For a month in
progress, spend so far over revenue so far. Spend in a month and market without revenue, or
without a market, is listed under ``unallocated_ads``. The order view
(``GET /orders/{id}/profit``) takes its share the same way, so the two agree up to a cent per
order of rounding. No ``ads`` rule in the model,
a rule allocating within campaigns or SKUs (applied only per order), or no spend imported for
the period: ads are missing for every order, with the reason in ``ads_note``.

Reads: the cost model, the period's whole months of sums (order level, or per SKU for
``by=sku``), the months' ``ad_spend`` facts and, for ``by=platform``, the store list — never
the orders.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from linkstar import money
from linkstar.costs import ledger, profit
from linkstar.costs.model import COMPONENTS, CostModel
from linkstar.errors import BadRequest
from linkstar.kpis import scoring
from linkstar.kpis.data import Loader, months, shift_month
from linkstar.text import Text

GROUPINGS = ("market", "platform", "store", "sku", "day", "week", "month")
_ZERO = Decimal(0)


class Sums:
    """One period's ledger sums with their ads, for one tenant."""

    def __init__(
        self, tenant_id: str, model: CostModel, start: date, end: date, *, skus: bool
    ) -> None:
        self.tenant_id = tenant_id
        self.model = model
        self.currency = model.reporting_currency
        self.loader = Loader(tenant_id, self.currency)
        self.skus = skus
        self.items = self._read("sku" if skus else "order", start, end)[0]
        # (index into the items ads were allocated over, its ads); those items, whole months
        self.ads: list[tuple[dict[str, Any], Decimal]] = []
        self.unallocated: list[dict[str, Any]] = []
        self.ads_note = self._allocate(start, end)

    def _read(
        self, part: str, start: date, end: date
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The period's items of ``part`` and the whole months' (ad spend is split within a
        calendar month, so the period's share needs its months' revenue)."""
        period: list[dict[str, Any]] = []
        whole: list[dict[str, Any]] = []
        for month in months(start, end):
            self.loader.reads += 1
            for item in ledger.read_month(self.tenant_id, month, part=part):
                whole.append(item)
                if start <= date.fromisoformat(item["day"]) <= end:
                    period.append(item)
        return period, whole

    def _allocate(self, start: date, end: date) -> Text | None:
        rule = self.model.ads
        if rule is None:
            return Text("cost.missing.no_ads_rule")
        within = rule.within
        if within == "campaign" and self.skus:
            return Text("cost.ads.campaigns_not_by_sku", path="GET /orders/{id}/profit")
        # The items spend is spread over: each carries the dimension the rule names.
        part = {"market": "sku" if self.skus else "order", "sku": "sku", "campaign": "campaign"}
        items, whole = self._read(part[within], start, end)
        spend: dict[tuple[str, str], Decimal] = defaultdict(Decimal)  # (month, key)
        in_period: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for month in months(start, end):
            for fact in self.loader.fact_month("ad_spend", month):
                pool = (month, str(fact.get(within) or ""))
                spend[pool] += Decimal(fact["value"])
                if start <= date.fromisoformat(fact["date"]) <= end:
                    in_period[pool] += Decimal(fact["value"])
        if not in_period:
            return Text("cost.ads.none_imported")
        revenue_field = f"revenue#{self.currency}"
        revenue: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for item in whole:
            revenue[(item["day"][:7], str(item.get(within)))] += Decimal(item.get(revenue_field, 0))
        for pool, amount in sorted(in_period.items()):
            if not pool[1] or revenue[pool] <= 0:
                self.unallocated.append(
                    {
                        "month": pool[0],
                        within: pool[1] or None,
                        "amount": str(money.quantize(amount, self.currency)),
                        "reason": Text(
                            "cost.ads.spend_without_key"
                            if not pool[1]
                            else "cost.ads.no_costed_revenue",
                            dimension=profit._dimension(within),
                        ),
                    }
                )
        for item in items:
            pool = (item["day"][:7], str(item.get(within)))
            if spend.get(pool) and revenue[pool] > 0 and item.get(revenue_field):
                self.ads.append((item, spend[pool] * Decimal(item[revenue_field]) / revenue[pool]))
        return None

    def rollup(self, key_of: Any) -> list[dict[str, Any]]:
        groups: dict[tuple[str, str], dict[str, Any]] = {}
        for item in self.items:
            key = key_of(item)
            for currency in _currencies(item):
                _add(groups.setdefault((key, currency), _empty()), item, currency)
            uncosted = {
                n.split("#", 1)[1]: int(v)
                for n, v in item.items()
                if n.startswith("uncosted#") and v
            }
            if uncosted:
                group = groups.setdefault((key, self.currency), _empty())
                for reason, count in uncosted.items():
                    group["uncosted"][reason] = group["uncosted"].get(reason, 0) + count
        for item, amount in self.ads:
            # Orders without a campaign, or spend on a group with no order of this period's
            # items, add nothing; a group is only ever charged for its own orders' shares.
            charged = groups.get((key_of(item), self.currency))
            if charged is not None:
                charged["components"]["ads"] += amount
        return [
            self._view(key, currency, group) for (key, currency), group in sorted(groups.items())
        ]

    def total(self) -> list[dict[str, Any]]:
        return self.rollup(lambda _item: "total")

    def _view(self, key: str, currency: str, group: dict[str, Any]) -> dict[str, Any]:
        ads_missing = self.ads_note is not None or currency != self.currency
        components: dict[str, Decimal] = {
            name: money.quantize(group["components"].get(name, _ZERO), currency)
            for name in COMPONENTS
        }
        missing = {n: c for n, c in group["missing"].items() if c}
        if ads_missing and group["orders"]:
            missing["ads"] = group["orders"]
        cm2 = group["cm2"]
        cm3 = cm2 - components["ads"]
        rolled = profit.Rollup(
            key=key,
            currency=currency,
            orders=group["orders"],
            estimated=group["orders"] if ads_missing and group["orders"] else group["estimated"],
            revenue=group["revenue"],
            components=components,  # type: ignore[arg-type]
            missing=missing,  # type: ignore[arg-type]
            cm1=group["cm1"],
            cm2=cm2,
            cm3=cm3,
            profit=cm3,
            cm1_margin=profit._margin(group["cm1"], group["revenue"]),
            cm2_margin=profit._margin(cm2, group["revenue"]),
            cm3_margin=profit._margin(cm3, group["revenue"]),
        )
        view = rolled.to_api()
        view["uncosted"] = dict(sorted(group["uncosted"].items()))
        return view


def _empty() -> dict[str, Any]:
    return {
        "orders": 0,
        "estimated": 0,
        "revenue": _ZERO,
        "cm1": _ZERO,
        "cm2": _ZERO,
        "components": defaultdict(Decimal),
        "missing": defaultdict(int),
        "uncosted": {},
    }


def _currencies(item: dict[str, Any]) -> list[str]:
    return sorted(n.split("#", 1)[1] for n in item if n.startswith("orders#") and item[n])


def _add(group: dict[str, Any], item: dict[str, Any], currency: str) -> None:
    group["orders"] += int(item.get(f"orders#{currency}", 0))
    group["estimated"] += int(item.get(f"estimated#{currency}", 0))
    group["revenue"] += Decimal(item.get(f"revenue#{currency}", 0))
    group["cm1"] += Decimal(item.get(f"cm1#{currency}", 0))
    group["cm2"] += Decimal(item.get(f"cm2#{currency}", 0))
    for name in ledger.LEDGER_COMPONENTS:
        group["missing"][name] += int(item.get(f"missing#{name}#{currency}", 0))
        group["components"][name] += Decimal(item.get(f"{name}#{currency}", 0))


def key_function(by: str, loader: Loader) -> Any:
    if by == "market":
        return lambda item: str(item["market"])
    if by == "store":
        return lambda item: str(item["store_id"])
    if by == "platform":
        return lambda item: loader.platform_of(str(item["store_id"])) or "unknown"
    if by == "sku":
        return lambda item: str(item.get("sku") or profit.NO_SKU)
    if by == "day":
        return lambda item: str(item["day"])
    if by == "week":

        def week(item: dict[str, Any]) -> str:
            year, number, _ = date.fromisoformat(item["day"]).isocalendar()
            return f"{year}-W{number:02d}"

        return week
    return lambda item: str(item["day"])[:7]


def costs(tenant_id: str, label: str, by: str, today: date) -> dict[str, Any]:
    from linkstar.costs import service

    if by not in GROUPINGS:
        raise BadRequest(
            Text("cost.invalid_grouping", groupings=", ".join(GROUPINGS)), code="invalid_query"
        )
    try:
        ranges = scoring.data_ranges(label, today)
    except ValueError as exc:
        raise BadRequest(str(exc), code="invalid_query") from exc
    model = service.load_model(tenant_id)
    if model is None:
        raise BadRequest(Text("cost.no_cost_model"), code="cost_model_missing")
    current = Sums(tenant_id, model, *ranges.current, skus=by == "sku")
    previous = Sums(tenant_id, model, *ranges.previous, skus=False)
    first, last = ranges.current
    return {
        "period": label,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "by": by,
        "currency": model.reporting_currency,
        "groups": current.rollup(key_function(by, current.loader)),
        "total": current.total(),
        "previous": {
            "from": ranges.previous[0].isoformat(),
            "to": ranges.previous[1].isoformat(),
            "total": previous.total(),
        },
        "unallocated_ads": current.unallocated,
        "ads_note": current.ads_note,
        "reads": current.loader.reads + previous.loader.reads,
    }


# --- unit economics --------------------------------------------------------------------------

UE_GROUPINGS = ("market", "platform", "store", "total")
COHORT_MONTHS = 12


def unit_economics(tenant_id: str, label: str, by: str, today: date) -> dict[str, Any]:
    """``GET /unit-economics?period=&by=``: per group, CAC, the gross-margin curve per new
    customer, LTV, LTV:CAC and payback (:mod:`linkstar.costs.economics`), from bounded reads.

    - **New customers**: the period's first purchases (the daily aggregates'
      ``cohort_customers``: a customer's first non-cancelled order, in its day's store and
      market).
    - **Ad spend**: by market and in total, every ``ad_spend`` fact of the period (spend on a
      market-day without orders still bought no customer); by store or platform, the spend
      allocated to it within market-days (:class:`Sums`), with the rest named in
      ``unallocated_ad_spend``.
    - **Cohorts**: the :data:`COHORT_MONTHS` first-order months up to the period's last, from
      the aggregates' cohort revenue at 30/60/90/180 days, each currency converted into the
      reporting currency at the rate of the cohort month's last day; a horizon counts for a
      cohort once every customer of its month has reached it (by yesterday).
    - **Gross margin** of a cohort's revenue (what its customers paid, tax included, refunds
      out): that revenue x the group's CM1 over what its orders' buyers paid in the same months
      of the cost ledger (revenue + tax collected, orders costed so far). The ledger sums
      orders, not customers, so this is the margin rate of the group's orders applied to its
      cohorts' revenue, stated in ``gross_margin_rate``, not each cohort's own COGS.
    """
    from linkstar.costs import economics, service
    from linkstar.funnel import contribution as cohort_fields

    if by not in UE_GROUPINGS:
        raise BadRequest(
            Text("cost.invalid_grouping", groupings=", ".join(UE_GROUPINGS)), code="invalid_query"
        )
    try:
        first, last = scoring.data_ranges(label, today).current
    except ValueError as exc:
        raise BadRequest(str(exc), code="invalid_query") from exc
    model = service.load_model(tenant_id)
    if model is None:
        raise BadRequest(Text("cost.no_cost_model"), code="cost_model_missing")
    currency = model.reporting_currency
    first_cohort = shift_month(last.strftime("%Y-%m"), 1 - COHORT_MONTHS)
    cohort_first = date.fromisoformat(f"{first_cohort}-01")
    sums = Sums(tenant_id, model, first, last, skus=False)
    ledger_months = Sums(tenant_id, model, cohort_first, last, skus=False)
    loader = sums.loader
    key_of = _ue_key(by, loader)

    spend: dict[str, Decimal] = defaultdict(Decimal)
    if by in ("market", "total"):
        for month in months(first, last):
            for fact in loader.fact_month("ad_spend", month):
                if first <= date.fromisoformat(fact["date"]) <= last:
                    key = "total" if by == "total" else str(fact.get("market") or "unknown")
                    spend[key] += Decimal(fact["value"])
    else:
        for item, amount in sums.ads:
            spend[key_of(item)] += amount

    new_customers: dict[str, int] = defaultdict(int)
    cohort_rows: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    as_of = today - timedelta(days=1)
    rates = service.MonthEndRates(tenant_id, currency)
    unconverted: set[str] = set()
    for month in months(cohort_first, last):
        for item in loader.aggregate_month(month):
            day = date.fromisoformat(item["day"])
            if not cohort_first <= day <= last:
                continue
            key = key_of(item)
            customers = int(item.get(cohort_fields.COHORT_CUSTOMERS, 0))
            if first <= day <= last:
                new_customers[key] += customers
            row = cohort_rows[key].setdefault(
                month, {"customers": 0, "revenue": defaultdict(Decimal)}
            )
            row["customers"] += customers
            for name, value in item.items():
                if not name.startswith(cohort_fields.REVENUE_PREFIX) or not value:
                    continue
                window_part, cur = name[len(cohort_fields.REVENUE_PREFIX) :].split("#", 1)
                converted = rates.convert(Decimal(value), cur, month)
                if converted is None:
                    unconverted.add(cur)
                    continue
                row["revenue"][int(window_part.rstrip("d"))] += converted

    # Cohort revenue is what the customers paid (tax included, refunds out), so the margin
    # rate is CM1 over the same: the ledger's revenue plus the tax the orders carried.
    cm1: dict[str, Decimal] = defaultdict(Decimal)
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for item in ledger_months.items:
        key = key_of(item)
        cm1[key] += Decimal(item.get(f"cm1#{currency}", 0))
        paid[key] += Decimal(item.get(f"revenue#{currency}", 0))
        paid[key] += Decimal(item.get(f"tax_collected#{currency}", 0))
    margin_rate = {key: cm1[key] / paid[key] if paid[key] else None for key in paid}

    groups = []
    for key in sorted(set(spend) | set(new_customers) | set(cohort_rows)):
        rate = margin_rate.get(key)
        cohorts = []
        for month, row in sorted(cohort_rows.get(key, {}).items()):
            month_end = service.month_end(month)
            gross: dict[economics.Horizon, Decimal] = {
                days: row["revenue"].get(days, Decimal(0)) * rate
                for days in economics.HORIZONS
                if rate is not None and month_end + timedelta(days=days) <= as_of
            }
            cohorts.append(
                economics.Cohort(month=month, customers=row["customers"], gross_margin=gross)
            )
        result = economics.unit_economics(
            ad_spend=money.quantize(spend.get(key, Decimal(0)), currency),
            new_customers=new_customers.get(key, 0),
            cohorts=cohorts,
            currency=currency,
        )
        view = {"key": key, **result.model_dump(mode="json")}
        view["gross_margin_rate"] = None if rate is None else str(rate.quantize(Decimal("0.0001")))
        view["cohort_months"] = [c.month for c in cohorts if c.customers]
        groups.append(view)
    return {
        "period": label,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "by": by,
        "currency": currency,
        "as_of": as_of.isoformat(),
        "groups": groups,
        "unallocated_ad_spend": sums.unallocated if by in ("store", "platform") else [],
        "ads_note": sums.ads_note if by in ("store", "platform") else None,
        "unconverted_currencies": sorted(unconverted),
        "reads": loader.reads + ledger_months.loader.reads,
    }


def _ue_key(by: str, loader: Loader) -> Any:
    if by == "total":
        return lambda _item: "total"
    return key_function(by, loader)
