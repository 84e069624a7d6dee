"""EventBridge schedule expressions: ``rate(...)`` and ``cron(...)``, evaluated as AWS does.

``rate(n unit)`` fires every n minutes, hours or days, counted from when the schedule starts.
``cron(minutes hours day-of-month month day-of-week year)`` uses AWS's six-field syntax: day of
week 1-7 is SUN-SAT, one of the two day fields must be ``?``, and the extensions ``L``, ``W``
and ``#`` are understood. Cron expressions are evaluated in UTC unless a ``ScheduleV2`` names a
``ScheduleExpressionTimezone``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_WEEKDAYS = {
    name: i + 1 for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])
}
_LAST_YEAR = 2199


class ScheduleError(ValueError):
    """Not a schedule expression EventBridge would accept (or one this module cannot evaluate)."""


def _aws_weekday(day: date) -> int:
    """Python's Monday=0 to AWS's SUN=1..SAT=7."""
    return (day.weekday() + 1) % 7 + 1


@dataclass(frozen=True)
class Rate:
    period: timedelta

    def first_after(self, start: datetime) -> datetime:
        return start + self.period

    def next_after(self, previous: datetime) -> datetime:
        return previous + self.period


class Cron:
    def __init__(self, fields: str, timezone: str | None = None) -> None:
        parts = fields.split()
        if len(parts) != 6:
            raise ScheduleError(f"cron() needs 6 fields, got {len(parts)}: {fields!r}")
        minutes, hours, dom, months, dow, years = parts
        if (dom == "?") == (dow == "?"):
            raise ScheduleError("cron(): exactly one of day-of-month and day-of-week must be '?'")
        self.zone = ZoneInfo(timezone) if timezone else UTC
        self.minutes = _parse_set(minutes, 0, 59)
        self.hours = _parse_set(hours, 0, 23)
        self.months = _parse_set(months, 1, 12, _MONTHS)
        self.years = _parse_set(years, 1970, _LAST_YEAR)
        self._dom = dom
        self._dow = dow
        self._dom_set = _parse_set(dom, 1, 31) if dom != "?" and not _special(dom) else None
        self._dow_set = (
            _parse_set(dow, 1, 7, _WEEKDAYS) if dow != "?" and not _special(dow) else None
        )

    def first_after(self, start: datetime) -> datetime:
        return self.next_after(start)

    def next_after(self, previous: datetime) -> datetime:
        """The first whole minute strictly after ``previous`` that the expression selects."""
        local = previous.astimezone(self.zone).replace(tzinfo=None, second=0, microsecond=0)
        candidate = local + timedelta(minutes=1)
        while candidate.year <= _LAST_YEAR:
            if candidate.year not in self.years:
                candidate = datetime(candidate.year + 1, 1, 1)
            elif candidate.month not in self.months:
                candidate = _first_of_next_month(candidate)
            elif not self._day_matches(candidate.date()):
                candidate = datetime(candidate.year, candidate.month, candidate.day) + timedelta(
                    days=1
                )
            elif candidate.hour not in self.hours:
                candidate = candidate.replace(minute=0) + timedelta(hours=1)
            elif candidate.minute not in self.minutes:
                candidate += timedelta(minutes=1)
            else:
                return candidate.replace(tzinfo=self.zone).astimezone(UTC)
        raise ScheduleError("cron() never fires again")

    def _day_matches(self, day: date) -> bool:
        if self._dom != "?":
            return self._dom_matches(day)
        return self._dow_matches(day)

    def _dom_matches(self, day: date) -> bool:
        last = calendar.monthrange(day.year, day.month)[1]
        spec = self._dom
        if spec == "L":
            return day.day == last
        if spec.endswith("W"):
            target = last if spec == "LW" else int(spec[:-1])
            return day == _nearest_weekday(day.year, day.month, min(target, last))
        assert self._dom_set is not None
        return day.day in self._dom_set

    def _dow_matches(self, day: date) -> bool:
        spec = self._dow
        weekday = _aws_weekday(day)
        if spec == "L":
            return weekday == 7
        if spec.endswith("L"):
            wanted = _WEEKDAYS.get(spec[:-1].upper()) or int(spec[:-1])
            last = calendar.monthrange(day.year, day.month)[1]
            return weekday == wanted and day.day + 7 > last
        if "#" in spec:
            name, nth = spec.split("#", 1)
            wanted = _WEEKDAYS.get(name.upper()) or int(name)
            return weekday == wanted and (day.day - 1) // 7 + 1 == int(nth)
        assert self._dow_set is not None
        return weekday in self._dow_set


def parse(expression: str, timezone: str | None = None) -> Rate | Cron:
    text = expression.strip()
    rate = _RATE.match(text)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2).rstrip("s")
        if value < 1:
            raise ScheduleError(f"rate() needs a positive value: {expression!r}")
        return Rate(timedelta(**{f"{unit}s": value}))
    cron = _CRON.match(text)
    if cron:
        return Cron(cron.group(1), timezone)
    raise ScheduleError(f"not a rate() or cron() expression: {expression!r}")


def _special(spec: str) -> bool:
    return spec == "L" or spec.endswith(("L", "W")) or "#" in spec


def _parse_set(spec: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    def value(token: str) -> int:
        if names and token.upper() in names:
            return names[token.upper()]
        if not token.isdigit():
            raise ScheduleError(f"bad cron value {token!r}")
        number = int(token)
        if not low <= number <= high:
            raise ScheduleError(f"cron value {number} outside {low}-{high}")
        return number

    selected: set[int] = set()
    for item in spec.split(","):
        step = 1
        stepped = "/" in item
        if stepped:
            item, step_text = item.split("/", 1)
            step = int(step_text)
            if step < 1:
                raise ScheduleError(f"bad cron step in {spec!r}")
        if item in {"*", "?"}:
            start, end = low, high
        elif "-" in item:
            first, last = item.split("-", 1)
            start, end = value(first), value(last)
        else:
            start = value(item)
            end = high if stepped else start
        if start > end:
            raise ScheduleError(f"cron range {item!r} runs backwards")
        selected.update(range(start, end + 1, step))
    return selected


def _first_of_next_month(moment: datetime) -> datetime:
    if moment.month == 12:
        return datetime(moment.year + 1, 1, 1)
    return datetime(moment.year, moment.month + 1, 1)


def _nearest_weekday(year: int, month: int, day_of_month: int) -> date:
    """The weekday nearest the given day without leaving the month (cron's ``W``)."""
    target = date(year, month, day_of_month)
    weekday = target.weekday()
    if weekday < 5:
        return target
    last = calendar.monthrange(year, month)[1]
    if weekday == 5:  # Saturday: Friday, unless that leaves the month
        return target - timedelta(days=1) if day_of_month > 1 else target + timedelta(days=2)
    return target + timedelta(days=1) if day_of_month < last else target - timedelta(days=2)
