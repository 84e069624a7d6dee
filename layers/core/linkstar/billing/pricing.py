"""Pricing: a month's usage counters and a :class:`~linkstar.billing.plans.Plan` in, money out.

Everything here is a pure function of the plan, the counters and (for the forecast) a given
``now``: the live usage view, its forecast, the invoice with credits applied, the quota and
spend thresholds crossed, whether a send can be priced, and the margin against provider cost.

Rules, in the order they are applied:

1. **Counters, not events.** Usage arrives as aggregates (:class:`Usage`); rows with the same
   ``(channel, country, category, kind)`` are summed and zero rows dropped first, so neither the
   order of sends nor how the counters were split changes a single line. ``category`` only
   means something for WhatsApp and is dropped (set to ``""``) for other channels.
2. **Included quota first, most expensive first.** A channel's ``included_units`` are given to
   its ``send`` lines in descending unit price (a rate-card channel; the seller gets the
   costliest units free), ties and tiered channels by ``(country, category)`` ascending;
   lines that can't be priced come last. Surcharge units (``kind`` such as ``"mms"``) never
   use the quota: every one is charged. Each line shows ``included_units`` and
   ``overage_units``.
3. **Overage.** Rate card: each overage unit at its row's ``unit_price`` (row lookup in
   :mod:`linkstar.billing.plans`). Tiers: the channel's overage units are laid along the ladder
   in the line order of rule 2; ``graduated`` prices each tier's units at that tier's price,
   ``volume`` prices all of them at the price of the tier the channel's total overage falls in.
   A tiered channel's invoice has an included line (``tier=None``) and one line per tier used,
   per ``(country, category)``.
4. **Rounding.** Each line's amount is computed at full ``Decimal`` precision and rounded once
   to the currency's minor units (2 for USD and CNY) with :func:`linkstar.money.quantize`,
   i.e. ROUND_HALF_EVEN, the one rule LinkStar rounds money with (unbiased across the many
   small lines of an invoice). Subtotals, credits and totals are sums of rounded lines, never
   re-rounded, so an invoice always adds up to the cent; the live view's line is the sum of
   that key's rounded invoice lines, so the view and the invoice agree.
5. **Fixed fees.** The base fee (a line only when it is not zero) and each recurring fee
   (``amount x quantity``) are charged in full for every month the plan applies.
6. **Credits** pay the subtotal (everything above, the amount spend limits are measured
   against), earliest ``expires_at`` first (never-expiring last; then ``granted_at``, then
   ``credit_id``), each up to its balance and together never more than the subtotal. A credit
   counts for a month when granted on or before its last day and not expired before its first.
   The invoice returns every credit's balance after the month, for the caller to store.
7. **Unpriceable usage** (no destination or ``ZZ`` without its own row, no rate for the
   country or WhatsApp category, a channel not in the plan, an unknown surcharge) should have
   been held by the caller, who asks :func:`priceable` before sending.
   If some reaches pricing anyway it is charged 0 and its reason is on the line and in
   ``unpriced``, so a month close can refuse to issue such an invoice; nothing raises.

Months are UTC calendar months (``YYYY-MM``). The forecast scales each line's units by the
whole month over the time elapsed (to the microsecond, rounded half-even to a whole unit) and
prices them by the same rules; at or after month end it equals the actual, before the month has
started it is the actual too (there is nothing to extrapolate from).

Entry points: :func:`priceable` (before a send), :func:`spend` (the running subtotal a hard cap
compares with ``spend_limit``), :func:`usage_report` (the ``GET /usage`` body; the typed model
is :func:`usage_view`), :func:`invoice` (with :meth:`Invoice.to_csv`),
:func:`thresholds_crossed` and :func:`margin`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from linkstar import money
from linkstar.billing.plans import (
    CHANNELS,
    WHATSAPP_CATEGORIES,
    Channel,
    ChannelPlan,
    Credit,
    Plan,
    RecurringFee,
    Tier,
    is_country,
    is_surcharge_key,
    month_bounds,
)
from linkstar.sentence import Sentence
from linkstar.text import DEFAULT as DEFAULT_LOCALE
from linkstar.text import Text

PROVIDER_COST_PER_THOUSAND: dict[str, dict[str, Decimal]] = {
    "email": {"USD": Decimal("0.10"), "CNY": Decimal("0.72")},  # SES list price; CNY at 7.2
    "in_app": {"USD": Decimal(0), "CNY": Decimal(0)},  # our own infrastructure, no provider
}
"""What a provider charges us per 1,000 units of the channels not priced by rate card. An
operator constant, independent of any plan; rate-card channels carry it on each row."""

SEND = "send"

# How a channel and its unit are named in sentences the seller reads (alerts, unpriced notes,
# invoice lines).
CHANNEL_TEXT: dict[str, str] = {
    "email": "billing.channel_email",
    "sms": "billing.channel_sms",
    "whatsapp": "billing.channel_whatsapp",
    "in_app": "billing.channel_in_app",
}
UNIT_TEXT: dict[str, str] = {
    "email": "billing.unit_recipients",
    "sms": "billing.unit_segments",
    "whatsapp": "billing.unit_messages",
    "in_app": "billing.unit_messages",
}

LineType = Literal["usage", "surcharge", "base_fee", "recurring_fee"]


class Usage(BaseModel):
    """A month's counter for one channel, destination, category and kind of charge."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Channel
    country: str = Field(default="", max_length=64)  # ISO-3166 alpha-2; "" or ZZ: unknown
    category: str = Field(default="", max_length=64)  # WhatsApp category; dropped otherwise
    kind: str = SEND  # "send", or the surcharge key of a feature the sends used ("mms")
    units: int = Field(ge=0)

    # Country and category are only normalised, not checked: a malformed one is the caller's
    # data, priced as unpriceable (rule 7) rather than failing the whole month's view.
    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        return value.strip().upper()

    @field_validator("category")
    @classmethod
    def _category(cls, value: str, info: ValidationInfo) -> str:
        return value.strip().lower() if info.data.get("channel") == "whatsapp" else ""

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if value != SEND and not is_surcharge_key(value):
            raise ValueError(f"{value!r} is not 'send' or a surcharge key such as 'mms'")
        return value


