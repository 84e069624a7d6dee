"""Scoring: a KPI's value for a period against its target — attainment, status, pace, projection —
and the weighted scorecard of an owner's KPIs.

Periods are named by labels, one format per kind, so a label says its own kind:

=========  ==============  ==================================================================
kind       label           covers
=========  ==============  ==================================================================
day        ``2026-11-20``  that date
week       ``2026-W47``    the ISO 8601 week, Monday to Sunday (week 1 holds the first Thursday)
month      ``2026-11``     the calendar month
quarter    ``2026-Q4``     three calendar months (Q4 is October to December)
=========  ==============  ==================================================================

:func:`previous` is the period before; :func:`previous_year` the same period a year earlier (the
same ISO week number, or week 52 when that year has no week 53; 29 February becomes 28
February); :func:`last_n` the ``n`` periods ending with a label, oldest first (the dashboard's
trend). Dates are the tenant's calendar dates; the caller converts from UTC at the edge.

Rules, in the order :func:`score` applies them:

1. **Target.** ``absolute``: the value. ``growth``: the previous period's *whole* actual times
   ``1 + value`` (``0.10`` is +10%, ``-0.05`` allows a 5% decline); without a previous actual
   there is no target (status ``no_target``, the reason says why). No target at all: also
   ``no_target``; the KPI is still shown.
2. **Period in progress** (``today`` between the first and last day, inclusive): ``elapsed`` is
   the days from the first day to ``today`` inclusive. For an *additive* KPI
   (:attr:`linkstar.kpis.formula.Formula.additive`: GMV, units, ad spend…) ``pace`` is the target
   prorated by ``elapsed / days`` and ``projected`` is ``actual x days / elapsed`` (the current
   daily rate kept up to period end). A ratio or a level (CVR, ACoS, ODR) does not grow with days:
   its pace is the target itself and its projection the actual. A closed period — and one that
   has not started, where there is nothing to extrapolate from — has ``pace = target`` and
   ``projected = actual``.
3. **Attainment** compares the projection (the actual, once closed) with the full target:
   ``actual / target`` when higher is better, ``target / actual`` when lower is better (ACoS 20%
   against a 25% target is 1.25). Lower-is-better with an actual of 0 (or below) is the best
   possible result: attainment is the cap, 1.5. A target of 0 or below for higher-is-better (or
   below 0 for lower-is-better) makes a ratio meaningless: attainment is ``None`` and the status
   compares value and target directly (on or off track, no at-risk band). Attainment is rounded
   half-even to 4 decimal places, and the status is judged on the rounded value, so a displayed
   ``0.9000`` is exactly at an ``at_risk`` threshold of 0.9.
4. **Status**: ``on_track`` at attainment >= ``thresholds.on_track`` (1.0 by default),
   ``at_risk`` at >= ``thresholds.at_risk`` (0.9), otherwise ``off_track``; ``no_data`` when the
   actual is ``None`` (its reason is passed on: ``"no data: ad_spend"``,
   ``"division by zero: clicks"``); ``no_target`` as in rule 1.
5. **Weighted score**: ``weight x min(max(attainment, 0), 1.5)``. The cap keeps one runaway KPI
   (GMV at 300% of a timid target) from hiding others that are off track; the floor keeps a
   negative growth from subtracting more than the KPI's weight.

:func:`scorecard` adds the rows up: ``weighted_score`` is the sum of the rows' weighted scores
over the weight of the rows *that have an attainment*, rounded to 4 places; KPIs without data or
without a target are listed and left out of that weight rather than counted as zero (missing
data is shown as missing, not as failure). ``total_weight`` is every row's weight.

Pace and projection are not rounded: the API formats them by the KPI's unit. Pure: no I/O;
``today`` is always given.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from linkstar.kpis.formula import Outcome
from linkstar.kpis.library import Direction, Unit
from linkstar.sentence import Sentence
from linkstar.text import Text

PeriodKind = Literal["day", "week", "month", "quarter"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("day", "week", "month", "quarter")
Status = Literal["on_track", "at_risk", "off_track", "no_data", "no_target"]

ATTAINMENT_CAP = Decimal("1.5")
"""The most one KPI's attainment counts for in a weighted score (and a perfect lower-is-better)."""
ATTAINMENT_PLACES = Decimal("0.0001")

