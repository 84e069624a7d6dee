"""Rich content through the whole pipeline on moto: an email template's attachment read from the
tenant's media folder and delivered (moto's SES outbox), an SMS template's picture sent as an
MMS (the End User Messaging SMS fake, which moto lacks), each metered as its send plus its
surcharge exactly once, held while the plan has no such surcharge, and on the invoice."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
import pytest

from infra.local.sms_voice import DEFAULT_ORIGINATION, FakeSmsVoice
from tests import moto_outbox
from tests.integration.conftest import Seller, Stack, call, drain, new_seller
from tests.integration.outreach import (
    add_contact,
    add_flow,
    add_template,
    emails_to,
    messages,
    pipeline,
)
from tests.integration.test_billing import (
    MONTH,
    body,
    put_plan,
    reconcile,
    redeliver_shuffled,
    sms_subscriber,
)

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def plan(**changes: Any) -> dict[str, Any]:
    """Email and US SMS priced from the first unit, with both surcharges."""
    doc: dict[str, Any] = {
        "plan_id": "rich",
        "currency": "USD",
        "effective_from": f"{MONTH}-01",
        "base_fee": "0.00",
        "channels": {
            "email": {"model": "graduated", "tiers": [{"up_to": None, "per_thousand": "1.00"}]},
            "sms": {"model": "rate_card", "rates": [{"country": "US", "unit_price": "0.01"}]},
        },
        "surcharges": {"mms": "0.02", "email_attachment": "0.05"},
    }
    doc.update(changes)
    return doc


def usage_lines(stack: Stack, seller: Seller) -> dict[tuple[str, str, str], tuple[int, str]]:
    """The month's live usage: (channel, country, kind) -> (units, amount)."""
    answer = call(stack, "GET", f"/usage?month={MONTH}", seller.api_key)
    assert answer.status_code == 200, answer.body
    return {
        (line["channel"], line["country"], line["kind"]): (line["units"], line["amount"])
        for line in body(answer)["lines"]
    }


def put_media(stack: Stack, seller: Seller, key: str, data: bytes, content_type: str) -> None:
    """A file in the seller's media folder, as their upload would leave it."""
    boto3.client("s3").put_object(
        Bucket=stack.resource("MediaBucket"),
        Key=f"{seller.tenant_id}/{key}",
        Body=data,
        ContentType=content_type,
    )


def delete_media(stack: Stack, seller: Seller, key: str) -> None:
    """The seller deletes a file from their folder."""
    deleted = call(stack, "DELETE", f"/media/{quote(key, safe='')}", seller.api_key)
    assert deleted.status_code == 204, deleted.body


def one_step_flow(stack: Stack, seller: Seller, template: dict[str, Any]) -> None:
    """``template`` sent, transactional, to each contact who subscribes."""
    add_template(stack, seller, {"locale": "en", "purpose": "transactional", **template})
    add_flow(
        stack,
        seller,
        {
            "name": f"Rich {template['channel']}",
            "trigger": {"event": "contact.subscribed"},
            "steps": [
                {
                    "id": "send",
                    "type": "send",
                    "channel": template["channel"],
                    "template": template["template_id"],
                    "purpose": "transactional",
                }
            ],
            "reentry": {"policy": "once"},
        },
    )


TERMS_EMAIL = {
    "template_id": "welcome.terms",
    "channel": "email",
    "subject": "Welcome, {{ contact.first_name | default('there') }}",
    "body": "Our terms are attached.",
    "attachments": [
        {"key": "terms/2026.pdf", "content_type": "application/pdf", "filename": "Terms 2026.pdf"}
    ],
}
SALE_MMS = {
    "template_id": "welcome.sale",
    "channel": "sms",
    "body": "Welcome! Here is 20% off today.",
    "media": [{"key": "promo/sale.png", "content_type": "image/png"}],
}


@pytest.fixture(scope="module")
def fake_sms_voice() -> Iterator[FakeSmsVoice]:
    def media_type(bucket: str, key: str) -> str | None:
        try:
            return str(boto3.client("s3").head_object(Bucket=bucket, Key=key)["ContentType"])
        except Exception:
            return None

    with FakeSmsVoice(media_type=media_type) as fake:
        yield fake