class InvoiceLine(BaseModel):
    """One priced line. Usage lines are per channel x country x category x tier; surcharge lines
    per channel x country x category x kind; fee lines per fee."""

    model_config = ConfigDict(frozen=True)

    line_type: LineType
    # A message (rendered in the reader's language when shown, kept as the message when stored
    # with ``context=text.STORED``); a recurring fee's is the plan author's own words, and an
    # invoice closed before lines were messages holds its English.
    description: Sentence
    channel: str = ""
    country: str = ""
    category: str = ""
    kind: str = ""  # "send" or a surcharge key on usage and surcharge lines
    tier: int | None = None  # 1-based tier of a tiered channel; None: included, rate card, fee
    code: str = ""  # recurring fee code, or "base_fee"
    units: int = 0  # units of usage, or the quantity of a fee
    included_units: int = 0
    overage_units: int = 0
    unit_price: Decimal | None = None  # per unit: rate card, surcharge, fee
    per_thousand: Decimal | None = None  # per 1,000 units: tier lines
    amount: Decimal
    unpriced_reason: str | None = None


class UsageLine(BaseModel):
    """A live-view line: one channel x country x category x kind, tiers added together."""

    model_config = ConfigDict(frozen=True)

    channel: str
    country: str
    category: str
    kind: str
    units: int
    included_units: int
    overage_units: int
    amount: Decimal
    unpriced_reason: str | None = None


class CreditApplied(BaseModel):
    model_config = ConfigDict(frozen=True)

    credit_id: str
    applied: Decimal
    remaining: Decimal


