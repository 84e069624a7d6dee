"""Agency settlement: a results-based contract and a period's KPI values in, a statement out.

A :class:`Contract` is a base fee plus rules, each of one ``type``:

====================  ===========================================================================
``commission``        ``rate`` x the value of ``on`` (a metric or a KPI), when every one of its
                      ``conditions`` holds
``tiered_commission`` the same, with the rate picked by the band that ``band_by`` (a KPI such as
                      ``gmv_growth_mom``) falls in: the highest band whose ``min`` it reaches.
                      The rate applies to the whole base, not band by band; below the lowest
                      band the rule pays nothing
``penalty``           a deduction when any of its ``conditions`` fails: a fixed ``amount``, or
                      ``rate`` x the subtotal
``cap``               the most the period can pay (``max_payout``); several caps: the lowest
====================  ===========================================================================

A :class:`Condition` compares a KPI's (or a metric's) value with a number:
``{"kpi": "acos", "op": "<=", "value": "0.28"}``. KPI values follow the units of
:mod:`linkstar.kpis.library`: rates are fractions, so "ACoS at most 28%" is ``0.28`` and "ODR
under 0.5%" is ``0.005``.

Rules, in the order :func:`settle` applies them:

1. **No data fails.** A condition on a KPI with no value (no data, a zero denominator, or a KPI
   the caller did not compute) does not hold, and the statement says why: an agency is paid for
   results that were shown, and a penalty clause is not waived by a missing report. A commission
   whose base has no value pays nothing, saying so.
2. **Subtotal** = base fee + every commission. Each amount is computed at full precision and
   rounded once to the currency's minor units with :func:`linkstar.money.quantize` (half-even);
   sums are of rounded amounts, so the statement adds up to the cent.
3. **Penalties** are deducted from the subtotal (a ``rate`` penalty is a share of the subtotal).
4. **Cap**: the total is at most the lowest ``max_payout``.
5. **Floor**: the total is not below 0 unless the contract sets ``allow_refund`` (a refund clause:
   a negative total is money the agency owes back).

Every number a rule read is on the statement (:attr:`Statement.inputs`), with each rule's
evaluation: whether it was met, each condition's actual value and outcome, the rate and the
amount. The caller supplies the values; :meth:`Contract.kpis_needed` and
:meth:`Contract.metrics_needed` say which.

Worked example (the issue's: commission on GMV only if ACoS <= 28% and ODR < 0.5%)::

    Contract(agency="Acme Ads", currency="USD", base_fee=Decimal("2000.00"), rules=[
        {"type": "commission", "name": "5% of GMV", "rate": "0.05", "on": {"metric": "gmv"},
         "conditions": [{"kpi": "acos", "op": "<=", "value": "0.28"},
                        {"kpi": "odr", "op": "<", "value": "0.005"}]}])

    November, GMV 120,000.00, ACoS 0.25, ODR 0.004:
        base fee 2,000.00 + commission 0.05 x 120,000.00 = 6,000.00 -> subtotal and total 8,000.00
    The same month with ACoS 0.31: "acos 0.31 <= 0.28: not met", commission 0, total 2,000.00.
    With no ODR imported: "odr: no value (no data: odr), so odr < 0.005 is not shown to hold",
    commission 0, total 2,000.00.

Reasons, explanations and notes are messages (:class:`linkstar.text.Text`, codes
``kpi.statement.*``) shown in the reader's language; the English is quoted here.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linkstar import money
from linkstar.kpis.formula import Outcome
from linkstar.sentence import Sentence
from linkstar.text import Text

Op = Literal["<", "<=", ">", ">=", "==", "!="]
FiniteDecimal = Annotated[Decimal, Field(allow_inf_nan=False)]
Rate = Annotated[Decimal, Field(ge=0, le=1, allow_inf_nan=False)]
Money = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]

_COMPARE = {
    "<": Decimal.__lt__,
    "<=": Decimal.__le__,
    ">": Decimal.__gt__,
    ">=": Decimal.__ge__,
    "==": Decimal.__eq__,
    "!=": Decimal.__ne__,
}


class Ref(BaseModel):
    """A value a rule reads: a KPI's actual (``{"kpi": "acos"}``) or a metric's total
    (``{"metric": "gmv"}``); exactly one of the two."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kpi: str | None = Field(default=None, min_length=1)
    metric: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one(self) -> Ref:
        if (self.kpi is None) == (self.metric is None):
            raise ValueError("give either kpi or metric")
        return self

    @property
    def kind(self) -> Literal["kpi", "metric"]:
        return "kpi" if self.kpi is not None else "metric"

    @property
    def name(self) -> str:
        return self.kpi if self.kpi is not None else self.metric or ""


