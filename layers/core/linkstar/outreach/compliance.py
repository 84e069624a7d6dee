"""Send-time compliance rules: quiet hours, frequency caps and the reputation breaker.

Pure functions over aware UTC instants: nothing here reads the clock, the network or AWS, so
the sender (``functions/senders``) passes "now" in and gets a decision back.

Quiet hours
    A *rule* (:class:`QuietHoursRule`) says when, in the recipient's local wall-clock time, a
    message of some channels and purposes may be sent. The rules that apply to a send are the
    legal ones (:data:`LEGAL_RULES`: a worldwide default, the US federal hours and the stricter
    US state hours) plus the tenant's own, and a send must satisfy **all** of them. Because
    tenant rules are only ever intersected with the legal ones, a tenant can narrow the window
    but never widen it: a tenant rule of 07:00-23:00 for US SMS still sends at 08:00-21:00.

    Wall-clock time is evaluated exactly across DST changes: the timeline is cut where the
    zone's UTC offset changes and each piece is mapped on its own, so a window starting in a
    spring-forward gap opens at the transition (the first instant the clock reads at least the
    start), and in an autumn fold the repeated hour is judged by what the clock shows each time.

    When the recipient's zone is unknown the check is made in *every* zone of the country
    (``zone.tab``) and an instant is allowed only if it is allowed in all of them; when the US
    state is unknown, every state rule applies. When neither zone nor country is known, no
    instant can be shown to be allowed: :func:`next_allowed` raises :class:`NoSendWindow`
    (reason ``"no time zone"``) and the sender holds the message rather than guess.

Frequency caps
    At most ``max_messages`` sends per ``per_seconds`` sliding window, per contact and channel
    across all flows (the caller passes that contact's recent sends on the channel). Marketing
    only: transactional messages (receipts, shipping updates) are never capped.

Reputation breaker
    Pause marketing email when the bounce or complaint rate nears the levels at which SES puts
    an account under review (5% bounces, 0.1% complaints), well before they are reached.

Everything here is a compliance floor, not legal advice: the state table cites its sources and
should be reviewed by counsel when laws change.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linkstar.errors import LinkStarError
from linkstar.outreach.models import Channel, Purpose
from linkstar.text import DEFAULT as DEFAULT_LOCALE
from linkstar.text import Text

Weekday = int  # Monday = 0 … Sunday = 6, as ``date.weekday()``
DayWindow = tuple[time, time]  # [start, end) local wall-clock time; end <= start crosses midnight

SUNDAY: Final = 6
_TEXT_CHANNELS: Final[frozenset[Channel]] = frozenset({"sms", "whatsapp"})


class NoSendWindow(LinkStarError):
    """No instant can be shown to be allowed (no time zone at all, or rules that never overlap).

    Not a failure of the send: the sender holds the message with :attr:`reason`.
    """

    status = 422
    code = "no_send_window"

    def __init__(self, reason: str, said: Text) -> None:
        super().__init__(said)
        self.reason = reason  # English, for logs and callers that match on it
        self.said = said


# --------------------------------------------------------------------------------------------
# Quiet hours: rules
# --------------------------------------------------------------------------------------------


def _check_window(window: DayWindow) -> DayWindow:
    start, end = window
    if start.tzinfo is not None or end.tzinfo is not None:
        raise ValueError("quiet-hour times are local wall-clock times: give them without a zone")
    if start == end:
        # Ambiguous (all day or never?): a day without sending is ``days={d: None}``, and a
        # day without limits needs no rule at all.
        raise ValueError("a sending window needs start != end")
    return window


class QuietHoursRule(BaseModel):
    """When, in the recipient's local time, messages of ``channels`` x ``purposes`` may be sent.

    Sending is allowed from ``start`` (inclusive) to ``end`` (exclusive) local time; when ``end``
    is at or before ``start`` the window runs past midnight into the next day. ``days`` overrides
    the window for some weekdays (Monday = 0 … Sunday = 6): a ``(start, end)`` pair replaces it,
    ``None`` closes the day. A window crossing midnight belongs to the weekday it starts on.

    ``country`` is ISO 3166-1 alpha-2 or ``"*"`` (every country); ``region`` narrows it to a
    subdivision (a US state's two-letter code). Tenant rules (kept as JSON documents in
    ``policy.OutreachSettings.quiet_hours``) use the same model and are always intersected with
    the legal rules, so they can only narrow when a message goes out.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    country: str = Field(min_length=1, max_length=2)
    region: str | None = Field(default=None, min_length=1, max_length=10)
    channels: frozenset[Channel] = Field(min_length=1)
    purposes: frozenset[Purpose] = Field(default=frozenset({"marketing"}), min_length=1)
    start: time
    end: time
    days: dict[Weekday, DayWindow | None] = {}
    source: str = "tenant"  # who says so: a statute for legal rules

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        value = value.upper()
        if value != "*" and not re.fullmatch(r"[A-Z]{2}", value):
            raise ValueError("country is an ISO 3166-1 alpha-2 code or '*'")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return value.upper() if value else None

    @field_validator("days")
    @classmethod
    def _days(cls, value: dict[Weekday, DayWindow | None]) -> dict[Weekday, DayWindow | None]:
        for weekday, window in value.items():
            if not 0 <= weekday <= SUNDAY:
                raise ValueError(f"weekday {weekday} is not 0 (Monday) … 6 (Sunday)")
            if window is not None:
                _check_window(window)
        return value

    @model_validator(mode="after")
    def _whole(self) -> QuietHoursRule:
        _check_window((self.start, self.end))
        if self.region and self.country == "*":
            raise ValueError("a region needs a country")
        return self

    def window_on(self, weekday: Weekday) -> DayWindow | None:
        """The sending window of a day that starts on ``weekday``; None when the day is closed."""
        if weekday in self.days:
            return self.days[weekday]
        return (self.start, self.end)

    def covers(self, channel: str, purpose: str) -> bool:
        return channel in self.channels and purpose in self.purposes


