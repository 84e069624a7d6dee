"""Contacts and consent: who may be messaged, on which channel, for which purpose, and why.

A contact's id is the tenant's customer id for the same email (``linkstar.ids``), so a buyer
who ordered and a subscriber added through the API are one person. Contacts come from the API
(``POST /contacts``) and from ingested customers and checkouts; values a seller gave through the
API are never overwritten by what a platform later says, only filled in.

Consent is per channel and purpose. Marketing needs an explicit "subscribed" record; SMS and
WhatsApp marketing consent can only come from an explicit opt-in (the API, an import carrying
proof, or a START keyword), never from a platform's email marketing flag. Withdrawal is as easy
as giving: one link, one click, one STOP. Every change is kept as a history item (source,
time, proof) so consent is demonstrable (GDPR Art. 7(1)).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from linkstar import ids
from linkstar.contacts import timezone_for, to_e164
from linkstar.errors import BadRequest, ConcurrentUpdate
from linkstar.orders.state import DomainEvent
from linkstar.outreach import compliance
from linkstar.outreach.compliance import QuietHoursRule
from linkstar.outreach.models import CHANNELS, Consent, Contact
from linkstar.store import dynamo, outbox
from linkstar.store import outreach as repo
from linkstar.text import Text

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["subscribed", "unsubscribed"]
    purpose: Literal["marketing", "transactional"] = "marketing"
    source: str | None = Field(default=None, max_length=200)
    proof: dict[str, Any] = {}


class ContactIn(BaseModel):
    """``POST /contacts`` body (one contact)."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, min_length=2, max_length=2)
    region: str | None = Field(default=None, max_length=10)
    locale: str | None = Field(default=None, max_length=35)
    time_zone: str | None = Field(default=None, max_length=64)
    consent: dict[str, ConsentIn | Literal["subscribed", "unsubscribed"]] = {}

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not _EMAIL.match(value):
            raise ValueError(str(Text("outreach.not_an_email")))
        return value

    @field_validator("country", "region")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.upper() if value else value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value and not _LOCALE.match(value):
            raise ValueError(str(Text("outreach.not_a_locale")))
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError) as exc:
                raise ValueError(str(Text("outreach.not_a_time_zone"))) from exc
        return value

    @field_validator("consent")
    @classmethod
    def _channels(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(CHANNELS))
        if unknown:
            raise ValueError(str(Text("outreach.unknown_channels", channels=unknown)))
        return value


def contact_id_for(tenant_id: str, email: str | None, phone: str | None) -> str:
    if email:
        return ids.customer_id_for_email(tenant_id, email)
    if phone:
        digest = hashlib.sha256(f"{tenant_id}|phone|{phone}".encode()).hexdigest()
        return "c" + digest[:20]
    raise BadRequest(Text("outreach.contact_needs_address"), code="contact_unreachable")


def _with_zone(contact: Contact) -> Contact:
    if contact.time_zone_source == "given":
        return contact
    zone, source = timezone_for(contact.phone, contact.country)
    if zone and (zone, source) != (contact.time_zone, contact.time_zone_source):
        return contact.model_copy(update={"time_zone": zone, "time_zone_source": source})
    return contact


def _subscribed_event(contact: Contact, channel: str, at: datetime) -> DomainEvent:
    detail = {
        "tenant_id": contact.tenant_id,
        "contact_id": contact.contact_id,
        "customer_id": contact.contact_id,
        "email": contact.email,
        "channel": channel,
        "created_at": at.isoformat(),
    }
    event_id = ids.event_id(
        contact.tenant_id, contact.contact_id, "subscribed", channel, at.isoformat()
    )
    return DomainEvent(event_id, "contact.subscribed", detail)


def _save(
    before: Contact | None,
    after: Contact,
    changes: list[tuple[str, str, Consent]],
    at: datetime,
    announce: bool = True,
    extra_ops: list[dynamo.Op] | None = None,
) -> Contact:
    after = after.model_copy(update={"version": (before.version if before else 0) + 1})
    events = (
        []
        if not announce
        else [
            _subscribed_event(after, channel, at)
            for channel, purpose, consent in changes
            if purpose == "marketing"
            and consent.status == "subscribed"
            and not _was_subscribed(before, channel)
            and channel == "email"
        ]
    )
    ops = repo.contact_ops(after, before.version if before else 0, changes)
    ops += outbox.event_ops(after.tenant_id, events, at.isoformat())
    dynamo.transact([*ops, *(extra_ops or [])])
    return after


