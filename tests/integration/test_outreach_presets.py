"""Every preset flow through the events that start it in production: a contact subscribing
through the API, Shopify webhooks (orders, fulfillments, refunds, checkouts) and the daily
segment job. What moto's SES and SNS recorded, the message log and the flow's stats are what
the tests check; waits pass on the pinned clock."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests import moto_outbox
from tests.integration.conftest import FakeContext, Stack, new_seller, post_webhook
from tests.integration.outreach import (
    START,
    add_contact,
    emails_to,
    enable_preset,
    messages,
    pipeline,
    publish_feedback,
    sms_to,
    stats,
)
from tests.support import fixture_json

pytestmark = pytest.mark.xdist_group("outreach-presets")


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def order_of(buyer: str, placed: datetime, **changes: Any) -> bytes:
    """The orders/create fixture bought by ``buyer`` at ``placed`` (each test has its own
    buyer: the clock is shared, and a later test's tick may fire an earlier test's timers)."""
    order = fixture_json("shopify/orders_create.json")
    order.update(email=buyer, created_at=iso(placed), updated_at=iso(placed))
    order.update(processed_at=iso(placed))
    order["customer"]["email"] = buyer
    order.update(changes)
    return json.dumps(order).encode()


def recent_order(buyer: str, **changes: Any) -> bytes:
    """An order placed five minutes before the pinned START: the engine treats the fixture's
    own date (2008) as history and sends nothing about it."""
    return order_of(buyer, START - timedelta(minutes=5), **changes)


def fixture_body(name: str, **changes: Any) -> bytes:
    payload = fixture_json(f"shopify/{name}.json")
    payload.update(changes)
    return json.dumps(payload).encode()


def test_welcome_series_greets_a_new_subscriber_then_sends_a_tip_two_days_later(
    stack: Stack,
) -> None:
    # Given a seller with the welcome preset
    seller = new_seller(stack, "Welcomely")
    flow = enable_preset(stack, seller, "welcome")
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        # When a subscriber is added through the API with email consent
        contact = add_contact(
            stack,
            seller,
            email="ada@example.com",
            first_name="Ada",
            consent={"email": "subscribed"},
        )
        run.run()
        # Then the welcome email goes out at once, with the one-click unsubscribe headers
        (welcome,) = emails_to("ada@example.com", before)
        assert welcome.subject == "Welcome to Welcomely"
        assert "Hi Ada," in (welcome.text or "")
        assert welcome.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        # And nothing more until two days have passed
        clock.advance(seconds=2 * 86400 - 60)
        run.tick()
        assert len(emails_to("ada@example.com", before)) == 1
        clock.advance(seconds=60)
        run.tick()
    sent = emails_to("ada@example.com", before)
    assert [e.subject for e in sent] == ["Welcome to Welcomely", "A quick tip from Welcomely"]
    log = messages(stack, seller, contact_id=contact["contact_id"])
    assert sorted((m["step_id"], m["state"]) for m in log) == [
        ("tip_email", "sent"),
        ("welcome_email", "sent"),
    ]
    counts = stats(stack, seller, flow["flow_id"])
    assert (counts["entered"], counts["sent"], counts["completed"]) == (1, 2, 1)


def test_order_confirmation_is_sent_when_a_recent_order_is_paid(stack: Stack) -> None:
    # Given a seller with the order-confirmation preset (transactional: no consent needed)
    buyer = "confirm@example.com"
    seller = new_seller(stack, "Confirmly")
    flow = enable_preset(stack, seller, "order_confirmation")
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        # When Shopify creates the order, then reports it paid
        post_webhook(stack, seller, "orders/create", recent_order(buyer))
        run.run()
        assert emails_to(buyer, before) == []  # authorized, not paid yet
        paid = recent_order(
            buyer, financial_status="paid", updated_at=iso(START - timedelta(minutes=1))
        )
        post_webhook(stack, seller, "orders/paid", paid)
        run.run()
    # Then one confirmation with the order's number and total
    (confirmation,) = emails_to(buyer, before)
    assert confirmation.subject == "Order #1001 confirmed"
    assert "409.94" in (confirmation.text or "")
    assert confirmation.header("List-Unsubscribe") is None  # transactional: no unsubscribe
    (message,) = messages(stack, seller, flow_id=flow["flow_id"])
    assert (message["purpose"], message["state"]) == ("transactional", "sent")
    assert stats(stack, seller, flow["flow_id"])["sent"] == 1


def test_shipping_update_carries_the_tracking_details(stack: Stack) -> None:
    # Given a seller with the shipping-update preset and a paid order
    buyer = "shipped@example.com"
    seller = new_seller(stack, "Shiply")
    flow = enable_preset(stack, seller, "shipping_update")
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        post_webhook(stack, seller, "orders/create", recent_order(buyer, financial_status="paid"))
        run.run()
        # When Shopify reports the fulfillment
        shipped = iso(START - timedelta(minutes=1))
        fulfillment = fixture_body("fulfillments_create", created_at=shipped, updated_at=shipped)
        post_webhook(stack, seller, "fulfillments/create", fulfillment)
        run.run()
    # Then the buyer gets the carrier's tracking number and link
    (update,) = emails_to(buyer, before)
    assert update.subject == "Your order #1001 is on its way"
    assert "Tracking number: 1Z2345" in (update.text or "")
    assert "http://www.google.com/search?q=1Z2345" in (update.text or "")
    (message,) = messages(stack, seller, flow_id=flow["flow_id"])
    assert (message["channel"], message["state"]) == ("email", "sent")


def test_review_request_goes_a_week_after_delivery_at_ten_local_time(stack: Stack) -> None:
    # Given a seller with the review-request preset and a subscribed buyer in Los Angeles
    buyer = "review@example.com"
    seller = new_seller(stack, "Reviewly")
    flow = enable_preset(stack, seller, "review_request")
    add_contact(
        stack,
        seller,
        email=buyer,
        time_zone="America/Los_Angeles",
        consent={"email": "subscribed"},
    )
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        post_webhook(stack, seller, "orders/create", recent_order(buyer, financial_status="paid"))
        # When the carrier confirms delivery (10:05 in Los Angeles)
        delivered = fixture_body(
            "fulfillments_create",
            status="success",
            shipment_status="delivered",
            created_at=iso(START - timedelta(minutes=1)),
            updated_at=iso(START - timedelta(minutes=1)),
        )
        post_webhook(stack, seller, "fulfillments/create", delivered)
        run.run()
        # Then a week later at 10:05 nothing is sent: the request waits for 10:00 next morning
        clock.advance(days=7)
        run.tick()
        assert emails_to(buyer, before) == []
        clock.set(datetime(2026, 11, 28, 17, 59, tzinfo=UTC))  # 09:59 in Los Angeles
        run.tick()
        assert emails_to(buyer, before) == []
        clock.set(datetime(2026, 11, 28, 18, 0, tzinfo=UTC))  # 10:00 PST
        run.tick()
    (request,) = emails_to(buyer, before)
    assert request.subject == "How is your order from Reviewly?"
    (message,) = messages(stack, seller, flow_id=flow["flow_id"])
    assert (message["state"], message["sent_at"]) == ("sent", "2026-11-28T18:00:00+00:00")


def test_refund_followup_confirms_the_amount_then_asks_what_went_wrong(stack: Stack) -> None:
    # Given a seller with the refund follow-up preset and a subscribed buyer with a paid order
    buyer = "refund@example.com"
    seller = new_seller(stack, "Refundly")
    flow = enable_preset(stack, seller, "refund_followup")
    add_contact(stack, seller, email=buyer, consent={"email": "subscribed"})
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        post_webhook(stack, seller, "orders/create", recent_order(buyer, financial_status="paid"))
        run.run()
        # When Shopify reports a refund
        refunded = iso(START - timedelta(minutes=1))
        post_webhook(
            stack, seller, "refunds/create", fixture_body("refunds_create", created_at=refunded)
        )
        run.run()
        # Then the refund is confirmed at once with its amount
        (confirmation,) = emails_to(buyer, before)
        assert confirmation.subject == "Your refund for order #1001"
        assert "209.00" in (confirmation.text or "")
        # And three days later the (marketing) feedback question follows
        clock.advance(days=3)
        run.tick()
    assert [e.subject for e in emails_to(buyer, before)] == [
        "Your refund for order #1001",
        "Could you tell us what went wrong?",
    ]
    log = messages(stack, seller, flow_id=flow["flow_id"])
    assert sorted((m["purpose"], m["state"]) for m in log) == [
        ("marketing", "sent"),
        ("transactional", "sent"),
    ]


def test_win_back_reaches_a_customer_dormant_for_ninety_days(stack: Stack) -> None:
    # Given a customer whose last order was 90 days ago, subscribed to email and SMS
    buyer = "dormant@example.com"
    moto_outbox.install()
    seller = new_seller(stack, "Winbackly")
    flow = enable_preset(stack, seller, "win_back")
    contact = add_contact(
        stack,
        seller,
        email=buyer,
        phone="+1 415 555 0171",
        consent={"email": "subscribed", "sms": "subscribed"},
    )
    last_order = START - timedelta(days=90, hours=6)
    before, sms_before = len(moto_outbox.sent_emails()), len(moto_outbox.sent_sms())
    with pipeline(stack) as (run, clock):
        post_webhook(
            stack,
            seller,
            "orders/create",
            order_of(buyer, last_order, financial_status="paid"),
        )
        run.run()
        assert emails_to(buyer, before) == []  # an old order: history, not a trigger
        # When the daily segment job runs (and the schedule delivers it twice)
        from functions.timers.app import handler

        assert handler({"job": "segments"}, FakeContext())["segment_entries"] >= 1
        handler({"job": "segments"}, FakeContext())
        run.run()
        # Then the welcome-back offer goes out by email, once
        (offer,) = emails_to(buyer, before)
        assert offer.subject == "We miss you at Winbackly"
        assert "It's been a while since your last order, and" in (offer.text or "")
        # And when it was delivered but not opened after five days, an SMS nudge follows
        delivery = fixture_json("ses/event_delivery.json")
        delivery["mail"]["messageId"] = offer.message_id
        publish_feedback(stack, delivery)
        run.run()
        clock.advance(days=5)
        run.tick()
    (text,) = sms_to("+14155550171", sms_before)
    assert "we miss you" in text.message
    log = messages(stack, seller, contact_id=contact["contact_id"])
    assert sorted((m["step_id"], m["state"]) for m in log) == [
        ("offer_email", "delivered"),
        ("sms_nudge", "sent"),
    ]
    assert stats(stack, seller, flow["flow_id"])["entered"] == 1


def test_abandoned_checkout_speaks_chinese_to_a_zh_cn_contact(stack: Stack) -> None:
    # Given a Chinese-speaking buyer subscribed to email and SMS
    buyer = "cart.zh@example.com"
    moto_outbox.install()
    seller = new_seller(stack, "Lanting")
    flow = enable_preset(stack, seller, "abandoned_checkout")
    add_contact(
        stack,
        seller,
        email=buyer,
        phone="+1 415 555 0172",
        locale="zh-CN",
        consent={"email": "subscribed", "sms": "subscribed"},
    )
    before, sms_before = len(moto_outbox.sent_emails()), len(moto_outbox.sent_sms())
    with pipeline(stack) as (run, clock):
        # When they leave a checkout and a day passes
        post_webhook(
            stack, seller, "checkouts/create", fixture_body("checkouts_create", email=buyer)
        )
        run.run()
        clock.advance(hours=1)
        run.tick()
        clock.advance(hours=23)
        run.tick()
    # Then the email and the SMS are the Chinese templates
    (reminder,) = emails_to(buyer, before)
    assert reminder.subject == "您的购物车还在等您"
    assert "退订" in (reminder.text or "")
    (text,) = sms_to("+14155550172", sms_before)
    assert text.message.startswith("【Lanting】")
    assert text.message.endswith("回复退订取消")
    # And the log says the SMS went as UCS-2, with its segment count
    sms = next(m for m in messages(stack, seller, flow_id=flow["flow_id"]) if m["channel"] == "sms")
    assert (sms["locale"], sms["state"], sms["sms_encoding"]) == ("zh-CN", "sent", "UCS-2")
    assert sms["sms_segments"] == (2 if len(text.message) > 70 else 1)
