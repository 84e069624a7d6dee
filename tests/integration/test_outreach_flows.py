"""Outreach end to end through the handlers, on moto: preset flows fire from real platform
webhooks, waits pass on a pinned clock, and what moto's SES and SNS recorded is what we check."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests import moto_outbox
from tests.integration.conftest import Stack, call, new_seller, post_webhook
from tests.integration.outreach import (
    add_contact,
    add_flow,
    add_template,
    enable_preset,
    messages,
    pipeline,
)
from tests.support import fixture_json

pytestmark = pytest.mark.xdist_group("outreach")

BUYER = "bob.norman@hostmail.com"  # the Shopify checkout fixture's buyer


def checkout_body(**changes: object) -> bytes:
    checkout = fixture_json("shopify/checkouts_create.json")
    checkout.update(changes)
    return json.dumps(checkout).encode()


def test_abandoned_checkout_sends_email_after_an_hour_and_sms_after_a_day(stack: Stack) -> None:
    # Given a seller with the abandoned-checkout preset and a buyer who opted in to both
    moto_outbox.install()
    seller = new_seller(stack, "Cartly")
    enable_preset(stack, seller, "abandoned_checkout")
    add_contact(
        stack,
        seller,
        email=BUYER,
        phone="+1 415 555 0134",
        first_name="Bob",
        locale="en-US",
        consent={"email": "subscribed", "sms": "subscribed"},
    )
    sent_before = len(moto_outbox.sent_emails())
    sms_before = len(moto_outbox.sent_sms())
    with pipeline(stack) as (flow, clock):
        # When the checkout webhook arrives
        assert post_webhook(stack, seller, "checkouts/create", checkout_body()).status_code == 200
        flow.run()
        # Then nothing is sent before the hour is up
        assert len(moto_outbox.sent_emails()) == sent_before
        clock.advance(seconds=3600)
        flow.tick()
        emails = moto_outbox.sent_emails()[sent_before:]
        assert [e.destinations for e in emails] == [[BUYER]]
        email = emails[0].message
        # A marketing email: RFC 8058 one-click unsubscribe, a signed link, UTM on links
        assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/unsubscribe/" in email["List-Unsubscribe"]
        assert len(moto_outbox.sent_sms()) == sms_before
        # And after a day, still unpaid: the SMS goes out, once
        clock.advance(seconds=23 * 3600)
        flow.tick()
        flow.tick()
    texts = moto_outbox.sent_sms()[sms_before:]
    assert [t.phone for t in texts] == ["+14155550134"]
    assert texts[0].attributes.get("AWS.SNS.SMS.SMSType") == "Promotional"
    log = messages(stack, seller)
    assert sorted((m["channel"], m["state"]) for m in log) == [("email", "sent"), ("sms", "sent")]


def test_paying_the_checkout_exits_the_flow_before_the_sms(stack: Stack) -> None:
    # Given a buyer in the abandoned-checkout flow who got the email
    moto_outbox.install()
    seller = new_seller(stack, "Paidly")
    enable_preset(stack, seller, "abandoned_checkout")
    add_contact(
        stack,
        seller,
        email=BUYER,
        phone="+14155550135",
        consent={"email": "subscribed", "sms": "subscribed"},
    )
    sms_before = len(moto_outbox.sent_sms())
    with pipeline(stack) as (flow, clock):
        post_webhook(stack, seller, "checkouts/create", checkout_body())
        flow.run()
        clock.advance(seconds=3600)
        flow.tick()
        # When the checkout completes (the platform updates it)
        clock.advance(seconds=600)
        completed = checkout_body(
            completed_at="2026-11-20T19:15:00Z", updated_at="2026-11-20T19:15:00Z"
        )
        post_webhook(stack, seller, "checkouts/update", completed)
        flow.run()
        clock.advance(seconds=23 * 3600)
        flow.tick()
    # Then no SMS went out and the flow's stats say why
    assert len(moto_outbox.sent_sms()) == sms_before
    flow_id = json.loads(call(stack, "GET", "/flows", seller.api_key).body)["flows"][0]["flow_id"]
    stats = json.loads(call(stack, "GET", f"/flows/{flow_id}/stats", seller.api_key).body)
    assert stats["sent"] == 1
    assert stats["exited"] == 1


def test_bad_contact_input_gets_a_clear_error_and_loses_nothing(stack: Stack) -> None:
    # Given a seller
    seller = new_seller(stack, "Strict")
    headers = {"Authorization": f"Bearer {seller.api_key}", "Content-Type": "application/json"}

    # When the body is not JSON, or one contact has a bad phone
    not_json = stack.api.post("/contacts", headers=headers, body=b"{not json")
    bad_phone = call(stack, "POST", "/contacts", seller.api_key, {"phone": "12", "country": "US"})
    bulk = call(
        stack,
        "POST",
        "/contacts",
        seller.api_key,
        {"contacts": [{"email": "ok@example.com"}, {"email": "not-an-email"}]},
    )

    # Then each gets a status and a machine-readable code, and the good contact is kept
    assert not_json.status_code == 400
    assert json.loads(not_json.body)["code"] == "invalid_json"
    assert bad_phone.status_code == 400
    assert json.loads(bad_phone.body)["code"] == "invalid_phone"
    answer = json.loads(bulk.body)
    assert [c["email"] for c in answer["contacts"]] == ["ok@example.com"]
    assert [(e["index"], e["code"]) for e in answer["errors"]] == [(1, "validation_error")]


def test_wait_until_uses_the_sellers_time_zone_for_a_contact_without_one(stack: Stack) -> None:
    # Given a seller in Shanghai (a time zone that isn't one isn't taken) ...
    seller = new_seller(stack, "Morningly")
    refused = call(
        stack, "PUT", "/outreach/settings", seller.api_key, {"default_time_zone": "Mars/Olympus"}
    )
    assert refused.status_code == 400, refused.body
    saved = call(
        stack, "PUT", "/outreach/settings", seller.api_key, {"default_time_zone": "Asia/Shanghai"}
    )
    assert saved.status_code == 200, saved.body
    settings = json.loads(call(stack, "GET", "/outreach/settings", seller.api_key).body)
    assert settings["default_time_zone"] == "Asia/Shanghai"
    # ... whose flow greets new subscribers at nine in the morning
    template = {
        "template_id": "morning.email",
        "channel": "email",
        "locale": "en",
        "purpose": "marketing",
        "subject": "Good morning from {{ tenant.name }}",
        "body": "Good morning!\nUnsubscribe: {{ links.unsubscribe_url }}",
    }
    add_template(stack, seller, template)
    flow = {
        "name": "Morning hello",
        "trigger": {"event": "contact.subscribed"},
        "steps": [
            {"id": "nine", "type": "wait_until", "local_time": "09:00"},
            {
                "id": "hello",
                "type": "send",
                "channel": "email",
                "template": "morning.email",
                "purpose": "marketing",
            },
        ],
    }
    add_flow(stack, seller, flow)
    buyer = "nozone@example.com"
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        # When a contact with no time zone (no phone, no country) subscribes at 18:05 UTC,
        # 02:05 the next morning in Shanghai
        contact = add_contact(stack, seller, email=buyer, consent={"email": "subscribed"})
        assert contact["time_zone"] is None
        run.run()
        # Then nothing goes out at 00:59 UTC (08:59 in Shanghai) ...
        clock.set(datetime(2026, 11, 21, 0, 59, tzinfo=UTC))
        run.tick()
        assert [e for e in moto_outbox.sent_emails()[before:] if buyer in e.destinations] == []
        # ... and the email goes at 01:00 UTC, nine in Shanghai (not at nine UTC)
        clock.set(datetime(2026, 11, 21, 1, 0, tzinfo=UTC))
        run.tick()
    sent = [e for e in moto_outbox.sent_emails()[before:] if buyer in e.destinations]
    assert [e.subject for e in sent] == ["Good morning from Morningly"]
    (message,) = messages(stack, seller, contact_id=contact["contact_id"])
    assert (message["state"], message["created_at"]) == ("sent", "2026-11-21T01:00:00+00:00")
