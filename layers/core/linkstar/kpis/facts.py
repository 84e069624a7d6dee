"""Metric facts: the daily numbers KPIs are computed from, and how a batch of them is validated.

A :class:`Fact` is one number for one day: ``(date, metric, value)`` plus the dimensions it
belongs to (``store_id``, ``platform``, ``market``, ``campaign``, ``sku``, ``owner``; each may
be ``None``). Facts arrive as JSON batches (``POST /metrics``, :func:`parse_batch`) or from CSV
reports (``POST /metrics/import``, :mod:`linkstar.kpis.importers`); order-derived metrics (GMV,
orders, refunds …) come from the ingest aggregates and are never imported as facts.

Identity and idempotency
    :func:`fact_key` is ``<date>#<metric>#<16 hex chars>``: the hex is the start of the SHA-256
    of the six dimensions (``""`` for ``None``) in a fixed order. Re-importing a fact with the
    same date, metric and dimensions gives the same key, so it *replaces* the stored fact and
    never doubles it; any change in a dimension gives another key. The key is short and made of
    ``[0-9a-z_#-]`` only, so the repository can put it straight into a sort key; the dimensions
    themselves stay on the fact (and the stored item) so reads can filter by them. The encoding
    is frozen: changing it would make every re-import a second copy (a test pins a known key).

Values
    ``Decimal`` parsed from a JSON string or number. A JSON number is read through ``str()``
    (``0.1`` is ``Decimal("0.1")``, never the binary float); booleans, ``NaN``, infinities,
    ``1_000`` and text such as ``"$5"`` are refused (the CSV importers clean report text before
    it gets here). ``|value| < 10^15`` and at most 12 decimal places. Metrics this module knows
    (:data:`METRICS`) are also checked against their unit:

    - ``count`` — a whole number, not negative (impressions, clicks, sessions …);
    - ``money`` — not negative, in the tenant's *reporting currency*. A fact has no currency
      field (the contract has none): whoever imports money says it is in the reporting currency,
      and the CSV importers reject, row by row, a report whose currency column or symbol says
      otherwise (no conversion is attempted);
    - ``rate`` — a fraction between 0 and 1: 0.5% is stored as ``0.005``, never ``0.5``;
    - ``hours`` — not negative.

    Other metric names (a tenant's own, used by custom KPI formulas) only need the name shape
    ``[a-z][a-z0-9_]{0,63}`` and the general bounds; the order-derived names
    (:data:`ORDER_METRICS`: ``gmv``, ``orders`` …) are refused, since the ingest aggregates
    compute them and an imported copy would be counted twice.

Dates and dimensions
    ``date`` is ``YYYY-MM-DD``, not before 2000-01-01 and not more than one day after today in
    UTC (a seller east of UTC reports "today" while it is still yesterday in UTC). Dimension
    strings are trimmed (an empty string is ``None``), at most :data:`DIMENSION_MAX_LENGTH`
    characters and free of control characters; ``platform`` is one of :data:`PLATFORMS`
    (case-insensitive, spaces read as ``_``: ``"TikTok Shop"`` is ``tiktok_shop``); ``market`` is
    an ISO 3166-1 alpha-2 code, upper-cased (Amazon's ``UK`` is stored as ``GB``).

Batches
    :func:`parse_batch` validates ``{"facts": [...]}`` (at most :data:`MAX_BATCH_FACTS`): each bad
    fact is reported (index, field, reason) and the good ones are accepted; two facts with the
    same key in one batch are one fact posted twice, so the *last* wins and the result counts the
    superseded ones. A body that is not such an object, or too long, is refused whole. Each
    reason is a message (:class:`linkstar.text.Text`, codes ``kpi.fact.*``) shown in the reader's
    language: validators raise :class:`~linkstar.kpis.reasons.Refusal`, and pydantic's own error
    types are mapped to messages (:func:`_reason`).

Pure: no I/O. "Today" is :func:`linkstar.clock.now` unless the caller passes it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypedDict

from pydantic import (
    BaseModel,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from linkstar import clock
from linkstar.errors import BadRequest, PayloadTooLarge
from linkstar.kpis.reasons import reason_of
from linkstar.text import Refusal, Text

Unit = Literal["count", "money", "rate", "hours"]
Day = date  # Fact has a field named ``date``; annotations inside the class use this name


@dataclass(frozen=True)
class MetricSpec:
    unit: Unit
    description: str


METRICS: dict[str, MetricSpec] = {
    # Advertising (Amazon Ads, TikTok Ads, …). Money is in the tenant's reporting currency.
    "ad_spend": MetricSpec("money", "what the ads cost (Amazon 'Spend'/cost, TikTok 'Cost')"),
    "impressions": MetricSpec("count", "times an ad was shown"),
    "clicks": MetricSpec("count", "clicks on ads (TikTok: to the destination)"),
    "ad_sales": MetricSpec("money", "sales attributed to ads (Amazon SP 7-day, TikTok revenue)"),
    "ad_orders": MetricSpec("count", "orders attributed to ads"),
    "ad_units": MetricSpec("count", "units sold in orders attributed to ads"),
    "ad_conversions": MetricSpec("count", "TikTok 'Conversions': the ad group's optimisation goal"),
    # Store traffic.
    "sessions": MetricSpec("count", "store or listing sessions"),
    "add_to_carts": MetricSpec("count", "add-to-cart events"),
    # Content.
    "video_views": MetricSpec("count", "times a video started to play (replays not counted)"),
    "video_completions": MetricSpec("count", "times a video played to 100% (replays not counted)"),
    "video_completion_rate": MetricSpec("rate", "video_completions / video_views for the row"),
    "videos_published": MetricSpec("count", "videos published"),
    "creator_gmv": MetricSpec("money", "GMV from creator (affiliate) content"),
    "live_gmv": MetricSpec("money", "GMV from live streams"),
    # Service and operations.
    "cs_first_response_hours": MetricSpec("hours", "customer-service first-response time"),
    "inventory_on_hand": MetricSpec("count", "sellable units in stock at the end of the day"),
    "cogs": MetricSpec("money", "cost of goods sold"),
    # Amazon account health (each a rate over Amazon's own trailing window, as of the date).
    "odr": MetricSpec("rate", "order defect rate"),
    "late_shipment_rate": MetricSpec("rate", "late shipment (UK: late dispatch) rate"),
    "pre_fulfillment_cancel_rate": MetricSpec("rate", "seller-cancelled orders before shipping"),
    "valid_tracking_rate": MetricSpec("rate", "shipments with valid tracking"),
    "on_time_delivery_rate": MetricSpec("rate", "tracked shipments delivered by the promised day"),
}
METRIC_NAMES: tuple[str, ...] = tuple(METRICS)
"""Metric names the importers produce and the KPI library may reference."""

ORDER_METRICS: frozenset[str] = frozenset(
    {
        "gmv",
        "orders",
        "units",
        "refunds",
        "refund_amount",
        "cancellations",
        "customers",
        "new_customers",
        "returning_customers",
    }
)
"""Computed from the ingest aggregates (``linkstar.kpis.library.ORDER_METRICS``): never imported,
or an imported fact would be counted next to the orders it restates."""

PLATFORMS: tuple[str, ...] = ("shopify", "amazon", "tiktok_shop", "shopee", "lazada", "other")
DIMENSIONS: tuple[str, ...] = ("store_id", "platform", "market", "campaign", "sku", "owner")
"""In the order :func:`fact_key` hashes them; never reorder."""
DIMENSION_MAX_LENGTH: dict[str, int] = {
    "store_id": 128,
    "platform": 32,
    "market": 2,
    "campaign": 256,  # Amazon allows 128 characters, TikTok 512 bytes of mostly ASCII
    "sku": 128,
    "owner": 128,
}
MAX_BATCH_FACTS = 5_000
MAX_ABS_VALUE = Decimal(10) ** 15
MAX_DECIMAL_PLACES = 12
EARLIEST_DATE = date(2000, 1, 1)
FUTURE_SLACK = timedelta(days=1)

_METRIC = re.compile(r"[a-z][a-z0-9_]{0,63}")
_DECIMAL_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def parse_value(raw: object) -> Decimal:
    """A finite Decimal from a JSON string or number (numbers via ``str()``); ValueError else."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise Refusal(Text("kpi.fact.not_a_number_given", value=repr(raw)))
    text = str(raw).strip()
    if not _DECIMAL_TEXT.fullmatch(text):
        raise Refusal(Text("kpi.fact.not_a_decimal", value=repr(text)))
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only valid text
        raise Refusal(Text("kpi.fact.not_a_decimal", value=repr(text))) from exc
    if abs(value) >= MAX_ABS_VALUE:
        raise Refusal(Text("kpi.fact.out_of_range", value=text))
    if _exponent(value) < -MAX_DECIMAL_PLACES:
        value = value.normalize()  # trailing zeros don't count: 0.50000000000000 is 0.5
        if _exponent(value) < -MAX_DECIMAL_PLACES:
            raise Refusal(Text("kpi.fact.too_many_places", value=text, places=MAX_DECIMAL_PLACES))
    if _exponent(value) > 0:
        value = value.quantize(Decimal(1))  # "1e3" is stored as 1000, not 1E+3
    return abs(value) if value == 0 else value  # no "-0"


