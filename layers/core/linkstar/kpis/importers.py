"""Ad, content and account-health reports as CSV → metric facts (``POST /metrics/import``).

:func:`import_csv` reads a report with a column *preset* and returns the :class:`Fact` s it holds
(validated exactly as ``POST /metrics`` validates them, :mod:`linkstar.kpis.facts`), every row it
refused with its line, column and reason, and the rows it deliberately left out (totals rows,
rows with no values). It never stores anything: the caller upserts ``result.facts`` by
:func:`~linkstar.kpis.facts.fact_key`, so importing the same report twice replaces, never doubles.

Presets, and the source each follows
------------------------------------

Column names are matched case-insensitively, after Unicode NFKC (full-width brackets read as
ASCII ones) and with runs of spaces collapsed, so Amazon's trailing-space headers
(``"7 Day Total Sales "``) match.
Where a preset lists several names for one metric, the first one present in the header is used
for the whole file.

``amazon_sp_campaigns`` — Amazon Ads Sponsored Products *campaign* report, one row per campaign
and day; platform ``amazon``, campaign dimension = the campaign name.

- Reporting API v3 (``reportTypeId: spCampaigns``, ``groupBy: ["campaign"]``,
  ``timeUnit: DAILY``; columns ``date``, ``campaignName``, ``impressions``, ``clicks``,
  ``cost``/``spend``, ``purchases7d``/``14d``, ``sales7d``/``14d``, ``unitsSoldClicks7d``/``14d``,
  ``campaignBudgetCurrencyCode``): Amazon Ads API docs, "Campaign reports" and "Reporting columns
  (version 3)", https://advertising.amazon.com/API/docs/en-us/guides/reporting/v3/report-types/campaign
  (read via the public mirror github.com/idealerror/amazon-ads-api-docs,
  ``en-us/guides/reporting/v3/report-types/campaign.md``). The API delivers GZIP_JSON; a CSV
  written from it keeps these names.
- The advertising console's download (``Date``, ``Campaign Name``, ``Currency``,
  ``Impressions``, ``Clicks``, ``Spend``, ``7 Day Total Sales``, ``7 Day Total Orders (#)``,
  ``7 Day Total Units (#)``, ``Total Advertising Cost of Sales (ACOS)`` …; summary downloads have
  ``Start Date``/``End Date`` instead of ``Date``). Amazon does not publish this header as a
  list: the names follow console exports quoted in public code (tests and parsers of Sponsored
  Products campaign and search-term downloads found with the ``code`` search), and the metric
  meanings Seller Central help "Campaign metrics" (sellercentral.amazon.com help item 201530620),
  which also gives the attribution windows: 7 days for Sponsored Products sellers, 14 for
  vendors. So the 7-day columns are used, and 14-day ones only when a file has no 7-day column.
  The Chinese console names (``日期``, ``广告活动名称``, ``花费``, ``7天总销售额`` …) are as
  a public parser of Chinese-language downloads lists them; not checked against an Amazon
  document.
- Produces ``ad_spend``, ``impressions``, ``clicks``, ``ad_sales``, ``ad_orders``, ``ad_units``.
  ACOS, ROAS, CTR, CPC and conversion-rate columns are ignored: they are ratios of the imported
  numbers, which the KPI library recomputes over any period (a ratio of sums, never a sum of
  ratios). A summary row whose Start Date and End Date differ is refused (one fact is one day).

``tiktok_ads`` — TikTok Ads Manager custom report (campaign or ad level, split by day), and the
TikTok Shop ads (GMV Max / Shop Ads) metrics; platform ``tiktok_shop`` unless ``defaults`` say
otherwise.

- Metric names and meanings: TikTok Ads Manager help "Video Play" glossary
  (https://ads.tiktok.com/help/article/video-play: "Video Views", "Video Views at 100%" …), "View
  Shop Ads reporting" (https://ads.tiktok.com/help/article/view-shop-ads-reporting: "Total Cost",
  "Clicks", "Purchases (Shop)", "Items purchased (Shop)", "Gross Revenue (Shop)") and "How to see
  reporting for your Product GMV Max campaign"
  (https://ads.tiktok.com/help/article/how-to-see-reporting-for-your-product-gmv-max-campaign:
  "Cost", "Orders (SKU)", "Gross revenue"). Marketing API names (``stat_time_day``,
  ``campaign_name``, ``spend``, ``impressions``, ``clicks``, ``conversion``,
  ``video_play_actions``, ``video_views_p100``) are accepted too.
- TikTok documents metric *names*, not the exported file's header: the date column's name
  (``By Day``, ``Date``, ``Day``) and the exact spellings (``Clicks (destination)`` vs
  ``Clicks``, ``Total purchase value``, ``Purchase value (website)``) follow exports seen in public
  code, so the common variants are all accepted. ``Clicks (all)`` is not read (it counts likes and
  profile clicks too, which would make CTR and CPC incomparable). A trailing "Total of N
  results" row is skipped.
- Produces ``ad_spend``, ``impressions``, ``clicks``, ``ad_conversions`` ("Conversions": the ad
  group's optimisation goal, not necessarily a purchase), ``ad_orders``, ``ad_units``,
  ``ad_sales``, ``video_views``, ``video_completions`` and ``video_completion_rate`` (= views at
  100% ÷ views for the row, 6 decimals; or the report's own "100% video view rate" when the
  counts are absent). A KPI over several days or campaigns should use Σ completions ÷ Σ views.

``amazon_account_health`` — Seller Central Performance > Account Health: Order Defect Rate, Late
Shipment Rate (UK: Late Dispatch Rate), Pre-fulfillment Cancel Rate, Valid Tracking Rate,
On-Time Delivery Rate; platform ``amazon``.

- Seller Central shows these on the Account Health page (help "Monitor your account health",
  item 200205250) and has no CSV download of them; the SP-API ``GET_V2_SELLER_PERFORMANCE_REPORT``
  is JSON (schema ``accountHealthReport-2020-11-18.json`` in github.com/amzn/selling-partner-api-
  models: ``orderDefectRate``, ``lateShipmentRate``, ``prefulfillmentCancelRate``,
  ``validTrackingRate``, ``onTimeDeliveryRate``, each with ``rate`` as a fraction such as
  ``0.009``). The preset therefore reads a sheet with one row per date (and marketplace) whose
  columns are the page's labels or the SP-API names.
- Rates: ``"0.42%"`` is 0.0042; a bare number is a fraction, as the SP-API writes it (``0.009``).
- The date is a ``Date``/``Report Date`` column or, for a one-day snapshot, ``defaults["date"]``.
  Each value is Amazon's rate over its own trailing window (60 days for ODR, 30 or 10 for late
  shipment, 7 for cancellations …) *as of* that date. A ``Marketplace`` column may hold an ISO
  code (``US``), a domain (``Amazon.co.uk``) or a marketplace id (``ATVPDKIKX0DER``).
- Produces ``odr``, ``late_shipment_rate``, ``pre_fulfillment_cancel_rate``,
  ``valid_tracking_rate``, ``on_time_delivery_rate``.

``generic`` — any CSV, with a caller-given ``mapping``::

    {"date": "Day",                                   # optional if defaults["date"] is given
     "metrics": {"Sessions": "sessions", "COGS": "cogs"},
     "dimensions": {"sku": "SKU", "campaign": "Channel"}}   # optional

Values
------

- The delimiter is sniffed from the header line (``,``, ``;`` or tab); a byte-order mark and any
  title lines above the header (up to :data:`MAX_PREAMBLE_LINES`) are ignored.
- Empty cells, ``-``, ``--``, ``—`` and ``N/A`` mean "no value": that metric has no fact for the
  row (not an error); a row with no value at all is listed in ``skipped``.
- Numbers: thousands separators, currency symbols or codes before or after (``$1,234.50``,
  ``US$``, ``¥``, ``1.234,50 €``, ``EUR 12``), a minus or accounting parentheses, ``%``.
  Separators: when both ``,`` and ``.`` appear the last one is the decimal mark; a lone
  separator followed by exactly three digits is a thousands separator in ``,``- and tab-delimited
  files and the decimal mark in ``;``-delimited ones (which spreadsheets write for decimal-comma
  locales) — ``defaults["decimal_separator"]`` (``"."`` or ``","``) overrides that.
- A percentage is allowed in rate metrics (and a tenant's own metrics) and divided by 100; a
  currency only in money metrics.
- Money is taken to be in the tenant's reporting currency, ``defaults["currency"]``: a row whose
  currency column, or a money cell's symbol or code, names another currency is refused (no
  conversion). Without ``defaults["currency"]`` the first currency the file names is the file's,
  and rows in any other are refused. ``$`` and ``¥`` name several currencies and are checked
  only against that set.
- Dates: ``YYYY-MM-DD`` (a time after it is ignored), ``YYYY/MM/DD``, US ``MM/DD/YYYY``,
  ``Mon DD, YYYY`` (English month names) and ``YYYYMMDD``.
- ``defaults`` may also give ``store_id``, ``platform``, ``market``, ``campaign``, ``sku`` and
  ``owner``: they apply to every fact unless the row has its own value.

Problems
--------

Line numbers are the file's physical lines, 1-based (the header's line included); a row is
numbered by the line it starts on. Whole-file problems (unknown preset, a bad mapping or
defaults, no recognisable header) raise :class:`ReportFormatError` (a BadRequest carrying the
same ``{"line", "column", "reason"}`` problems; line 0 and a ``mapping.…``/``defaults.…``
column for the request's own fields); more than :data:`MAX_IMPORT_ROWS` rows raise
PayloadTooLarge; a row the CSV parser can't read (a runaway quote past the field size limit)
ends the reading with that problem. Otherwise a row with any problem is refused whole, every
problem in it reported: half a row (spend without its clicks) would skew every ratio. Two rows
with the same date, metric and dimensions are refused on the second, naming the first (the file
contradicts itself; choosing one would be a guess). Every reason is a message
(:class:`linkstar.text.Text`, codes ``kpi.import.*`` and ``kpi.fact.*``) shown in the reader's
language; the English is quoted here.

Pure: no I/O.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypedDict

from pydantic import ValidationError

from linkstar import money
from linkstar.errors import BadRequest, PayloadTooLarge
from linkstar.kpis.facts import (
    DIMENSIONS,
    METRICS,
    Fact,
    fact_key,
    fact_problems,
    normalise_market,
    validate_fact,
)
from linkstar.kpis.reasons import reason_of
from linkstar.platforms.marketplaces import AMAZON_BY_DOMAIN, AMAZON_MARKETPLACES
from linkstar.text import Clauses, Refusal, Text

AMAZON_SP_CAMPAIGNS = "amazon_sp_campaigns"
TIKTOK_ADS = "tiktok_ads"
AMAZON_ACCOUNT_HEALTH = "amazon_account_health"
GENERIC = "generic"
PRESETS: tuple[str, ...] = (AMAZON_SP_CAMPAIGNS, TIKTOK_ADS, AMAZON_ACCOUNT_HEALTH, GENERIC)

MAX_PREAMBLE_LINES = 10
MAX_IMPORT_ROWS = 100_000
DEFAULT_KEYS = frozenset({*DIMENSIONS, "date", "currency", "decimal_separator"})
_NO_VALUE = frozenset({"", "-", "--", "\u2014", "\u2013", "n/a", "na", "null"})  # em/en dash
_RATE_PLACES = Decimal("0.000001")


class ImportProblem(TypedDict):
    line: int
    column: str  # the column as the file names it; "" for the whole line
    reason: Text


class ReportFormatError(BadRequest):
    """A report that can't be read at all (wrong preset, header or mapping)."""

    code = "invalid_report"

    def __init__(self, problems: list[ImportProblem]) -> None:
        # Clauses, not a list: a problem's reason may itself list things with commas.
        listed = Clauses(_where(problem) for problem in problems)
        super().__init__(Text("kpi.import.unreadable", problems=listed), problems=problems)
        self.problems = problems