class Invoice(BaseModel):
    """A month's bill in the plan's currency. ``subtotal`` is the sum of ``lines``; ``total`` is
    ``subtotal - credits_total``; ``credit_balances_after`` holds every plan credit's balance."""

    model_config = ConfigDict(frozen=True)

    plan_id: str
    month: str
    currency: str
    lines: list[InvoiceLine]
    subtotal: Decimal
    credits: list[CreditApplied]
    credits_total: Decimal
    total: Decimal
    credit_balances_after: dict[str, Decimal]
    unpriced: list[str]

    def to_csv(self) -> str:
        """One row per line, then a subtotal row, a row per credit applied and a total row."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_CSV_COLUMNS)
        for line in self.lines:
            row = line.model_dump()
            row["currency"] = self.currency
            writer.writerow(["" if row[c] is None else str(row[c]) for c in _CSV_COLUMNS])
        totals = [("subtotal", "", Text("billing.invoice.subtotal"), self.subtotal)]
        totals += [
            (
                "credit",
                c.credit_id,
                Text("billing.invoice.credit", credit_id=c.credit_id),
                -c.applied,
            )
            for c in self.credits
        ]
        totals.append(("total", "", Text("billing.invoice.total"), self.total))
        for line_type, code, description, amount in totals:
            values = {
                "line_type": line_type,
                "code": code,
                "description": str(description),
                "amount": str(amount),
                "currency": self.currency,
            }
            writer.writerow([values.get(c, "") for c in _CSV_COLUMNS])
        return out.getvalue()


_CSV_COLUMNS: tuple[str, ...] = (
    "line_type",
    "channel",
    "country",
    "category",
    "kind",
    "tier",
    "code",
    "description",
    "units",
    "included_units",
    "overage_units",
    "unit_price",
    "per_thousand",
    "amount",
    "currency",
)


class UsageReport(BaseModel):
    """``GET /usage?month=YYYY-MM``: :meth:`to_api` is the response body. ``total`` is the sum
    of ``lines`` plus ``fixed_fees`` (base and recurring) before credits, the month's spend so
    far; ``forecast_total`` is the same for the forecast usage."""

    model_config = ConfigDict(frozen=True)

    month: str
    currency: str
    lines: list[UsageLine]
    fixed_fees: Decimal
    total: Decimal
    forecast_total: Decimal
    remaining: dict[str, int]  # included units left per channel of the plan
    unpriced: list[str]

    def to_api(self) -> dict[str, Any]:
        """JSON-ready: amounts as strings (``"12.30"``), never floats."""
        return self.model_dump(mode="json")


class Threshold(BaseModel):
    """A threshold the month's usage has reached; the caller alerts once per ``key`` a month."""

    model_config = ConfigDict(frozen=True)

    key: str  # "quota:email:80", "spend:100"
    kind: Literal["quota", "spend"]
    channel: str | None
    percent: int
    used: Decimal  # units for a quota, money for spend
    limit: Decimal
    message: str  # English: the bus event's, for the tenant's own systems
    message_text: dict[str, Any]  # the same as the seller reads it (a Text.dump())
    blocks_sending: bool = False  # spend at or over a hard-capped limit: hold every send


class MarginLine(BaseModel):
    """What we charged for a channel's sends to a country against what the provider charges us.
    Provider cost accrues on included units too; surcharges and fixed fees are left out."""

    model_config = ConfigDict(frozen=True)

    channel: str
    country: str
    units: int
    charged: Decimal
    provider_cost: Decimal | None  # None when a rate row has no provider_cost
    margin: Decimal | None
    margin_pct: Decimal | None  # of charged, 1 decimal; None when nothing was charged


_Key = tuple[Channel, str, str, str]  # channel, country, category, kind


def priceable(
    plan: Plan,
    channel: str,
    country: str,
    category: str = "",
    *,
    features: Iterable[str] = (),
) -> str | None:
    """None when a send (with the surcharge ``features`` it uses) can be priced under ``plan``;
    otherwise why not, machine-readable: ``unknown_channel:fax``,
    ``channel_not_in_plan:whatsapp``, ``unknown_country:sms`` (no destination),
    ``invalid_country:sms:USA``, ``missing_category:whatsapp``,
    ``unknown_category:whatsapp:promo``, ``no_rate:sms:ZZ``, ``no_rate:whatsapp:BR:marketing``,
    ``no_surcharge:mms``. Country and category are normalised as :class:`Usage` does."""
    if channel not in CHANNELS:
        return f"unknown_channel:{channel}"
    category = category.strip().lower() if channel == "whatsapp" else ""
    reason = _send_reason(plan, channel, country.strip().upper(), category)
    if reason is not None:
        return reason
    for feature in features:
        if feature not in plan.surcharges:
            return f"no_surcharge:{feature}"
    return None


def unpriced_note(reason: str) -> Text:
    """A :func:`priceable` reason (``no_rate:sms:MX``) as a sentence the seller reads."""
    kind, _, rest = reason.partition(":")
    channel, _, more = rest.partition(":")
    name: Text | str = Text(CHANNEL_TEXT[channel]) if channel in CHANNEL_TEXT else channel
    if kind == "channel_not_in_plan":
        return Text("billing.unpriced_channel_not_in_plan", channel=name)
    if kind == "unknown_country":
        return Text("billing.unpriced_unknown_country", channel=name)
    if kind == "invalid_country":
        return Text("billing.unpriced_invalid_country", channel=name, country=more)
    if kind == "missing_category":
        return Text("billing.unpriced_missing_category")
    if kind == "unknown_category":
        return Text("billing.unpriced_unknown_category", category=more)
    if kind == "no_rate":
        country, _, category = more.partition(":")
        if category:
            return Text(
                "billing.unpriced_no_rate_category",
                channel=name,
                country=country,
                category=category,
            )
        return Text("billing.unpriced_no_rate", channel=name, country=country)
    if kind == "no_surcharge":
        return Text("billing.unpriced_no_surcharge", surcharge=rest)
    return Text("billing.unpriced_other", reason=reason)  # unknown_channel, or a new reason


