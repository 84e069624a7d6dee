"""Compliance through the whole pipeline on moto: quiet hours in the recipient's time zone
(and across a DST change), the stricter US state hours, frequency caps across flows,
suppression, consent, duplicates, provider failures and flow exits. What moto's SES and SNS
recorded and the message log's state and reason are what the tests check."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests import moto_outbox
from tests.integration.conftest import (
    Seller,
    Stack,
    call,
    drain,
    drain_ingest,
    new_seller,
    post_webhook,
)
from tests.integration.outreach import (
    START,
    add_contact,
    add_flow,
    add_template,
    emails_to,
    enable_preset,
    messages,
    pipeline,
    sms_to,
)
from tests.support import fixture_json

pytestmark = pytest.mark.xdist_group("outreach-compliance")


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def paid_order(buyer: str) -> bytes:
    """The orders/create fixture, paid, bought by ``buyer`` five minutes before START (each
    test has its own buyer: a later test's tick may fire an earlier test's timers)."""
    order = fixture_json("shopify/orders_create.json")
    placed = iso(START - timedelta(minutes=5))
    order.update(email=buyer, financial_status="paid", processed_at=placed)
    order.update(created_at=placed, updated_at=placed)
    order["customer"]["email"] = buyer
    return json.dumps(order).encode()


def checkout_of(buyer: str, **changes: Any) -> dict[str, Any]:
    checkout = dict(fixture_json("shopify/checkouts_create.json"), email=buyer)
    checkout.update(changes)
    return checkout


def send_flow(
    stack: Stack,
    seller: Seller,
    name: str,
    channel: str,
    purpose: str = "marketing",
    trigger: str = "contact.subscribed",
    **step: Any,
) -> dict[str, Any]:
    """A one-step flow sending ``channel`` on ``trigger``, with its template."""
    slug = name.lower().replace(" ", "_")
    template: dict[str, Any] = {
        "template_id": f"{slug}.{channel}",
        "channel": channel,
        "locale": "en",
        "purpose": purpose,
        "body": f"{{{{ tenant.name }}}}: {name}."
        + (" Reply STOP to opt out" if channel == "sms" else ""),
    }
    if channel == "email":
        template["subject"] = f"{name} from {{{{ tenant.name }}}}"
        if purpose == "marketing":
            template["body"] += "\nUnsubscribe: {{ links.unsubscribe_url }}"
    add_template(stack, seller, template)
    definition = {
        "name": name,
        "trigger": {"event": trigger},
        "steps": [
            {
                "id": "send",
                "type": "send",
                "channel": channel,
                "template": template["template_id"],
                "purpose": purpose,
                **step,
            }
        ],
        "reentry": {"policy": "once"},
    }
    return add_flow(stack, seller, definition)


def subscriber(stack: Stack, seller: Seller, email: str, phone: str, **fields: Any) -> str:
    """A contact subscribed to marketing email and SMS (subscribing fires contact.subscribed)."""
    consent = fields.pop("consent", {"email": "subscribed", "sms": "subscribed"})
    contact = add_contact(stack, seller, email=email, phone=phone, consent=consent, **fields)
    return str(contact["contact_id"])


def log_of(stack: Stack, seller: Seller, contact_id: str) -> list[dict[str, Any]]:
    return messages(stack, seller, contact_id=contact_id)


# ---------------------------------------------------------------- quiet hours


def test_quiet_hours_follow_each_recipients_time_zone(stack: Stack) -> None:
    # Given a marketing SMS flow and subscribers in Los Angeles, New York and Shanghai
    moto_outbox.install()
    seller = new_seller(stack, "Nightly")
    send_flow(stack, seller, "Flash sale", "sms")
    sms_before = len(moto_outbox.sent_sms())
    ours = {"+14155550101", "+12125550101", "+8613800138000"}
    # When they subscribe at 22:00 in Los Angeles (01:00 in New York, 14:00 in Shanghai)
    with pipeline(stack, datetime(2026, 11, 21, 6, 0, tzinfo=UTC)) as (run, clock):
        la = subscriber(stack, seller, "la@example.com", "+1 415 555 0101")
        ny = subscriber(stack, seller, "ny@example.com", "+1 212 555 0101")
        sh = subscriber(stack, seller, "sh@example.com", "+86 138 0013 8000")
        run.run()
        # Then Shanghai gets it at once; the others are held until 08:00 their time
        assert [t.phone for t in sms_to(ours, sms_before)] == ["+8613800138000"]
        assert [(m["state"], m["reason"]) for m in log_of(stack, seller, sh)] == [("sent", None)]
        (held_la,) = log_of(stack, seller, la)
        (held_ny,) = log_of(stack, seller, ny)
        assert (held_la["state"], held_la["reason"]) == (
            "held",
            "quiet hours until 2026-11-21T08:00-08:00",
        )
        assert (held_ny["state"], held_ny["reason"]) == (
            "held",
            "quiet hours until 2026-11-21T08:00-05:00",
        )
        # And each goes out on the first tick after 08:00 local, New York three hours first
        clock.set(datetime(2026, 11, 21, 12, 59, tzinfo=UTC))
        run.tick()
        assert sms_to("+12125550101", sms_before) == []
        clock.set(datetime(2026, 11, 21, 13, 0, tzinfo=UTC))
        run.tick()
        assert len(sms_to("+12125550101", sms_before)) == 1
        assert sms_to("+14155550101", sms_before) == []
        clock.set(datetime(2026, 11, 21, 16, 0, tzinfo=UTC))
        run.tick()
        run.tick()  # a second tick finds nothing left to send
    assert [t.phone for t in sms_to(ours, sms_before)] == [
        "+8613800138000",
        "+12125550101",
        "+14155550101",
    ]
    (sent_la,) = log_of(stack, seller, la)
    assert (sent_la["state"], sent_la["sent_at"]) == ("sent", "2026-11-21T16:00:00+00:00")


@pytest.mark.parametrize(
    ("phone", "subscribed_at", "reason", "too_early", "released"),
    [
        pytest.param(
            "+1 212 555 0102",
            datetime(2026, 11, 1, 2, 0, tzinfo=UTC),  # Sat 22:00 EDT; clocks go back at 02:00
            "quiet hours until 2026-11-01T08:00-05:00",
            datetime(2026, 11, 1, 12, 0, tzinfo=UTC),  # 08:00 had the clocks not changed
            datetime(2026, 11, 1, 13, 0, tzinfo=UTC),
            id="new-york",
        ),
        pytest.param(
            "+49 30 901820",
            datetime(2026, 10, 24, 20, 0, tzinfo=UTC),  # Sat 22:00 CEST; back at 03:00
            "quiet hours until 2026-10-25T08:00+01:00",
            datetime(2026, 10, 25, 6, 0, tzinfo=UTC),
            datetime(2026, 10, 25, 7, 0, tzinfo=UTC),
            id="berlin",
        ),
    ],
)
def test_a_hold_across_the_end_of_dst_lands_at_eight_local_time(
    stack: Stack,
    phone: str,
    subscribed_at: datetime,
    reason: str,
    too_early: datetime,
    released: datetime,
) -> None:
    # Given a marketing SMS flow
    moto_outbox.install()
    seller = new_seller(stack, f"Autumn {subscribed_at:%m%d}")
    send_flow(stack, seller, "Autumn sale", "sms")
    sms_before = len(moto_outbox.sent_sms())
    with pipeline(stack, subscribed_at) as (run, clock):
        # When someone subscribes at 22:00 local the night the clocks go back
        contact = subscriber(stack, seller, "autumn@example.com", phone)
        e164 = phone.replace(" ", "")
        run.run()
        # Then the SMS is held until 08:00 local time in the new (standard) offset
        (held,) = log_of(stack, seller, contact)
        assert (held["state"], held["reason"]) == ("held", reason)
        assert held["hold_until"] == released.isoformat()
        # And it goes out then, not an hour early
        clock.set(too_early)
        run.tick()
        assert sms_to(e164, sms_before) == []
        clock.set(released)
        run.tick()
    assert len(sms_to(e164, sms_before)) == 1
    assert log_of(stack, seller, contact)[0]["state"] == "sent"


def test_a_florida_number_is_held_at_half_past_eight_in_the_evening(stack: Stack) -> None:
    # Given a marketing SMS flow, a Florida (305) and a New York (212) subscriber
    moto_outbox.install()
    seller = new_seller(stack, "Sunshine")
    send_flow(stack, seller, "Evening deal", "sms")
    sms_before = len(moto_outbox.sent_sms())
    # When both subscribe at 20:30 Eastern time
    with pipeline(stack, datetime(2026, 11, 21, 1, 30, tzinfo=UTC)) as (run, clock):
        florida = subscriber(stack, seller, "fl@example.com", "+1 305 555 0103")
        new_york = subscriber(stack, seller, "ny.evening@example.com", "+1 212 555 0103")
        run.run()
        # Then New York's TCPA hours (to 21:00) let it go; Florida's law (to 20:00) holds it
        assert sms_to("+13055550103", sms_before) == []
        assert len(sms_to("+12125550103", sms_before)) == 1
        assert log_of(stack, seller, new_york)[0]["state"] == "sent"
        (held,) = log_of(stack, seller, florida)
        assert (held["state"], held["reason"]) == (
            "held",
            "quiet hours until 2026-11-21T08:00-05:00",
        )
        # And Florida's goes out at 08:00 the next morning
        clock.set(datetime(2026, 11, 21, 13, 0, tzinfo=UTC))
        run.tick()
    assert len(sms_to("+13055550103", sms_before)) == 1


# ---------------------------------------------------------------- frequency caps


def test_frequency_caps_hold_the_second_marketing_message_but_not_transactional(
    stack: Stack,
) -> None:
    # Given two marketing SMS flows, two marketing email flows and a transactional email flow,
    # all starting when a contact subscribes
    moto_outbox.install()
    seller = new_seller(stack, "Cappy")
    send_flow(stack, seller, "Flash sale", "sms")
    send_flow(stack, seller, "Back in stock", "sms")
    send_flow(stack, seller, "Newsletter", "email")
    send_flow(stack, seller, "Lookbook", "email")
    send_flow(stack, seller, "Account ready", "email", purpose="transactional")
    sms_before, emails_before = len(moto_outbox.sent_sms()), len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        # When one contact subscribes (10:05 in Los Angeles)
        contact = subscriber(stack, seller, "cap@example.com", "+1 415 555 0104")
        run.run()
        # Then one of each marketing pair is sent and the other held by the cap
        log = log_of(stack, seller, contact)
        by_purpose = sorted((m["channel"], m["purpose"], m["state"], m["reason"]) for m in log)
        assert by_purpose == [
            ("email", "marketing", "held", "frequency cap until 2026-11-21T10:05+00:00"),
            ("email", "marketing", "sent", None),
            ("email", "transactional", "sent", None),
            ("sms", "marketing", "held", "frequency cap until 2026-11-21T18:05+00:00"),
            ("sms", "marketing", "sent", None),
        ]
        assert len(sms_to("+14155550104", sms_before)) == 1
        assert len(emails_to("cap@example.com", emails_before)) == 2
        # And each held message goes out when its cap lets it (16 h for email, 24 h for SMS)
        clock.advance(hours=16)
        run.tick()
        assert len(emails_to("cap@example.com", emails_before)) == 3
        assert len(sms_to("+14155550104", sms_before)) == 1
        clock.advance(hours=8)
        run.tick()
    assert len(sms_to("+14155550104", sms_before)) == 2
    assert {m["state"] for m in log_of(stack, seller, contact)} == {"sent"}


# ---------------------------------------------------------------- suppression and consent


def test_a_suppressed_address_gets_nothing_not_even_transactional(stack: Stack) -> None:
    # Given the welcome and order-confirmation presets, and the buyer's address suppressed
    seller = new_seller(stack, "Quietco")
    enable_preset(stack, seller, "welcome")
    confirmation = enable_preset(stack, seller, "order_confirmation")
    suppressed = call(
        stack,
        "POST",
        "/suppressions",
        seller.api_key,
        {"channel": "email", "address": "Quiet.Buyer@example.com", "reason": "asked by phone"},
    )
    assert suppressed.status_code == 200, suppressed.body
    emails_before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        # When they subscribe, and then pay for an order
        contact = add_contact(
            stack, seller, email="quiet.buyer@example.com", consent={"email": "subscribed"}
        )
        post_webhook(stack, seller, "orders/create", paid_order("quiet.buyer@example.com"))
        run.run()
    # Then neither the marketing welcome nor the transactional confirmation is sent
    assert emails_to("quiet.buyer@example.com", emails_before) == []
    log = log_of(stack, seller, contact["contact_id"])
    assert sorted((m["purpose"], m["state"]) for m in log) == [
        ("marketing", "suppressed"),
        ("transactional", "suppressed"),
    ]
    assert all(m["reason"].endswith("suppressed: asked by phone") for m in log)
    stats = json.loads(
        call(stack, "GET", f"/flows/{confirmation['flow_id']}/stats", seller.api_key).body
    )
    assert (stats["suppressed"], stats["sent"]) == (1, 0)
    shown = json.loads(
        call(stack, "GET", f"/contacts/{contact['contact_id']}", seller.api_key).body
    )
    assert shown["suppressed"] == {"email": "asked by phone"}


def test_suppression_is_checked_again_when_a_held_message_is_released(stack: Stack) -> None:
    # Given a marketing SMS held overnight by quiet hours
    moto_outbox.install()
    seller = new_seller(stack, "Recheck")
    send_flow(stack, seller, "Morning deal", "sms")
    sms_before = len(moto_outbox.sent_sms())
    with pipeline(stack, datetime(2026, 11, 21, 6, 0, tzinfo=UTC)) as (run, clock):
        contact = subscriber(stack, seller, "late@example.com", "+1 415 555 0105")
        run.run()
        assert log_of(stack, seller, contact)[0]["state"] == "held"
        # When the number is suppressed before the morning
        call(
            stack,
            "POST",
            "/suppressions",
            seller.api_key,
            {"channel": "sms", "address": "+14155550105", "reason": "carrier complaint"},
        )
        clock.set(datetime(2026, 11, 21, 16, 0, tzinfo=UTC))
        run.tick()
    # Then it is not sent, and the log says why
    assert sms_to("+14155550105", sms_before) == []
    (message,) = log_of(stack, seller, contact)
    assert (message["state"], message["reason"]) == ("suppressed", "suppressed: carrier complaint")


def test_sms_marketing_needs_its_own_opt_in_never_a_platform_flag(stack: Stack) -> None:
    # Given a marketing SMS flow on new customers
    moto_outbox.install()
    seller = new_seller(stack, "Flagged")
    send_flow(stack, seller, "First deal", "sms", trigger="customer.created")
    sms_before = len(moto_outbox.sent_sms())
    with pipeline(stack) as (run, _):
        # When Shopify creates a customer who accepts (email) marketing and has a phone
        customer = fixture_json("shopify/customers_create.json")
        customer.update(accepts_marketing=True, phone="+14155550106")
        post_webhook(stack, seller, "customers/create", json.dumps(customer).encode())
        run.run()
    # Then no SMS goes out: the flag is not SMS consent
    assert sms_to("+14155550106", sms_before) == []
    (message,) = messages(stack, seller)
    assert (message["channel"], message["state"], message["reason"]) == (
        "sms",
        "suppressed",
        "sms: no consent",
    )
    contact = json.loads(
        call(stack, "GET", f"/contacts/{message['contact_id']}", seller.api_key).body
    )
    assert "sms" not in contact["consent"]
    assert contact["phone"] == "+14155550106"
    # (while the flag is read as what it is: consent to marketing email)
    email = contact["consent"]["email"]["marketing"]
    assert email["status"] == "subscribed"
    assert email["source"] == "platform:shopify"
    assert email["proof"]["platform_flag"] == "accepts_marketing"


def test_a_platform_marketing_flag_is_that_platforms_consent_from_that_store(
    stack: Stack,
) -> None:
    # Given a seller's Shopify store
    seller = new_seller(stack, "Sourced")
    with pipeline(stack) as (run, _):
        # When Shopify creates a customer who accepts marketing
        customer = fixture_json("shopify/customers_create.json")
        customer.update(accepts_marketing=True, email="flagged@example.com")
        post_webhook(stack, seller, "customers/create", json.dumps(customer).encode())
        run.run()
    # Then the contact came from Shopify, and its email consent names the platform and the
    # store whose flag it is, in the contact's history too
    listed = json.loads(call(stack, "GET", "/contacts", seller.api_key).body)["contacts"]
    (found,) = [c for c in listed if c["email"] == "flagged@example.com"]
    contact = json.loads(
        call(stack, "GET", f"/contacts/{found['contact_id']}", seller.api_key).body
    )
    assert contact["source"] == "shopify"
    email = contact["consent"]["email"]["marketing"]
    assert (email["status"], email["source"]) == ("subscribed", "platform:shopify")
    assert email["proof"] == {"platform_flag": "accepts_marketing", "store_id": seller.store_id}
    (recorded,) = contact["consent_history"]
    assert (recorded["source"], recorded["proof"]["store_id"]) == (
        "platform:shopify",
        seller.store_id,
    )


def test_a_customer_event_naming_only_its_store_is_read_as_that_stores_platform(
    stack: Stack,
) -> None:
    # Given a customer event as published before events named their platform: its store only
    from linkstar.outreach import engine

    seller = new_seller(stack, "Older events")
    detail = {
        "tenant_id": seller.tenant_id,
        "store_id": seller.store_id,
        "customer_id": "c-older",
        "email": "older@example.com",
        "accepts_marketing": True,
    }
    # When the flow engine reads it
    engine.handle({"detail-type": "customer.created", "detail": detail}, START)
    # Then the store's record says which platform the flag came from
    listed = json.loads(call(stack, "GET", "/contacts", seller.api_key).body)["contacts"]
    (found,) = [c for c in listed if c["email"] == "older@example.com"]
    assert found["source"] == "shopify"
    assert found["consent"]["email"]["marketing"]["source"] == "platform:shopify"


def test_an_email_step_falls_back_to_sms_when_only_sms_is_consented(stack: Stack) -> None:
    # Given a marketing email flow on abandoned checkouts that may fall back to SMS
    moto_outbox.install()
    seller = new_seller(stack, "Fallback")
    add_template(
        stack,
        seller,
        {
            "template_id": "cart.sms",
            "channel": "sms",
            "locale": "en",
            "purpose": "marketing",
            "body": "{{ tenant.name }}: your cart is saved. Reply STOP to opt out",
        },
    )
    send_flow(
        stack,
        seller,
        "Cart reminder",
        "email",
        trigger="checkout.started",
        fallback=["sms"],
        fallback_templates={"sms": "cart.sms"},
    )
    # And one buyer who opted in to SMS only, another who opted in to nothing
    sms_only = subscriber(
        stack,
        seller,
        "sms.only@example.com",
        "+1 415 555 0107",
        consent={"email": "unsubscribed", "sms": "subscribed"},
    )
    neither = add_contact(stack, seller, email="nobody@example.com", phone="+1 415 555 0108")
    sms_before, emails_before = len(moto_outbox.sent_sms()), len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        # When both leave a checkout
        for buyer, token in (("sms.only@example.com", "a1"), ("nobody@example.com", "b2")):
            checkout = checkout_of(buyer, token=token)
            post_webhook(stack, seller, "checkouts/create", json.dumps(checkout).encode())
        run.run()
    # Then the SMS-only buyer gets the SMS instead of the email; the other gets nothing
    assert emails_to("sms.only@example.com", emails_before) == []
    assert emails_to("nobody@example.com", emails_before) == []
    assert len(sms_to("+14155550107", sms_before)) == 1
    assert sms_to("+14155550108", sms_before) == []
    assert [(m["channel"], m["state"]) for m in log_of(stack, seller, sms_only)] == [
        ("sms", "sent")
    ]
    (nothing,) = log_of(stack, seller, neither["contact_id"])
    assert (nothing["channel"], nothing["state"], nothing["reason"]) == (
        "email",
        "suppressed",
        "email: no consent; sms: no consent",
    )


# ---------------------------------------------------------------- duplicates


def test_duplicated_webhooks_and_send_requests_send_one_email(stack: Stack) -> None:
    # Given the order-confirmation preset
    seller = new_seller(stack, "Oncely")
    flow = enable_preset(stack, seller, "order_confirmation")
    emails_before = len(moto_outbox.sent_emails())
    paid = paid_order("once@example.com")
    with pipeline(stack) as (run, clock):
        # When Shopify delivers the same webhook twice, and retries it under a new event id
        post_webhook(stack, seller, "orders/create", paid, event_id="evt-1")
        post_webhook(stack, seller, "orders/create", paid, event_id="evt-1")
        post_webhook(stack, seller, "orders/create", paid, event_id="evt-2")
        drain_ingest(stack)
        run.publish()
        from functions.flows.app import handler as flows

        drain(stack, "FlowQueue", flows)
        # And the send request reaches the email queue twice
        sqs = boto3.client("sqs")
        queue = stack.resource("EmailQueue")
        (request,) = sqs.receive_message(QueueUrl=queue, VisibilityTimeout=0)["Messages"]
        sqs.send_message(QueueUrl=queue, MessageBody=request["Body"])
        run.run()
        # And the minute tick runs again, later
        for _ in range(2):
            clock.advance(minutes=1)
            run.tick()
        # And the same request arrives once more after it was sent
        sqs.send_message(QueueUrl=queue, MessageBody=request["Body"])
        run.run()
    # Then exactly one email went out, claimed once
    assert len(emails_to("once@example.com", emails_before)) == 1
    (message,) = messages(stack, seller, flow_id=flow["flow_id"])
    assert (message["state"], message["attempts"]) == ("sent", 1)
    stats = json.loads(call(stack, "GET", f"/flows/{flow['flow_id']}/stats", seller.api_key).body)
    assert (stats["entered"], stats["sent"]) == (1, 1)


# ---------------------------------------------------------------- provider failures


def _ses_failing(monkeypatch: pytest.MonkeyPatch, code: str, status: int, times: int) -> None:
    """SES answers ``code`` to the next ``times`` SendEmail calls, then sends as usual."""
    from linkstar import aws

    client = aws.client("sesv2")
    real = client.send_email
    left = [times]

    def send_email(**request: Any) -> Any:
        if left[0] > 0:
            left[0] -= 1
            error = {
                "Error": {"Code": code, "Message": f"{code} (test)"},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            raise ClientError(error, "SendEmail")  # type: ignore[arg-type]
        return real(**request)

    monkeypatch.setattr(client, "send_email", send_email)


def test_ses_throttling_is_retried_and_the_email_sent_once(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the welcome preset and SES throttling the first of two sends in a batch (two, as
    # under load: a batch whose every record fails makes Powertools raise for Lambda to retry
    # it whole, which the in-process drain doesn't model)
    seller = new_seller(stack, "Throttled")
    flow = enable_preset(stack, seller, "welcome")
    _ses_failing(monkeypatch, "TooManyRequestsException", 429, times=1)
    emails_before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        # When two contacts subscribe at once
        first = add_contact(stack, seller, email="one@example.com", consent={"email": "subscribed"})
        second = add_contact(
            stack, seller, email="two@example.com", consent={"email": "subscribed"}
        )
        run.run()
    # Then each got the welcome email once; the throttled one on its second attempt
    assert len(emails_to("one@example.com", emails_before)) == 1
    assert len(emails_to("two@example.com", emails_before)) == 1
    log = log_of(stack, seller, first["contact_id"]) + log_of(stack, seller, second["contact_id"])
    assert sorted((m["state"], m["attempts"], m["reason"]) for m in log) == [
        ("sent", 1, None),
        ("sent", 2, None),
    ]
    stats = json.loads(call(stack, "GET", f"/flows/{flow['flow_id']}/stats", seller.api_key).body)
    assert (stats["sent"], stats["failed"]) == (2, 0)


def test_a_permanent_ses_refusal_fails_the_message_with_the_reason(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the welcome preset and SES rejecting the welcome email
    seller = new_seller(stack, "Rejected")
    flow = enable_preset(stack, seller, "welcome")
    _ses_failing(monkeypatch, "MessageRejected", 400, times=1)
    emails_before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        # When a contact subscribes
        contact = add_contact(
            stack, seller, email="bad@example.com", consent={"email": "subscribed"}
        )
        run.run()
        # Then the message is failed with SES's reason, and not retried
        (message,) = log_of(stack, seller, contact["contact_id"])
        assert message["state"] == "failed"
        assert message["reason"] == "ses_message_rejected: SES refused the email: MessageRejected"
        assert message["attempts"] == 1
        # And the run carries on: the tip two days later still goes
        clock.advance(days=2)
        run.tick()
    assert [e.subject for e in emails_to("bad@example.com", emails_before)] == [
        "A quick tip from Rejected"
    ]
    stats = json.loads(call(stack, "GET", f"/flows/{flow['flow_id']}/stats", seller.api_key).body)
    assert (stats["failed"], stats["sent"], stats["completed"]) == (1, 1, 1)


# ---------------------------------------------------------------- exits


def test_a_held_message_is_skipped_when_its_run_exits_first(stack: Stack) -> None:
    # Given a flow texting abandoned checkouts at once, that exits when the checkout completes
    moto_outbox.install()
    seller = new_seller(stack, "Exitly")
    send_flow(stack, seller, "Cart nudge", "sms", trigger="checkout.started")
    flow_id = json.loads(call(stack, "GET", "/flows", seller.api_key).body)["flows"][0]["flow_id"]
    flow = json.loads(call(stack, "GET", f"/flows/{flow_id}", seller.api_key).body)
    definition = dict(
        flow["definition"], exit=[{"event": "checkout.completed", "match": "checkout_id"}]
    )
    patched = call(stack, "PATCH", f"/flows/{flow_id}", seller.api_key, {"definition": definition})
    assert patched.status_code == 200, patched.body
    contact = subscriber(stack, seller, "exit.buyer@example.com", "+1 415 555 0109")
    sms_before = len(moto_outbox.sent_sms())
    # When the checkout starts at 22:00 in Los Angeles, so the SMS is held overnight
    with pipeline(stack, datetime(2026, 11, 21, 6, 0, tzinfo=UTC)) as (run, clock):
        checkout = checkout_of("exit.buyer@example.com")
        post_webhook(stack, seller, "checkouts/create", json.dumps(checkout).encode())
        run.run()
        assert log_of(stack, seller, contact)[0]["state"] == "held"
        # And the buyer completes it during the night
        clock.advance(hours=1)
        checkout.update(completed_at="2026-11-21T07:00:00Z", updated_at="2026-11-21T07:00:00Z")
        post_webhook(stack, seller, "checkouts/update", json.dumps(checkout).encode())
        run.run()
        clock.set(datetime(2026, 11, 21, 16, 0, tzinfo=UTC))
        run.tick()
    # Then the SMS is never sent, and the log says the flow exited
    assert sms_to("+14155550109", sms_before) == []
    (message,) = log_of(stack, seller, contact)
    assert message["state"] == "skipped"
    assert message["reason"] == "flow exited: checkout.completed (checkout_id)"
    stats = json.loads(call(stack, "GET", f"/flows/{flow_id}/stats", seller.api_key).body)
    assert (stats["exited"], stats["completed"], stats["skipped"], stats["sent"]) == (1, 0, 1, 0)