def _exponent(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return exponent if isinstance(exponent, int) else 0


def check_unit(metric: str, value: Decimal) -> None:
    """ValueError when ``value`` can't be a ``metric`` of a known unit (see module docstring)."""
    spec = METRICS.get(metric)
    if spec is None:
        return
    if value < 0:
        raise Refusal(Text("kpi.fact.negative", metric=metric, value=value))
    if spec.unit == "count" and value != value.to_integral_value():
        raise Refusal(Text("kpi.fact.not_whole", metric=metric, value=value))
    if spec.unit == "rate" and value > 1:
        raise Refusal(Text("kpi.fact.rate_above_one", metric=metric, value=value))


def normalise_platform(raw: str) -> str:
    platform = "_".join(raw.strip().lower().replace("-", " ").split())
    if platform not in PLATFORMS:
        raise Refusal(Text("kpi.fact.unknown_platform", platforms=PLATFORMS, value=repr(raw)))
    return platform


def normalise_market(raw: str) -> str:
    market = raw.strip().upper()
    market = "GB" if market == "UK" else market
    if not _COUNTRY.fullmatch(market):
        raise Refusal(Text("kpi.fact.unknown_market", value=repr(raw)))
    return market


class Fact(BaseModel):
    """One metric's value for one day and one combination of dimensions."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: Day
    metric: str
    value: Decimal
    store_id: str | None = None
    platform: str | None = None
    market: str | None = None
    campaign: str | None = None
    sku: str | None = None
    owner: str | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _date(cls, raw: object, info: ValidationInfo) -> Day:
        if isinstance(raw, str):
            text = raw.strip()
            if not _ISO_DATE.fullmatch(text):
                raise Refusal(Text("kpi.fact.not_a_date", value=repr(raw)))
            try:
                day = date.fromisoformat(text)
            except ValueError as exc:
                raise Refusal(Text("kpi.fact.not_a_calendar_date", value=repr(raw))) from exc
        elif isinstance(raw, date) and not isinstance(raw, datetime):
            day = raw
        else:
            raise Refusal(Text("kpi.fact.not_a_date", value=repr(raw)))
        today = _today(info)
        if day < EARLIEST_DATE:
            raise Refusal(
                Text("kpi.fact.too_early", day=day.isoformat(), earliest=EARLIEST_DATE.isoformat())
            )
        if day > today + FUTURE_SLACK:
            raise Refusal(
                Text("kpi.fact.in_the_future", day=day.isoformat(), today=today.isoformat())
            )
        return day

    @field_validator("metric", mode="before")
    @classmethod
    def _metric(cls, raw: object) -> str:
        if not isinstance(raw, str):
            raise Refusal(Text("kpi.fact.metric_not_text", value=repr(raw)))
        name = raw.strip()
        if not _METRIC.fullmatch(name):
            raise Refusal(Text("kpi.fact.not_a_metric_name", value=repr(raw)))
        if name in ORDER_METRICS:
            raise Refusal(Text("kpi.fact.order_metric", metric=name))
        return name

    @field_validator("value", mode="before")
    @classmethod
    def _value(cls, raw: object, info: ValidationInfo) -> Decimal:
        value = parse_value(raw)
        metric = info.data.get("metric")  # absent when the metric itself was refused
        if isinstance(metric, str):
            check_unit(metric, value)
        return value

    @field_validator(*DIMENSIONS, mode="before")
    @classmethod
    def _dimension(cls, raw: object, info: ValidationInfo) -> str | None:
        name = info.field_name or ""
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise Refusal(Text("kpi.fact.not_text", value=repr(raw)))
        text = raw.strip()
        if not text:
            return None
        if _CONTROL.search(text):
            raise Refusal(Text("kpi.fact.control_characters"))
        if name == "platform":
            return normalise_platform(text)
        if name == "market":
            return normalise_market(text)
        limit = DIMENSION_MAX_LENGTH[name]
        if len(text) > limit:
            raise Refusal(Text("kpi.fact.too_long", length=len(text), limit=limit))
        return text

    def dimensions(self) -> dict[str, str | None]:
        return {name: getattr(self, name) for name in DIMENSIONS}


def fact_key(fact: Fact) -> str:
    """``<date>#<metric>#<sha256 of the dimensions, 16 hex>``: equal for the same fact."""
    dims = [getattr(fact, name) or "" for name in DIMENSIONS]
    encoded = json.dumps(dims, ensure_ascii=False, separators=(",", ":")).encode()
    return f"{fact.date.isoformat()}#{fact.metric}#{hashlib.sha256(encoded).hexdigest()[:16]}"


class FactProblem(TypedDict):
    index: int  # position in the posted "facts" list, from 0
    field: str  # the fact's field at fault ("" when the whole item is wrong)
    reason: Text


@dataclass
class BatchResult:
    accepted: list[Fact]  # one per key, the last posted, in the order they were posted
    rejected: list[FactProblem]  # every problem found, by index (a fact may have several)
    superseded: int = 0  # valid facts replaced by a later fact with the same key in the batch
    keys: list[str] = field(default_factory=list)  # fact_key of each accepted fact

    @property
    def rejected_count(self) -> int:
        """How many facts were refused (a fact with two problems counts once)."""
        return len({problem["index"] for problem in self.rejected})


def validate_fact(data: object, *, today: date | None = None) -> Fact:
    """A :class:`Fact` from a mapping; raises pydantic ``ValidationError``."""
    return Fact.model_validate(data, context={"today": today} if today else None)


def fact_problems(error: ValidationError, index: int = 0) -> list[FactProblem]:
    """``error`` as one problem per field, each reason a message (see :func:`_reason`)."""
    problems: list[FactProblem] = []
    for item in error.errors():
        where = str(item["loc"][0]) if item["loc"] else ""
        problems.append({"index": index, "field": where, "reason": _reason(item)})
    return problems


def parse_batch(payload: object, *, today: date | None = None) -> BatchResult:
    """Validate a ``POST /metrics`` body ``{"facts": [...]}``.

    Raises BadRequest (``invalid_batch``) when the body is not such an object and
    PayloadTooLarge (``batch_too_large``) beyond :data:`MAX_BATCH_FACTS` facts; otherwise every
    fact is either accepted or reported in ``rejected``.
    """
    if not isinstance(payload, dict) or "facts" not in payload:
        raise BadRequest(Text("kpi.fact.batch_not_object"), code="invalid_batch")
    unknown = sorted(set(payload) - {"facts"})
    if unknown:
        raise BadRequest(
            Text("kpi.fact.batch_unknown_fields", fields=unknown), code="invalid_batch"
        )
    items = payload["facts"]
    if not isinstance(items, list):
        raise BadRequest(Text("kpi.fact.batch_not_list"), code="invalid_batch")
    if len(items) > MAX_BATCH_FACTS:
        raise PayloadTooLarge(
            Text("kpi.fact.batch_too_large", count=len(items), limit=MAX_BATCH_FACTS),
            code="batch_too_large",
            limit=MAX_BATCH_FACTS,
        )

    rejected: list[FactProblem] = []
    latest: dict[str, tuple[int, Fact]] = {}
    superseded = 0
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            rejected.append({"index": index, "field": "", "reason": Text("kpi.fact.not_an_object")})
            continue
        try:
            fact = validate_fact(item, today=today)
        except ValidationError as exc:
            rejected.extend(fact_problems(exc, index))
            continue
        key = fact_key(fact)
        if key in latest:
            superseded += 1
        latest[key] = (index, fact)
    winners = sorted(latest.items(), key=lambda entry: entry[1][0])
    return BatchResult(
        accepted=[fact for _, (_, fact) in winners],
        rejected=rejected,
        superseded=superseded,
        keys=[key for key, _ in winners],
    )


def _today(info: ValidationInfo) -> date:
    context = info.context if isinstance(info.context, dict) else {}
    today = context.get("today")
    return today if isinstance(today, date) else clock.now().date()


# pydantic's error types a fact can meet, as messages; the validators above raise Refusal for
# everything else they check, and any other type keeps pydantic's English text as a detail.
_PYDANTIC_REASONS: dict[str, str] = {
    "missing": "kpi.fact.required",
    "string_type": "kpi.fact.must_be_text",
    "date_type": "kpi.fact.must_be_date",
    "date_from_datetime_inexact": "kpi.fact.must_be_date",
    "decimal_type": "kpi.fact.must_be_decimal",
    "decimal_parsing": "kpi.fact.must_be_decimal",
    "model_type": "kpi.fact.not_an_object",
    "dict_type": "kpi.fact.not_an_object",
}


def _reason(item: Any) -> Text:
    kind = item.get("type")
    if kind == "extra_forbidden":
        return Text("kpi.fact.unknown_field", fields=list(DIMENSIONS))
    if kind in _PYDANTIC_REASONS:
        return Text(_PYDANTIC_REASONS[kind])
    ctx = item.get("ctx") or {}
    if kind == "value_error" and isinstance(ctx.get("error"), BaseException):
        return reason_of(ctx["error"])
    return Text("kpi.invalid_value", detail=str(item.get("msg", "invalid")))