def price_lines(plan: Plan, usages: Iterable[Usage]) -> list[InvoiceLine]:
    """The usage and surcharge lines of ``usages`` (no fixed fees, no credits), in a stable
    order: channel, country, category, sends before surcharges, included before tiers."""
    by_channel: dict[str, dict[tuple[str, str], int]] = {}
    lines: list[InvoiceLine] = []
    for (channel, country, category, kind), units in _aggregate(usages).items():
        if kind == SEND:
            by_channel.setdefault(channel, {})[(country, category)] = units
        else:
            lines.append(_surcharge_line(plan, channel, country, category, kind, units))
    for name, sends in by_channel.items():
        lines += _channel_lines(plan, name, sends)
    return sorted(lines, key=_line_order)


def fee_lines(plan: Plan, fees: Sequence[RecurringFee] | None = None) -> list[InvoiceLine]:
    """The base fee (when not zero) and each recurring fee, ``plan.recurring_fees`` by default."""
    currency = plan.currency
    lines: list[InvoiceLine] = []
    if plan.base_fee:
        lines.append(
            InvoiceLine(
                line_type="base_fee",
                description=Text("billing.invoice.base_fee"),
                code="base_fee",
                units=1,
                unit_price=plan.base_fee,
                amount=money.quantize(plan.base_fee, currency),
            )
        )
    for fee in plan.recurring_fees if fees is None else fees:
        # The fee's description is the plan author's words, shown as written in every language.
        described: Text | str = fee.description
        if fee.quantity != 1:
            described = Text(
                "billing.invoice.recurring_fee_quantity",
                description=fee.description,
                quantity=str(fee.quantity),
            )
        lines.append(
            InvoiceLine(
                line_type="recurring_fee",
                description=described,
                code=fee.code,
                units=fee.quantity,
                unit_price=fee.amount,
                amount=money.quantize(fee.amount * fee.quantity, currency),
            )
        )
    return lines


def usage_lines(plan: Plan, usages: Iterable[Usage]) -> list[UsageLine]:
    """The live view's lines: :func:`price_lines` with each key's tier lines added together."""
    merged: dict[tuple[str, str, str, str], UsageLine] = {}
    for line in price_lines(plan, usages):
        key = (line.channel, line.country, line.category, line.kind)
        previous = merged.get(key)
        if previous is None:
            merged[key] = UsageLine(**line.model_dump(include=set(UsageLine.model_fields)))
        else:
            merged[key] = previous.model_copy(
                update={
                    "units": previous.units + line.units,
                    "included_units": previous.included_units + line.included_units,
                    "overage_units": previous.overage_units + line.overage_units,
                    "amount": previous.amount + line.amount,
                    "unpriced_reason": previous.unpriced_reason or line.unpriced_reason,
                }
            )
    return list(merged.values())


def forecast_usages(usages: Iterable[Usage], month: str, now: datetime) -> list[Usage]:
    """Each aggregated counter scaled to the whole month: ``units x month / elapsed``, rounded
    half-even to a whole unit. Unscaled before the month starts and from its end on."""
    elapsed, whole = _elapsed(month, now)
    aggregated = _aggregate(usages)
    if elapsed in (0, whole):
        factor_num, factor_den = 1, 1
    else:
        factor_num, factor_den = whole, elapsed
    return [
        Usage(
            channel=channel,
            country=country,
            category=category,
            kind=kind,
            units=int(
                (Decimal(units * factor_num) / Decimal(factor_den)).to_integral_value(
                    rounding=ROUND_HALF_EVEN
                )
            ),
        )
        for (channel, country, category, kind), units in aggregated.items()
    ]


def forecast(
    plan: Plan,
    usages: Iterable[Usage],
    month: str,
    now: datetime,
    fees: Sequence[RecurringFee] | None = None,
) -> Decimal:
    """The month's total (usage plus fixed fees, before credits) if usage goes on at the pace
    it has had so far."""
    return spend(plan, forecast_usages(usages, month, now), fees)


def spend(
    plan: Plan, usages: Iterable[Usage], fees: Sequence[RecurringFee] | None = None
) -> Decimal:
    """The month's running subtotal: usage, surcharges and fixed fees, before credits. What
    ``spend_limit`` is measured against (a hard cap holds sends once this reaches it)."""
    lines = price_lines(plan, usages) + fee_lines(plan, fees)
    return money.quantize(_sum(line.amount for line in lines), plan.currency)


def usage_report(
    plan: Plan,
    usages: Iterable[Usage],
    month: str,
    now: datetime,
    fees: Sequence[RecurringFee] | None = None,
) -> dict[str, Any]:
    """The body of ``GET /usage?month=YYYY-MM``: :func:`usage_view` as JSON-ready data."""
    return usage_view(plan, usages, month, now, fees).to_api()