def _legal(
    country: str,
    region: str | None,
    start: int,
    end: int,
    source: str,
    days: dict[Weekday, DayWindow | None] | None = None,
) -> QuietHoursRule:
    return QuietHoursRule(
        country=country,
        region=region,
        channels=_TEXT_CHANNELS,
        purposes=frozenset({"marketing"}),
        start=time(start),
        end=time(end),
        days=days or {},
        source=source,
    )


_SUNDAY_CLOSED: Final[dict[Weekday, DayWindow | None]] = {SUNDAY: None}

# The legal floor for marketing text messages (SMS and WhatsApp: the FCC treats texts as calls,
# and the newer state laws name text and over-the-top messages expressly). Each state rule is
# evaluated in the recipient's local time. Where sources disagree the stricter reading is used.
# Not modelled (the sender must not rely on this table for them): state legal holidays (AL, LA
# ban solicitation on them), Louisiana's ban during a declared state of emergency
# (La. R.S. 45:844.31), and states whose rules we could not confirm (e.g. RI, KY, MA, UT).
LEGAL_RULES: Final[tuple[QuietHoursRule, ...]] = (
    # Our default everywhere: the US federal hours, the most widely cited standard.
    _legal("*", None, 8, 21, "LinkStar default: 08:00-21:00 local, the TCPA hours"),
    _legal("US", None, 8, 21, "TCPA, 47 U.S.C. § 227; 47 CFR § 64.1200(c)(1)"),
    _legal("US", "FL", 8, 20, "Fla. Stat. § 501.616(6)(a) (SB 1120, 2021)"),
    _legal("US", "OK", 8, 20, "Okla. Stat. tit. 15, § 775C.4 (Telephone Solicitation Act 2022)"),
    _legal("US", "MD", 8, 20, "Md. Code, Com. Law § 14-4502 (Stop the Spam Calls Act 2023)"),
    _legal("US", "WA", 8, 20, "RCW 19.158.040(2) (commercial telephone solicitation)"),
    _legal("US", "OR", 8, 20, "Or. Laws 2025 ch. 580 (HB 3865), in force 2026-01-01"),
    _legal("US", "NV", 9, 20, "NRS 598.0918(3): no solicitation between 8 p.m. and 9 a.m."),
    _legal("US", "CT", 9, 20, "Conn. Gen. Stat. § 42-288a (P.A. 23-98, from 2023-10-01)"),
    _legal(
        "US",
        "TX",
        9,
        21,
        "Tex. Bus. & Com. Code § 301.051 (texts since SB 140, 2025-09-01)",
        days={SUNDAY: (time(12), time(21))},
    ),
    _legal(
        "US", "AL", 8, 20, "Ala. Admin. Code r. 770-X-5-.17(1)(b): none on Sundays", _SUNDAY_CLOSED
    ),
    _legal("US", "LA", 8, 20, "La. R.S. 45:844.11 ff.; LPSC General Order R-29617", _SUNDAY_CLOSED),
    # Hours are cited as 20:00 and as 21:00 "Central Standard Time"; the earlier end is used.
    _legal("US", "MS", 8, 20, "Miss. Code Ann. § 77-3-723(1): none on Sundays", _SUNDAY_CLOSED),
)


