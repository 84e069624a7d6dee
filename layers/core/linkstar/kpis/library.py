"""The metric catalogue and the built-in KPIs, as data.

:data:`METRICS` lists every metric a formula may name, where it comes from and how it is read
over a period; :data:`BUILTINS` holds the built-in KPIs, each a formula in the language of
:mod:`linkstar.kpis.formula`, parsed when this module is imported (a broken built-in fails the
import, and the tests).

Conventions:

- **Units.** ``currency`` values are in the tenant's reporting currency; ``percent`` values are
  fractions (ACoS 28% is ``0.28``, ODR 0.5% is ``0.005``) and are multiplied by 100 only for
  display; ``ratio`` is a plain multiple (ROAS 4.0); ``count``, ``days`` and ``hours`` are what
  they say.
- **Sources.** ``orders`` metrics come from the ingest aggregates, one value per store and day;
  ``import`` metrics arrive through ``POST /metrics`` and the CSV presets.
- **Default aggregate.** How a metric is read over a period: ``sum`` for flows (money, orders,
  clicks — a bare name in a formula means this), ``last`` for levels and for rates a platform
  already computes over its own trailing window (stock on hand, Amazon's ODR), ``avg`` for
  daily measurements (first-response hours). :func:`check_formula` warns when a bare name would
  sum a metric whose default is not ``sum``.
- **Customer counts are daily.** ``customers`` is the number of distinct customers who ordered
  that day, ``new_customers`` those whose first order ever it was, ``returning_customers`` the
  rest (so ``customers = new_customers + returning_customers`` every day). Distinct counts are
  not additive: over a month they are summed customer-days, and a customer ordering on two days
  counts twice (the second time as returning). That is what daily aggregates can give without
  reading the order history; for most sellers few customers order twice in one period.

Built-in KPIs (``key`` — unit, direction: formula; notes):

``sales_target_attainment`` — currency, higher: ``gmv``
    GMV of the period; attainment against the target is computed by scoring.
``gmv_growth_mom`` — percent, higher: ``(gmv - prev(gmv)) / prev(gmv)``
    Growth over the previous period (the previous month for a monthly KPI). While a period is in
    progress the previous window is as long as the elapsed part (month-to-date vs the same days
    of last month, see :func:`linkstar.kpis.scoring.data_ranges`).
``gmv_growth_yoy`` — percent, higher: ``(gmv - prev_year(gmv)) / prev_year(gmv)``
    Growth over the same period a year earlier.
``aov`` — currency, higher: ``gmv / (orders - cancellations)``
    GMV per order kept: a cancelled order adds nothing to GMV, so it must not dilute the average.
``cvr`` — percent, higher: ``orders / sessions``
    Scope both to the same store and platform, or orders from other channels inflate it.
``ctr`` — percent, higher: ``clicks / impressions``
``cpc`` — currency, lower: ``ad_spend / clicks``
``roas`` — ratio, higher: ``ad_sales / ad_spend``
``acos`` — percent, lower: ``ad_spend / ad_sales``
``tacos`` — percent, lower: ``ad_spend / gmv``
    Ad spend over *total* sales, organic included.
``refund_rate`` — percent, lower: ``refunds / orders``
    Refunded *orders* over orders (a count rate, not money: one large refund is one refund;
    ``refund_amount / gmv`` is the money view, available as a custom KPI).
``cancellation_rate`` — percent, lower: ``cancellations / orders``
``odr`` — percent, lower: ``last(odr)``
    Amazon's order defect rate is already a rate over its own 60-day window: the latest value.
``late_shipment_rate`` — percent, lower: ``last(late_shipment_rate)``
``cs_response_time`` — hours, lower: ``avg(cs_first_response_hours)``
    The mean of the daily averages (each day weighs the same, however many tickets it had).
``inventory_turnover_days`` — days, lower: ``avg(inventory_on_hand) / (units / days)``
    Days of cover: average units in stock over units sold per calendar day. ``inventory_on_hand``
    is counted in units (sell-through needs units), so the daily rate is ``units / days`` rather
    than COGS, which is money and would give units x days per currency unit.
``sell_through`` — percent, higher: ``units / (units + last(inventory_on_hand))``
    Units sold over units available (sold plus the stock left at the end of the period).
``repeat_purchase_rate`` — percent, higher: ``returning_customers / customers``
    Share of ordering customers (customer-days, above) who had ordered before.
``ltv`` — currency, higher: ``(gmv - refund_amount - cogs) / new_customers``
    A steady-state estimate, not a cohort LTV: AOV x purchase frequency x gross margin / churn,
    with churn read as the share of customers who are new, reduces to the period's gross profit
    (net of refunds and COGS) per customer acquired. Import a cohort LTV as a custom metric if
    you have one.
``cac`` — currency, lower: ``ad_spend / new_customers``
    Paid acquisition only (ad spend); agency fees can be added in a custom KPI.
``ltv_cac`` — ratio, higher: ``ltv`` over ``cac``, written out
    ``((gmv - refund_amount - cogs) / new_customers) / (ad_spend / new_customers)`` so that each
    zero denominator is reported by name.
``videos_published`` — count, higher: ``sum(videos_published)``
``video_completion_rate`` — percent, higher: ``video_completions / video_views``
    Completions over views for the period, i.e. weighted by views. The mean of the imported
    per-video ``video_completion_rate`` would weigh a 10-view video like a viral one (and the
    rates of two videos on one day would be added); ``avg(video_completion_rate)`` remains
    available as a custom KPI for sources that export only the rate.
``creator_gmv`` — currency, higher: ``sum(creator_gmv)``
``live_gmv`` — currency, higher: ``sum(live_gmv)``

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from linkstar.kpis.formula import RESERVED, Aggregate, Formula, FormulaError, parse, validate
from linkstar.text import Text

Unit = Literal["currency", "percent", "ratio", "count", "days", "hours"]
Direction = Literal["higher", "lower"]
Source = Literal["orders", "import"]
DefaultAggregate = Literal["sum", "avg", "last"]


class MetricInfo(BaseModel):
    """A metric a formula may name: its unit, where it comes from, how it is read by default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    unit: Unit
    source: Source
    aggregate: DefaultAggregate
    description: str

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if value in RESERVED:
            raise ValueError(f"{value!r} is reserved in formulas")
        return value