@pytest.fixture
def sms_voice(
    stack: Stack, fake_sms_voice: FakeSmsVoice, monkeypatch: pytest.MonkeyPatch
) -> FakeSmsVoice:
    """The sender's End User Messaging client pointed at the fake (the local stack's wiring),
    and the fake's MMS number configured as the operator would configure theirs."""
    from linkstar.settings import reset_settings

    for name, value in fake_sms_voice.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SMS_ORIGINATION_NUMBERS", json.dumps({"default": DEFAULT_ORIGINATION}))
    reset_settings()
    return fake_sms_voice


def mms_to(fake: FakeSmsVoice, phone: str) -> list[Any]:
    return [m for m in fake.messages() if m.destination == phone]


# ---------------------------------------------------------------- email attachments


def test_an_email_attachment_is_delivered_and_metered_once_however_often_it_is_asked(
    stack: Stack,
) -> None:
    # Given an email template attaching the seller's terms, and the file in their folder
    seller = new_seller(stack, "Attaching")
    put_plan(stack, seller, plan())
    put_media(stack, seller, "terms/2026.pdf", PDF, "application/pdf")
    one_step_flow(stack, seller, TERMS_EMAIL)
    from functions.flows.app import handler as flows
    from functions.senders.app import handler as senders

    since = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        add_contact(stack, seller, email="ada@example.com", consent={"email": "subscribed"})
        run.publish()
        drain(stack, "FlowQueue", flows)
        # When its send request is delivered three times, shuffled among other copies
        redeliver_shuffled(stack, "EmailQueue", 1, seed=5)
        drain(stack, "EmailQueue", senders)
        run.run()

    # Then one email went out, carrying the file byte for byte under its name
    (sent,) = emails_to("ada@example.com", since)
    assert sent.subject == "Welcome, there"
    assert sent.text is not None and "Our terms are attached." in sent.text
    files = [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in sent.message.iter_attachments()
    ]
    assert files == [("Terms 2026.pdf", "application/pdf", PDF)]
    # And it is counted once: one send and one attachment surcharge
    assert usage_lines(stack, seller) == {
        ("email", "ZZ", "send"): (1, "0.00"),  # $1 per 1,000
        ("email", "ZZ", "email_attachment"): (1, "0.05"),
    }
    check = reconcile(stack, seller)
    assert (check["ok"], check["records"], check["messages"]) == (True, 1, 1)


def test_an_attachment_missing_from_the_folder_fails_the_email_and_bills_nothing(
    stack: Stack,
) -> None:
    # Given the template, saved while its file was there (a save checks that it is), and the
    # file deleted since
    seller = new_seller(stack, "Forgetful")
    put_plan(stack, seller, plan())
    put_media(stack, seller, "terms/2026.pdf", PDF, "application/pdf")
    one_step_flow(stack, seller, TERMS_EMAIL)
    delete_media(stack, seller, "terms/2026.pdf")
    since = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        # When a contact subscribes
        add_contact(stack, seller, email="bo@example.com", consent={"email": "subscribed"})
        run.run()
    # Then no email went out, the message says why, and nothing is counted
    assert emails_to("bo@example.com", since) == []
    (failed,) = messages(stack, seller)
    assert failed["state"] == "failed"
    assert failed["reason"].startswith("media_not_found:")
    assert usage_lines(stack, seller) == {}
    assert reconcile(stack, seller)["ok"] is True


def test_another_tenants_file_cannot_be_attached(stack: Stack) -> None:
    # Given a file in one seller's folder, and another seller naming the same key
    owner = new_seller(stack, "Owner")
    put_media(stack, owner, "terms/2026.pdf", PDF, "application/pdf")
    thief = new_seller(stack, "Thief")
    put_plan(stack, thief, plan())
    # Then the template is refused when saved: the key is looked up in the thief's own folder
    template = TERMS_EMAIL | {"locale": "en", "purpose": "transactional"}
    refused = call(stack, "POST", "/templates", thief.api_key, template)
    assert (refused.status_code, json.loads(refused.body)["code"]) == (
        400,
        "template_media_not_found",
    )
    # And once saved with a file of their own, since deleted, the send looks in their folder too
    put_media(stack, thief, "terms/2026.pdf", PDF, "application/pdf")
    one_step_flow(stack, thief, TERMS_EMAIL)
    delete_media(stack, thief, "terms/2026.pdf")
    # And a key that tries to climb into the owner's folder is refused when saved
    climbing = TERMS_EMAIL | {
        "template_id": "welcome.climb",
        "attachments": [
            {"key": f"../{owner.tenant_id}/terms/2026.pdf", "content_type": "application/pdf"}
        ],
    }
    saved = call(stack, "POST", "/templates", thief.api_key, climbing | {"locale": "en"})
    assert saved.status_code == 400
    since = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        # When a contact of the thief subscribes
        add_contact(stack, thief, email="cy@example.com", consent={"email": "subscribed"})
        run.run()
    # Then the key was looked up in the thief's own folder, where there is no such file
    assert emails_to("cy@example.com", since) == []
    (failed,) = messages(stack, thief)
    assert failed["reason"].startswith("media_not_found:")