def _regions(region: str | Iterable[str] | None) -> frozenset[str]:
    if region is None:
        return frozenset()
    if isinstance(region, str):
        return frozenset({region.upper()}) if region.strip() else frozenset()
    return frozenset(r.upper() for r in region if r and r.strip())


def _applies(
    rule: QuietHoursRule, country: str | None, regions: frozenset[str], channel: str, purpose: str
) -> bool:
    if not rule.covers(channel, purpose):
        return False
    if rule.country == "*":
        return True
    if country is None:
        return True  # country unknown: every country's rules, to be safe
    if rule.country != country:
        return False
    # Region unknown: every regional rule of the country applies (their intersection).
    return rule.region is None or not regions or rule.region in regions


def allowed_window(
    country: str | None,
    region: str | Iterable[str] | None,
    channel: str,
    purpose: str,
    tenant_rules: Iterable[QuietHoursRule] = (),
) -> list[QuietHoursRule]:
    """The rules a send must satisfy, all at once: the legal ones, then the tenant's.

    ``region`` may name several places (e.g. the state of the contact's address and the state
    of the phone's area code, which FL, OK and CT presume is where the recipient is); every one
    of their rules applies. An unknown region applies all of the country's regional rules; an
    unknown country applies every rule in the table. An empty list means no quiet hours.
    """
    country_code = country.upper() if country and country.strip() else None
    regions = _regions(region)
    return [
        rule
        for rule in (*LEGAL_RULES, *tenant_rules)
        if _applies(rule, country_code, regions, channel, purpose)
    ]


# --------------------------------------------------------------------------------------------
# Quiet hours: time zones and the timeline
# --------------------------------------------------------------------------------------------

Interval = tuple[datetime, datetime]  # [start, end) aware UTC

_LOOKBACK: Final = timedelta(days=2)  # a window that opened yesterday evening may still be open
_HORIZON: Final = timedelta(days=15)  # two weekly cycles; beyond that the rules never overlap
# Offsets are sampled this often and each change is pinned to the second by bisection. Real
# zones change offset at most a few times a year, never twice within an hour.
_PROBE: Final = timedelta(hours=1)


@lru_cache(maxsize=1)
def _zone_tab() -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """(zones by country, country by zone) from tzdata's zone.tab: the zones people live in."""
    by_country: dict[str, list[str]] = {}
    by_zone: dict[str, str] = {}
    text = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text()
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _coordinates, zone = line.split("\t")[:3]
        by_country.setdefault(country, []).append(zone)
        by_zone[zone] = country
    return {c: tuple(z) for c, z in by_country.items()}, by_zone


def country_zones(country: str) -> tuple[str, ...]:
    """Every time zone of ``country`` (ISO alpha-2) per zone.tab; () when it lists none."""
    return _zone_tab()[0].get(country.upper(), ())


