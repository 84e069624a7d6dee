"""A tenant's outreach settings: default locale and time zone, sender, quiet-hour rules,
frequency caps, attribution windows, and whether the reputation breaker has paused marketing
email.

The legal floor (TCPA hours, state rules) is in ``compliance``; what a tenant sets here can only
narrow it. Settings are read once per invocation per tenant (they change rarely).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from linkstar import text
from linkstar.outreach.compliance import FrequencyCap, QuietHoursRule
from linkstar.store import outreach as repo
from linkstar.text import Text


class ReputationPause(BaseModel):
    at: datetime
    reason: str  # English; a pause written before reasons were messages has only this
    reason_message: dict[str, Any] | None = None  # Text.dump() of the reason

    @property
    def reason_for_people(self) -> Text | str | None:
        return text.load(self.reason_message) if self.reason_message else self.reason


class OutreachSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_locale: str = "en"
    # The local time of a contact whose own zone is unknown (no time zone given, none derivable
    # from a phone or country): what a flow's "wait until 09:00" means for them. An IANA zone.
    default_time_zone: str | None = Field(default=None, max_length=64)
    sender_email: str | None = Field(default=None, max_length=320)
    sender_name: str | None = Field(default=None, max_length=100)
    quiet_hours: list[QuietHoursRule] = []  # only ever narrower than the legal windows
    frequency_caps: list[FrequencyCap] | None = None  # None: compliance.DEFAULT_CAPS
    # How long after a message an order still counts as its conversion (Klaviyo's defaults).
    attribution_hours: dict[str, int] = {"email": 120, "sms": 24, "whatsapp": 24, "in_app": 24}
    marketing_email_paused: ReputationPause | None = None

    @field_validator("default_time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(str(Text("outreach.not_a_settings_time_zone"))) from exc
        return value


_cache: dict[str, tuple[OutreachSettings, float]] = {}
CACHE_SECONDS = 30  # a change (or a reputation pause) reaches every warm container within this


def load(tenant_id: str) -> OutreachSettings:
    # The sender consults settings three times per message; one read per tenant per half
    # minute instead (bench/outreach.py counted seven reads per email-and-SMS run).
    cached = _cache.get(tenant_id)
    if cached and cached[1] > time.monotonic():
        return cached[0]
    doc = repo.load_settings_doc(tenant_id)
    settings = OutreachSettings.model_validate(doc) if doc else OutreachSettings()
    _cache[tenant_id] = (settings, time.monotonic() + CACHE_SECONDS)
    return settings


def save(tenant_id: str, settings: OutreachSettings) -> None:
    repo.put_settings_doc(tenant_id, settings.model_dump(mode="json"))
    _cache.pop(tenant_id, None)


def forget() -> None:
    _cache.clear()