def usage_view(
    plan: Plan,
    usages: Iterable[Usage],
    month: str,
    now: datetime,
    fees: Sequence[RecurringFee] | None = None,
) -> UsageReport:
    """The live usage view of ``month`` as of ``now``."""
    usages = list(usages)
    month_bounds(month)
    lines = usage_lines(plan, usages)
    fixed = _sum(line.amount for line in fee_lines(plan, fees))
    used = _sent_units(usages)
    return UsageReport(
        month=month,
        currency=plan.currency,
        lines=lines,
        fixed_fees=money.quantize(fixed, plan.currency),
        total=money.quantize(_sum(line.amount for line in lines) + fixed, plan.currency),
        forecast_total=forecast(plan, usages, month, now, fees),
        remaining={
            channel: max(0, channel_plan.included_units - used.get(channel, 0))
            for channel, channel_plan in _plan_channels(plan)
        },
        unpriced=_unpriced(lines),
    )


def invoice(
    plan: Plan,
    usages: Iterable[Usage],
    month: str,
    fees: Sequence[RecurringFee] | None = None,
    credits_balance: dict[str, Decimal] | None = None,
) -> Invoice:
    """The invoice for ``month``. ``fees`` defaults to ``plan.recurring_fees``;
    ``credits_balance`` maps a plan credit's id to what is left of it (a credit not in it is
    unused; an id that is not a plan credit, or a balance outside 0..amount, is a ValueError)."""
    first, last = month_bounds(month)
    currency = plan.currency
    fixed = fee_lines(plan, fees)
    base = [line for line in fixed if line.line_type == "base_fee"]
    recurring = [line for line in fixed if line.line_type == "recurring_fee"]
    lines = base + price_lines(plan, usages) + recurring
    subtotal = money.quantize(_sum(line.amount for line in lines), currency)

    balances = _balances(plan, credits_balance)
    applied: list[CreditApplied] = []
    due = subtotal
    for credit in sorted(plan.credits, key=_credit_order):
        if due <= 0 or not credit.usable_in(first, last) or balances[credit.credit_id] <= 0:
            continue
        use = min(due, balances[credit.credit_id])
        due -= use
        balances[credit.credit_id] -= use
        applied.append(
            CreditApplied(
                credit_id=credit.credit_id,
                applied=money.quantize(use, currency),
                remaining=money.quantize(balances[credit.credit_id], currency),
            )
        )
    credits_total = money.quantize(_sum(c.applied for c in applied), currency)
    return Invoice(
        plan_id=plan.plan_id,
        month=month,
        currency=currency,
        lines=lines,
        subtotal=subtotal,
        credits=applied,
        credits_total=credits_total,
        total=money.quantize(subtotal - credits_total, currency),
        credit_balances_after={k: money.quantize(v, currency) for k, v in balances.items()},
        unpriced=_unpriced(lines),
    )


def thresholds_crossed(
    plan: Plan,
    usages: Iterable[Usage],
    month: str,
    fees: Sequence[RecurringFee] | None = None,
) -> list[Threshold]:
    """Every threshold the month's usage has reached: each ``alert_thresholds`` percentage of
    each channel's included quota (none for a channel with no quota), and of ``spend_limit``
    measured against the running subtotal (usage, surcharges, fixed fees, before credits).
    100% of the spend limit is always a threshold: it is the limit itself, and with
    ``hard_cap`` it is the one that blocks sending."""
    usages = list(usages)
    month_bounds(month)
    crossed: list[Threshold] = []
    used = _sent_units(usages)
    for channel, channel_plan in _plan_channels(plan):
        included = channel_plan.included_units
        if not included:
            continue
        for percent in plan.alert_thresholds:
            count = used.get(channel, 0)
            if count * 100 >= included * percent:
                said = Text(
                    "billing.alert_quota",
                    channel=Text(CHANNEL_TEXT[channel]),
                    used=f"{count:,}",
                    included=f"{included:,}",
                    unit=Text(UNIT_TEXT[channel]),
                    month=month,
                    percent=percent,
                )
                crossed.append(
                    Threshold(
                        key=f"quota:{channel}:{percent}",
                        kind="quota",
                        channel=channel,
                        percent=percent,
                        used=Decimal(count),
                        limit=Decimal(included),
                        message=said.render(DEFAULT_LOCALE),
                        message_text=said.dump(),
                    )
                )
    if plan.spend_limit is not None:
        limit = plan.spend_limit
        spent = spend(plan, usages, fees)
        for percent in sorted({*plan.alert_thresholds, 100}):
            if spent * 100 >= limit * percent:
                blocks = plan.hard_cap and percent >= 100
                said = Text(
                    "billing.alert_spend_held" if blocks else "billing.alert_spend",
                    spent=str(spent),
                    limit=str(limit),
                    currency=plan.currency,
                    month=month,
                    percent=percent,
                )
                crossed.append(
                    Threshold(
                        key=f"spend:{percent}",
                        kind="spend",
                        channel=None,
                        percent=percent,
                        used=spent,
                        limit=limit,
                        message=said.render(DEFAULT_LOCALE),
                        message_text=said.dump(),
                        blocks_sending=blocks,
                    )
                )
    return crossed


