"""Contact data at the edge: E.164 phone numbers (via phonenumbers) and time zones.

A time zone is only ever *derived* when it is unambiguous (a phone number or country with a single
zone); the source of the value is kept so later outreach can tell a guess from a fact.
"""

from __future__ import annotations

import importlib.resources
from functools import lru_cache


def to_e164(raw: str | None, default_region: str | None = None) -> str | None:
    """Normalise a phone number to E.164, or None when it isn't a valid number."""
    if not raw or not raw.strip():
        return None
    import phonenumbers  # ~40 ms to import: only the ingest path needs it

    try:
        number = phonenumbers.parse(raw, (default_region or "").upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=1)
def _zones_by_country() -> dict[str, list[str]]:
    zones: dict[str, list[str]] = {}
    text = importlib.resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text()
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        country, _coords, zone = line.split("\t")[:3]
        zones.setdefault(country, []).append(zone)
    return zones


def timezone_for(phone_e164: str | None, country: str | None) -> tuple[str | None, str | None]:
    """Return (time zone, source) where source is ``phone`` or ``country``; (None, None) when
    the zone is ambiguous (e.g. a US country code without a number)."""
    if phone_e164:
        import phonenumbers
        from phonenumbers import timezone as phone_timezone

        try:
            zones = phone_timezone.time_zones_for_number(phonenumbers.parse(phone_e164))
        except phonenumbers.NumberParseException:
            zones = ()
        real = [z for z in zones if "/" in z]
        if len(real) == 1:
            return real[0], "phone"
    if country:
        zones_for_country = _zones_by_country().get(country.upper(), [])
        if len(zones_for_country) == 1:
            return zones_for_country[0], "country"
    return None, None
