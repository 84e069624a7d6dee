"""Funnel analysis: each group's stage counts and step conversions for a period and the one
before, the change between them, and the drop-offs ranked by the orders they cost.

This is the pure half of ``GET /funnel?period=&by=``: the caller loads, per group (a market,
platform, store, channel or campaign), one count per stage for the period and for the previous
period (:func:`linkstar.kpis.scoring.previous`) over comparable windows — for a period in
progress, the elapsed days of both, as :func:`linkstar.kpis.scoring.data_ranges` cuts them — and
:func:`funnel` turns them into a :class:`FunnelReport`.

**Counts.** ``counts[group][stage]`` is an ``int`` (0 is a real zero: no orders) or ``None``:
the stage has no data for that group — no ad import for the market, no review import — which
is not zero and never shown as zero. A stage missing from a group's mapping is ``None``; stages
the configuration does not show are ignored; an unknown stage name or a negative count is a
ValueError (a loader bug, not data).

**Step conversion.** A stage's conversion is its count over the count of its *from-stage*: the
nearest earlier stage of the configured funnel *that has data*. A market without an ad import
still gets ``add_to_carts / sessions``; its ``sessions`` row has no conversion (reason ``"no
earlier stage has data"``) rather than one measured from nothing. Every row names its
``from_stage``, because ``sessions / impressions`` (clicks missing) is not ``sessions /
clicks``. The conversion is ``None`` with a ``reason`` for the first stage (``"first stage"``),
a stage without data (``"no data: clicks"``) and a from-stage count of 0 (``"division by zero:
checkouts"``). Conversions are fractions (0.6 is 60%), computed exactly and rounded half-even
to 4 places for display; comparisons and estimates use the unrounded values. Counts are flows
(see :mod:`linkstar.funnel.stages`), so a conversion may exceed 1.

**Change** against the previous period, per stage: the count change (and its rate, when the
previous count is above 0) and the conversion change in percentage points (60% → 20% is
``-40.00``). The points are given only when both conversions exist *and* are measured from the
same stage; otherwise ``reason`` says why.

**Drop-offs.** For each group and step (from-stage → stage) with a conversion, two baselines:

- *previous*: the same group's conversion for the same step (same from-stage) in the previous
  period;
- *peers*: the tenant's other groups pooled for the same step in the current period —
  ``sum(to counts) / sum(from counts)`` over the other groups, i.e. their conversions weighted
  by their from-stage counts, so a large market weighs more than a small one.

Groups whose from-stage count is below ``min_from_count`` (30 by default) are too small to
judge: their step is neither listed nor used as a baseline (a previous period below the minimum
gives no previous baseline; small peers are left out of the pool). A step is a drop-off when its
conversion is below *every* baseline it has (both when both exist; the one there is for a
tenant with one group, or a group new this period; a step with neither is not judged).

*Expected conversion* is the **lower** of the baselines. A drop-off sits below both, and the
smaller gap is the part that is a genuine fall: the larger one would credit a market with a
conversion it never had (a structural gap to peers — another country, cash on delivery — or
one exceptional previous month) and rank a persistent difference above an actual collapse.
The estimate is therefore a lower bound. One consequence, accepted: a group that dipped against
its own history but is still above its peers' pooled conversion (because another group collapsed
and drags the pool down) is not listed — it is not where the tenant is losing most.

*Lost orders* = ``(expected - conversion) x from_count x downstream``, where ``downstream`` is
the group's current conversion from the step's stage to ``orders`` (``orders / count of the
stage``), so a drop early in the funnel is counted in the orders it would have become. When the
current period gives no such rate (that stage's count is 0 — a collapse all the way — or
orders have no data), the group's previous-period rate is used (``downstream_basis`` says
which); without either the estimate is ``None`` and the drop-off is listed after those with
one. For a stage at or after ``orders`` (paid, fulfilled,
delivered, reviewed, repeat) ``downstream`` is 1 and the estimate is in that stage's own unit —
orders not paid or not delivered, reviews, repeat customers — which ``unit`` names; the ranking
counts a review or a repeat customer like an order.

Drop-offs are ranked by the estimate (unrounded, highest first), then the conversion gap, the
group key and the stage's position; estimates are shown rounded half-even to 0.1. Each carries
the numbers behind it: both baselines, the pooled peers' from-count and number of groups, the
from-count and the downstream rate.

**Growing counts.** A repeat stage counts the customers whose first order fell in the period
and who ordered again within N days; until N days have passed since the period's last day, more
of them may still come back. The caller names such stages (``growing``, ``previous_growing``):
their rows say ``growing``, their change says so in its ``reason``, and a step to or from a
growing stage is neither judged as a drop-off nor used as a baseline, since its conversion is
low only because the window is still open.

Groups are listed in the order of ``current``, then those only in ``previous`` (all of their
current counts ``None``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from linkstar.funnel.stages import CATALOGUE, ORDERS, StageConfig, StageName, is_stage
from linkstar.kpis.scoring import kind_of
from linkstar.kpis.scoring import previous as previous_period_of
from linkstar.text import Clauses, Text

Counts = Mapping[str, Mapping[str, int | None]]
"""``counts[group_key][stage]``: a count, or ``None`` when the stage has no data for the group."""

Basis = Literal["previous", "peers", "both"]
DownstreamBasis = Literal["current", "previous", "at_or_after_orders"]

MIN_FROM_COUNT = 30
"""Below this from-stage count a group's step is too small to judge or to serve as a baseline."""
CONVERSION_PLACES = Decimal("0.0001")
POINTS_PLACES = Decimal("0.01")
ESTIMATE_PLACES = Decimal("0.1")
_HUNDRED = Decimal(100)
_FIRST_STAGE = Text("funnel.first_stage")


