"""What one message is billed: units by channel, segments by alphabet, destination country from
the phone, WhatsApp category, and the UTC month."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from linkstar.billing.metering import Units, month_of, units_for
from linkstar.outreach.models import Contact, Message

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def contact(**fields: Any) -> Contact:
    return Contact(
        tenant_id="t1", contact_id="c1", source="api", created_at=NOW, updated_at=NOW, **fields
    )


def message(channel: str, **fields: Any) -> Message:
    return Message(
        tenant_id="t1",
        message_id="m1",
        contact_id="c1",
        channel=channel,  # type: ignore[arg-type]
        purpose=fields.pop("purpose", "transactional"),
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("Your order shipped", 1),
        ("a" * 160, 1),  # GSM-7 fits one message
        ("a" * 161, 2),  # then 153 per segment
        ("€" * 80, 1),  # extension characters cost 2 septets: 160
        ("€" * 81, 2),
        ("您好" * 35, 1),  # UCS-2: 70 in one message
        ("您好" * 35 + "!", 2),  # then 67 per segment
        ("🙂" * 35, 1),  # a surrogate pair each: 70 units
        ("🙂" * 36, 2),
    ],
)
def test_an_sms_is_billed_per_segment_by_its_alphabet(text: str, segments: int) -> None:
    units = units_for(message("sms", text=text, to="+14155550100"), contact())
    assert units == [Units("sms", "US", segments)]


def test_the_segment_count_the_template_stored_is_what_is_billed() -> None:
    stored = message("sms", text="short", sms_segments=3, to="+14155550100")
    assert units_for(stored, contact())[0].units == 3


def test_an_sms_is_priced_where_the_phone_is_not_where_the_contact_lives() -> None:
    uk_phone = message("sms", text="hi", to="+447400123456")
    assert units_for(uk_phone, contact(country="US"))[0].country == "GB"
    # No phone country (an invalid number): the contact's country, else unknown
    assert units_for(message("sms", text="hi", to="+999"), contact(country="de"))[0].country == (
        "DE"
    )
    assert units_for(message("sms", text="hi", to="+999"), contact())[0].country == "ZZ"


def test_email_and_in_app_are_one_unit_by_the_contacts_country() -> None:
    assert units_for(message("email"), contact(country="FR")) == [Units("email", "FR", 1)]
    assert units_for(message("in_app"), contact()) == [Units("in_app", "ZZ", 1)]


def test_whatsapp_is_billed_by_its_templates_category() -> None:
    phone = "+6591234567"
    declared = message("whatsapp", to=phone, whatsapp_template={"category": "AUTHENTICATION"})
    assert units_for(declared, contact()) == [Units("whatsapp", "SG", 1, "authentication")]
    undeclared = message("whatsapp", to=phone, purpose="marketing", whatsapp_template={})
    assert units_for(undeclared, contact())[0].category == "marketing"
    utility = message("whatsapp", to=phone, whatsapp_template={"name": "order_update"})
    assert units_for(utility, contact())[0].category == "utility"
    free_form = message("whatsapp", to=phone, text="Thanks!")
    assert units_for(free_form, contact())[0].category == "service"


def test_the_billing_month_is_the_utc_month() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert month_of(datetime(2026, 12, 1, 7, 0, tzinfo=shanghai)) == "2026-11"
    assert month_of(datetime(2026, 11, 30, 23, 59, tzinfo=UTC)) == "2026-11"
