"""Billing plans: what a tenant pays for each channel, in which currency, from which month.

A :class:`Plan` is one *version* of a tenant's terms. Every change is a new version with its own
``effective_from``, and the version that prices a month is the one with the latest
``effective_from`` on or before that month's first day (:func:`plan_for_month`). A version
applies to whole months, so ``effective_from`` must be the first day of a month: a change
"from 15 March" is stated as "from 1 April" (or 1 March); there is no proration.

Channels and their units (the unit is what counters count and what quotas and prices are in):

====================  ================  ========================================================
channel               unit              priced by
====================  ================  ========================================================
``email``             recipient         ``graduated`` or ``volume`` tiers, per thousand
``in_app``            message           ``graduated`` or ``volume`` tiers, per thousand
``sms``               segment           ``rate_card``: destination country
``whatsapp``          message           ``rate_card``: destination country x category
====================  ================  ========================================================

Decisions a reader should know:

- Tier bounds count *overage* units: the included quota is consumed first, then the overage is
  laid along the ladder, so ``Tier(up_to=50_000)`` is "the first 50,000 units over the quota".
  ``up_to`` is inclusive; the last tier is open (``up_to=None``).
- Rate rows are looked up in this order: exact ``(country, category)``, then ``(country, "")``,
  then ``("*", category)``, then ``("*", "")``; no match means the send cannot be priced and the
  caller must hold it. ``"*"`` is an explicit default the operator chooses to write; the starter
  plan has none for SMS, where prices differ a hundredfold between countries. ``"*"`` stands for
  any *known* country: ``ZZ`` (ISO 3166's user-assigned code, which metering uses for "could
  not tell") is only ever priced by an explicit ``ZZ`` row, so a send to an unknown destination
  is held rather than billed at a guess.
- SMS rows have no category (an SMS costs the same whatever it says). WhatsApp rows must each
  name one of the four categories: Meta prices a marketing message at several times an
  authentication one, so a category-less WhatsApp row would price one at the other's rate. A
  WhatsApp default is therefore one ``"*"`` row per category, and a WhatsApp send with no or an
  unknown category is unpriceable.
- Unit prices (per unit or per thousand, surcharges, provider costs) may carry more decimals than
  the currency has (``0.0079`` USD a segment); fixed amounts (base fee, recurring fees, credits,
  spend limit) are whole minor units of the billing currency.
- All money is ``Decimal`` in the plan's ``currency`` (USD or CNY), never negative. A float given
  in JSON goes through its shortest ``repr`` (``0.1`` is ``Decimal("0.1")``), as
  :func:`linkstar.money.parse_amount` does.
- Credits are prepaid money with an optional expiry: a credit can pay a month's invoice when it
  was granted on or before the month's last day and ``expires_at`` (the last day it is valid,
  inclusive) is not before the month's first day.

Pure: no I/O. Prices in :func:`default_plan` are illustrative, not a price list.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from linkstar import money
from linkstar.text import Text

Channel = Literal["email", "sms", "whatsapp", "in_app"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "whatsapp", "in_app")
UNIT_NAMES: dict[str, str] = {
    "email": "recipients",
    "sms": "segments",
    "whatsapp": "messages",
    "in_app": "messages",
}
RATE_CARD_CHANNELS = frozenset({"sms", "whatsapp"})
"""Channels priced per destination country, which must use a ``rate_card``."""

WHATSAPP_CATEGORIES: tuple[str, ...] = ("marketing", "utility", "authentication", "service")
Currency = Literal["USD", "CNY"]
PricingModel = Literal["graduated", "volume", "rate_card"]
ANY_COUNTRY = "*"
UNKNOWN_COUNTRY = "ZZ"
"""A destination metering could not determine; the ``"*"`` default never prices it."""

_COUNTRY = re.compile(r"[A-Z]{2}")
_CODE = re.compile(r"[a-z][a-z0-9_]*")
_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")

Price = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
"""A non-negative finite amount in the plan's currency."""


