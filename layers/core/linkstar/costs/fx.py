"""Exchange rates: the tenant's daily rate table and conversion on an order's date.

A tenant uploads or maintains daily rates (``POST /fx-rates``, checked by :func:`parse_rates`):
rows ``{"date", "base", "quote", "rate"}`` where one unit of ``base`` buys ``rate`` units of
``quote`` on ``date`` (``{"date": "2026-03-02", "base": "EUR", "quote": "USD", "rate":
"1.0850"}``: 1 EUR = 1.0850 USD). :class:`FxTable` answers conversions from them.

Which rate converts ``from`` into ``to`` on a day (:meth:`FxTable.rate`):

1. **Same currency**: 1, no lookup.
2. **The day's rate, or the latest before it within** ``max_age_days`` (7 by default: there is
   no fixing on weekends and holidays, and a week covers the longest of them). A rate dated
   after the day is never used (that would convert with hindsight); an older one is *stale*.
3. **Direct or inverse**: a ``from→to`` row, or the inverse of a ``to→from`` row (``1 / rate``);
   when both are usable, the more recent, and on the same date the direct one.
4. **Via the pivot** (USD by default) when neither is usable: ``from→USD`` then ``USD→to``, each
   leg found by rules 2-3. The conversion's ``rate_date`` is the older leg's date.
5. Otherwise :class:`MissingRate`, saying which pair and day, and the latest rate it found if
   that one was too old. :mod:`linkstar.costs.profit` marks the affected component missing.

**Rounding.** A conversion multiplies (and, for an inverse leg, divides) at full ``Decimal``
precision and rounds once, the result, to the target currency's minor units with
:func:`linkstar.money.quantize` (half-even). :meth:`RateQuote.apply` gives the unrounded
amount for callers that add several converted parts and round their sum once.

**What the ``fx`` cost component is** (in :mod:`linkstar.costs.profit`, configured by
:class:`linkstar.costs.model.FxCostRule`): not the translation into the reporting currency —
that only restates amounts and costs nothing — but the cost of *converting the payout*: revenue
received in a currency other than the seller's payout currency loses the converter's spread
(Amazon's Currency Converter for Sellers, a bank's margin). The table here translates; the
spread is a rule of the cost model.

Pure: no I/O.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from linkstar import money
from linkstar.costs.model import currency_code
from linkstar.errors import LinkStarError
from linkstar.text import Text

DEFAULT_MAX_AGE_DAYS = 7
PIVOT = "USD"
MAX_RATES_PER_REQUEST = 10_000
"""A ``POST /fx-rates`` body holds at most this many rows (years of daily rates for a dozen
currencies; more is split into several requests)."""


Currency = Annotated[str, AfterValidator(currency_code)]

# Rates are kept as DynamoDB numbers (38 significant digits, exponents from -130 to 125) and a rate
# may be used up to DEFAULT_MAX_AGE_DAYS after its date: bounds well inside both, and far beyond
# any currency pair's rate (a float's text has at most 17 significant digits).
MIN_RATE, MAX_RATE = Decimal("1E-12"), Decimal("1E+12")
MAX_RATE_DIGITS = 20
FIRST_DATE, LAST_DATE = date(1970, 1, 1), date(2999, 12, 31)


class FxRate(BaseModel):
    """One unit of ``base`` buys ``rate`` units of ``quote`` on ``date``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: Annotated[date, Field(ge=FIRST_DATE, le=LAST_DATE)]
    base: Currency
    quote: Currency
    rate: Annotated[Decimal, Field(gt=0, lt=MAX_RATE, allow_inf_nan=False)]

    @field_validator("rate")
    @classmethod
    def _storable(cls, rate: Decimal) -> Decimal:
        if rate < MIN_RATE:
            raise ValueError(Text("cost.fx.rate_too_small", min=str(MIN_RATE), rate=str(rate)))
        # Counted from the text as given: normalize() would round to the context's 28 digits.
        digits = len("".join(map(str, rate.as_tuple().digits)).rstrip("0"))
        if digits > MAX_RATE_DIGITS:
            raise ValueError(Text("cost.fx.too_many_digits", max=MAX_RATE_DIGITS, digits=digits))
        return rate

    @model_validator(mode="after")
    def _pair(self) -> FxRate:
        if self.base == self.quote:
            raise ValueError(Text("cost.fx.same_currency", currency=self.base))
        return self