def _where(problem: ImportProblem) -> Text:
    """A problem as one sentence: ``line 3 Clicks: 'x' is not a number``."""
    line, column, reason = problem["line"], problem["column"], problem["reason"]
    if line and column:
        return Text("kpi.import.at_line_column", line=line, column=column, reason=reason)
    if line:
        return Text("kpi.import.at_line", line=line, reason=reason)
    if column:
        return Text("kpi.import.at_column", column=column, reason=reason)
    return reason


@dataclass
class ImportResult:
    preset: str
    facts: list[Fact]
    rejected: list[ImportProblem]  # every problem of every refused row, in line order
    rows_read: int  # data rows after the header, blank lines not counted
    skipped: list[ImportProblem] = field(default_factory=list)  # left out on purpose

    @property
    def rows_rejected(self) -> int:
        return len({problem["line"] for problem in self.rejected})


# ------------------------------------------------------------------ presets


@dataclass(frozen=True)
class MetricColumn:
    metric: str
    names: tuple[str, ...]  # in order of preference; the first in the header is read


@dataclass(frozen=True)
class Preset:
    name: str
    platform: str | None
    date: tuple[str, ...]
    metrics: tuple[MetricColumn, ...]
    dimensions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    required_dimensions: frozenset[str] = frozenset()
    currency: tuple[str, ...] = ()
    market: tuple[str, ...] = ()  # a marketplace column (Amazon names accepted)
    date_range: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # summary downloads
    derive: Callable[[dict[str, tuple[Decimal, str]]], None] | None = None
    strict: bool = False  # every metric and dimension column must be in the header (generic)