def is_country(value: str) -> bool:
    """True for an ISO-3166 alpha-2 shaped code (two upper-case letters)."""
    return _COUNTRY.fullmatch(value) is not None


def normalise_country(value: str) -> str:
    """Upper-case and strip ``value``; raise ValueError unless it is ISO-3166 alpha-2 or ``*``."""
    country = value.strip().upper()
    if country != ANY_COUNTRY and not is_country(country):
        raise ValueError(Text("billing.plan.not_a_country", value=repr(value)))
    return country


def is_surcharge_key(value: str) -> bool:
    """True for a surcharge key such as ``mms``: lower-case letters, digits and ``_``."""
    return value != "send" and _CODE.fullmatch(value) is not None


def normalise_category(value: str) -> str:
    """Lower-case and strip ``value``; raise ValueError unless it is ``""`` or a name."""
    category = value.strip().lower()
    if category and not _CODE.fullmatch(category):
        raise ValueError(Text("billing.plan.not_a_category", value=repr(value)))
    return category


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of ``month`` given as ``YYYY-MM``."""
    match = _MONTH.fullmatch(month)
    if match is None:
        raise ValueError(Text("billing.plan.month_format", month=repr(month)))
    first = date(int(match.group(1)), int(match.group(2)), 1)
    following = (first + timedelta(days=31)).replace(day=1)
    return first, following - timedelta(days=1)


class Tier(BaseModel):
    """A step of the overage ladder: units up to ``up_to`` (inclusive, counted in overage units
    from the first one over the quota) cost ``per_thousand`` per 1,000; ``None`` is open."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    up_to: int | None = Field(default=None, ge=1)
    per_thousand: Price


class RateRow(BaseModel):
    """One row of a rate card: the price of a unit sent to ``country`` (and ``category``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str  # ISO-3166 alpha-2, upper case, or "*" for the explicit default
    category: str = ""  # "" for SMS; a WhatsApp category for WhatsApp
    unit_price: Price
    provider_cost: Price | None = None  # what the provider charges us a unit, for margin

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        return normalise_country(value)

    @field_validator("category")
    @classmethod
    def _category(cls, value: str) -> str:
        return normalise_category(value)


class ChannelPlan(BaseModel):
    """How one channel is priced: an included monthly quota, then tiers or a rate card."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    included_units: int = Field(default=0, ge=0)
    model: PricingModel
    tiers: list[Tier] = Field(default_factory=list)
    rates: list[RateRow] = Field(default_factory=list)

    _index: dict[tuple[str, str], RateRow] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> ChannelPlan:
        if self.model == "rate_card":
            if self.tiers:
                raise ValueError(Text("billing.plan.rate_card_tiers"))
            if not self.rates:
                raise ValueError(Text("billing.plan.rate_card_no_rates"))
            seen: dict[tuple[str, str], int] = {}
            for i, row in enumerate(self.rates):
                key = (row.country, row.category)
                if key in seen:
                    raise ValueError(
                        Text(
                            "billing.plan.duplicate_rate",
                            at=f"rates[{i}]",
                            first=f"rates[{seen[key]}]",
                            country=repr(row.country),
                            category=repr(row.category),
                        )
                    )
                seen[key] = i
            return self
        if self.rates:
            raise ValueError(Text("billing.plan.tiered_rates", model=self.model))
        if not self.tiers:
            raise ValueError(Text("billing.plan.tiered_no_tiers", model=self.model))
        for i, tier in enumerate(self.tiers[:-1]):
            if tier.up_to is None:
                raise ValueError(Text("billing.plan.tier_open_early", at=f"tiers[{i}].up_to"))
            following = self.tiers[i + 1].up_to
            if following is not None and following <= tier.up_to:
                raise ValueError(
                    Text(
                        "billing.plan.tiers_ascend",
                        at=f"tiers[{i + 1}].up_to",
                        following=following,
                        previous=tier.up_to,
                    )
                )
        if self.tiers[-1].up_to is not None:
            raise ValueError(
                Text("billing.plan.last_tier_open", at=f"tiers[{len(self.tiers) - 1}].up_to")
            )
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._index = {(row.country, row.category): row for row in self.rates}

    def rate_for(self, country: str, category: str = "") -> RateRow | None:
        """The row that prices a unit to ``country`` in ``category``, or None (see module doc)."""
        keys = [(country, category), (country, "")]
        if country != UNKNOWN_COUNTRY:
            keys += [(ANY_COUNTRY, category), (ANY_COUNTRY, "")]
        for key in keys:
            row = self._index.get(key)
            if row is not None:
                return row
        return None