class MissingRate(LinkStarError):
    """No usable rate converts ``from_ccy`` into ``to_ccy`` on ``on``; ``reason`` says why (a
    message, rendered where it is shown)."""

    status = 422
    code = "missing_fx_rate"

    def __init__(self, from_ccy: str, to_ccy: str, on: date, reason: Text) -> None:
        super().__init__(reason, from_ccy=from_ccy, to_ccy=to_ccy, on=on.isoformat())
        self.from_ccy = from_ccy
        self.to_ccy = to_ccy
        self.on = on
        self.reason = reason


class Conversion(BaseModel):
    """``amount`` (in ``currency``, rounded to its minor units) converted at ``rate`` (the
    effective rate, unrounded) from the table's rate of ``rate_date``; ``how`` in words."""

    model_config = ConfigDict(frozen=True)

    amount: Decimal
    currency: str
    rate: Decimal
    rate_date: date
    how: str


@dataclass(frozen=True)
class _Leg:
    rate: FxRate
    inverse: bool

    def apply(self, amount: Decimal) -> Decimal:
        return amount / self.rate.rate if self.inverse else amount * self.rate.rate

    def describe(self) -> str:
        row = self.rate
        pair = f"{row.base}→{row.quote} {row.rate} ({row.date.isoformat()})"
        return f"inverse of {pair}" if self.inverse else pair


@dataclass(frozen=True)
class RateQuote:
    """How ``from_ccy`` converts into ``to_ccy``: one or two legs (none: same currency)."""

    from_ccy: str
    to_ccy: str
    on: date
    legs: tuple[_Leg, ...]

    @property
    def rate(self) -> Decimal:
        """The effective rate: one unit of ``from_ccy`` in ``to_ccy`` (unrounded)."""
        return self.apply(Decimal(1))

    @property
    def rate_date(self) -> date:
        return min((leg.rate.date for leg in self.legs), default=self.on)

    def apply(self, amount: Decimal) -> Decimal:
        """``amount`` converted at full precision (not rounded)."""
        for leg in self.legs:
            amount = leg.apply(amount)
        return amount

    @property
    def how(self) -> str:
        if not self.legs:
            return f"{self.from_ccy}: no conversion"
        if len(self.legs) == 1:
            return self.legs[0].describe()
        pivot = self.legs[0].rate.quote if not self.legs[0].inverse else self.legs[0].rate.base
        return f"via {pivot}: " + " then ".join(leg.describe() for leg in self.legs)


class FxTable:
    """A tenant's daily rates, indexed for lookups by pair and date (see the module rules)."""

    def __init__(
        self,
        rates: Iterable[FxRate],
        *,
        max_age_days: int = DEFAULT_MAX_AGE_DAYS,
        pivot: str = PIVOT,
    ) -> None:
        if max_age_days < 0:
            raise ValueError("max_age_days must not be negative")
        self.max_age_days = max_age_days
        self.pivot = currency_code(pivot)
        by_pair: dict[tuple[str, str], dict[date, FxRate]] = {}
        for row in rates:
            by_pair.setdefault((row.base, row.quote), {})[row.date] = row  # the last row wins
        self._dates: dict[tuple[str, str], list[date]] = {}
        self._rows: dict[tuple[str, str], list[FxRate]] = {}
        for pair, rows in by_pair.items():
            ordered = sorted(rows)
            self._dates[pair] = ordered
            self._rows[pair] = [rows[day] for day in ordered]

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Mapping[str, object]],
        *,
        max_age_days: int = DEFAULT_MAX_AGE_DAYS,
        pivot: str = PIVOT,
    ) -> FxTable:
        """A table from stored rows (already checked when they were posted)."""
        return cls(
            (FxRate.model_validate(row) for row in rows), max_age_days=max_age_days, pivot=pivot
        )

    def __len__(self) -> int:
        return sum(len(rows) for rows in self._rows.values())

    def rate(self, from_ccy: str, to_ccy: str, on: date) -> RateQuote:
        """The rate converting ``from_ccy`` into ``to_ccy`` on ``on``; :class:`MissingRate`
        when rules 1-4 find none."""
        source, target = from_ccy.upper(), to_ccy.upper()
        if source == target:
            return RateQuote(source, target, on, ())
        leg = self._leg(source, target, on)
        if leg is not None:
            return RateQuote(source, target, on, (leg,))
        if self.pivot not in (source, target):
            first = self._leg(source, self.pivot, on)
            second = self._leg(self.pivot, target, on)
            if first is not None and second is not None:
                return RateQuote(source, target, on, (first, second))
        raise MissingRate(source, target, on, self._why_missing(source, target, on))

    def convert(self, amount: Decimal, from_ccy: str, to_ccy: str, on: date) -> Conversion:
        """``amount`` of ``from_ccy`` in ``to_ccy`` at the rate of ``on`` (rules 1-5), rounded
        once to ``to_ccy``'s minor units; :class:`MissingRate` when there is no usable rate."""
        quote = self.rate(from_ccy, to_ccy, on)
        target = to_ccy.upper()
        return Conversion(
            amount=money.quantize(quote.apply(amount), target),
            currency=target,
            rate=quote.rate,
            rate_date=quote.rate_date,
            how=quote.how,
        )

    # --- internals ---------------------------------------------------------------------------

    def _latest(self, pair: tuple[str, str], on: date) -> FxRate | None:
        """The pair's rate on ``on`` or the latest before it, however old."""
        dates = self._dates.get(pair)
        if not dates:
            return None
        i = bisect.bisect_right(dates, on)
        return self._rows[pair][i - 1] if i else None

    def _fresh(self, row: FxRate | None, on: date) -> FxRate | None:
        if row is None or on - row.date > timedelta(days=self.max_age_days):
            return None
        return row

    def _leg(self, source: str, target: str, on: date) -> _Leg | None:
        direct = self._fresh(self._latest((source, target), on), on)
        inverse = self._fresh(self._latest((target, source), on), on)
        if direct is not None and (inverse is None or direct.date >= inverse.date):
            return _Leg(direct, inverse=False)
        if inverse is not None:
            return _Leg(inverse, inverse=True)
        return None

    def _why_missing(self, source: str, target: str, on: date) -> Text:
        pairs = [(source, target), (target, source)]
        if self.pivot not in (source, target):
            pairs += [(source, self.pivot), (self.pivot, source)]
            pairs += [(self.pivot, target), (target, self.pivot)]
        latest = [self._latest(pair, on) for pair in pairs]
        stale = [row for row in latest if row is not None and self._fresh(row, on) is None]
        given: dict[str, str | int] = {
            "source": source,
            "target": target,
            "on": on.isoformat(),
            "days": self.max_age_days,
        }
        reason = (
            Text("cost.fx.no_rate", **given)
            if self.pivot in (source, target)
            else Text("cost.fx.no_rate_nor_via", **given, pivot=self.pivot)
        )
        if stale:
            newest = max(stale, key=lambda row: row.date)
            reason = Text(
                "cost.fx.no_rate_stale",
                reason=reason,
                base=newest.base,
                quote=newest.quote,
                date=newest.date.isoformat(),
                age=(on - newest.date).days,
            )
        return reason