class Condition(Ref):
    """``<kpi or metric> <op> <value>``, e.g. ``{"kpi": "acos", "op": "<=", "value": "0.28"}``."""

    op: Op
    value: FiniteDecimal


class Band(BaseModel):
    """From ``min`` (inclusive) up to the next band's ``min``, commission at ``rate``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: FiniteDecimal
    rate: Rate


class _RuleBase(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)  # shown on the statement


class CommissionRule(_RuleBase):
    type: Literal["commission"] = "commission"
    rate: Rate
    on: Ref
    conditions: list[Condition] = Field(default_factory=list)


class TieredCommissionRule(_RuleBase):
    type: Literal["tiered_commission"] = "tiered_commission"
    on: Ref
    band_by: Ref
    bands: list[Band] = Field(min_length=1)
    conditions: list[Condition] = Field(default_factory=list)

    @field_validator("bands")
    @classmethod
    def _ascending(cls, value: list[Band]) -> list[Band]:
        for i in range(1, len(value)):
            if value[i].min <= value[i - 1].min:
                raise ValueError(
                    f"[{i}].min: bands must ascend, {value[i].min} follows {value[i - 1].min}"
                )
        return value


class PenaltyRule(_RuleBase):
    type: Literal["penalty"] = "penalty"
    conditions: list[Condition] = Field(min_length=1)  # all must hold, or the penalty applies
    amount: Money | None = None
    rate: Rate | None = None  # of the subtotal

    @model_validator(mode="after")
    def _one(self) -> PenaltyRule:
        if (self.amount is None) == (self.rate is None):
            raise ValueError("a penalty has either a fixed amount or a rate of the subtotal")
        return self


class CapRule(_RuleBase):
    type: Literal["cap"] = "cap"
    max_payout: Money


Rule = Annotated[
    CommissionRule | TieredCommissionRule | PenaltyRule | CapRule, Field(discriminator="type")
]


class Contract(BaseModel):
    """An agency's results-based terms in ``currency`` (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agency: str = Field(min_length=1, max_length=200)
    currency: str
    base_fee: Money = Decimal(0)
    rules: list[Rule] = Field(default_factory=list)
    allow_refund: bool = False  # a negative total (penalties above the fees) is owed back

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not money.is_currency(value):
            raise ValueError(f"{value!r} is not an ISO 4217 code such as USD")
        return value

    @model_validator(mode="after")
    def _whole_amounts(self) -> Contract:
        amounts: list[tuple[str, Decimal]] = [("base_fee", self.base_fee)]
        for i, rule in enumerate(self.rules):
            if isinstance(rule, PenaltyRule) and rule.amount is not None:
                amounts.append((f"rules[{i}].amount", rule.amount))
            if isinstance(rule, CapRule):
                amounts.append((f"rules[{i}].max_payout", rule.max_payout))
        for where, amount in amounts:
            if money.quantize(amount, self.currency) != amount:
                raise ValueError(
                    f"{where}: {amount} has more decimals than {self.currency} has minor units "
                    f"({money.minor_units(self.currency)})"
                )
        return self

    def refs(self) -> list[Ref]:
        """Every value the rules read, in rule order (repeats included)."""
        refs: list[Ref] = []
        for rule in self.rules:
            if isinstance(rule, CommissionRule | TieredCommissionRule):
                refs.append(rule.on)
            if isinstance(rule, TieredCommissionRule):
                refs.append(rule.band_by)
            if not isinstance(rule, CapRule):
                refs.extend(rule.conditions)
        return refs

    def kpis_needed(self) -> list[str]:
        """The KPI keys whose values :func:`settle` reads, in the order the rules name them."""
        return list(dict.fromkeys(ref.name for ref in self.refs() if ref.kind == "kpi"))

    def metrics_needed(self) -> list[str]:
        """The metric names whose period totals :func:`settle` reads."""
        return list(dict.fromkeys(ref.name for ref in self.refs() if ref.kind == "metric"))


# --- the statement ------------------------------------------------------------------------------