class RecurringFee(BaseModel):
    """A fee charged every month the plan applies: ``amount`` each, ``quantity`` of them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str  # e.g. "dedicated_number"
    description: str = Field(min_length=1, max_length=200)
    amount: Price
    quantity: int = Field(default=1, ge=1)

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not _CODE.fullmatch(value):
            raise ValueError(Text("billing.plan.not_a_fee_code", value=repr(value)))
        return value


class Credit(BaseModel):
    """Prepaid money in the plan's currency, usable from ``granted_at`` to ``expires_at``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    credit_id: str = Field(min_length=1, max_length=100)
    amount: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
    granted_at: date
    expires_at: date | None = None  # the last day the credit is valid, inclusive

    @model_validator(mode="after")
    def _dates(self) -> Credit:
        if self.expires_at is not None and self.expires_at < self.granted_at:
            raise ValueError(
                Text(
                    "billing.plan.credit_expires_early",
                    expires=self.expires_at.isoformat(),
                    granted=self.granted_at.isoformat(),
                )
            )
        return self

    def usable_in(self, first: date, last: date) -> bool:
        """True when the credit may pay an invoice for the month ``first``..``last``."""
        return self.granted_at <= last and (self.expires_at is None or self.expires_at >= first)


class Plan(BaseModel):
    """One version of a tenant's billing terms, applying to whole months from ``effective_from``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan_id: str = Field(min_length=1, max_length=100)
    currency: Currency
    effective_from: date
    base_fee: Price = Decimal(0)
    channels: dict[Channel, ChannelPlan]
    surcharges: dict[str, Price] = Field(default_factory=dict)  # e.g. "mms": price per unit
    recurring_fees: list[RecurringFee] = Field(default_factory=list)
    credits: list[Credit] = Field(default_factory=list)
    spend_limit: Annotated[Decimal, Field(gt=0, allow_inf_nan=False)] | None = None
    hard_cap: bool = False  # True: sends are held once spend reaches spend_limit
    alert_thresholds: list[int] = Field(default_factory=lambda: [80, 100])
    alert_emails: list[str] = Field(default_factory=list, max_length=10)  # billing contacts
    alert_locale: Literal["en", "zh-CN"] = Field(
        default="en", description="the language of the alert emails to alert_emails"
    )

    @field_validator("effective_from")
    @classmethod
    def _first_of_month(cls, value: date) -> date:
        if value.day != 1:
            raise ValueError(Text("billing.plan.not_month_start", start=value.isoformat()))
        return value

    @field_validator("surcharges")
    @classmethod
    def _surcharge_keys(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for key in value:
            if not is_surcharge_key(key):
                raise ValueError(Text("billing.plan.not_a_surcharge_key", value=repr(key)))
        return value

    @field_validator("alert_emails")
    @classmethod
    def _emails(cls, value: list[str]) -> list[str]:
        for i, address in enumerate(value):
            local, at, domain = address.rpartition("@")
            if not at or not local or "." not in domain or len(address) > 254 or " " in address:
                raise ValueError(
                    Text("billing.plan.not_an_email", at=f"[{i}]", value=repr(address))
                )
        return value

    @field_validator("alert_thresholds")
    @classmethod
    def _thresholds(cls, value: list[int]) -> list[int]:
        for i, percent in enumerate(value):
            if not 1 <= percent <= 1000:
                raise ValueError(Text("billing.plan.threshold_range", at=f"[{i}]", percent=percent))
            if i and percent <= value[i - 1]:
                raise ValueError(
                    Text(
                        "billing.plan.thresholds_ascend",
                        at=f"[{i}]",
                        percent=percent,
                        previous=value[i - 1],
                    )
                )
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        for name, channel in self.channels.items():
            _check_channel(name, channel)
        fixed: list[tuple[str, Decimal]] = [("base_fee", self.base_fee)]
        fixed += [
            (f"recurring_fees[{i}].amount", f.amount) for i, f in enumerate(self.recurring_fees)
        ]
        fixed += [(f"credits[{i}].amount", c.amount) for i, c in enumerate(self.credits)]
        if self.spend_limit is not None:
            fixed.append(("spend_limit", self.spend_limit))
        for field, amount in fixed:
            if money.quantize(amount, self.currency) != amount:
                raise ValueError(
                    Text(
                        "billing.plan.too_many_decimals",
                        at=field,
                        amount=str(amount),
                        currency=self.currency,
                        minor_units=money.minor_units(self.currency),
                    )
                )
        _check_unique("recurring_fees", [f.code for f in self.recurring_fees], "code")
        _check_unique("credits", [c.credit_id for c in self.credits], "credit_id")
        _check_unique("alert_emails", self.alert_emails, "")
        if self.hard_cap and self.spend_limit is None:
            raise ValueError(Text("billing.plan.hard_cap_needs_limit"))
        return self


def _check_channel(name: str, channel: ChannelPlan) -> None:
    if name in RATE_CARD_CHANNELS and channel.model != "rate_card":
        raise ValueError(
            Text(
                "billing.plan.must_be_rate_card",
                at=f"channels.{name}.model",
                channel=name,
                model=repr(channel.model),
            )
        )
    if name not in RATE_CARD_CHANNELS and channel.model == "rate_card":
        raise ValueError(
            Text("billing.plan.not_by_country", at=f"channels.{name}.model", channel=name)
        )
    for i, row in enumerate(channel.rates):
        if name == "sms" and row.category:
            raise ValueError(
                Text(
                    "billing.plan.sms_category",
                    at=f"channels.sms.rates[{i}].category",
                    category=repr(row.category),
                )
            )
        if name == "whatsapp" and row.category not in WHATSAPP_CATEGORIES:
            raise ValueError(
                Text(
                    "billing.plan.whatsapp_category",
                    at=f"channels.whatsapp.rates[{i}].category",
                    categories=list(WHATSAPP_CATEGORIES),
                    category=repr(row.category),
                )
            )


def _check_unique(field: str, values: list[str], key: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(values):
        if value in seen:
            where = f"{field}[{i}]" + (f".{key}" if key else "")
            raise ValueError(Text("billing.plan.appears_twice", at=where, value=repr(value)))
        seen.add(value)


def plan_for_month(versions: list[Plan], month: str) -> Plan | None:
    """The version pricing ``month`` (``YYYY-MM``): the latest ``effective_from`` on or before
    its first day, or None when every version starts later."""
    first, _ = month_bounds(month)
    starts = [plan.effective_from for plan in versions]
    if len(set(starts)) != len(starts):
        raise ValueError(Text("billing.plan.versions_same_start"))
    applicable = [plan for plan in versions if plan.effective_from <= first]
    return max(applicable, key=lambda plan: plan.effective_from, default=None)


DEFAULT_PLAN_FROM = date(2020, 1, 1)
"""When the starter plan applies from if nothing else is said: before any tenant existed."""

_CNY_PER_USD = Decimal("7.2")  # illustrative, to derive the CNY starter prices

# Per-segment SMS price and provider cost in USD. Illustrative, in the range public price lists
# showed in 2024-25; the point is the spread between countries, not the exact numbers.
_SMS_USD: dict[str, tuple[str, str]] = {
    "US": ("0.0079", "0.0059"), "CA": ("0.0079", "0.0060"), "GB": ("0.0400", "0.0340"),
    "AU": ("0.0500", "0.0410"), "DE": ("0.0900", "0.0760"), "FR": ("0.0800", "0.0690"),
    "CN": ("0.0300", "0.0230"), "SG": ("0.0450", "0.0370"), "MY": ("0.0350", "0.0280"),
    "PH": ("0.0250", "0.0190"), "TH": ("0.0200", "0.0150"), "ID": ("0.3500", "0.3000"),
    "VN": ("0.0700", "0.0560"), "JP": ("0.0800", "0.0660"),
}  # fmt: skip

# Per-message WhatsApp price and provider cost in USD by country and category (marketing,
# utility, authentication, service). Illustrative; "*" is Meta's "rest of world" idea.
_WHATSAPP_USD: dict[str, tuple[tuple[str, str], ...]] = {
    "US": (("0.0300", "0.0250"), ("0.0050", "0.0040"), ("0.0160", "0.0135"), ("0", "0")),
    "GB": (("0.0630", "0.0529"), ("0.0260", "0.0220"), ("0.0430", "0.0358"), ("0", "0")),
    "DE": (("0.1630", "0.1365"), ("0.0650", "0.0550"), ("0.0920", "0.0768"), ("0", "0")),
    "ID": (("0.0490", "0.0411"), ("0.0240", "0.0200"), ("0.0360", "0.0300"), ("0", "0")),
    "MY": (("0.1030", "0.0860"), ("0.0170", "0.0140"), ("0.0216", "0.0180"), ("0", "0")),
    "SG": (("0.0860", "0.0717"), ("0.0360", "0.0300"), ("0.0540", "0.0450"), ("0", "0")),
    "*": (("0.0725", "0.0604"), ("0.0120", "0.0100"), ("0.0340", "0.0280"), ("0", "0")),
}


def default_plan(currency: Currency = "USD", effective_from: date = DEFAULT_PLAN_FROM) -> Plan:
    """A starter plan: no base fee, 10,000 emails and 100,000 in-app messages a month included,
    graduated email overage, SMS and WhatsApp by rate card. Prices are illustrative; CNY prices
    are the USD ones at 7.2 CNY to the dollar, rounded to 4 decimals."""

    def price(usd: str) -> Decimal:
        if currency == "USD":
            return Decimal(usd)
        return (Decimal(usd) * _CNY_PER_USD).quantize(Decimal("0.0001"))

    sms = [
        RateRow(country=c, unit_price=price(p), provider_cost=price(cost))
        for c, (p, cost) in _SMS_USD.items()
    ]
    whatsapp = [
        RateRow(country=c, category=cat, unit_price=price(p), provider_cost=price(cost))
        for c, rows in _WHATSAPP_USD.items()
        for cat, (p, cost) in zip(WHATSAPP_CATEGORIES, rows, strict=True)
    ]
    return Plan(
        plan_id="starter",
        currency=currency,
        effective_from=effective_from,
        base_fee=Decimal(0),
        channels={
            "email": ChannelPlan(
                included_units=10_000,
                model="graduated",
                tiers=[
                    Tier(up_to=100_000, per_thousand=price("1.00")),
                    Tier(up_to=1_000_000, per_thousand=price("0.80")),
                    Tier(up_to=None, per_thousand=price("0.60")),
                ],
            ),
            "sms": ChannelPlan(model="rate_card", rates=sms),
            "whatsapp": ChannelPlan(model="rate_card", rates=whatsapp),
            "in_app": ChannelPlan(
                included_units=100_000,
                model="graduated",
                tiers=[Tier(up_to=None, per_thousand=price("0.05"))],
            ),
        },
        surcharges={"mms": price("0.0150"), "email_attachment": price("0.0002")},
    )