def _tiktok_completion_rate(values: dict[str, tuple[Decimal, str]]) -> None:
    if "video_completion_rate" in values:
        return  # the report's own rate
    views, completions = values.get("video_views"), values.get("video_completions")
    if views and completions and views[0] > 0:
        rate = (completions[0] / views[0]).quantize(_RATE_PLACES, rounding=ROUND_HALF_EVEN)
        values["video_completion_rate"] = (rate, completions[1])


PRESET_SPECS: dict[str, Preset] = {
    AMAZON_SP_CAMPAIGNS: Preset(
        name=AMAZON_SP_CAMPAIGNS,
        platform="amazon",
        date=("date", "日期"),
        date_range=(("Start Date", "startDate", "开始日期"), ("End Date", "endDate", "结束日期")),
        dimensions={"campaign": ("campaignName", "Campaign Name", "广告活动名称")},
        required_dimensions=frozenset({"campaign"}),
        currency=("Currency", "campaignBudgetCurrencyCode", "货币"),
        metrics=(
            MetricColumn("ad_spend", ("cost", "Spend", "花费")),
            MetricColumn("impressions", ("impressions", "展示量")),
            MetricColumn("clicks", ("clicks", "点击量")),
            MetricColumn(
                "ad_sales",
                (
                    *("sales7d", "7 Day Total Sales", "7天总销售额"),
                    *("sales14d", "14 Day Total Sales", "14天总销售额"),
                ),
            ),
            MetricColumn(
                "ad_orders",
                (
                    *("purchases7d", "7 Day Total Orders (#)", "7天总订单数(#)"),
                    *("purchases14d", "14 Day Total Orders (#)", "14天总订单数(#)"),
                ),
            ),
            MetricColumn(
                "ad_units",
                (
                    *("unitsSoldClicks7d", "7 Day Total Units (#)", "7天总销售量(#)"),
                    *("unitsSoldClicks14d", "14 Day Total Units (#)", "14天总销售量(#)"),
                ),
            ),
        ),
    ),
    TIKTOK_ADS: Preset(
        name=TIKTOK_ADS,
        platform="tiktok_shop",
        date=("By Day", "Date", "Day", "stat_time_day"),
        dimensions={"campaign": ("Campaign name", "campaign_name", "Campaign")},
        currency=("Currency",),
        metrics=(
            MetricColumn("ad_spend", ("Cost", "Total Cost", "spend")),
            MetricColumn("impressions", ("Impressions", "Impression")),
            MetricColumn("clicks", ("Clicks (destination)", "Clicks")),
            MetricColumn("ad_conversions", ("Conversions", "conversion")),
            MetricColumn(
                "ad_orders", ("Purchases (Shop)", "Orders (SKU)", "Purchases", "Complete payment")
            ),
            MetricColumn("ad_units", ("Items purchased (Shop)",)),
            MetricColumn(
                "ad_sales",
                (
                    "Gross Revenue (Shop)",
                    "Gross revenue",
                    "Total gross revenue",
                    "Total purchase value",
                    "Purchase value (website)",
                ),
            ),
            MetricColumn("video_views", ("Video views", "video_play_actions")),
            MetricColumn("video_completions", ("Video views at 100%", "video_views_p100")),
            MetricColumn(
                "video_completion_rate", ("100% video view rate", "Video completion rate")
            ),
        ),
        derive=_tiktok_completion_rate,
    ),
    AMAZON_ACCOUNT_HEALTH: Preset(
        name=AMAZON_ACCOUNT_HEALTH,
        platform="amazon",
        date=("Date", "Report Date", "Snapshot Date", "reportingDateTo"),
        market=("Marketplace", "Marketplace ID", "marketplaceId", "Country", "Market"),
        metrics=(
            MetricColumn("odr", ("Order Defect Rate", "ODR", "orderDefectRate")),
            MetricColumn(
                "late_shipment_rate",
                ("Late Shipment Rate", "Late Dispatch Rate", "lateShipmentRate"),
            ),
            MetricColumn(
                "pre_fulfillment_cancel_rate",
                (
                    "Pre-fulfillment Cancel Rate",
                    "Pre-fulfilment Cancel Rate",
                    "Pre-fulfillment Cancellation Rate",
                    "Cancellation Rate",
                    "prefulfillmentCancelRate",
                ),
            ),
            MetricColumn("valid_tracking_rate", ("Valid Tracking Rate", "validTrackingRate")),
            MetricColumn("on_time_delivery_rate", ("On-Time Delivery Rate", "onTimeDeliveryRate")),
        ),
    ),
}