def _was_subscribed(contact: Contact | None, channel: str) -> bool:
    if contact is None:
        return False
    found = contact.consent_for(channel, "marketing")
    return found is not None and found.status == "subscribed"


def _merge_consent(
    contact: Contact, channel: str, purpose: str, consent: Consent
) -> tuple[Contact, list[tuple[str, str, Consent]]]:
    current = contact.consent_for(channel, purpose)
    if current is not None and current.status == consent.status:
        return contact, []
    by_channel = {c: dict(p) for c, p in contact.consent.items()}
    by_channel.setdefault(channel, {})[purpose] = consent
    return contact.model_copy(update={"consent": by_channel}), [(channel, purpose, consent)]


def upsert(tenant_id: str, incoming: ContactIn, actor: str, at: datetime) -> tuple[Contact, bool]:
    """Create or update a contact from the API. Returns (contact, created)."""
    phone = None
    if incoming.phone:
        phone = to_e164(incoming.phone, incoming.country)
        if phone is None:
            said = (
                Text("outreach.invalid_phone", phone=repr(incoming.phone))
                if incoming.country
                else Text("outreach.invalid_phone_no_country", phone=repr(incoming.phone))
            )
            raise BadRequest(said, code="invalid_phone")
    contact_id = contact_id_for(tenant_id, incoming.email, phone)
    for _ in range(3):
        before = repo.load_contact(tenant_id, contact_id)
        base = before or Contact(
            tenant_id=tenant_id, contact_id=contact_id, source="api", created_at=at, updated_at=at
        )
        update: dict[str, Any] = {"updated_at": at}
        for name in ("email", "first_name", "last_name", "country", "region", "locale"):
            value = getattr(incoming, name)
            if value is not None:
                update[name] = value
        if phone:
            update["phone"] = phone
        if incoming.time_zone:
            update.update(time_zone=incoming.time_zone, time_zone_source="given")
        after = _with_zone(base.model_copy(update=update))
        changes: list[tuple[str, str, Consent]] = []
        for channel, given in incoming.consent.items():
            spec = ConsentIn(status=given) if isinstance(given, str) else given
            consent = Consent(
                status=spec.status,
                source=spec.source or "api",
                at=at,
                proof={"recorded_by": actor, **spec.proof},
            )
            after, changed = _merge_consent(after, channel, spec.purpose, consent)
            changes += changed
        if before is not None and before.model_dump(exclude={"updated_at", "version"}) == (
            after.model_dump(exclude={"updated_at", "version"})
        ):
            return before, False
        try:
            return _save(before, after, changes, at), before is None
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate("the contact kept changing; try again")


def set_consent(
    tenant_id: str,
    contact_id: str,
    channel: str,
    purpose: str,
    status: Literal["subscribed", "unsubscribed"],
    source: str,
    proof: dict[str, Any],
    at: datetime,
    with_change: list[dynamo.Op] | None = None,
) -> Contact | None:
    """One consent change (unsubscribe link, STOP keyword, preference page). None when the
    contact doesn't exist. ``with_change`` is written in the same transaction as the change,
    and only if there is one (a stat counted once however often the request comes)."""
    for _ in range(3):
        before = repo.load_contact(tenant_id, contact_id)
        if before is None:
            return None
        consent = Consent(status=status, source=source, at=at, proof=proof)
        after, changes = _merge_consent(before, channel, purpose, consent)
        if not changes:
            return before
        try:
            return _save(
                before,
                after.model_copy(update={"updated_at": at}),
                changes,
                at,
                extra_ops=with_change,
            )
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate("the contact kept changing; try again")


