"""Outreach entities: contacts and their consent, flow runs, messages and send requests.

These are the domain models; the API maps them to its own views (``linkstar.api.outreach``) and
the repository (``linkstar.store.outreach``) to items. Time is always aware UTC.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from linkstar import text
from linkstar.text import Text

Channel = Literal["email", "sms", "whatsapp", "in_app"]
Purpose = Literal["marketing", "transactional"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "whatsapp", "in_app")
ConsentStatus = Literal["subscribed", "unsubscribed"]

MessageState = Literal[
    "queued",  # written, on its channel queue
    "held",  # waiting for quiet hours or a frequency cap to pass; released by a timer
    "sending",  # claimed by a sender: the provider call is in flight
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "complained",
    "suppressed",  # not sent: suppression list, no consent, no address
    "skipped",  # not sent: its flow run exited before it went out
    "failed",  # the provider refused it for good, or rendering failed
]
# Engagement only moves forward: a late "delivered" after "opened" changes nothing.
STATE_RANK: dict[str, int] = {
    "queued": 0,
    "held": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "opened": 5,
    "clicked": 6,
}
NEGATIVE_STATES = frozenset({"bounced", "complained", "suppressed", "skipped", "failed"})
UNSENT_STATES = frozenset({"queued", "held", "sending"})


class Consent(BaseModel):
    """One channel-and-purpose consent, with what makes it demonstrable (GDPR Art. 7(1))."""

    model_config = ConfigDict(frozen=True)

    status: ConsentStatus
    source: str  # "api", "import", "platform:shopify", "unsubscribe_link", "sms_keyword", …
    at: datetime
    proof: dict[str, Any] = {}


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    contact_id: str
    email: str | None = None
    phone: str | None = None  # E.164
    first_name: str | None = None
    last_name: str | None = None
    country: str | None = None  # ISO 3166-1 alpha-2
    region: str | None = None  # e.g. a US state, for state quiet-hour rules
    locale: str | None = None
    time_zone: str | None = None
    time_zone_source: str | None = None  # "given", "phone", "country"
    source: str = "api"
    # consent[channel][purpose]; transactional messages need no consent record.
    consent: dict[str, dict[str, Consent]] = {}
    created_at: datetime
    updated_at: datetime
    version: int = 0

    def consent_for(self, channel: str, purpose: str) -> Consent | None:
        return self.consent.get(channel, {}).get(purpose)

    def address(self, channel: str) -> str | None:
        if channel == "email":
            return self.email
        if channel in ("sms", "whatsapp"):
            return self.phone
        return self.contact_id  # in-app: the inbox is the contact's own

    def render_view(self) -> dict[str, Any]:
        return {
            "first_name": self.first_name,
            "last_name": self.last_name,
            "email": self.email,
            "phone": self.phone,
            "country": self.country,
            "locale": self.locale,
            "time_zone": self.time_zone,
        }


class FlowRun(BaseModel):
    """One contact's way through one flow, started by one trigger."""

    model_config = ConfigDict(frozen=True)

    tenant_id: str
    run_id: str
    flow_id: str
    flow_version: int
    contact_id: str
    trigger: str  # event type or "segment:<type>"
    trigger_event_id: str
    event: dict[str, Any]  # the trigger's detail: template context and correlation keys
    correlation: dict[str, str] = {}  # checkout_id, order_id, email, contact_id …
    state: Literal["active", "waiting", "completed", "exited"] = "active"
    step_index: int = 0
    as_of: datetime  # the flow's own time: waits count from when the previous one fell due
    wait_until: datetime | None = None
    waiting_for: str | None = None  # "wait" or "fallback:<step id>"
    exit_reason: str | None = None
    exit_reason_message: dict[str, Any] | None = None  # Text.dump() of exit_reason
    started_at: datetime
    updated_at: datetime
    version: int = 0


class Message(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    message_id: str
    contact_id: str
    channel: Channel
    purpose: Purpose
    flow_id: str | None = None
    run_id: str | None = None
    step_id: str | None = None
    template_id: str | None = None
    locale: str | None = None
    to: str | None = None
    subject: str | None = None
    text: str = ""
    html: str | None = None
    headers: dict[str, str] = {}
    whatsapp_template: dict[str, Any] | None = None
    # The template's rich content (``linkstar.outreach.templates.Attachment`` / ``MmsMedia``),
    # kept on the message as its text is: they are sent, and surcharged, as rendered.
    attachments: list[dict[str, str]] = []  # email
    media: list[dict[str, str]] = []  # sms: an MMS
    sms_encoding: str | None = None
    sms_segments: int | None = None
    state: MessageState = "queued"
    # Why it is held or was not sent: ``reason`` in English (logs, and what items written
    # before messages were translated hold) and ``reason_message``, the Text.dump() the
    # seller reads in their language. Set both with :func:`said`, never one alone.
    reason: str | None = None
    reason_message: dict[str, Any] | None = None
    hold_until: datetime | None = None
    attempts: int = 0
    provider_message_id: str | None = None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None = None
    events: list[dict[str, str]] = Field(default_factory=list)  # feedback history
    attributed_order_id: str | None = None
    # Set while the message is metered (from its claim): {"month": "YYYY-MM", "lines": [...]}.
    billing: dict[str, Any] | None = None
    version: int = 0

    @property
    def reason_for_people(self) -> Text | str | None:
        """The reason in the reader's language (an item stored before reasons were messages
        has only its English)."""
        if self.reason_message is not None:
            return text.load(self.reason_message)
        return self.reason


def said(reason: Text | str | None, field: str = "reason") -> dict[str, Any]:
    """``field`` (English) and ``<field>_message`` (the Text.dump()) for a model_copy update: a
    message's ``reason``, a run's ``exit_reason``. A plain string is someone's own words (a
    provider's, a seller's) and is shown as it is."""
    if isinstance(reason, Text):
        return {field: reason.render(text.DEFAULT), f"{field}_message": reason.dump()}
    return {field: reason, f"{field}_message": None}


class SendRequest(BaseModel):
    """What a channel queue carries: which message to send (its content is in the table)."""

    tenant_id: str
    message_id: str
    channel: Channel
    # A cause of a hold was lifted (a plan change): decide now, not when its timer is due.
    recheck: bool = False