PRESET_METRICS: dict[str, tuple[str, ...]] = {
    name: tuple(column.metric for column in spec.metrics) for name, spec in PRESET_SPECS.items()
}
"""The metrics each preset can produce (``generic``: whatever the mapping names)."""


# ------------------------------------------------------------------ public API


def import_csv(
    text: str,
    preset: str,
    mapping: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
    *,
    today: date | None = None,
) -> ImportResult:
    """The facts in report ``text`` read with ``preset`` (see the module docstring)."""
    if preset not in PRESETS:
        raise ReportFormatError(
            [
                _problem(
                    0, "", Text("kpi.import.unknown_preset", preset=repr(preset), presets=PRESETS)
                )
            ]
        )
    if preset == GENERIC:
        spec = _generic_preset(mapping)
    elif mapping is not None:
        raise ReportFormatError(
            [_problem(0, "", Text("kpi.import.mapping_not_used", preset=repr(GENERIC)))]
        )
    else:
        spec = PRESET_SPECS[preset]
    options = _options(defaults or {})

    lines = list(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    found = _find_header(lines, spec, options)
    header_line, delimiter, plan = found
    options.decimal_comma = (
        options.decimal_separator == "," if options.decimal_separator else delimiter == ";"
    )

    reader = csv.reader(lines[header_line:], delimiter=delimiter)
    next(reader)  # the header, already read
    result = ImportResult(preset=preset, facts=[], rejected=[], rows_read=0)
    first_line: dict[str, int] = {}
    read_to = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # The parser's position is unknown after this: stop, keeping what was read.
            result.rejected.append(
                _problem(
                    header_line + read_to + 1,
                    "",
                    Text("kpi.import.unreadable_row", detail=str(exc)),
                )
            )
            break
        # The line a row starts on (a quoted field may carry it over several lines).
        line, read_to = header_line + read_to + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        result.rows_read += 1
        if result.rows_read > MAX_IMPORT_ROWS:
            raise PayloadTooLarge(
                Text("kpi.import.too_many_rows", limit=MAX_IMPORT_ROWS),
                code="report_too_large",
                limit=MAX_IMPORT_ROWS,
            )
        _read_row(cells, line, plan, options, result, first_line, today)
    return result


# ------------------------------------------------------------------ reading


@dataclass
class _Options:
    currency: str | None  # the reporting currency, or the first one the file names
    currency_given: bool
    date: date | None
    dimensions: dict[str, str]
    decimal_separator: str | None
    decimal_comma: bool = False


@dataclass(frozen=True)
class _Column:
    index: int
    name: str  # as written in the file


@dataclass(frozen=True)
class _Plan:
    header_width: int
    date: _Column | None
    date_range: tuple[_Column, _Column] | None
    metrics: tuple[tuple[str, _Column], ...]
    dimensions: dict[str, _Column]
    required_dimensions: frozenset[str]
    currency: _Column | None
    market: _Column | None
    platform: str | None
    derive: Callable[[dict[str, tuple[Decimal, str]]], None] | None


def _normal(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def _find_header(lines: Sequence[str], spec: Preset, options: _Options) -> tuple[int, str, _Plan]:
    """(index of the header line, delimiter, plan) — the first line that reads as the preset's
    header with some delimiter; ReportFormatError naming what is missing otherwise."""
    best: list[ImportProblem] = []
    seen = 0
    for index, raw in enumerate(lines):
        if not raw.strip():
            continue
        seen += 1
        if seen > MAX_PREAMBLE_LINES:
            break
        for delimiter in sorted(",;\t", key=lambda d: -raw.count(d)):
            if delimiter not in raw and delimiter != ",":
                continue
            header = next(csv.reader([raw], delimiter=delimiter), [])
            plan, problems = _plan(header, index + 1, spec, options)
            if plan is not None:
                return index, delimiter, plan
            if not best or len(problems) < len(best):
                best = problems
    if not best:
        best = [_problem(1, "", Text("kpi.import.empty_file"))]
    raise ReportFormatError(best)


def _plan(
    header: list[str], line: int, spec: Preset, options: _Options
) -> tuple[_Plan | None, list[ImportProblem]]:
    positions: dict[str, _Column] = {}
    for index, name in enumerate(header):
        positions.setdefault(_normal(name), _Column(index, name.strip()))

    def find(names: Iterable[str]) -> _Column | None:
        return next((positions[_normal(n)] for n in names if _normal(n) in positions), None)

    problems: list[ImportProblem] = []
    date_column = find(spec.date)
    date_range = None
    if spec.date_range is not None:
        start, end = find(spec.date_range[0]), find(spec.date_range[1])
        if start is not None and end is not None:
            date_range = (start, end)
    if date_column is None and date_range is None and options.date is None:
        problems.append(
            _problem(line, "", Text("kpi.import.no_date_column", expected=list(spec.date)))
        )
    metrics = tuple(
        (column.metric, found)
        for column in spec.metrics
        if (found := find(column.names)) is not None
    )
    if not metrics:
        expected = [column.names[0] for column in spec.metrics]
        problems.append(_problem(line, "", Text("kpi.import.no_metric_column", expected=expected)))
    dimensions = {name: found for name, names in spec.dimensions.items() if (found := find(names))}
    if spec.strict:
        wanted = [(c.names[0], c.metric) for c in spec.metrics] + [
            (names[0], name) for name, names in spec.dimensions.items()
        ]
        for column_name, what in wanted:
            if find((column_name,)) is None:
                problems.append(
                    _problem(line, column_name, Text("kpi.import.missing_column", what=what))
                )
    for name in sorted(spec.required_dimensions - set(dimensions)):
        problems.append(
            _problem(
                line,
                "",
                Text(
                    "kpi.import.no_dimension_column",
                    dimension=name,
                    expected=list(spec.dimensions[name]),
                ),
            )
        )
    if problems:
        return None, problems
    return (
        _Plan(
            header_width=len(header),
            date=date_column,
            date_range=date_range,
            metrics=metrics,
            dimensions=dimensions,
            required_dimensions=spec.required_dimensions,
            currency=find(spec.currency),
            market=find(spec.market),
            platform=spec.platform,
            derive=spec.derive,
        ),
        [],
    )


def _read_row(
    cells: list[str],
    line: int,
    plan: _Plan,
    options: _Options,
    result: ImportResult,
    first_line: dict[str, int],
    today: date | None,
) -> None:
    def cell(column: _Column | None) -> str:
        if column is None or column.index >= len(cells):
            return ""
        return cells[column.index].strip()

    if len(cells) > plan.header_width and any(c.strip() for c in cells[plan.header_width :]):
        result.rejected.append(
            _problem(
                line,
                "",
                Text("kpi.import.shifted", fields=len(cells), header=plan.header_width),
            )
        )
        return
    for first in (cells[0].strip(), cell(plan.date)):
        if _is_totals(first):
            result.skipped.append(
                _problem(line, "", Text("kpi.import.totals_row", cell=repr(first)))
            )
            return

    problems: list[ImportProblem] = []
    day = _row_date(plan, options, cell, line, problems)

    dimensions: dict[str, str] = {}
    where: dict[str, str] = {}
    if plan.platform:
        dimensions["platform"], where["platform"] = plan.platform, "preset"
    for name, given in options.dimensions.items():
        dimensions[name], where[name] = given, f"defaults.{name}"
    for name, column in plan.dimensions.items():
        text = cell(column)
        if text:
            dimensions[name], where[name] = text, column.name
        elif name in plan.required_dimensions and name not in options.dimensions:
            problems.append(_problem(line, column.name, Text("kpi.import.empty_cell")))
    if plan.market is not None and cell(plan.market):
        try:
            dimensions["market"] = _marketplace(cell(plan.market))
            where["market"] = plan.market.name
        except ValueError as exc:
            problems.append(_problem(line, plan.market.name, reason_of(exc)))

    row_currency = _row_currency(plan, options, cell, line, problems)
    values: dict[str, tuple[Decimal, str]] = {}
    symbol_currencies: set[str] | None = None  # what every symbol in the row can mean
    for metric, column in plan.metrics:
        text = cell(column)
        try:
            read = _metric_value(text, metric, options, row_currency)
        except ValueError as exc:
            problems.append(_problem(line, column.name, reason_of(exc)))
            continue
        if read is None:
            continue
        values[metric] = (read[0], column.name)
        if read[1] is not None:
            symbol_currencies = set(read[1]) & (symbol_currencies or set(read[1]))
            if not symbol_currencies and not row_currency and not options.currency:
                problems.append(_problem(line, column.name, Text("kpi.import.two_currencies")))
    if problems:
        result.rejected.extend(problems)
        return
    if plan.derive is not None:
        plan.derive(values)
    if not values:
        result.skipped.append(_problem(line, "", Text("kpi.import.no_values")))
        return
    assert day is not None  # a missing date is a problem above

    facts: list[Fact] = []
    for metric, (value, column_name) in values.items():
        data: dict[str, object] = {"date": day, "metric": metric, "value": value, **dimensions}
        try:
            facts.append(validate_fact(data, today=today))
        except ValidationError as exc:
            for problem in fact_problems(exc):
                source = {"value": column_name, "date": _date_source(plan)}.get(
                    problem["field"], where.get(problem["field"], problem["field"])
                )
                problems.append(_problem(line, source, problem["reason"]))
    keys = [fact_key(fact) for fact in facts]
    for fact, key in zip(facts, keys, strict=True):
        if key in first_line:
            problems.append(
                _problem(
                    line,
                    values[fact.metric][1],
                    Text(
                        "kpi.import.duplicate_campaign",
                        line=first_line[key],
                        day=fact.date.isoformat(),
                        metric=fact.metric,
                        campaign=repr(fact.campaign),
                    )
                    if fact.campaign
                    else Text(
                        "kpi.import.duplicate",
                        line=first_line[key],
                        day=fact.date.isoformat(),
                        metric=fact.metric,
                    ),
                )
            )
    if problems:
        result.rejected.extend(problems)
        return
    for key in keys:
        first_line[key] = line
    if not options.currency:
        # The first row that names its currency unambiguously fixes the file's.
        if row_currency:
            options.currency = row_currency
        elif symbol_currencies and len(symbol_currencies) == 1:
            options.currency = next(iter(symbol_currencies))
    result.facts.extend(facts)


def _row_date(
    plan: _Plan,
    options: _Options,
    cell: Callable[[_Column | None], str],
    line: int,
    problems: list[ImportProblem],
) -> date | None:
    if plan.date is not None and cell(plan.date):
        try:
            return parse_report_date(cell(plan.date))
        except ValueError as exc:
            problems.append(_problem(line, plan.date.name, reason_of(exc)))
            return None
    if plan.date is None and plan.date_range is not None:
        start_column, end_column = plan.date_range
        try:
            start = parse_report_date(cell(start_column))
            end = parse_report_date(cell(end_column))
        except ValueError as exc:
            problems.append(_problem(line, start_column.name, reason_of(exc)))
            return None
        if start != end:
            problems.append(
                _problem(
                    line,
                    start_column.name,
                    Text("kpi.import.not_one_day", start=start.isoformat(), end=end.isoformat()),
                )
            )
            return None
        return start
    if options.date is not None:
        return options.date
    problems.append(_problem(line, plan.date.name if plan.date else "", Text("kpi.import.no_date")))
    return None


def _date_source(plan: _Plan) -> str:
    if plan.date is not None:
        return plan.date.name
    if plan.date_range is not None:
        return plan.date_range[0].name
    return "defaults.date"


def _row_currency(
    plan: _Plan,
    options: _Options,
    cell: Callable[[_Column | None], str],
    line: int,
    problems: list[ImportProblem],
) -> str | None:
    """The row's currency from its currency column (checked), or the expected one."""
    raw = cell(plan.currency)
    if not raw or plan.currency is None:
        return options.currency
    code = raw.upper()
    if not money.is_currency(code):
        problems.append(
            _problem(line, plan.currency.name, Text("kpi.import.not_a_currency", value=repr(raw)))
        )
        return options.currency
    if options.currency and code != options.currency:
        problems.append(_problem(line, plan.currency.name, _currency_mismatch(code, options)))
    return code


def _currency_mismatch(found: str, options: _Options) -> Text:
    if options.currency_given:
        return Text(
            "kpi.import.row_not_in_reporting_currency", found=found, expected=options.currency
        )
    return Text("kpi.import.row_not_in_file_currency", found=found, expected=options.currency)


def _metric_value(
    text: str, metric: str, options: _Options, row_currency: str | None
) -> tuple[Decimal, frozenset[str] | None] | None:
    """The cell's value (None: no value) and the currencies its symbol or code can mean."""
    number = parse_number(text, decimal_comma=options.decimal_comma)
    if number is None:
        return None
    value, percent, token = number
    spec = METRICS.get(metric)
    unit = spec.unit if spec else None
    if percent:
        if unit not in (None, "rate"):
            raise Refusal(
                Text("kpi.import.percent_not_allowed", value=repr(text), metric=metric, unit=unit)
            )
        value = value / 100
    if token:
        if unit not in (None, "money"):
            raise Refusal(
                Text("kpi.import.currency_not_allowed", value=repr(text), metric=metric, unit=unit)
            )
        named = _CURRENCY_TOKENS.get(token, frozenset({token}))
        expected = row_currency or options.currency
        if expected and expected not in named:
            if options.currency_given:
                raise Refusal(
                    Text(
                        "kpi.import.cell_not_in_reporting_currency",
                        value=repr(text),
                        expected=expected,
                    )
                )
            raise Refusal(
                Text("kpi.import.cell_not_in_file_currency", value=repr(text), expected=expected)
            )
        return value, named
    return value, None


def _marketplace(raw: str) -> str:
    """An ISO country from a marketplace cell: ``US``, ``Amazon.co.uk`` or a marketplace id."""
    text = raw.strip()
    by_id = AMAZON_MARKETPLACES.get(text.upper())
    if by_id is not None:
        return by_id.country
    domain = text.lower().removeprefix("https://").removeprefix("www.").rstrip("/")
    if domain in AMAZON_BY_DOMAIN:
        return AMAZON_BY_DOMAIN[domain].country
    try:
        return normalise_market(text)
    except ValueError:
        raise Refusal(Text("kpi.import.not_a_marketplace", value=repr(raw))) from None


def _is_totals(first_cell: str) -> bool:
    word = first_cell.casefold()
    return word.startswith("total") or word in {"合计", "总计"}


# ------------------------------------------------------------------ values

# What a currency symbol can stand for. "$" and "¥" are shared by several currencies: a cell with
# one is only checked against this set, never taken to say which currency it is.
_CURRENCY_TOKENS: dict[str, frozenset[str]] = {
    "$": frozenset({"USD", "CAD", "AUD", "NZD", "SGD", "HKD", "MXN", "TWD"}),
    "US$": frozenset({"USD"}),
    "C$": frozenset({"CAD"}),
    "CA$": frozenset({"CAD"}),
    "A$": frozenset({"AUD"}),
    "AU$": frozenset({"AUD"}),
    "S$": frozenset({"SGD"}),
    "HK$": frozenset({"HKD"}),
    "NT$": frozenset({"TWD"}),
    "MX$": frozenset({"MXN"}),
    "R$": frozenset({"BRL"}),
    "€": frozenset({"EUR"}),
    "£": frozenset({"GBP"}),
    "¥": frozenset({"JPY", "CNY"}),
    "JP¥": frozenset({"JPY"}),
    "CN¥": frozenset({"CNY"}),
    "RMB": frozenset({"CNY"}),
    "元": frozenset({"CNY"}),
    "₹": frozenset({"INR"}),
    "₩": frozenset({"KRW"}),
    "₱": frozenset({"PHP"}),
    "฿": frozenset({"THB"}),
    "₫": frozenset({"VND"}),
    "RP": frozenset({"IDR"}),
    "RM": frozenset({"MYR"}),
    "ZŁ": frozenset({"PLN"}),
    "KR": frozenset({"SEK", "NOK", "DKK"}),
    "₺": frozenset({"TRY"}),
}
_NUMBER = re.compile(
    r"(?P<pre>[^\d]*?)(?P<num>[.,]?\d(?:[\d.,' ]*\d)?)(?P<exp>[eE][+-]?\d+)?(?P<post>[^\d]*)"
)
_GROUPED = re.compile(r"\d{1,3}(?:(?P<sep>[,. '])\d{3})(?:(?P=sep)\d{3})*")


def parse_number(text: str, *, decimal_comma: bool = False) -> tuple[Decimal, bool, str] | None:
    """``(value, is_percent, currency_token)`` from a report cell, None for no value.

    ``"$1,234.50"`` → ``(Decimal("1234.50"), False, "$")``; ``"0.42%"`` →
    ``(Decimal("0.42"), True, "")``; ``"--"`` → None; ValueError with a reason for anything else.
    The token is upper-cased (``"US$"``, ``"EUR"``, ``"¥"``); see :data:`_CURRENCY_TOKENS`.
    """
    body = " ".join(text.replace("\u2212", "-").split())  # also folds no-break spaces
    if body.casefold() in _NO_VALUE:
        return None
    negative = False
    if body.startswith("(") and body.endswith(")"):  # accounting negative: (12.50)
        negative, body = True, body[1:-1].strip()
    percent = body.endswith("%")
    if percent:
        body = body[:-1].strip()
    match = _NUMBER.fullmatch(body)
    if match is None:
        raise _not_a_number(text)
    pre, post = match["pre"].replace(" ", ""), match["post"].strip()
    signs = pre.count("-") + pre.count("+")
    if signs > 1 or post.count("-") or post.count("+"):
        raise _not_a_number(text)
    negative ^= "-" in pre
    pre = pre.replace("-", "").replace("+", "")
    if pre and post:
        raise _not_a_number(text)
    token = (pre or post).upper()
    if token and token not in _CURRENCY_TOKENS and not money.is_currency(token):
        raise _not_a_number(text)
    value = _decimal(match["num"], text, decimal_comma=decimal_comma)
    if match["exp"]:
        value = value.scaleb(int(match["exp"][1:]))
    return (-value if negative else value), percent, token


def _decimal(digits: str, text: str, *, decimal_comma: bool) -> Decimal:
    """Digits with separators → Decimal (see the module docstring for which mark is which)."""
    commas, points = digits.count(","), digits.count(".")
    decimal_mark = ""
    if commas and points:
        decimal_mark = "," if digits.rfind(",") > digits.rfind(".") else "."
    elif commas + points == 1:
        mark = "," if commas else "."
        if len(digits.rpartition(mark)[2]) != 3:
            decimal_mark = mark  # nobody groups by two or four digits
        elif (mark == ",") == decimal_comma:
            decimal_mark = mark  # 1,234 in a decimal-comma file; 1.234 in a decimal-point one
    whole, fraction = digits.rpartition(decimal_mark)[::2] if decimal_mark else (digits, "")
    if fraction and not fraction.isdigit():
        raise _not_a_number(text)
    if not whole.isdigit() and whole and not _GROUPED.fullmatch(whole):
        raise Refusal(Text("kpi.import.bad_grouping", value=repr(text)))
    plain = re.sub(r"[,. ']", "", whole) or "0"
    return Decimal(f"{plain}.{fraction}" if fraction else plain)


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_ISO_DAY = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?.*)?")
_SLASH_YMD = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")
_US_MDY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_NAMED = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")


def parse_report_date(text: str) -> date:
    """A report's date cell; ValueError naming the accepted formats."""
    raw = text.strip()
    parts: tuple[int, int, int] | None = None
    if match := _ISO_DAY.fullmatch(raw) or _SLASH_YMD.fullmatch(raw) or _COMPACT.fullmatch(raw):
        parts = (int(match[1]), int(match[2]), int(match[3]))
    elif match := _US_MDY.fullmatch(raw):
        parts = (int(match[3]), int(match[1]), int(match[2]))
    elif (match := _NAMED.fullmatch(raw)) and match[1].lower() in _MONTHS:
        parts = (int(match[3]), _MONTHS[match[1].lower()], int(match[2]))
    if parts is not None:
        try:
            return date(*parts)
        except ValueError:
            raise Refusal(Text("kpi.fact.not_a_calendar_date", value=repr(text))) from None
    raise Refusal(Text("kpi.import.not_a_date", value=repr(text)))


# ------------------------------------------------------------------ options and mapping


def _options(defaults: dict[str, Any]) -> _Options:
    problems: list[ImportProblem] = []
    for key in sorted(set(defaults) - DEFAULT_KEYS):
        problems.append(_problem(0, f"defaults.{key}", Text("kpi.import.unknown_default")))
    for key, value in defaults.items():
        if key in DEFAULT_KEYS and value is not None and not isinstance(value, str | date):
            problems.append(
                _problem(0, f"defaults.{key}", Text("kpi.fact.not_text", value=repr(value)))
            )
    if problems:
        raise ReportFormatError(problems)

    currency = str(defaults.get("currency") or "").strip().upper() or None
    if currency is not None and not money.is_currency(currency):
        problems.append(
            _problem(
                0, "defaults.currency", Text("kpi.import.not_a_currency", value=repr(currency))
            )
        )
    report_date: date | None = None
    raw_date = defaults.get("date")
    if isinstance(raw_date, date):
        report_date = raw_date
    elif raw_date:
        try:
            report_date = parse_report_date(str(raw_date))
        except ValueError as exc:
            problems.append(_problem(0, "defaults.date", reason_of(exc)))
    separator = str(defaults.get("decimal_separator") or "") or None
    if separator not in (None, ".", ","):
        problems.append(
            _problem(0, "defaults.decimal_separator", Text("kpi.import.decimal_separator"))
        )

    dimensions = {
        name: str(defaults[name]).strip()
        for name in DIMENSIONS
        if defaults.get(name) and str(defaults[name]).strip()
    }
    if dimensions:
        # Checked once here, rather than as the same problem on every row.
        probe = {"date": date(2000, 1, 1), "metric": "probe", "value": 0, **dimensions}
        try:
            normalised = validate_fact(probe)
        except ValidationError as exc:
            problems += [
                _problem(0, f"defaults.{p['field']}", p["reason"]) for p in fact_problems(exc)
            ]
        else:
            dimensions = {
                name: value
                for name, value in normalised.dimensions().items()
                if value is not None and name in dimensions
            }
    if problems:
        raise ReportFormatError(problems)
    return _Options(
        currency=currency,
        currency_given=currency is not None,
        date=report_date,
        dimensions=dimensions,
        decimal_separator=separator,
    )


def _generic_preset(mapping: dict[str, Any] | None) -> Preset:
    if not isinstance(mapping, dict):
        raise ReportFormatError([_problem(0, "mapping", Text("kpi.import.mapping_needed"))])
    problems: list[ImportProblem] = []
    for key in sorted(set(mapping) - {"date", "metrics", "dimensions"}):
        problems.append(_problem(0, f"mapping.{key}", Text("kpi.import.mapping_unknown_key")))
    date_column = mapping.get("date")
    if date_column is not None and (not isinstance(date_column, str) or not date_column.strip()):
        problems.append(_problem(0, "mapping.date", Text("kpi.import.column_name_needed")))
    metrics = mapping.get("metrics")
    columns: list[MetricColumn] = []
    if not isinstance(metrics, dict) or not metrics:
        problems.append(_problem(0, "mapping.metrics", Text("kpi.import.mapping_metrics")))
    else:
        for column, metric in metrics.items():
            if not isinstance(metric, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", metric):
                problems.append(
                    _problem(
                        0,
                        f"mapping.metrics.{column}",
                        Text("kpi.import.not_a_metric_name", value=repr(metric)),
                    )
                )
            else:
                columns.append(MetricColumn(metric, (str(column),)))
        mapped = [column.metric for column in columns]
        for metric in sorted({m for m in mapped if mapped.count(m) > 1}):
            problems.append(
                _problem(0, "mapping.metrics", Text("kpi.import.mapped_twice", metric=metric))
            )
    dims = mapping.get("dimensions") or {}
    dimension_columns: dict[str, tuple[str, ...]] = {}
    if not isinstance(dims, dict):
        problems.append(_problem(0, "mapping.dimensions", Text("kpi.import.mapping_dimensions")))
    else:
        for name, column in dims.items():
            if name not in DIMENSIONS:
                problems.append(
                    _problem(
                        0,
                        f"mapping.dimensions.{name}",
                        Text("kpi.import.not_a_dimension", dimensions=list(DIMENSIONS)),
                    )
                )
            elif not isinstance(column, str) or not column.strip():
                problems.append(
                    _problem(0, f"mapping.dimensions.{name}", Text("kpi.import.column_name_needed"))
                )
            else:
                dimension_columns[name] = (column,)
    if problems:
        raise ReportFormatError(problems)
    return Preset(
        name=GENERIC,
        platform=None,
        date=(date_column,) if isinstance(date_column, str) else (),
        metrics=tuple(columns),
        dimensions=dimension_columns,
        strict=True,
    )


def _problem(line: int, column: str, reason: Text) -> ImportProblem:
    return {"line": line, "column": column, "reason": reason}


def _not_a_number(text: str) -> Refusal:
    return Refusal(Text("kpi.import.not_a_number", value=repr(text)))