def observe(
    tenant_id: str, detail: dict[str, Any], source: str, at: datetime, announce: bool = True
) -> Contact | None:
    """The contact behind an ingested customer, checkout or order event, created or filled in.

    ``source`` is where the data came from: the platform (``"shopify"``) for ingested events.
    Platform data never overrides what the seller set, and a platform's email marketing flag
    (Shopify's ``accepts_marketing``) grants email marketing consent only: SMS and WhatsApp
    need their own explicit opt-in. That consent's source is ``platform:<platform>``, with the
    store the flag came from as proof.
    """
    email = detail.get("email")
    phone = detail.get("phone")
    if phone:
        phone = to_e164(str(phone), detail.get("country"))
    if not email and not phone:
        return None
    contact_id = contact_id_for(tenant_id, email, phone)
    for _ in range(3):
        before = repo.load_contact(tenant_id, contact_id)
        base = before or Contact(
            tenant_id=tenant_id, contact_id=contact_id, source=source, created_at=at, updated_at=at
        )
        update: dict[str, Any] = {}
        for name, key in (
            ("email", "email"),
            ("first_name", "first_name"),
            ("last_name", "last_name"),
            ("country", "country"),
            ("locale", "locale"),
        ):
            if detail.get(key) and getattr(base, name) is None:
                update[name] = detail[key]
        if phone and base.phone is None:
            update["phone"] = phone
        if detail.get("timezone") and base.time_zone is None:
            update.update(time_zone=detail["timezone"], time_zone_source="platform")
        after = _with_zone(base.model_copy(update=update)) if update or before is None else base
        changes: list[tuple[str, str, Consent]] = []
        if (
            detail.get("accepts_marketing") is True
            and after.consent_for("email", "marketing") is None
        ):
            consent = Consent(
                status="subscribed",
                # "platform:shopify" (the caller knows the platform from the event or its store)
                source=source if source == "platform" else f"platform:{source}",
                at=at,
                proof={"platform_flag": "accepts_marketing", "store_id": detail.get("store_id")},
            )
            after, changes = _merge_consent(after, "email", "marketing", consent)
        if before is not None and not changes and after == before:
            return before
        try:
            # A backfilled order's flag is not a new subscription: no welcome for it.
            return _save(before, after.model_copy(update={"updated_at": at}), changes, at, announce)
        except ConcurrentUpdate:
            continue
    return repo.load_contact(tenant_id, contact_id)


def reachability(contact: Contact, channel: str, purpose: str) -> Text | None:
    """Why this contact can't be sent this message on this channel (None: it can)."""
    address = contact.address(channel)
    if not address:
        return Text("outreach.no_email_address" if channel == "email" else "outreach.no_phone")
    consent = contact.consent_for(channel, purpose)
    if purpose == "marketing":
        if channel == "in_app":
            if consent is not None and consent.status == "unsubscribed":
                return Text("outreach.unsubscribed")
        elif consent is None or consent.status != "subscribed":
            return Text("outreach.no_consent" if consent is None else "outreach.unsubscribed")
    elif consent is not None and consent.status == "unsubscribed":
        return Text("outreach.unsubscribed")
    # The suppression's reason is the seller's own words (or "hard bounce", "complaint").
    reason = repo.suppression_reason(contact.tenant_id, channel, address)
    return Text("outreach.suppressed", why=reason) if reason else None


# A channel's name in a reason ("email: no consent"); the English is the channel's key.
CHANNEL_NAMES = {
    "email": "outreach.channel_email",
    "sms": "outreach.channel_sms",
    "whatsapp": "outreach.channel_whatsapp",
    "in_app": "outreach.channel_in_app",
}


def unreachable_on(reasons: dict[str, Text]) -> Text:
    """Why no channel could reach a contact: "email: no consent; sms: no consent"."""
    said: Text | None = None
    for channel, why in reversed(reasons.items()):
        one = Text("outreach.on_channel", channel=Text(CHANNEL_NAMES[channel]), why=why)
        said = one if said is None else Text("outreach.reasons", first=one, rest=said)
    return said or Text("outreach.no_channel")


def next_lawful_moment(
    contact: Contact,
    channel: str,
    purpose: str,
    at: datetime,
    tenant_rules: Iterable[QuietHoursRule],
) -> datetime:
    """When this contact may next be sent this kind of message, in its own time zone: the
    state it lives in and its phone's area-code state must both allow it. Raises
    ``compliance.NoSendWindow`` when no lawful hour can be worked out."""
    states = {s for s in (contact.region, compliance.us_state_for_phone(contact.phone)) if s}
    return compliance.next_allowed(
        at,
        contact.time_zone,
        contact.country,
        sorted(states) or None,
        channel,
        purpose,
        tenant_rules,
    )
