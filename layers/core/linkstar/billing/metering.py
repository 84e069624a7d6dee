"""What one message costs in billable units, and the month it is billed in.

- email: one unit per recipient (a message here has one).
- SMS: one unit per segment (``linkstar.outreach.sms``: GSM-7 160/153, UCS-2 70/67), priced by
  the destination country, which is the phone number's country, not the contact's address.
- WhatsApp: one unit per message, by the template's category (``marketing``, ``utility``,
  ``authentication``; ``service`` for free-form replies) and the phone's country.
- in-app: one unit per message, by the contact's country.

A country that can't be known is ``ZZ`` (ISO 3166's user-assigned "unknown"): a rate card
rarely has it, so such a send is held as unpriceable rather than sent for free.

Rich content adds a surcharge unit beside the send's, priced by the plan's ``surcharges``
(``linkstar.billing.plans``) and held as unpriceable (``no_surcharge:<kind>``) when the plan has
none:

- ``email_attachment``: one per email that carries attachments (per recipient, however many
  files: the cost is the larger message, once).
- ``mms``: one per SMS that carries media, by the destination country, on top of its segments
  (a plan prices the MMS premium as a surcharge over the SMS rate, Klaviyo-style).

The month is the UTC month of the claim, the moment before the provider call when the message is
metered (``linkstar.outreach.sender``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from linkstar.outreach.models import Contact, Message

UNKNOWN_COUNTRY = "ZZ"
WHATSAPP_CATEGORIES = ("marketing", "utility", "authentication", "service")
SEND = "send"
MMS = "mms"
EMAIL_ATTACHMENT = "email_attachment"


@dataclass(frozen=True)
class Units:
    channel: str
    country: str
    units: int
    category: str = ""
    kind: str = SEND  # or a surcharge key: MMS, EMAIL_ATTACHMENT

    @property
    def features(self) -> tuple[str, ...]:
        """The surcharges the plan must price for this unit to be priceable."""
        return () if self.kind == SEND else (self.kind,)

    def as_dict(self) -> dict[str, Any]:
        """Compact (it is stored on the message and its usage record): defaults left out."""
        return {k: v for k, v in asdict(self).items() if v not in ("", SEND)}


def month_of(at: datetime) -> str:
    return (at if at.tzinfo is None else at.astimezone(UTC)).strftime("%Y-%m")


def phone_country(phone: str | None) -> str | None:
    if not phone:
        return None
    import phonenumbers  # ~40 ms: only the sender and billing paths pay it

    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "001" else None


def destination_country(message: Message, contact: Contact) -> str:
    if message.channel in ("sms", "whatsapp"):
        country = phone_country(message.to or contact.phone) or contact.country
    else:
        country = contact.country
    return (country or UNKNOWN_COUNTRY).upper()


def whatsapp_category(message: Message) -> str:
    declared = str((message.whatsapp_template or {}).get("category") or "").lower()
    if declared in WHATSAPP_CATEGORIES:
        return declared
    if message.whatsapp_template is None:
        return "service"  # free-form text: only lawful inside the customer's service window
    return "marketing" if message.purpose == "marketing" else "utility"


def units_for(message: Message, contact: Contact) -> list[Units]:
    country = destination_country(message, contact)
    if message.channel == "email":
        sent = [Units("email", country, 1)]
        if message.attachments:
            sent.append(Units("email", country, 1, kind=EMAIL_ATTACHMENT))
        return sent
    if message.channel == "sms":
        segments = message.sms_segments
        if segments is None:
            from linkstar.outreach.sms import encoding_of

            segments = encoding_of(message.text).segments
        sent = [Units("sms", country, max(segments, 1))]
        if message.media:
            sent.append(Units("sms", country, 1, kind=MMS))
        return sent
    if message.channel == "whatsapp":
        return [Units("whatsapp", country, 1, category=whatsapp_category(message))]
    return [Units("in_app", country, 1)]