def margin(plan: Plan, usages: Iterable[Usage]) -> list[MarginLine]:
    """Charged against provider cost for the sends of each channel x country."""
    sends = [u for u in usages if u.kind == SEND]
    charged: dict[tuple[str, str], Decimal] = {}
    for line in price_lines(plan, sends):
        key = (line.channel, line.country)
        charged[key] = charged.get(key, Decimal(0)) + line.amount
    units: dict[tuple[str, str], int] = {}
    costs: dict[tuple[str, str], Decimal | None] = {}
    for (channel, country, category, _), count in _aggregate(sends).items():
        key = (channel, country)
        units[key] = units.get(key, 0) + count
        cost = _provider_cost(plan, channel, country, category, count)
        previous = costs.get(key, Decimal(0))
        costs[key] = None if cost is None or previous is None else previous + cost
    lines: list[MarginLine] = []
    for key in sorted(units, key=lambda k: (CHANNELS.index(k[0]), k[1])):
        cost = costs[key]
        amount = charged.get(key, Decimal(0))
        rounded = None if cost is None else money.quantize(cost, plan.currency)
        gain = None if rounded is None else amount - rounded
        lines.append(
            MarginLine(
                channel=key[0],
                country=key[1],
                units=units[key],
                charged=money.quantize(amount, plan.currency),
                provider_cost=rounded,
                margin=gain,
                margin_pct=(
                    (gain * 100 / amount).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)
                    if gain is not None and amount > 0
                    else None
                ),
            )
        )
    return lines


# --- internals ---------------------------------------------------------------------------------


def _aggregate(usages: Iterable[Usage]) -> dict[_Key, int]:
    """Counters summed by key, zero ones dropped, keys in sorted order (order-independent)."""
    totals: dict[_Key, int] = {}
    for usage in usages:
        key = (usage.channel, usage.country, usage.category, usage.kind)
        totals[key] = totals.get(key, 0) + usage.units
    return {key: totals[key] for key in sorted(totals) if totals[key]}


def _sent_units(usages: Iterable[Usage]) -> dict[str, int]:
    used: dict[str, int] = {}
    for (channel, _, _, kind), units in _aggregate(usages).items():
        if kind == SEND:
            used[channel] = used.get(channel, 0) + units
    return used


def _channel_plan(plan: Plan, channel: str) -> ChannelPlan | None:
    return cast(dict[str, ChannelPlan], plan.channels).get(channel)


def _plan_channels(plan: Plan) -> list[tuple[str, ChannelPlan]]:
    return [(c, plan.channels[c]) for c in CHANNELS if c in plan.channels]


def _send_reason(plan: Plan, channel: str, country: str, category: str) -> str | None:
    channel_plan = _channel_plan(plan, channel)
    if channel_plan is None:
        return f"channel_not_in_plan:{channel}"
    if channel_plan.model != "rate_card":
        return None
    if not country:
        return f"unknown_country:{channel}"
    if not is_country(country):
        return f"invalid_country:{channel}:{country}"
    if channel == "whatsapp":
        if not category:
            return "missing_category:whatsapp"
        if category not in WHATSAPP_CATEGORIES:
            return f"unknown_category:whatsapp:{category}"
    if channel_plan.rate_for(country, category) is None:
        return f"no_rate:{channel}:{country}" + (f":{category}" if category else "")
    return None


def _channel_lines(
    plan: Plan, channel: str, sends: dict[tuple[str, str], int]
) -> list[InvoiceLine]:
    channel_plan = _channel_plan(plan, channel)
    if channel_plan is None:
        reason = f"channel_not_in_plan:{channel}"
        return [
            _usage_line(plan, channel, country, category, units, 0, None, None, reason)
            for (country, category), units in sorted(sends.items())
        ]
    if channel_plan.model == "rate_card":
        return _rate_card_lines(plan, channel, channel_plan, sends)
    return _tiered_lines(plan, channel, channel_plan, sends)


