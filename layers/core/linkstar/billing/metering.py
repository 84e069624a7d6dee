"""What one message costs in billable units, and the month it is billed in.

- email: one unit per recipient (a message here has one).
- SMS: one unit per segment (``linkstar.outreach.sms``: GSM-7 160/153, UCS-2 70/67), priced by
  the destination country, which is the phone number's country, not the contact's address.
- WhatsApp: one unit per message, by the template's category (``marketing``, ``utility``,
  ``authentication``; ``service`` for free-form replies) and the phone's country.
- in-app: one unit per message, by the contact's country.

A country that can't be known is ``ZZ`` (ISO 3166's user-assigned "unknown"): a rate card
rarely has it, so such a send is held as unpriceable rather than sent for free.

Surcharges (``mms``, ``email_attachment``) are priced by plans and invoices, but no channel
here sends media or attachments yet, so no send produces one.

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


@dataclass(frozen=True)
class Units:
    channel: str
    country: str
    units: int
    category: str = ""
    kind: str = "send"  # or a surcharge key: "mms", "email_attachment"

    def as_dict(self) -> dict[str, Any]:
        """Compact (it is stored on the message and its usage record): defaults left out."""
        return {k: v for k, v in asdict(self).items() if v not in ("", "send")}


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
        return [Units("email", country, 1)]
    if message.channel == "sms":
        segments = message.sms_segments
        if segments is None:
            from linkstar.outreach.sms import encoding_of

            segments = encoding_of(message.text).segments
        return [Units("sms", country, max(segments, 1))]
    if message.channel == "whatsapp":
        return [Units("whatsapp", country, 1, category=whatsapp_category(message))]
    return [Units("in_app", country, 1)]