def _metric(
    name: str, unit: Unit, source: Source, aggregate: DefaultAggregate, text: str
) -> tuple[str, MetricInfo]:
    return name, MetricInfo(
        name=name, unit=unit, source=source, aggregate=aggregate, description=text
    )


METRICS: dict[str, MetricInfo] = dict(
    [
        # From the ingest aggregates, per store and day.
        _metric("gmv", "currency", "orders", "sum", "gross merchandise value of orders placed"),
        _metric("orders", "count", "orders", "sum", "orders placed"),
        _metric("units", "count", "orders", "sum", "units in orders placed"),
        _metric("refunds", "count", "orders", "sum", "orders refunded (in full or in part)"),
        _metric("refund_amount", "currency", "orders", "sum", "money refunded"),
        _metric("cancellations", "count", "orders", "sum", "orders cancelled"),
        _metric("customers", "count", "orders", "sum", "distinct customers ordering that day"),
        _metric("new_customers", "count", "orders", "sum", "customers placing a first order"),
        _metric("returning_customers", "count", "orders", "sum", "customers who ordered before"),
        # Advertising.
        _metric("ad_spend", "currency", "import", "sum", "what the ads cost"),
        _metric("ad_sales", "currency", "import", "sum", "sales attributed to ads"),
        _metric("ad_orders", "count", "import", "sum", "orders attributed to ads"),
        _metric("ad_units", "count", "import", "sum", "units in orders attributed to ads"),
        _metric("ad_conversions", "count", "import", "sum", "conversions the ads optimise for"),
        _metric("impressions", "count", "import", "sum", "times an ad was shown"),
        _metric("clicks", "count", "import", "sum", "clicks on ads"),
        # Store traffic.
        _metric("sessions", "count", "import", "sum", "store or listing sessions"),
        _metric("add_to_carts", "count", "import", "sum", "add-to-cart events"),
        _metric("reviews", "count", "import", "sum", "product or store reviews received"),
        # Content.
        _metric("video_views", "count", "import", "sum", "times a video started to play"),
        _metric("video_completions", "count", "import", "sum", "times a video played to the end"),
        _metric("video_completion_rate", "percent", "import", "avg", "completions / views"),
        _metric("videos_published", "count", "import", "sum", "videos published"),
        _metric("creator_gmv", "currency", "import", "sum", "GMV from creator content"),
        _metric("live_gmv", "currency", "import", "sum", "GMV from live streams"),
        # Service and operations.
        _metric("cs_first_response_hours", "hours", "import", "avg", "first-response time"),
        _metric("inventory_on_hand", "count", "import", "last", "sellable units at day end"),
        _metric("cogs", "currency", "import", "sum", "cost of goods sold"),
        # Amazon account health: rates over Amazon's own trailing windows, as of the date.
        _metric("odr", "percent", "import", "last", "order defect rate"),
        _metric("late_shipment_rate", "percent", "import", "last", "late shipment rate"),
        _metric("pre_fulfillment_cancel_rate", "percent", "import", "last", "seller cancels"),
        _metric("valid_tracking_rate", "percent", "import", "last", "valid tracking rate"),
        _metric("on_time_delivery_rate", "percent", "import", "last", "on-time delivery rate"),
    ]
)
"""Every metric the built-ins use, plus the other names the importers produce."""