def parse_rates(payload: object) -> tuple[list[FxRate], list[str]]:
    """The rows of a ``POST /fx-rates`` body — ``{"rates": [row, ...]}`` or a bare list — and
    every problem found, each naming its row (``"rates[3].rate: Input should be greater than
    0"``). Rows with a problem are left out; the API should refuse the whole body when there is
    any problem, so that a partial upload is never taken for a complete one. A row repeated with
    the same rate is kept once; the same date and pair with two different rates is a problem.
    Numbers are read through their text (never through binary floating point)."""
    rows = payload.get("rates") if isinstance(payload, Mapping) else payload
    if isinstance(payload, Mapping) and set(payload) - {"rates"}:
        extra = ", ".join(sorted(str(key) for key in set(payload) - {"rates"}))
        return [], [str(Text("cost.fx.unexpected_fields", fields=extra))]
    if not isinstance(rows, list):
        return [], [str(Text("cost.fx.rates_not_a_list"))]
    if len(rows) > MAX_RATES_PER_REQUEST:
        return [], [str(Text("cost.fx.too_many_rates", rows=len(rows), max=MAX_RATES_PER_REQUEST))]
    parsed: list[FxRate] = []
    problems: list[str] = []
    seen: dict[tuple[date, str, str], tuple[int, Decimal]] = {}
    for i, raw in enumerate(rows):
        where = f"rates[{i}]"
        if isinstance(raw, Mapping) and isinstance(raw.get("rate"), float):
            raw = {**raw, "rate": str(raw["rate"])}
        try:
            row = FxRate.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_problems(where, exc))
            continue
        key = (row.date, row.base, row.quote)
        if key in seen:
            first, rate = seen[key]
            if rate != row.rate:
                problems.append(
                    str(
                        Text(
                            "cost.fx.conflicting_rates",
                            where=where,
                            base=row.base,
                            quote=row.quote,
                            date=row.date.isoformat(),
                            rate=str(row.rate),
                            other=str(rate),
                            first=first,
                        )
                    )
                )
            continue
        seen[key] = (i, row.rate)
        parsed.append(row)
    return parsed, problems


def _problems(where: str, exc: ValidationError) -> list[str]:
    found = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        at = f"{where}.{field}" if field else where
        found.append(str(Text("cost.fx.row_problem", where=at, problem=message)))
    return found