def _rate_card_lines(
    plan: Plan, channel: str, channel_plan: ChannelPlan, sends: dict[tuple[str, str], int]
) -> list[InvoiceLine]:
    priced: list[tuple[Decimal, str, str, int]] = []
    unpriced: list[tuple[str, str, int, str]] = []
    for (country, category), units in sends.items():
        reason = _send_reason(plan, channel, country, category)
        row = channel_plan.rate_for(country, category) if reason is None else None
        if row is None:
            unpriced.append((country, category, units, reason or ""))
        else:
            priced.append((row.unit_price, country, category, units))
    priced.sort(key=lambda p: (-p[0], p[1], p[2]))
    unpriced.sort()
    # The quota goes down the priced lines (costliest first), then the unpriced ones.
    ordered: list[tuple[str, str, int, Decimal | None, str | None]] = [
        (country, category, units, price, None) for price, country, category, units in priced
    ]
    ordered += [
        (country, category, units, None, reason) for country, category, units, reason in unpriced
    ]
    quota = channel_plan.included_units
    lines: list[InvoiceLine] = []
    for country, category, units, price, reason in ordered:
        included = min(units, quota)
        quota -= included
        lines.append(
            _usage_line(
                plan,
                channel,
                country,
                category,
                units,
                included,
                price,
                None,
                reason if units > included else None,
            )
        )
    return lines


def _tiered_lines(
    plan: Plan, channel: str, channel_plan: ChannelPlan, sends: dict[tuple[str, str], int]
) -> list[InvoiceLine]:
    quota = channel_plan.included_units
    split: list[tuple[str, str, int, int]] = []  # country, category, included, overage
    for (country, category), units in sorted(sends.items()):
        included = min(units, quota)
        quota -= included
        split.append((country, category, included, units - included))
    ladder = _ladder(channel_plan.tiers)
    total_overage = sum(overage for *_, overage in split)
    volume_tier = next(
        (i for i, (_, upper, _) in enumerate(ladder) if upper is None or total_overage <= upper),
        len(ladder) - 1,
    )
    lines: list[InvoiceLine] = []
    position = 0  # overage units of this channel already laid on the ladder
    for country, category, included, overage in split:
        if included:
            lines.append(
                _usage_line(plan, channel, country, category, included, included, None, None, None)
            )
        if not overage:
            continue
        if channel_plan.model == "volume":
            tier = (volume_tier + 1, ladder[volume_tier][2])
            lines.append(
                _usage_line(plan, channel, country, category, overage, 0, None, tier, None)
            )
        else:
            start, end = position, position + overage
            for i, (lower, upper, step) in enumerate(ladder):
                taken = min(end, upper if upper is not None else end) - max(start, lower)
                if taken > 0:
                    tier = (i + 1, step)
                    lines.append(
                        _usage_line(plan, channel, country, category, taken, 0, None, tier, None)
                    )
        position += overage
    return lines


def _ladder(tiers: list[Tier]) -> list[tuple[int, int | None, Tier]]:
    """Each tier as (first overage unit it covers, exclusive; last, inclusive; tier)."""
    ladder: list[tuple[int, int | None, Tier]] = []
    lower = 0
    for tier in tiers:
        ladder.append((lower, tier.up_to, tier))
        lower = tier.up_to or lower
    return ladder


def _usage_line(
    plan: Plan,
    channel: str,
    country: str,
    category: str,
    units: int,
    included: int,
    unit_price: Decimal | None,
    tier: tuple[int, Tier] | None,  # (1-based index, tier) for a tier line
    reason: str | None,
) -> InvoiceLine:
    overage = units - included
    per_thousand = tier[1].per_thousand if tier is not None else None
    if unit_price is not None:
        exact = overage * unit_price
    elif per_thousand is not None:
        exact = overage * per_thousand / 1000
    else:
        exact = Decimal(0)
    # Numbers are formatted here, as the English has always shown them ("1,000"), so a stored
    # line renders the same figures in every language.
    where = _where(channel, country, category)
    unit = Text(UNIT_TEXT[channel])
    if tier is not None:
        described = Text(
            "billing.invoice.usage_tier",
            where=where,
            tier=str(tier[0]),
            units=f"{overage:,}",
            unit=unit,
            per_thousand=str(per_thousand),
        )
    elif unit_price is not None:
        described = Text(
            "billing.invoice.usage_priced",
            where=where,
            units=f"{units:,}",
            unit=unit,
            included=f"{included:,}",
            overage=f"{overage:,}",
            unit_price=str(unit_price),
        )
    elif reason is not None:
        described = Text(
            "billing.invoice.usage_unpriced",
            where=where,
            units=f"{units:,}",
            unit=unit,
            included=f"{included:,}",
            overage=f"{overage:,}",
            reason=reason,
        )
    else:
        described = Text(
            "billing.invoice.usage_included", where=where, included=f"{included:,}", unit=unit
        )
    return InvoiceLine(
        line_type="usage",
        description=described,
        channel=channel,
        country=country,
        category=category,
        kind=SEND,
        units=units,
        included_units=included,
        overage_units=overage,
        tier=tier[0] if tier is not None else None,
        unit_price=unit_price,
        per_thousand=per_thousand,
        amount=money.quantize(exact, plan.currency),
        unpriced_reason=reason,
    )