_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
_QUARTER = re.compile(r"(\d{4})-Q([1-4])")

FiniteDecimal = Annotated[Decimal, Field(allow_inf_nan=False)]


# --- periods ------------------------------------------------------------------------------------


def kind_of(label: str) -> PeriodKind:
    """The kind of period ``label`` names; ValueError when it is none of the four formats."""
    if _DAY.fullmatch(label):
        return "day"
    if _WEEK.fullmatch(label):
        return "week"
    if _MONTH.fullmatch(label):
        return "month"
    if _QUARTER.fullmatch(label):
        return "quarter"
    raise ValueError(f"period must be YYYY-MM-DD, YYYY-Www, YYYY-MM or YYYY-Qn, got {label!r}")


def _weeks_in(year: int) -> int:
    return date(year, 12, 28).isocalendar().week


def _month_end(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    return following - timedelta(days=1)


def period_bounds(period_kind: PeriodKind, label: str) -> tuple[date, date]:
    """First and last day (inclusive) of the period ``label``, which must be of ``period_kind``."""
    kind = kind_of(label)
    if kind != period_kind:
        raise ValueError(f"{label!r} is a {kind} label, not a {period_kind}")
    year = int(label[:4])
    if kind == "day":
        try:
            day = date.fromisoformat(label)
        except ValueError as exc:
            raise ValueError(f"{label!r} is not a date") from exc
        return day, day
    if kind == "week":
        week = int(label[6:])
        if not 1 <= week <= _weeks_in(year):
            raise ValueError(f"{label!r}: {year} has weeks 1 to {_weeks_in(year)}")
        monday = date.fromisocalendar(year, week, 1)
        return monday, monday + timedelta(days=6)
    if kind == "month":
        month = int(label[5:])
        return date(year, month, 1), _month_end(year, month)
    first_month = 3 * (int(label[6:]) - 1) + 1
    return date(year, first_month, 1), _month_end(year, first_month + 2)


def bounds(label: str) -> tuple[date, date]:
    """:func:`period_bounds` for whatever kind ``label`` is."""
    return period_bounds(kind_of(label), label)


def days_in(label: str) -> int:
    first, last = bounds(label)
    return (last - first).days + 1


def period_label(period_kind: PeriodKind, day: date) -> str:
    """The label of the ``period_kind`` period that contains ``day``."""
    if period_kind == "day":
        return day.isoformat()
    if period_kind == "week":
        iso = day.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    if period_kind == "month":
        return f"{day.year:04d}-{day.month:02d}"
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def previous(label: str) -> str:
    """The period just before ``label``, of the same kind."""
    kind = kind_of(label)
    first, _ = period_bounds(kind, label)
    return period_label(kind, first - timedelta(days=1))


def previous_year(label: str) -> str:
    """The same period a year earlier (see the module docstring for weeks and 29 February)."""
    kind = kind_of(label)
    first, _ = period_bounds(kind, label)
    year = first.year - 1
    if kind == "day":
        day = first.day if not (first.month == 2 and first.day == 29) else 28
        return date(year, first.month, day).isoformat()
    if kind == "week":
        iso_year = int(label[:4]) - 1
        return f"{iso_year:04d}-W{min(int(label[6:]), _weeks_in(iso_year)):02d}"
    return f"{year:04d}{label[4:]}"


def last_n(label: str, n: int) -> list[str]:
    """The ``n`` periods ending with ``label`` (included), oldest first."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    labels = [label]
    while len(labels) < n:
        labels.append(previous(labels[-1]))
    return labels[::-1]


class DataRanges(NamedTuple):
    """Date ranges (first, last; inclusive) to load facts for, one per formula window."""

    current: tuple[date, date]
    previous: tuple[date, date]
    previous_year: tuple[date, date]


def data_ranges(label: str, today: date) -> DataRanges:
    """Which days to load to evaluate a formula for ``label`` as of ``today``.

    A closed period (or one not started) uses whole periods. A period in progress uses its first
    day to ``today``, and the previous period's and previous year's windows are cut to the same
    number of days, so ``prev(gmv)`` compares month-to-date with the same days of last month
    rather than with a whole month. The *growth target* needs the previous period's whole actual
    instead: evaluate the formula for :func:`previous` of ``label`` (a closed period)."""
    first, last = bounds(label)
    ranges = [(first, last), bounds(previous(label)), bounds(previous_year(label))]
    if first <= today <= last:
        elapsed = (today - first).days
        ranges = [(start, min(end, start + timedelta(days=elapsed))) for start, end in ranges]
    return DataRanges(*ranges)


# --- targets and results ------------------------------------------------------------------------


class Target(BaseModel):
    """``absolute``: the value to reach. ``growth``: the previous period's actual x (1 + value)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["absolute", "growth"] = "absolute"
    value: FiniteDecimal

    @model_validator(mode="after")
    def _growth(self) -> Target:
        if self.kind == "growth" and self.value < -1:
            raise ValueError(f"value: a growth below -1 (-100%) is not a target, got {self.value}")
        return self

    def resolve(
        self, previous_actual: Outcome | Decimal | None
    ) -> tuple[Decimal | None, Text | str | None]:
        """The target value for the period, or None and why not."""
        if self.kind == "absolute":
            return self.value, None
        previous_value = _value(previous_actual)
        if previous_value is None:
            detail = previous_actual.reason if isinstance(previous_actual, Outcome) else None
            if detail:
                return None, Text("kpi.growth_target_without_previous", reason=detail)
            return None, Text("kpi.growth_target_no_previous")
        return previous_value * (1 + self.value), None


class Thresholds(BaseModel):
    """Attainment from which a KPI is on track, and from which it is at risk (below: off)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    on_track: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)] = Decimal("1.0")
    at_risk: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] = Decimal("0.9")

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.at_risk > self.on_track:
            raise ValueError(f"at_risk: {self.at_risk} is above on_track {self.on_track}")
        return self

    def status(self, attainment: Decimal) -> Status:
        if attainment >= self.on_track:
            return "on_track"
        if attainment >= self.at_risk:
            return "at_risk"
        return "off_track"


class KpiSpec(BaseModel):
    """What scoring needs to know about a KPI for one period. ``additive`` comes from the
    formula (:attr:`linkstar.kpis.formula.Formula.additive`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kpi_id: str = Field(min_length=1)
    name: str = ""
    period: str  # a label: 2026-11-20, 2026-W47, 2026-11, 2026-Q4
    unit: Unit | None = None
    direction: Direction = "higher"
    additive: bool = False
    weight: Annotated[Decimal, Field(ge=0, allow_inf_nan=False)] = Decimal(1)
    thresholds: Thresholds = Thresholds()

    @model_validator(mode="after")
    def _period(self) -> KpiSpec:
        bounds(self.period)
        return self


class KpiResult(BaseModel):
    """One scorecard row (the ``GET /kpis/{id}?period=`` body, less freshness)."""

    model_config = ConfigDict(frozen=True)

    kpi_id: str
    name: str
    period: str
    unit: Unit | None
    direction: Direction
    actual: Decimal | None
    target: Decimal | None
    attainment: Decimal | None  # of the projection while in progress, of the actual once closed
    status: Status
    pace: Decimal | None  # the target prorated to today (additive KPIs in progress), else target
    projected: Decimal | None  # the value expected at period end, = actual once closed
    in_progress: bool
    elapsed_days: int
    days: int
    weight: Decimal
    weighted_score: Decimal | None
    reason: Sentence | None


def _value(outcome: Outcome | Decimal | None) -> Decimal | None:
    return outcome.value if isinstance(outcome, Outcome) else outcome


def attainment_of(direction: Direction, value: Decimal, target: Decimal) -> Decimal | None:
    """Attainment of ``value`` against ``target`` (rule 3), unrounded; None when undefined."""
    if direction == "higher":
        return value / target if target > 0 else None
    if target < 0:
        return None
    return target / value if value > 0 else ATTAINMENT_CAP


def score(
    kpi: KpiSpec,
    actual: Outcome,
    previous_actual: Outcome | Decimal | None,
    target: Target | None,
    today: date,
) -> KpiResult:
    """Score one KPI for ``kpi.period`` as of ``today`` (rules 1-5 of the module docstring).
    ``previous_actual`` is the whole previous period's value, used only by a growth target."""
    first, last = bounds(kpi.period)
    days = (last - first).days + 1
    in_progress = first <= today <= last
    elapsed = (today - first).days + 1 if in_progress else days
    prorate = in_progress and kpi.additive

    target_value, reason = (
        (None, Text("kpi.no_target")) if target is None else target.resolve(previous_actual)
    )
    pace = target_value
    if pace is not None and prorate:
        pace = pace * elapsed / days
    value = actual.value
    projected = value
    if value is not None and prorate:
        projected = value * days / elapsed

    attainment: Decimal | None = None
    status: Status
    if projected is None:
        status, reason = "no_data", actual.reason or Text("kpi.no_data_at_all")
    elif target_value is None:
        status = "no_target"
    else:
        raw = attainment_of(kpi.direction, projected, target_value)
        if raw is None:
            better = (
                projected >= target_value
                if kpi.direction == "higher"
                else (projected <= target_value)
            )
            status = "on_track" if better else "off_track"
            reason = Text("kpi.attainment_undefined")
        else:
            # ``+ 0`` turns a -0.0000 (a tiny negative rounded away) into 0.0000.
            attainment = raw.quantize(ATTAINMENT_PLACES, rounding=ROUND_HALF_EVEN) + 0
            status = kpi.thresholds.status(attainment)
    weighted = None
    if attainment is not None:
        weighted = kpi.weight * min(max(attainment, Decimal(0)), ATTAINMENT_CAP)
    return KpiResult(
        kpi_id=kpi.kpi_id,
        name=kpi.name,
        period=kpi.period,
        unit=kpi.unit,
        direction=kpi.direction,
        actual=value,
        target=target_value,
        attainment=attainment,
        status=status,
        pace=pace,
        projected=projected,
        in_progress=in_progress,
        elapsed_days=elapsed,
        days=days,
        weight=kpi.weight,
        weighted_score=weighted,
        reason=reason or None,
    )


class Scorecard(BaseModel):
    """An owner's KPIs for a period, with the weighted score (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    rows: list[KpiResult]
    total_weight: Decimal
    scored_weight: Decimal  # weight of the rows with an attainment
    weighted_score: Decimal | None  # None when no row has an attainment (or their weight is 0)
    kpis_without_data: list[str]
    kpis_without_target: list[str]  # data but no target, or an attainment that is undefined
    status_counts: dict[str, int]


def scorecard(results: list[KpiResult]) -> Scorecard:
    """Add up ``results`` (rows keep their order)."""
    scored = [row for row in results if row.weighted_score is not None]
    scored_weight = sum((row.weight for row in scored), Decimal(0))
    weighted_score = None
    if scored_weight > 0:
        total = sum((row.weighted_score or Decimal(0) for row in scored), Decimal(0))
        weighted_score = (total / scored_weight).quantize(ATTAINMENT_PLACES, ROUND_HALF_EVEN)
    counts: dict[str, int] = {}
    for row in results:
        counts[row.status] = counts.get(row.status, 0) + 1
    return Scorecard(
        rows=results,
        total_weight=sum((row.weight for row in results), Decimal(0)),
        scored_weight=scored_weight,
        weighted_score=weighted_score,
        kpis_without_data=[row.kpi_id for row in results if row.status == "no_data"],
        kpis_without_target=[
            row.kpi_id for row in results if row.status != "no_data" and row.attainment is None
        ],
        status_counts=counts,
    )