def _zone_info(key: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        return None  # a malformed key is treated as no zone: the conservative fallback applies


def _zone_keys(zone: str | Iterable[str] | None) -> list[str]:
    if zone is None:
        return []
    if isinstance(zone, str):
        return [zone] if zone.strip() else []
    return [z for z in zone if z and z.strip()]


def _offset(zone: ZoneInfo, instant: datetime) -> timedelta:
    offset = instant.astimezone(zone).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset for an aware instant
    return offset


def _offset_segments(
    zone: ZoneInfo, start: datetime, end: datetime
) -> tuple[tuple[datetime, datetime, timedelta], ...]:
    """Cut [start, end) into pieces over which the zone's UTC offset is constant."""
    segments: list[tuple[datetime, datetime, timedelta]] = []
    seg_start, offset, probe = start, _offset(zone, start), start
    while probe < end:
        ahead = min(probe + _PROBE, end)
        ahead_offset = _offset(zone, ahead)
        if ahead_offset != offset:
            # Bisect in whole seconds (tzdata transitions fall on whole seconds).
            lo, hi = int(probe.timestamp()), int(ahead.timestamp())
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset(zone, datetime.fromtimestamp(mid, UTC)) == ahead_offset:
                    hi = mid
                else:
                    lo = mid
            change = datetime.fromtimestamp(hi, UTC)
            segments.append((seg_start, change, offset))
            seg_start, offset = change, ahead_offset
        probe = ahead
    segments.append((seg_start, end, offset))
    return tuple(segments)


def _rule_intervals(
    rule: QuietHoursRule, segments: Sequence[tuple[datetime, datetime, timedelta]]
) -> list[Interval]:
    """The UTC instants at which the local wall clock is inside one of the rule's windows.

    Within a constant-offset piece wall time is UTC plus the offset, so each window maps back by
    subtracting it. Wall times that a spring-forward gap skips never occur in any piece; times
    an autumn fold repeats occur in two pieces and are judged in each.
    """
    intervals: list[Interval] = []
    for seg_start, seg_end, offset in segments:
        wall_start = (seg_start + offset).replace(tzinfo=None)
        wall_end = (seg_end + offset).replace(tzinfo=None)
        day = wall_start.date() - timedelta(days=1)
        while day <= wall_end.date():
            window = rule.window_on(day.weekday())
            if window is not None:
                opens, closes = window
                end_day = day if closes > opens else day + timedelta(days=1)
                lo = max(datetime.combine(day, opens), wall_start)
                hi = min(datetime.combine(end_day, closes), wall_end)
                if lo < hi:
                    intervals.append(
                        ((lo - offset).replace(tzinfo=UTC), (hi - offset).replace(tzinfo=UTC))
                    )
            day += timedelta(days=1)
    return _merge(intervals)


def _merge(intervals: list[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _as_utc(instant: datetime, name: str = "at") -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime (UTC)")
    return instant.astimezone(UTC)


def next_allowed(
    at: datetime,
    zone: str | Iterable[str] | None,
    country: str | None,
    region: str | Iterable[str] | None,
    channel: str,
    purpose: str,
    tenant_rules: Iterable[QuietHoursRule] = (),
) -> datetime:
    """``at`` (as UTC) if a send is allowed then, else the next instant it is (aware UTC).

    ``zone`` is the recipient's IANA zone; several candidate zones (e.g. those of a phone's area
    code) mean the instant must be allowed in each. Without a zone, every zone of ``country``
    is used; without a country, the zone's country (zone.tab) decides which legal rules apply.
    A malformed zone counts as unknown.

    Raises :class:`NoSendWindow` when rules apply but neither zone nor country is known
    (reason ``"no time zone"``), or when the rules never overlap (e.g. a tenant window inside
    a time the law closes).
    """
    at = _as_utc(at)
    zones = [info for key in _zone_keys(zone) if (info := _zone_info(key)) is not None]
    country_code = country.upper() if country and country.strip() else None
    if country_code is None and zones:
        countries = {_zone_tab()[1].get(info.key) for info in zones}
        if len(countries) == 1:
            country_code = countries.pop()  # None when the zone isn't a country's (e.g. "UTC")

    rules = allowed_window(country_code, region, channel, purpose, tenant_rules)
    if not rules:
        return at
    if not zones and country_code:
        zones = [info for key in country_zones(country_code) if (info := _zone_info(key))]
    if not zones:
        raise NoSendWindow("no time zone", Text("outreach.no_time_zone"))

    start = at.replace(second=0, microsecond=0) - _LOOKBACK
    end = at + _HORIZON
    # Zones with the same offsets over the horizon (America/Indiana/* and New York, say) give
    # the same answer: evaluate each timeline once.
    timelines = {_offset_segments(info, start, end) for info in zones}
    allowed: list[Interval] | None = None
    for segments in timelines:
        for rule in rules:
            intervals = _rule_intervals(rule, segments)
            allowed = intervals if allowed is None else _intersect(allowed, intervals)
    for opens, closes in allowed or ():
        if closes > at:
            return max(opens, at)
    raise NoSendWindow(
        f"no common send window within {_HORIZON.days} days",
        Text("outreach.no_send_window", days=_HORIZON.days),
    )


def describe_hold(
    until: datetime, zone: str | Iterable[str] | None, why: str = "quiet hours"
) -> str:
    """A hold reason in English, "quiet hours until 2026-11-11T08:00-08:00" (for logs; the
    seller reads :func:`quiet_hours_hold`, in their language).

    The instant is shown in the recipient's zone (minute precision, with its offset) when there
    is exactly one, else in UTC.
    """
    return f"{why} until {local_instant(until, zone)}"


def quiet_hours_hold(until: datetime, zone: str | Iterable[str] | None) -> Text:
    """:func:`describe_hold` of quiet hours as the seller reads it, in their language."""
    return Text("outreach.quiet_hours_until", until=local_instant(until, zone))


def local_instant(until: datetime, zone: str | Iterable[str] | None) -> str:
    """``until`` in the recipient's zone when there is exactly one, else in UTC (minutes and
    offset): what a hold reason shows."""
    until = _as_utc(until, "until")
    zones = [info for key in _zone_keys(zone) if (info := _zone_info(key)) is not None]
    local = until.astimezone(zones[0]) if len(zones) == 1 else until
    return local.isoformat(timespec="minutes")


# --------------------------------------------------------------------------------------------
# US states from phone numbers
# --------------------------------------------------------------------------------------------

_US_STATES: Final[dict[str, str]] = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Florida": "FL", "Georgia": "GA",
    "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL", "Indiana": "IN", "Iowa": "IA",
    "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA", "Maine": "ME", "Maryland": "MD",
    "Massachusetts": "MA", "Michigan": "MI", "Minnesota": "MN", "Mississippi": "MS",
    "Missouri": "MO", "Montana": "MT", "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH",
    "New Jersey": "NJ", "New Mexico": "NM", "New York": "NY", "North Carolina": "NC",
    "North Dakota": "ND", "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington State": "WA",
    "Washington D.C.": "DC", "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}  # fmt: skip
_STATE_CODES: Final = frozenset(_US_STATES.values())


def us_state_for_phone(e164: str | None) -> str | None:
    """The two-letter US state (or DC) of a +1 number's area code; None when it can't be placed.

    libphonenumber's geocoder names the state for every geographic US area code ("Florida",
    "Washington State", or "New York, NY" for some). The area code, not the exchange, is what
    the statutes presume (FL, OK and CT: a call to one of the state's area codes is a call to a
    resident), so the area code's own entry is preferred: an exchange-level entry can name a
    neighbouring state's city (201-631, in New Jersey, reads "New York, NY"). Toll-free,
    non-US (Canada, the Caribbean) and invalid numbers give None, which callers treat
    conservatively (every state rule applies).
    """
    if not e164 or not e164.startswith("+1"):
        return None
    import phonenumbers  # ~40 ms to import: only paths that place numbers need it
    from phonenumbers import geocoder

    try:
        number = phonenumbers.parse(e164)
    except phonenumbers.NumberParseException:
        return None
    if (
        not phonenumbers.is_valid_number(number)
        or phonenumbers.region_code_for_number(number) != "US"
    ):
        return None
    area_code = phonenumbers.national_significant_number(number)[:3]
    # "+1 AAA 000-0000" matches only an entry for the area code as a whole, if it has one: NANP
    # exchanges never start with 0. (It is not a valid number itself, hence
    # description_for_valid_number, once the real number has been validated.) Area codes
    # geocoded only exchange by exchange (203, 310, 713 …) fall back to the number's own entry.
    representative = phonenumbers.parse(f"+1{area_code}0000000")
    description = geocoder.description_for_valid_number(
        representative, "en"
    ) or geocoder.description_for_number(number, "en")
    if description in _US_STATES:
        return _US_STATES[description]
    city_state = re.fullmatch(r".+, ([A-Z]{2})", description)
    if city_state and city_state.group(1) in _STATE_CODES:
        return city_state.group(1)
    return None


# --------------------------------------------------------------------------------------------
# Frequency caps
# --------------------------------------------------------------------------------------------


class FrequencyCap(BaseModel):
    """At most ``max_messages`` sends of ``channel`` x ``purpose`` in any ``per_seconds`` window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    channel: Channel
    purpose: Purpose = "marketing"
    max_messages: int = Field(ge=1)
    per_seconds: int = Field(ge=1)
    source: str = "tenant"

    @property
    def period(self) -> timedelta:
        return timedelta(seconds=self.per_seconds)


_DAY: Final = 24 * 3600

DEFAULT_CAPS: Final[tuple[FrequencyCap, ...]] = (
    FrequencyCap(channel="sms", max_messages=1, per_seconds=_DAY, source="LinkStar default"),
    FrequencyCap(channel="whatsapp", max_messages=1, per_seconds=_DAY, source="LinkStar default"),
    FrequencyCap(channel="email", max_messages=1, per_seconds=16 * 3600, source="LinkStar default"),
)

# Applied whatever a tenant configures: FL, OK and MD allow at most three solicitations per
# 24 hours (on the same subject; we don't track subjects, so all count), and we apply it to every
# recipient because a number's state is not always known.
LEGAL_CAPS: Final[tuple[FrequencyCap, ...]] = tuple(
    FrequencyCap(
        channel=channel,
        max_messages=3,
        per_seconds=_DAY,
        source="Fla. Stat. § 501.616(6)(b); Okla. Stat. tit. 15, § 775C.4; Md. Com. Law § 14-4502",
    )
    for channel in ("sms", "whatsapp")
)


def caps_for(
    channel: str, purpose: str, caps: Iterable[FrequencyCap] = DEFAULT_CAPS
) -> list[FrequencyCap]:
    """The caps a send of ``channel`` x ``purpose`` must respect: the configured ones (the
    defaults unless a tenant set its own) plus the legal ones. Transactional messages are never
    capped, whatever is configured: a receipt or a shipping update must always arrive."""
    if purpose == "transactional":
        return []
    return [c for c in (*caps, *LEGAL_CAPS) if c.channel == channel and c.purpose == purpose]


def cap_release(
    recent_sends: Sequence[datetime], cap: FrequencyCap, at: datetime
) -> datetime | None:
    """None if one more send at ``at`` stays within ``cap``, else the earliest instant it would.

    ``recent_sends`` are this contact's sends counted by the cap (same channel and purpose, from
    every flow). A send counts while it is less than ``per_seconds`` old; a send stamped after
    ``at`` (clocks of concurrent senders differ slightly) counts too.
    """
    at = _as_utc(at)
    window_start = at - cap.period
    in_window = sorted(s for s in map(_as_utc, recent_sends) if s > window_start)
    if len(in_window) < cap.max_messages:
        return None
    # Once the oldest (n - max + 1) sends have aged out, max - 1 remain and one more fits.
    return in_window[len(in_window) - cap.max_messages] + cap.period


def caps_release(
    recent_sends: Sequence[datetime], caps: Iterable[FrequencyCap], at: datetime
) -> datetime | None:
    """:func:`cap_release` for several caps at once: the latest of their releases.

    Each cap only loosens as sends age, so the instant the last one releases satisfies all.
    """
    releases = [r for cap in caps if (r := cap_release(recent_sends, cap, at)) is not None]
    return max(releases) if releases else None


def trim_recent_sends(
    recent_sends: Sequence[datetime], caps: Iterable[FrequencyCap], at: datetime
) -> list[datetime]:
    """The part of ``recent_sends`` any of ``caps`` can still need, oldest first (aware UTC).

    Sends older than the longest cap period can never count again, and of the rest only the
    ``max_messages`` most recent matter to :func:`cap_release`. Store the result in place of
    the full list so the per-contact record stays small.
    """
    caps = list(caps)
    if not caps:
        return []
    at = _as_utc(at)
    longest = max(cap.period for cap in caps)
    keep = max(cap.max_messages for cap in caps)
    live = sorted(s for s in map(_as_utc, recent_sends) if s > at - longest)
    return live[-keep:]


# --------------------------------------------------------------------------------------------
# Reputation breaker
# --------------------------------------------------------------------------------------------

# SES reviews an account at a 5% bounce or 0.1% complaint rate and may pause sending at 10% /
# 0.5%; pausing a tenant's marketing at 2% / 0.08% leaves room to fix a list before the shared
# sending reputation (every tenant's) is at risk.
BOUNCE_RATE_PAUSE: Final = Decimal("0.02")
COMPLAINT_RATE_PAUSE: Final = Decimal("0.0008")


class ReputationVerdict(BaseModel):
    model_config = ConfigDict(frozen=True)

    paused: bool
    reason: str | None = None  # why it paused (English); None when it didn't
    reason_message: dict[str, Any] | None = None  # the same as a Text.dump()
    sent: int
    bounce_rate: Decimal  # permanent bounces / sent
    complaint_rate: Decimal  # complaints / sent
    enough_data: bool  # False below min_sent: rates are shown but never pause


def _percent(rate: Decimal) -> str:
    value = (rate * 100).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP).normalize()
    return f"{value:f}%"


def reputation_status(
    sent: int,
    bounces: int,
    complaints: int,
    min_sent: int = 100,
    bounce_threshold: Decimal = BOUNCE_RATE_PAUSE,
    complaint_threshold: Decimal = COMPLAINT_RATE_PAUSE,
) -> ReputationVerdict:
    """Whether a tenant's marketing email should pause, from its recent sending counts.

    Below ``min_sent`` sends it never pauses: with 40 sends one mistyped address is a 2.5%
    bounce rate, so a new tenant would be stopped by noise; SES, too, judges rates over a
    representative volume. Rates at or above a threshold pause.
    """
    if min(sent, bounces, complaints, min_sent) < 0:
        raise ValueError("counts can't be negative")
    bounce_rate = Decimal(bounces) / Decimal(sent) if sent else Decimal(0)
    complaint_rate = Decimal(complaints) / Decimal(sent) if sent else Decimal(0)
    enough_data = sent >= min_sent and sent > 0
    reasons: list[Text] = []
    if enough_data and bounce_rate >= bounce_threshold:
        reasons.append(
            Text(
                "outreach.bounce_rate_over",
                rate=_percent(bounce_rate),
                limit=_percent(bounce_threshold),
            )
        )
    if enough_data and complaint_rate >= complaint_threshold:
        reasons.append(
            Text(
                "outreach.complaint_rate_over",
                rate=_percent(complaint_rate),
                limit=_percent(complaint_threshold),
            )
        )
    said = reasons[0] if len(reasons) == 1 else None
    if len(reasons) == 2:
        said = Text("outreach.reasons", first=reasons[0], rest=reasons[1])
    return ReputationVerdict(
        paused=bool(reasons),
        reason=said.render(DEFAULT_LOCALE) if said else None,
        reason_message=said.dump() if said else None,
        sent=sent,
        bounce_rate=bounce_rate,
        complaint_rate=complaint_rate,
        enough_data=enough_data,
    )


__all__ = [
    "DEFAULT_CAPS",
    "LEGAL_CAPS",
    "LEGAL_RULES",
    "FrequencyCap",
    "NoSendWindow",
    "QuietHoursRule",
    "ReputationVerdict",
    "allowed_window",
    "cap_release",
    "caps_for",
    "caps_release",
    "country_zones",
    "describe_hold",
    "local_instant",
    "next_allowed",
    "quiet_hours_hold",
    "reputation_status",
    "trim_recent_sends",
    "us_state_for_phone",
]
