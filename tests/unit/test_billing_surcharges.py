"""Rich content and its surcharges: what a template may declare (email attachments, one MMS
media file), the surcharge units a message with it is metered, and whether a plan prices them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from linkstar.billing import pricing
from linkstar.billing.metering import Units, units_for
from linkstar.billing.plans import default_plan
from linkstar.outreach.models import Contact, Message
from linkstar.outreach.templates import MAX_ATTACHMENTS, Attachment, MmsMedia, Template
from pydantic import ValidationError

NOW = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
INVOICE = {"key": "invoices/terms.pdf", "content_type": "application/pdf"}
PICTURE = {"key": "promo/black-friday.png", "content_type": "image/png"}


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
        purpose="transactional",
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )


def template(channel: str, **fields: Any) -> Template:
    base: dict[str, Any] = {
        "template_id": "order.shipped",
        "channel": channel,
        "locale": "en",
        "purpose": "transactional",
        "body": "Your order shipped",
    }
    if channel == "email":
        base["subject"] = "Shipped"
    return Template.model_validate(base | fields)


# ---------------------------------------------------------------- metering


def test_an_email_with_attachments_is_one_send_and_one_attachment_surcharge() -> None:
    # Given an email carrying two files to a French contact
    with_files = message("email", attachments=[INVOICE, INVOICE | {"key": "b.pdf"}])
    # When it is metered
    units = units_for(with_files, contact(country="FR"))
    # Then the recipient is one send and one surcharge, however many files
    assert units == [Units("email", "FR", 1), Units("email", "FR", 1, kind="email_attachment")]
    assert units[1].as_dict() == {
        "channel": "email",
        "country": "FR",
        "units": 1,
        "kind": "email_attachment",
    }


def test_an_email_without_attachments_has_no_surcharge() -> None:
    assert units_for(message("email"), contact(country="FR")) == [Units("email", "FR", 1)]


def test_an_mms_keeps_its_segments_and_adds_an_mms_unit_for_the_phones_country() -> None:
    # Given a two-segment text with a picture, to a Canadian number of a US contact
    mms = message("sms", text="a" * 161, to="+16045550100", media=[PICTURE])
    # When it is metered
    units = units_for(mms, contact(country="US"))
    # Then the segments stay, and the MMS surcharge is by the destination country
    assert units == [Units("sms", "CA", 2), Units("sms", "CA", 1, kind="mms")]


def test_a_plain_sms_has_no_mms_unit() -> None:
    assert units_for(message("sms", text="hi", to="+14155550100"), contact()) == [
        Units("sms", "US", 1)
    ]


def test_a_surcharge_unit_needs_its_surcharge_in_the_plan() -> None:
    # Given the starter plan (it prices mms) and one without surcharges
    starter = default_plan()
    bare = starter.model_copy(update={"surcharges": {}})
    mms = Units("sms", "US", 1, kind="mms")
    # Then the plan's surcharge decides whether the MMS unit can be priced
    assert mms.features == ("mms",)
    assert Units("sms", "US", 1).features == ()
    assert pricing.priceable(starter, "sms", "US", features=mms.features) is None
    assert pricing.priceable(bare, "sms", "US", features=mms.features) == "no_surcharge:mms"


# ---------------------------------------------------------------- declaring rich content


def test_an_email_template_declares_attachments_named_by_their_key() -> None:
    # Given attachments with and without a file name shown to the recipient
    saved = template("email", attachments=[INVOICE, PICTURE | {"filename": "Sale 优惠.png"}])
    # Then a file without one is shown by the last part of its key
    assert [a.name for a in saved.attachments] == ["terms.pdf", "Sale 优惠.png"]
    assert saved.model_dump(mode="json")["attachments"][0] == INVOICE | {"filename": None}


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/absolute.pdf",
        "../other-tenant/terms.pdf",
        "promo/../../other-tenant/terms.pdf",
        "promo//terms.pdf",
        "./terms.pdf",
        "promo/",
        "promo/terms pdf.pdf",  # a space: not one of S3's safe characters
        "promo/%2e%2e/terms.pdf",
        "a" * 509 + ".pdf",
    ],
)
def test_a_key_must_stay_inside_the_tenants_folder(key: str) -> None:
    with pytest.raises(ValidationError, match="key must be a path inside your media folder"):
        Attachment.model_validate(INVOICE | {"key": key})


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"content_type": "application/x-msdownload", "key": "a.exe"}, "email attachments may"),
        ({"key": "invoice.exe"}, "must end in .pdf"),
        ({"filename": "invoice.pdf.exe"}, "must end in .pdf"),
        ({"filename": "../invoice.pdf"}, "must not contain"),
        ({"filename": "in\r\nvoice.pdf"}, "must not contain"),
    ],
)
def test_an_attachment_is_of_an_allowed_type_and_named_as_that_type(
    fields: dict[str, str], problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        Attachment.model_validate(INVOICE | fields)


def test_attachments_are_for_email_and_media_for_sms_only() -> None:
    with pytest.raises(ValidationError, match="attachments are only for email"):
        template("sms", attachments=[INVOICE])
    with pytest.raises(ValidationError, match="media is only for sms"):
        template("email", media=[PICTURE])
    with pytest.raises(ValidationError, match="media is only for sms"):
        template("whatsapp", media=[PICTURE])


def test_how_many_files_a_template_may_carry() -> None:
    many = [INVOICE | {"key": f"f{i}.pdf"} for i in range(MAX_ATTACHMENTS + 1)]
    with pytest.raises(ValidationError, match="attachments"):
        template("email", attachments=many)
    # End User Messaging SMS sends one media file per MMS
    with pytest.raises(ValidationError, match="media"):
        template("sms", media=[PICTURE, PICTURE | {"key": "b.png"}])


def test_mms_media_is_of_a_type_end_user_messaging_sends_with_its_size_limit() -> None:
    assert MmsMedia.model_validate(PICTURE).size_limit == 2_000_000
    video = MmsMedia.model_validate({"key": "v.mp4", "content_type": "Video/MP4 "})
    assert (video.content_type, video.size_limit) == ("video/mp4", 600_000)
    with pytest.raises(ValidationError, match="MMS media may be"):
        MmsMedia.model_validate({"key": "a.docx", "content_type": "application/msword"})