ORDER_METRICS: frozenset[str] = frozenset(
    m for m, info in METRICS.items() if info.source == "orders"
)


class Builtin(BaseModel):
    """A built-in KPI: its formula (parsed on construction), unit and which direction is good."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    name: str = Field(min_length=1, max_length=100)
    formula: str
    unit: Unit
    direction: Direction
    description: str

    _parsed: Formula = PrivateAttr()

    def model_post_init(self, context: Any, /) -> None:
        self._parsed = parse(self.formula)

    @property
    def parsed(self) -> Formula:
        return self._parsed


def _builtin(
    key: str, name: str, formula: str, unit: Unit, direction: Direction, description: str
) -> tuple[str, Builtin]:
    return key, Builtin(
        key=key,
        name=name,
        formula=formula,
        unit=unit,
        direction=direction,
        description=description,
    )


_LTV = "(gmv - refund_amount - cogs) / new_customers"

BUILTINS: dict[str, Builtin] = dict(
    [
        _builtin(
            "sales_target_attainment",
            "Sales target attainment",
            "gmv",
            "currency",
            "higher",
            "GMV for the period, scored against the sales target.",
        ),
        _builtin(
            "gmv_growth_mom",
            "GMV growth (period over period)",
            "(gmv - prev(gmv)) / prev(gmv)",
            "percent",
            "higher",
            "GMV growth over the previous period (month over month for a monthly KPI).",
        ),
        _builtin(
            "gmv_growth_yoy",
            "GMV growth (year over year)",
            "(gmv - prev_year(gmv)) / prev_year(gmv)",
            "percent",
            "higher",
            "GMV growth over the same period a year earlier.",
        ),
        _builtin(
            "aov",
            "Average order value",
            "gmv / (orders - cancellations)",
            "currency",
            "higher",
            "GMV per order not cancelled.",
        ),
        _builtin(
            "cvr",
            "Conversion rate",
            "orders / sessions",
            "percent",
            "higher",
            "Orders per session.",
        ),
        _builtin(
            "ctr",
            "Click-through rate",
            "clicks / impressions",
            "percent",
            "higher",
            "Ad clicks per impression.",
        ),
        _builtin(
            "cpc", "Cost per click", "ad_spend / clicks", "currency", "lower", "Ad spend per click."
        ),
        _builtin(
            "roas",
            "Return on ad spend",
            "ad_sales / ad_spend",
            "ratio",
            "higher",
            "Ad-attributed sales per unit of ad spend.",
        ),
        _builtin(
            "acos",
            "Advertising cost of sales",
            "ad_spend / ad_sales",
            "percent",
            "lower",
            "Ad spend over ad-attributed sales.",
        ),
        _builtin(
            "tacos",
            "Total advertising cost of sales",
            "ad_spend / gmv",
            "percent",
            "lower",
            "Ad spend over all sales, organic included.",
        ),
        _builtin(
            "refund_rate",
            "Refund rate",
            "refunds / orders",
            "percent",
            "lower",
            "Refunded orders over orders.",
        ),
        _builtin(
            "cancellation_rate",
            "Cancellation rate",
            "cancellations / orders",
            "percent",
            "lower",
            "Cancelled orders over orders.",
        ),
        _builtin(
            "odr",
            "Order defect rate",
            "last(odr)",
            "percent",
            "lower",
            "Amazon's order defect rate, latest value in the period.",
        ),
        _builtin(
            "late_shipment_rate",
            "Late shipment rate",
            "last(late_shipment_rate)",
            "percent",
            "lower",
            "Amazon's late shipment rate, latest value in the period.",
        ),
        _builtin(
            "cs_response_time",
            "Customer-service first response time",
            "avg(cs_first_response_hours)",
            "hours",
            "lower",
            "Mean of the daily first-response times, in hours.",
        ),
        _builtin(
            "inventory_turnover_days",
            "Inventory turnover (days of cover)",
            "avg(inventory_on_hand) / (units / days)",
            "days",
            "lower",
            "Average units in stock over units sold per calendar day.",
        ),
        _builtin(
            "sell_through",
            "Sell-through rate",
            "units / (units + last(inventory_on_hand))",
            "percent",
            "higher",
            "Units sold over units sold plus the stock left at period end.",
        ),
        _builtin(
            "repeat_purchase_rate",
            "Repeat purchase rate",
            "returning_customers / customers",
            "percent",
            "higher",
            "Share of ordering customers who had ordered before.",
        ),
        _builtin(
            "ltv",
            "Customer lifetime value (estimate)",
            _LTV,
            "currency",
            "higher",
            "Gross profit net of refunds and COGS per customer acquired (a steady-state estimate).",
        ),
        _builtin(
            "cac",
            "Customer acquisition cost",
            "ad_spend / new_customers",
            "currency",
            "lower",
            "Ad spend per new customer.",
        ),
        _builtin(
            "ltv_cac",
            "LTV:CAC",
            f"({_LTV}) / (ad_spend / new_customers)",
            "ratio",
            "higher",
            "Estimated lifetime value over acquisition cost.",
        ),
        _builtin(
            "videos_published",
            "Videos published",
            "sum(videos_published)",
            "count",
            "higher",
            "Videos published in the period.",
        ),
        _builtin(
            "video_completion_rate",
            "Video completion rate",
            "video_completions / video_views",
            "percent",
            "higher",
            "Views that played to the end over views, for the period.",
        ),
        _builtin(
            "creator_gmv",
            "Creator GMV",
            "sum(creator_gmv)",
            "currency",
            "higher",
            "GMV from creator (affiliate) content.",
        ),
        _builtin(
            "live_gmv",
            "Live GMV",
            "sum(live_gmv)",
            "currency",
            "higher",
            "GMV from live streams.",
        ),
    ]
)
"""The built-in KPIs by key (see the module docstring for each formula and its reasons)."""


BARE_LEVEL_WARNING = "kpi.formula.bare_level"
"""The code of :func:`check_formula`'s warning about a bare level or rate (a warning: saving
such a formula is allowed)."""


def check_formula(formula: Formula | str, extra_metrics: Iterable[str] = ()) -> list[Text]:
    """Problems with a custom formula against :data:`METRICS` plus ``extra_metrics`` (a tenant's
    own imported names): a syntax error alone, or those of
    :func:`linkstar.kpis.formula.validate` then a warning for each bare name that would sum a
    level or a rate (``odr`` alone adds up daily rates: write ``last(odr)``)."""
    if isinstance(formula, str):
        try:
            formula = parse(formula)
        except FormulaError as exc:
            return [exc.text]
    problems = validate(formula, set(METRICS) | set(extra_metrics))
    warned: set[str] = set()
    for node in formula.nodes():
        if not isinstance(node, Aggregate) or not node.implicit or node.metric in warned:
            continue
        info = METRICS.get(node.metric)
        if info is not None and info.aggregate != "sum":
            warned.add(node.metric)
            problems.append(
                Text("kpi.formula.bare_level", metric=node.metric, aggregate=info.aggregate)
            )
    return problems