class InputValue(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["kpi", "metric"]
    name: str
    value: Decimal | None
    reason: Sentence | None = None  # why there is no value


class ConditionResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["kpi", "metric"]
    name: str
    op: Op
    threshold: Decimal
    actual: Decimal | None
    met: bool
    explanation: Sentence  # "acos 0.25 <= 0.28: met", "odr: no value (no data: odr), so ..."


class RuleResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: Literal["commission", "tiered_commission", "penalty", "cap"]
    met: bool  # commission: earned; penalty: conditions held (no deduction); cap: not exceeded
    conditions: list[ConditionResult]
    base: Decimal | None  # what the rate was applied to: a commission's base, the subtotal
    rate: Decimal | None
    amount: Decimal  # paid (commissions) or deducted (penalties, cap); 0 when nothing happened
    explanation: Sentence


class Statement(BaseModel):
    """A period's settlement. ``subtotal`` = base fee + commissions; ``total`` = subtotal -
    penalties, then capped and floored (rules 2-5); every amount in ``currency``."""

    model_config = ConfigDict(frozen=True)

    agency: str
    period: str
    currency: str
    inputs: list[InputValue]
    base_fee: Decimal
    rules: list[RuleResult]
    commissions: Decimal
    subtotal: Decimal
    penalties: Decimal
    cap: Decimal | None
    total: Decimal
    notes: list[Sentence]

    def to_text(self) -> str:
        """A plain-text statement (for ``make demo`` and emails)."""
        lines = [f"Settlement for {self.agency}, {self.period} ({self.currency})", "Inputs:"]
        for item in self.inputs:
            shown = str(item.value) if item.value is not None else f"no value ({item.reason})"
            lines.append(f"  {item.kind} {item.name}: {shown}")
        lines.append(f"Base fee: {self.base_fee}")
        for rule in self.rules:
            lines.append(f"{rule.name} [{rule.type}]: {rule.amount} - {rule.explanation}")
            lines.extend(f"    {c.explanation}" for c in rule.conditions)
        lines += [
            f"Subtotal: {self.subtotal}",
            f"Penalties: {self.penalties}",
            *(f"Note: {note}" for note in self.notes),
            f"Total: {self.total}",
        ]
        return "\n".join(lines)


class _Values:
    """The values a contract reads, looked up once each and recorded for the statement."""

    def __init__(self, kpis: Mapping[str, Outcome], metrics: Mapping[str, Decimal | None]) -> None:
        self.kpis = kpis
        self.metrics = metrics
        self.seen: dict[tuple[str, str], InputValue] = {}

    def get(self, ref: Ref) -> InputValue:
        key = (ref.kind, ref.name)
        if key not in self.seen:
            self.seen[key] = self._lookup(ref)
        return self.seen[key]

    def _lookup(self, ref: Ref) -> InputValue:
        if ref.kind == "kpi":
            outcome = self.kpis.get(ref.name)
            if outcome is None:
                return InputValue(
                    kind="kpi", name=ref.name, value=None, reason=Text("kpi.statement.not_computed")
                )
            return InputValue(kind="kpi", name=ref.name, value=outcome.value, reason=outcome.reason)
        value = self.metrics.get(ref.name)
        return InputValue(
            kind="metric",
            name=ref.name,
            value=value,
            reason=None if value is not None else Text("kpi.no_data", metrics=[ref.name]),
        )


def _check(condition: Condition, values: _Values) -> ConditionResult:
    found = values.get(condition)
    if found.value is None:
        return ConditionResult(
            kind=condition.kind,
            name=condition.name,
            op=condition.op,
            threshold=condition.value,
            actual=None,
            met=False,
            explanation=Text(
                "kpi.statement.condition_no_value",
                name=condition.name,
                reason=found.reason,
                op=condition.op,
                threshold=condition.value,
            ),
        )
    met = bool(_COMPARE[condition.op](found.value, condition.value))
    return ConditionResult(
        kind=condition.kind,
        name=condition.name,
        op=condition.op,
        threshold=condition.value,
        actual=found.value,
        met=met,
        explanation=Text(
            "kpi.statement.condition_met" if met else "kpi.statement.condition_not_met",
            name=condition.name,
            actual=found.value,
            op=condition.op,
            threshold=condition.value,
        ),
    )


def _commission(
    rule: CommissionRule | TieredCommissionRule, values: _Values, currency: str
) -> RuleResult:
    checks = [_check(c, values) for c in rule.conditions]
    base = values.get(rule.on)
    rate: Decimal | None = rule.rate if isinstance(rule, CommissionRule) else None
    failed = [c.name for c in checks if not c.met]
    earned = False
    explanation: Text
    if failed:
        explanation = Text("kpi.statement.not_earned_conditions", names=failed)
    elif base.value is None:
        explanation = Text(
            "kpi.statement.not_earned_no_value", name=rule.on.name, reason=base.reason
        )
    elif isinstance(rule, TieredCommissionRule):
        band_value = values.get(rule.band_by).value
        reached = [band for band in rule.bands if band_value is not None and band_value >= band.min]
        if band_value is None:
            reason = values.get(rule.band_by).reason
            explanation = Text(
                "kpi.statement.not_earned_no_value", name=rule.band_by.name, reason=reason
            )
        elif not reached:
            explanation = Text(
                "kpi.statement.not_earned_below_bands",
                name=rule.band_by.name,
                value=band_value,
                lowest=rule.bands[0].min,
            )
        else:
            earned, rate = True, reached[-1].rate
            explanation = Text(
                "kpi.statement.in_band",
                band_by=rule.band_by.name,
                value=band_value,
                band=reached[-1].min,
                rate=rate,
                base_name=rule.on.name,
                base=base.value,
            )
    else:
        earned = True
        explanation = Text(
            "kpi.statement.commission", rate=rate, base_name=rule.on.name, base=base.value
        )
    amount = Decimal(0)
    if earned and rate is not None and base.value is not None:
        amount = rate * base.value
    return RuleResult(
        name=rule.name,
        type=rule.type,
        met=earned,
        conditions=checks,
        base=base.value,
        rate=rate,
        amount=money.quantize(amount, currency),
        explanation=explanation,
    )


def _penalty(rule: PenaltyRule, values: _Values, subtotal: Decimal, currency: str) -> RuleResult:
    checks = [_check(c, values) for c in rule.conditions]
    failed = [c.name for c in checks if not c.met]
    if not failed:
        amount, explanation = Decimal(0), Text("kpi.statement.penalty_not_applied")
    elif rule.amount is not None:
        amount = rule.amount
        explanation = Text("kpi.statement.penalty_fixed", names=failed, amount=rule.amount)
    else:
        rate = rule.rate or Decimal(0)
        amount = rate * subtotal
        explanation = Text("kpi.statement.penalty_rate", names=failed, rate=rate, subtotal=subtotal)
    return RuleResult(
        name=rule.name,
        type="penalty",
        met=not failed,
        conditions=checks,
        base=subtotal if rule.rate is not None else None,
        rate=rule.rate,
        amount=money.quantize(amount, currency),
        explanation=explanation,
    )


def settle(
    contract: Contract,
    kpi_values: Mapping[str, Outcome],
    metric_values: Mapping[str, Decimal | None],
    period: str,
) -> Statement:
    """The statement for ``period`` (a label such as ``2026-11``; only recorded): rules 1-5 of
    the module docstring. ``kpi_values`` maps KPI keys to their outcomes for the period and
    ``metric_values`` metric names to their totals, both already scoped to the agency's work.
    Rule results are listed in the contract's order."""
    currency = contract.currency
    values = _Values(kpi_values, metric_values)
    for ref in contract.refs():
        values.get(ref)  # every input is on the statement, read by a rule that paid or not
    base_fee = money.quantize(contract.base_fee, currency)
    results: dict[int, RuleResult] = {}
    for i, rule in enumerate(contract.rules):
        if isinstance(rule, CommissionRule | TieredCommissionRule):
            results[i] = _commission(rule, values, currency)
    commissions = sum((r.amount for r in results.values()), Decimal(0))
    subtotal = base_fee + commissions

    penalties = Decimal(0)
    for i, rule in enumerate(contract.rules):
        if isinstance(rule, PenaltyRule):
            results[i] = _penalty(rule, values, subtotal, currency)
            penalties += results[i].amount
    net = subtotal - penalties

    caps = {i: rule for i, rule in enumerate(contract.rules) if isinstance(rule, CapRule)}
    binding = min(caps, key=lambda i: (caps[i].max_payout, i), default=None)
    cap = None if binding is None else caps[binding].max_payout
    total = net if cap is None else min(net, cap)
    for i, rule in caps.items():
        cut = max(net - rule.max_payout, Decimal(0)) if i == binding else Decimal(0)
        if cut:
            explanation = Text("kpi.statement.cap_reduced", net=net, cap=rule.max_payout, cut=cut)
        elif net > rule.max_payout:
            explanation = Text("kpi.statement.cap_lower_applies", net=net, cap=rule.max_payout)
        else:
            explanation = Text("kpi.statement.cap_within", net=net, cap=rule.max_payout)
        results[i] = RuleResult(
            name=rule.name,
            type="cap",
            met=net <= rule.max_payout,
            conditions=[],
            base=net,
            rate=None,
            amount=money.quantize(cut, currency),
            explanation=explanation,
        )

    notes: list[Text | str] = []
    if total < 0 and not contract.allow_refund:
        notes.append(Text("kpi.statement.floored", amount=-total))
        total = Decimal(0)
    elif total < 0:
        notes.append(Text("kpi.statement.refund_due", amount=-total))
    return Statement(
        agency=contract.agency,
        period=period,
        currency=currency,
        inputs=list(values.seen.values()),
        base_fee=base_fee,
        rules=[results[i] for i in sorted(results)],
        commissions=commissions,
        subtotal=subtotal,
        penalties=penalties,
        cap=cap,
        total=money.quantize(total, currency),
        notes=notes,
    )