# ---------------------------------------------------------------- MMS


def test_an_sms_with_media_goes_as_an_mms_and_is_metered_with_the_mms_surcharge(
    stack: Stack, sms_voice: FakeSmsVoice
) -> None:
    # Given an SMS template with a picture, the picture in the seller's folder
    seller = new_seller(stack, "Picturing")
    put_plan(stack, seller, plan())
    put_media(stack, seller, "promo/sale.png", PNG, "image/png")
    one_step_flow(stack, seller, SALE_MMS)
    sms_before = len(moto_outbox.sent_sms())
    with pipeline(stack) as (run, _):
        # When a US contact subscribes
        sms_subscriber(stack, seller, "+14155550171")
        run.run()
    # Then End User Messaging got one MMS from the configured number with the file's S3 URL,
    # and SNS no plain SMS
    (sent,) = mms_to(sms_voice, "+14155550171")
    bucket = stack.resource("MediaBucket")
    assert sent.media_urls == [f"s3://{bucket}/{seller.tenant_id}/promo/sale.png"]
    assert sent.origination == DEFAULT_ORIGINATION
    assert sent.body == "Welcome! Here is 20% off today."
    (message,) = messages(stack, seller)
    assert message["state"] == "sent"
    assert sent.context == {"tenant_id": seller.tenant_id, "message_id": message["message_id"]}
    assert moto_outbox.sent_sms()[sms_before:] == []
    # And it is counted as its segment plus the MMS surcharge, both for the US
    assert usage_lines(stack, seller) == {
        ("sms", "US", "send"): (1, "0.01"),
        ("sms", "US", "mms"): (1, "0.02"),
    }
    # And the invoice preview has the surcharge line
    preview = body(call(stack, "GET", f"/usage/invoice-preview?month={MONTH}", seller.api_key))
    surcharges = [line for line in preview["lines"] if line["line_type"] == "surcharge"]
    assert [(s["kind"], s["country"], s["units"], s["amount"]) for s in surcharges] == [
        ("mms", "US", 1, "0.02")
    ]
    assert preview["total"] == "0.03"
    assert reconcile(stack, seller)["ok"] is True


def test_an_mms_is_held_until_the_plan_prices_the_mms_surcharge(
    stack: Stack, sms_voice: FakeSmsVoice
) -> None:
    # Given a plan without an MMS surcharge (the attachment one only)
    seller = new_seller(stack, "Unsurcharged")
    put_plan(stack, seller, plan(surcharges={"email_attachment": "0.05"}))
    put_media(stack, seller, "promo/sale.png", PNG, "image/png")
    one_step_flow(stack, seller, SALE_MMS)
    with pipeline(stack) as (run, _):
        # When a contact is to get the MMS
        sms_subscriber(stack, seller, "+14155550172")
        run.run()
        # Then it is held with the reason, and nothing went out for free
        (held,) = messages(stack, seller)
        assert (held["state"], held["reason"]) == (
            "held",
            "billing: cannot price this send (no_surcharge:mms)",
        )
        assert mms_to(sms_voice, "+14155550172") == []
        assert usage_lines(stack, seller) == {}
        # When the owner adds the MMS surcharge to the plan
        answer = put_plan(stack, seller, plan())
        assert answer["released_holds"] == 1
        run.run()
    # Then it goes out, counted with its surcharge
    assert len(mms_to(sms_voice, "+14155550172")) == 1
    assert usage_lines(stack, seller) == {
        ("sms", "US", "send"): (1, "0.01"),
        ("sms", "US", "mms"): (1, "0.02"),
    }