def _surcharge_line(
    plan: Plan, channel: str, country: str, category: str, kind: str, units: int
) -> InvoiceLine:
    price = plan.surcharges.get(kind)
    reason = None
    if channel not in plan.channels:
        reason, price = f"channel_not_in_plan:{channel}", None
    elif price is None:
        reason = f"no_surcharge:{kind}"
    where = _where(channel, country, category)
    if price is not None:
        described = Text(
            "billing.invoice.surcharge",
            where=where,
            kind=kind,
            units=f"{units:,}",
            unit_price=str(price),
        )
    else:
        described = Text(
            "billing.invoice.surcharge_unpriced",
            where=where,
            kind=kind,
            units=f"{units:,}",
            reason=reason or "",
        )
    return InvoiceLine(
        line_type="surcharge",
        description=described,
        channel=channel,
        country=country,
        category=category,
        kind=kind,
        units=units,
        included_units=0,
        overage_units=units,
        unit_price=price,
        amount=money.quantize(units * price if price is not None else Decimal(0), plan.currency),
        unpriced_reason=reason,
    )


def _where(channel: str, country: str, category: str) -> Text:
    """Which sends a line is for: the channel, its WhatsApp category, where they went."""
    name = Text(CHANNEL_TEXT[channel])
    if category and country:
        return Text(
            "billing.invoice.channel_category_to_country",
            channel=name,
            category=category,
            country=country,
        )
    if category:
        return Text("billing.invoice.channel_category", channel=name, category=category)
    if country:
        return Text("billing.invoice.channel_to_country", channel=name, country=country)
    return name


def _line_order(line: InvoiceLine) -> tuple[int, str, str, int, str, int]:
    return (
        CHANNELS.index(line.channel),
        line.country,
        line.category,
        0 if line.kind == SEND else 1,
        line.kind,
        line.tier or 0,
    )


def _unpriced(lines: Iterable[InvoiceLine | UsageLine]) -> list[str]:
    return sorted({line.unpriced_reason for line in lines if line.unpriced_reason})


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, Decimal(0))


def _credit_order(credit: Credit) -> tuple[date, date, str]:
    return (credit.expires_at or date.max, credit.granted_at, credit.credit_id)


def _balances(plan: Plan, given: dict[str, Decimal] | None) -> dict[str, Decimal]:
    balances = {credit.credit_id: credit.amount for credit in plan.credits}
    for credit_id, balance in (given or {}).items():
        if credit_id not in balances:
            raise ValueError(f"credits_balance: {credit_id!r} is not a credit of this plan")
        if not 0 <= balance <= balances[credit_id]:
            raise ValueError(
                f"credits_balance[{credit_id!r}]: {balance} is outside 0..{balances[credit_id]}"
            )
        if money.quantize(balance, plan.currency) != balance:
            raise ValueError(
                f"credits_balance[{credit_id!r}]: {balance} is not in whole {plan.currency} "
                "minor units"
            )
        balances[credit_id] = balance
    return balances


def _elapsed(month: str, now: datetime) -> tuple[int, int]:
    """Microseconds of ``month`` elapsed at ``now`` (clamped to the month) and in the month."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    first, last = month_bounds(month)
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    whole = (end - start) // timedelta(microseconds=1)
    elapsed = (now - start) // timedelta(microseconds=1)
    return max(0, min(elapsed, whole)), whole


def _provider_cost(
    plan: Plan, channel: str, country: str, category: str, units: int
) -> Decimal | None:
    per_thousand = PROVIDER_COST_PER_THOUSAND.get(channel, {}).get(plan.currency)
    if per_thousand is not None:
        return units * per_thousand / 1000
    if _send_reason(plan, channel, country, category) is not None:
        return None
    channel_plan = _channel_plan(plan, channel)
    row = channel_plan.rate_for(country, category) if channel_plan is not None else None
    if row is None or row.provider_cost is None:
        return None
    return units * row.provider_cost