# --- the report ---------------------------------------------------------------------------------


class StageRow(BaseModel):
    """One stage of one group for one period."""

    model_config = ConfigDict(frozen=True)

    stage: StageName
    count: int | None
    conversion: Decimal | None  # count / from-stage count, 4 places
    from_stage: StageName | None  # the nearest earlier stage with data
    reason: str | None  # why conversion is None
    growing: bool = False  # the count may still rise: a repeat window has not closed


class PeriodStages(BaseModel):
    """A group's stages for one period (the ``previous`` of a group)."""

    model_config = ConfigDict(frozen=True)

    period: str
    stages: list[StageRow]


class StageChange(BaseModel):
    """One stage's change from the previous period to the current one."""

    model_config = ConfigDict(frozen=True)

    stage: StageName
    count_change: int | None
    count_change_rate: Decimal | None  # (current - previous) / previous, 4 places
    conversion_change_points: Decimal | None  # percentage points, 2 places
    reason: str | None  # why a change is None


class FunnelGroup(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    stages: list[StageRow]
    previous: PeriodStages
    change: list[StageChange]


class DropOff(BaseModel):
    """A step whose conversion fell below its baselines, with the numbers behind the estimate."""

    model_config = ConfigDict(frozen=True)

    key: str
    from_stage: StageName
    to_stage: StageName
    conversion: Decimal
    previous_conversion: Decimal | None  # the group's, previous period (None: no baseline)
    peer_conversion: Decimal | None  # the other groups' pooled, current period
    peer_from_count: int  # the pool's from-stage count (0 when there is no peer baseline)
    peer_groups: int
    basis: Basis  # which baselines the step was judged against
    expected_conversion: Decimal  # the lower baseline
    from_count: int
    downstream_conversion: Decimal | None  # the step's stage -> orders
    downstream_basis: DownstreamBasis | None
    lost_orders_estimate: Decimal | None  # 0.1 places; in ``unit``
    unit: str  # "order", or the stage's unit at or after orders ("review", "customer")
    reason: str | None  # why the estimate is None


class FunnelReport(BaseModel):
    """The ``GET /funnel`` body."""

    model_config = ConfigDict(frozen=True)

    period: str
    previous_period: str
    stages: list[StageName]
    min_from_count: int
    groups: list[FunnelGroup]
    drop_offs: list[DropOff]


# --- steps --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Step:
    """A stage with its exact conversion (rounded only in :class:`StageRow`)."""

    stage: StageName
    count: int | None
    from_stage: StageName | None
    from_count: int | None
    conversion: Decimal | None
    reason: Text | None  # rendered in the row, in the language of the request
    growing: bool = False  # this stage's count may still rise
    unsettled: bool = False  # this stage or its from-stage is growing: not to be judged

    def row(self) -> StageRow:
        return StageRow(
            stage=self.stage,
            count=self.count,
            conversion=_round_or_none(self.conversion, CONVERSION_PLACES),
            from_stage=self.from_stage,
            reason=None if self.reason is None else str(self.reason),
            growing=self.growing,
        )


def _round(value: Decimal, places: Decimal) -> Decimal:
    # ``+ 0`` turns a -0.0000 (a tiny negative rounded away) into 0.0000.
    return value.quantize(places, rounding=ROUND_HALF_EVEN) + 0


def _round_or_none(value: Decimal | None, places: Decimal) -> Decimal | None:
    return None if value is None else _round(value, places)


def _steps(
    config: StageConfig, counts: Mapping[str, int | None], growing: Collection[str] = ()
) -> list[_Step]:
    """One group's stages for one period, with step conversions (rules in the module docstring)."""
    result: list[_Step] = []
    last: tuple[StageName, int] | None = None  # the nearest earlier stage with data
    for position, stage in enumerate(config.stages):
        count = counts.get(stage)
        from_stage, from_count = last if last is not None else (None, None)
        conversion: Decimal | None = None
        if position == 0:
            reason: Text | None = _FIRST_STAGE
        elif count is None:
            reason = Text("funnel.no_data", stage=stage)
        elif from_count is None:
            reason = Text("funnel.no_earlier_data")
        elif from_count == 0:
            reason = Text("funnel.division_by_zero", stage=from_stage)
        else:
            conversion, reason = Decimal(count) / Decimal(from_count), None
        grows = stage in growing
        unsettled = grows or (from_stage is not None and from_stage in growing)
        result.append(
            _Step(stage, count, from_stage, from_count, conversion, reason, grows, unsettled)
        )
        if count is not None:
            last = (stage, count)
    return result


def _check(counts: Counts, which: str) -> None:
    for key, by_stage in counts.items():
        for stage, count in by_stage.items():
            if not is_stage(stage):
                raise ValueError(f"{which} counts of {key!r}: unknown stage {stage!r}")
            if count is None:
                continue
            if isinstance(count, bool) or not isinstance(count, int):
                raise ValueError(f"{which} counts of {key!r}: {stage} must be an int or None")
            if count < 0:
                raise ValueError(f"{which} counts of {key!r}: {stage} is negative ({count})")


def _change(now: _Step, before: _Step) -> StageChange:
    reasons: list[Text] = []
    count_change = rate = points = None
    if now.count is None or before.count is None:
        if now.count is not None:
            reasons.append(Text("funnel.change.no_data_before", stage=now.stage))
        else:
            reasons.append(Text("funnel.change.no_data", stage=now.stage))
    else:
        count_change = now.count - before.count
        if before.count > 0:
            rate = _round(Decimal(count_change) / Decimal(before.count), CONVERSION_PLACES)
    if now.conversion is None or before.conversion is None:
        if now.reason != _FIRST_STAGE:  # the first stage never has one: nothing to say
            reasons.append(
                Text("funnel.change.no_conversion_now")
                if now.conversion is None
                else Text("funnel.change.no_conversion_before")
            )
    elif now.from_stage != before.from_stage:
        reasons.append(
            Text("funnel.change.other_from_stage", now=now.from_stage, before=before.from_stage)
        )
    else:
        points = _round((now.conversion - before.conversion) * _HUNDRED, POINTS_PLACES)
    if now.growing and now.count is not None:
        reasons.append(Text("funnel.change.growing_now"))
    if before.growing and before.count is not None:
        reasons.append(Text("funnel.change.growing_before"))
    return StageChange(
        stage=now.stage,
        count_change=count_change,
        count_change_rate=rate,
        conversion_change_points=points,
        reason=str(Clauses(reasons)) or None,
    )


# --- drop-offs ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Judged:
    """A step large enough to judge or to serve as a baseline."""

    from_stage: StageName
    from_count: int
    count: int
    conversion: Decimal


def _judged(step: _Step, min_from_count: int) -> _Judged | None:
    if (
        step.unsettled
        or step.conversion is None
        or step.from_stage is None
        or step.from_count is None
        or step.count is None
        or step.from_count < min_from_count
    ):
        return None
    return _Judged(step.from_stage, step.from_count, step.count, step.conversion)


@dataclass(frozen=True, slots=True)
class _Candidate:
    drop: DropOff
    lost: Decimal | None  # unrounded, for the ranking
    gap: Decimal
    position: int


def _downstream(
    config: StageConfig, now: list[_Step], before: list[_Step] | None, position: int
) -> tuple[Decimal | None, DownstreamBasis | None]:
    """The group's conversion from the stage at ``position`` to orders, and where it came from."""
    orders_at = config.index(ORDERS)
    if position >= orders_at:
        return Decimal(1), "at_or_after_orders"
    sides: list[tuple[DownstreamBasis, list[_Step] | None]] = [
        ("current", now),
        ("previous", before),
    ]
    for basis, side in sides:
        if side is None:
            continue
        stage_count, orders = side[position].count, side[orders_at].count
        if stage_count and orders is not None:
            return Decimal(orders) / Decimal(stage_count), basis
    return None, None


def _peers(
    current: dict[str, list[_Step]], key: str, position: int, step: _Judged, min_from_count: int
) -> tuple[Decimal | None, int, int]:
    """The other groups' pooled conversion for the same step: (conversion, from-count, groups)."""
    pool_to = pool_from = groups = 0
    for other, other_steps in current.items():
        peer = _judged(other_steps[position], min_from_count)
        if other == key or peer is None or peer.from_stage != step.from_stage:
            continue
        pool_to += peer.count
        pool_from += peer.from_count
        groups += 1
    return (Decimal(pool_to) / Decimal(pool_from) if pool_from else None), pool_from, groups


def _drop_offs(
    config: StageConfig,
    current: dict[str, list[_Step]],
    previous: dict[str, list[_Step]],
    min_from_count: int,
) -> list[DropOff]:
    orders_at = config.index(ORDERS)
    candidates: list[_Candidate] = []
    for key, group_steps in current.items():
        before = previous.get(key)
        for position, raw in enumerate(group_steps):
            step = _judged(raw, min_from_count)
            if step is None:
                continue
            old = _judged(before[position], min_from_count) if before is not None else None
            previous_conversion = (
                old.conversion if old is not None and old.from_stage == step.from_stage else None
            )
            peer_conversion, peer_from, peer_groups = _peers(
                current, key, position, step, min_from_count
            )
            baselines = [b for b in (previous_conversion, peer_conversion) if b is not None]
            if not baselines or not all(step.conversion < b for b in baselines):
                continue
            expected = min(baselines)
            basis: Basis = (
                "both"
                if len(baselines) == 2
                else ("previous" if previous_conversion is not None else "peers")
            )
            downstream, downstream_basis = _downstream(config, group_steps, before, position)
            gap = expected - step.conversion
            lost = None if downstream is None else gap * step.from_count * downstream
            drop = DropOff(
                key=key,
                from_stage=step.from_stage,
                to_stage=raw.stage,
                conversion=_round(step.conversion, CONVERSION_PLACES),
                previous_conversion=_round_or_none(previous_conversion, CONVERSION_PLACES),
                peer_conversion=_round_or_none(peer_conversion, CONVERSION_PLACES),
                peer_from_count=peer_from,
                peer_groups=peer_groups,
                basis=basis,
                expected_conversion=_round(expected, CONVERSION_PLACES),
                from_count=step.from_count,
                downstream_conversion=_round_or_none(downstream, CONVERSION_PLACES),
                downstream_basis=downstream_basis,
                lost_orders_estimate=_round_or_none(lost, ESTIMATE_PLACES),
                unit="order" if position < orders_at else CATALOGUE[raw.stage].unit,
                reason=None
                if lost is not None
                else str(Text("funnel.no_downstream_rate", stage=raw.stage)),
            )
            candidates.append(_Candidate(drop, lost, gap, CATALOGUE[raw.stage].position))
    candidates.sort(key=lambda c: (c.lost is None, -(c.lost or 0), -c.gap, c.drop.key, c.position))
    return [c.drop for c in candidates]


# --- the entry point ----------------------------------------------------------------------------


def funnel(
    config: StageConfig,
    current: Counts,
    previous: Counts,
    *,
    period: str,
    min_from_count: int = MIN_FROM_COUNT,
    growing: Collection[str] = (),
    previous_growing: Collection[str] = (),
) -> FunnelReport:
    """The funnel of ``period`` (a label: ``2026-11``, ``2026-W47``…) per group, against the
    previous period, with the drop-offs ranked (rules in the module docstring). ``growing`` and
    ``previous_growing`` name the stages whose count may still rise in each period."""
    kind_of(period)
    if min_from_count < 1:
        raise ValueError(f"min_from_count must be at least 1, got {min_from_count}")
    _check(current, "current")
    _check(previous, "previous")
    previous_label = previous_period_of(period)

    keys = list(current) + [key for key in previous if key not in current]
    now = {key: _steps(config, current.get(key, {}), growing) for key in keys}
    before = {
        key: _steps(config, previous[key], previous_growing) for key in keys if key in previous
    }
    empty = _steps(config, {}, previous_growing)

    groups = [
        FunnelGroup(
            key=key,
            stages=[step.row() for step in now[key]],
            previous=PeriodStages(
                period=previous_label,
                stages=[step.row() for step in before.get(key, empty)],
            ),
            change=[_change(a, b) for a, b in zip(now[key], before.get(key, empty), strict=True)],
        )
        for key in keys
    ]
    return FunnelReport(
        period=period,
        previous_period=previous_label,
        stages=list(config.stages),
        min_from_count=min_from_count,
        groups=groups,
        drop_offs=_drop_offs(config, {key: now[key] for key in current}, before, min_from_count),
    )
