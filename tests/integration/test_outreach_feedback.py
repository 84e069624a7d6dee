"""Provider feedback through the FeedbackQueue, as SES and SNS deliver it, with the real SES
samples in ../shared/fixtures/ses/ pointed at messages the pipeline sent: delivery, bounces
(and the fallback they trigger), complaints, out-of-order events, the reputation breaker,
inbound STOP / 退订, SES list-management unsubscribes, the one-click unsubscribe link, the
in-app inbox, the consent history, and attribution (by engagement, and by the UTM of the link
an order landed through)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests import moto_outbox
from tests.integration.conftest import Seller, Stack, call, new_seller, post_webhook
from tests.integration.outreach import (
    START,
    add_contact,
    add_flow,
    add_template,
    emails_to,
    enable_preset,
    messages,
    pipeline,
    publish_feedback,
    stats,
)
from tests.support import fixture_json

pytestmark = pytest.mark.xdist_group("outreach-feedback")


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def ses_event(fixture: str, sent: moto_outbox.SentEmail) -> dict[str, Any]:
    """A real SES sample about ``sent``: its mail.messageId is the MessageId SES (moto) gave
    the email, which the sender keeps a route for; recipients are the email's."""
    event = fixture_json(f"ses/{fixture}.json")
    (address,) = sent.destinations
    event["mail"].update(messageId=sent.message_id, destination=[address])
    event["mail"].pop("tags", None)  # found through the route, not the tags
    for key in ("bounce", "complaint", "delivery"):
        if key in event:
            for recipients in ("bouncedRecipients", "complainedRecipients"):
                for recipient in event[key].get(recipients, []):
                    recipient["emailAddress"] = address
            if "recipients" in event[key]:
                event[key]["recipients"] = [address]
    return event


def ses_click(sent: moto_outbox.SentEmail, link: str) -> dict[str, Any]:
    """An SES click event about ``sent``, on ``link``, two minutes after START."""
    click = ses_event("event_delivery", sent)
    del click["delivery"]
    click.update(
        eventType="Click",
        click={
            "timestamp": "2026-11-20T18:07:00.000Z",
            "ipAddress": "192.0.2.1",
            "userAgent": "Mozilla/5.0",
            "link": link,
            "linkTags": {},
        },
    )
    return click


def contact_view(stack: Stack, seller: Seller, contact_id: str) -> dict[str, Any]:
    answer = call(stack, "GET", f"/contacts/{contact_id}", seller.api_key)
    assert answer.status_code == 200, answer.body
    return dict(json.loads(answer.body))


def paid_order(buyer: str) -> bytes:
    """The orders/create fixture, paid, bought by ``buyer`` five minutes before START (each
    test has its own buyer: a later test's tick may fire an earlier test's timers)."""
    order = fixture_json("shopify/orders_create.json")
    placed = iso(START - timedelta(minutes=5))
    order.update(email=buyer, financial_status="paid", processed_at=placed)
    order.update(created_at=placed, updated_at=placed)
    order["customer"]["email"] = buyer
    return json.dumps(order).encode()


def subscribe(stack: Stack, seller: Seller, email: str, **fields: Any) -> str:
    fields.setdefault("consent", {"email": "subscribed"})
    return str(add_contact(stack, seller, email=email, **fields)["contact_id"])


def test_a_delivery_marks_the_message_delivered_and_counts_once(stack: Stack) -> None:
    # Given a welcome email that went out
    seller = new_seller(stack, "Delivered")
    flow = enable_preset(stack, seller, "welcome")
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        contact = add_contact(
            stack, seller, email="dee@example.com", consent={"email": "subscribed"}
        )
        run.run()
        (sent,) = emails_to("dee@example.com", before)
        # When SES reports the delivery (and SNS delivers the report twice)
        delivery = ses_event("event_delivery", sent)
        publish_feedback(stack, delivery)
        publish_feedback(stack, delivery)
        run.run()
    # Then the message is delivered, counted once
    (message,) = messages(stack, seller, contact_id=contact["contact_id"])
    assert message["state"] == "delivered"
    counts = stats(stack, seller, flow["flow_id"])
    assert (counts["sent"], counts["delivered"]) == (1, 1)
    assert counts["rates"]["delivery"] == "1.0000"


def test_a_hard_bounce_suppresses_the_address_and_sends_the_sms_fallback(stack: Stack) -> None:
    # Given the shipping-update preset (email, falling back to SMS) and a buyer with a phone
    moto_outbox.install()
    seller = new_seller(stack, "Bouncy")
    flow = enable_preset(stack, seller, "shipping_update")
    buyer = "bounced.buyer@example.com"
    contact = add_contact(stack, seller, email=buyer, phone="+1 415 555 0181")["contact_id"]
    before, sms_before = len(moto_outbox.sent_emails()), len(moto_outbox.sent_sms())
    with pipeline(stack) as (run, _):
        post_webhook(stack, seller, "orders/create", paid_order(buyer))
        fulfillment = fixture_json("shopify/fulfillments_create.json")
        fulfillment.update(created_at=iso(START), updated_at=iso(START))
        post_webhook(stack, seller, "fulfillments/create", json.dumps(fulfillment).encode())
        run.run()
        (sent,) = emails_to(buyer, before)
        # When SES reports a permanent bounce
        publish_feedback(stack, ses_event("event_bounce", sent))
        run.run()
    # Then the email is bounced with the receiving server's words
    log = {m["channel"]: m for m in messages(stack, seller, contact_id=contact)}
    assert (log["email"]["state"], log["email"]["reason"]) == (
        "bounced",
        "General: smtp; 550 5.1.1 user unknown",
    )
    # And the address is suppressed for this seller
    assert contact_view(stack, seller, contact)["suppressed"] == {"email": "hard bounce"}
    # And the step's SMS fallback carried the tracking link instead
    (text,) = [t for t in moto_outbox.sent_sms()[sms_before:] if t.phone == "+14155550181"]
    assert "http://www.google.com/search?q=1Z2345" in text.message
    assert text.attributes.get("AWS.SNS.SMS.SMSType") == "Transactional"
    assert log["sms"]["state"] == "sent"
    counts = stats(stack, seller, flow["flow_id"])
    assert (counts["sent"], counts["bounced"]) == (2, 1)


def test_a_complaint_unsubscribes_and_suppresses_the_address(stack: Stack) -> None:
    # Given a welcome email that went out
    seller = new_seller(stack, "Complained")
    flow = enable_preset(stack, seller, "welcome")
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        contact = subscribe(stack, seller, "grumpy@example.com")
        run.run()
        (sent,) = emails_to("grumpy@example.com", before)
        # When the recipient marks it as spam
        publish_feedback(stack, ses_event("event_complaint", sent))
        run.run()
        # And the series' second email falls due
        clock.advance(days=2)
        run.tick()
    # Then email marketing consent is withdrawn and the address suppressed
    view = contact_view(stack, seller, contact)
    consent = view["consent"]["email"]["marketing"]
    assert (consent["status"], consent["source"]) == ("unsubscribed", "complaint")
    assert view["suppressed"] == {"email": "complaint"}
    # And nothing more is sent to them
    assert len(emails_to("grumpy@example.com", before)) == 1
    log = {m["step_id"]: m for m in messages(stack, seller, contact_id=contact)}
    assert (log["welcome_email"]["state"], log["welcome_email"]["reason"]) == (
        "complained",
        "abuse",
    )
    assert (log["tip_email"]["state"], log["tip_email"]["reason"]) == (
        "suppressed",
        "email: unsubscribed",
    )
    assert stats(stack, seller, flow["flow_id"])["complained"] == 1


def test_a_delivery_reported_after_the_click_changes_nothing(stack: Stack) -> None:
    # Given a welcome email that went out
    seller = new_seller(stack, "Clicky")
    flow = enable_preset(stack, seller, "welcome")
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        contact = subscribe(stack, seller, "clicker@example.com")
        run.run()
        (sent,) = emails_to("clicker@example.com", before)
        # When SES reports the click before the delivery
        click = ses_click(sent, "https://welcomely.example/new?utm_source=linkstar")
        publish_feedback(stack, click)
        run.run()
        publish_feedback(stack, ses_event("event_delivery", sent))
        run.run()
    # Then the message stays clicked, and the click counted as delivered and opened too, once
    (message,) = messages(stack, seller, contact_id=contact)
    assert message["state"] == "clicked"
    assert [e["kind"] for e in message["events"]] == ["clicked"]
    counts = stats(stack, seller, flow["flow_id"])
    assert (counts["delivered"], counts["opened"], counts["clicked"]) == (1, 1, 1)


def test_the_reputation_breaker_pauses_marketing_email_but_not_transactional(
    stack: Stack,
) -> None:
    # Given a seller that sent 98 emails yesterday (the daily counts the sender keeps; the
    # breaker needs 100 sends before it judges a rate) and welcomes two new subscribers today
    from linkstar.store import dynamo
    from linkstar.store import outreach as repo

    seller = new_seller(stack, "Bulkmail")
    enable_preset(stack, seller, "welcome")
    enable_preset(stack, seller, "order_confirmation")
    yesterday = (START - timedelta(days=1)).date().isoformat()
    dynamo.transact([repo.reputation_op(seller.tenant_id, yesterday, {"sent": 98})])
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        subscribe(stack, seller, "first@example.com")
        subscribe(stack, seller, "second@example.com")
        run.run()
        welcomes = emails_to("first@example.com", before) + emails_to("second@example.com", before)
        assert len(welcomes) == 2
        # When both bounce (2 of 100), reported as SES notifications
        publish_feedback(stack, ses_event("bounce", welcomes[0]))
        run.run()
        settings = json.loads(call(stack, "GET", "/outreach/settings", seller.api_key).body)
        assert settings["marketing_email_paused"] is None  # 1% is not enough
        publish_feedback(stack, ses_event("bounce", welcomes[1]))
        run.run()
        # Then the seller's settings show marketing email paused, and why
        settings = json.loads(call(stack, "GET", "/outreach/settings", seller.api_key).body)
        assert settings["marketing_email_paused"]["reason"] == "bounce rate 2% >= 2%"
        # And a new subscriber's welcome is held, while an order confirmation still goes
        late = subscribe(stack, seller, "late@example.com")
        post_webhook(stack, seller, "orders/create", paid_order("bulk.buyer@example.com"))
        run.run()
    (held,) = messages(stack, seller, contact_id=late)
    assert (held["state"], held["reason"]) == (
        "held",
        "marketing email paused: bounce rate 2% >= 2%",
    )
    assert emails_to("late@example.com", before) == []
    confirmations = emails_to("bulk.buyer@example.com", before)
    assert [e.subject for e in confirmations] == ["Order #1001 confirmed"]


def sms_flow(stack: Stack, seller: Seller) -> None:
    """A marketing SMS to every new subscriber."""
    template = {
        "template_id": "hello.sms",
        "channel": "sms",
        "locale": "en",
        "purpose": "marketing",
        "body": "{{ tenant.name }}: thanks for joining! Reply STOP to opt out",
    }
    add_template(stack, seller, template)
    flow = {
        "name": "Hello by SMS",
        "trigger": {"event": "contact.subscribed"},
        "steps": [
            {
                "id": "hello",
                "type": "send",
                "channel": "sms",
                "template": "hello.sms",
                "purpose": "marketing",
            }
        ],
    }
    add_flow(stack, seller, flow)


def inbound_sms(phone: str, text: str) -> dict[str, Any]:
    """A two-way SMS reply as SNS delivers it (events/sms_inbound_sns.json)."""
    from tests.support import REPO

    payload = json.loads((REPO / "events" / "sms_inbound_sns.json").read_text())
    payload.update(originationNumber=phone, messageBody=text)
    return dict(payload)


def test_stop_and_tuiding_replies_opt_out_of_sms_for_the_seller_that_texted(
    stack: Stack,
) -> None:
    # Given a seller that texted two subscribers, and another seller that never texted one
    moto_outbox.install()
    texter = new_seller(stack, "Texter")
    sms_flow(stack, texter)
    silent = new_seller(stack, "Silent")
    both = {"email": "subscribed", "sms": "subscribed"}
    sms_before = len(moto_outbox.sent_sms())
    with pipeline(stack) as (run, _):
        english = subscribe(stack, texter, "en@example.com", phone="+1 425 555 0182", consent=both)
        chinese = subscribe(stack, texter, "zh@example.com", phone="+1 425 555 0183", consent=both)
        elsewhere = subscribe(
            stack, silent, "en@example.com", phone="+1 425 555 0182", consent=both
        )
        run.run()
        texted = {t.phone for t in moto_outbox.sent_sms()[sms_before:]}
        assert {"+14255550182", "+14255550183"} <= texted
        # When they reply STOP and 退订
        publish_feedback(stack, inbound_sms("+14255550182", "STOP"))
        publish_feedback(stack, inbound_sms("+14255550183", "退订"))
        run.run()
    # Then both are opted out of the texting seller's SMS marketing, with the reply as proof
    for contact, text in ((english, "STOP"), (chinese, "退订")):
        view = contact_view(stack, texter, contact)
        assert view["consent"]["sms"]["marketing"]["status"] == "unsubscribed"
        last = view["consent_history"][-1]
        assert (last["channel"], last["status"], last["source"]) == (
            "sms",
            "unsubscribed",
            "sms_keyword",
        )
        assert last["proof"]["text"] == text
    # And the seller that never texted that number keeps its own consent
    kept = contact_view(stack, silent, elsewhere)["consent"]["sms"]["marketing"]
    assert kept["status"] == "subscribed"


def test_the_one_click_unsubscribe_link(stack: Stack) -> None:
    # Given a welcome email with its List-Unsubscribe link
    seller = new_seller(stack, "Unsubly")
    flow = enable_preset(stack, seller, "welcome")
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        contact = subscribe(stack, seller, "una@example.com")
        run.run()
        (sent,) = emails_to("una@example.com", before)
        header = sent.header("List-Unsubscribe") or ""
        path = urlsplit(header.strip("<>")).path
        assert path.startswith("/unsubscribe/")
        assert path.rsplit("/", 1)[1] in (sent.text or "")  # the footer has the same link
        # When the recipient opens it an hour later, a small preference page shows
        clock.advance(hours=1)
        page = stack.api.get(path)
        assert page.status_code == 200
        assert "Unsubscribe from email" in page.body.decode()
        # And a forged link (another contact, the original signature) is refused
        assert stack.api.get(forged(path)).status_code == 400
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        refused = stack.api.post(forged(path), headers=form, body=b"List-Unsubscribe=One-Click")
        assert refused.status_code == 400
        # When the mailbox provider posts the RFC 8058 one-click request
        done = stack.api.post(path, headers=form, body=b"List-Unsubscribe=One-Click")
        assert done.status_code == 200
        assert "You are unsubscribed" in done.body.decode()
        # And the second email of the series falls due
        clock.advance(days=2)
        run.tick()
    # Then consent is withdrawn at once, and the history shows how
    view = contact_view(stack, seller, contact)
    assert view["consent"]["email"]["marketing"]["status"] == "unsubscribed"
    history = [(c["channel"], c["status"], c["source"]) for c in view["consent_history"]]
    assert history == [("email", "subscribed", "api"), ("email", "unsubscribed", "one_click")]
    assert "You are not subscribed" in stack.api.get(path).body.decode()
    # And nothing more is sent
    assert len(emails_to("una@example.com", before)) == 1
    tip = next(
        m for m in messages(stack, seller, contact_id=contact) if m["step_id"] == "tip_email"
    )
    assert (tip["state"], tip["reason"]) == ("suppressed", "email: unsubscribed")
    assert stats(stack, seller, flow["flow_id"])["unsubscribed"] == 1


def forged(path: str) -> str:
    """The same link with another contact id in its payload and the original signature."""
    import base64

    prefix, token = path.rsplit("/", 1)
    payload, signature = token.split(".")
    claim = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claim["c"] = "c" + "0" * 20
    encoded = base64.urlsafe_b64encode(json.dumps(claim).encode()).decode().rstrip("=")
    return f"{prefix}/{encoded}.{signature}"


def test_an_in_app_step_lands_in_the_contacts_inbox(stack: Stack) -> None:
    # Given a flow that greets new subscribers in the app
    seller = new_seller(stack, "Appy")
    template = {
        "template_id": "points.in_app",
        "channel": "in_app",
        "locale": "en",
        "purpose": "marketing",
        "subject": "50 points for you",
        "body": "Hi {{ contact.first_name }}, 50 points are waiting at {{ tenant.name }}.",
    }
    add_template(stack, seller, template)
    flow = {
        "name": "Points",
        "trigger": {"event": "contact.subscribed"},
        "steps": [
            {
                "id": "points",
                "type": "send",
                "channel": "in_app",
                "template": "points.in_app",
                "purpose": "marketing",
            }
        ],
    }
    add_flow(stack, seller, flow)
    with pipeline(stack) as (run, _):
        # When a contact subscribes
        contact = subscribe(stack, seller, "app@example.com", first_name="Ann")
        run.run()
    # Then the message is in their inbox
    inbox = json.loads(call(stack, "GET", f"/contacts/{contact}/inbox", seller.api_key).body)
    assert [(m["title"], m["text"]) for m in inbox["messages"]] == [
        ("50 points for you", "Hi Ann, 50 points are waiting at Appy.")
    ]
    (message,) = messages(stack, seller, contact_id=contact)
    assert (message["channel"], message["state"]) == ("in_app", "sent")
    assert inbox["messages"][0]["message_id"] == message["message_id"]


def order_placed_at(buyer: str, placed: datetime) -> bytes:
    order = json.loads(paid_order(buyer))
    stamp = iso(placed)
    order.update(created_at=stamp, updated_at=stamp, processed_at=stamp)
    return json.dumps(order).encode()


def test_an_order_after_a_click_is_the_flows_conversion_once(stack: Stack) -> None:
    # Given a welcome email the buyer clicked
    seller = new_seller(stack, "Converts")
    flow = enable_preset(stack, seller, "welcome")
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        contact = subscribe(stack, seller, "convert@example.com")
        run.run()
        (sent,) = emails_to("convert@example.com", before)
        click = ses_click(sent, "https://converts.example/new?utm_source=linkstar")
        publish_feedback(stack, click)
        run.run()
        # When the buyer orders an hour later (and the platform sends the webhook twice)
        clock.advance(seconds=3600)
        body = order_placed_at("convert@example.com", START + timedelta(hours=1))
        post_webhook(stack, seller, "orders/create", body)
        post_webhook(stack, seller, "orders/create", body)
        run.run()
    # Then the order is the flow's conversion, its revenue attributed, once
    counts = stats(stack, seller, flow["flow_id"])
    assert counts["conversions"] == 1
    assert counts["attributed_revenue"] == {"USD": "409.94"}  # the fixture order's total
    (message,) = messages(stack, seller, contact_id=contact)
    assert message["attributed_order_id"] is not None


def test_an_order_outside_the_window_is_not_attributed(stack: Stack) -> None:
    # Given a welcome email the buyer opened
    seller = new_seller(stack, "Too late")
    flow = enable_preset(stack, seller, "welcome")
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        contact = subscribe(stack, seller, "late@example.com")
        run.run()
        (sent,) = emails_to("late@example.com", before)
        opened = ses_event("event_delivery", sent)
        del opened["delivery"]
        opened.update(
            eventType="Open",
            open={
                "timestamp": "2026-11-20T18:07:00.000Z",
                "ipAddress": "192.0.2.1",
                "userAgent": "Mozilla/5.0",
            },
        )
        publish_feedback(stack, opened)
        run.run()
        # When the order comes six days later (the email window is five)
        clock.advance(seconds=6 * 86400)
        later = START + timedelta(days=6)
        post_webhook(stack, seller, "orders/create", order_placed_at("late@example.com", later))
        run.run()
    # Then nothing is attributed
    assert stats(stack, seller, flow["flow_id"])["conversions"] == 0
    assert all(
        m["attributed_order_id"] is None for m in messages(stack, seller, contact_id=contact)
    )


# ---------------------------------------------------------------- attribution by UTM

SHOP = "https://shop.example"


def link_flow(stack: Stack, seller: Seller, *, second_after: str | None = None) -> str:
    """A flow mailing each new subscriber a link to the shop (and, given ``second_after``, a
    second one after that wait). Returns the flow id."""
    steps: list[dict[str, Any]] = []
    for step in ("first", "second") if second_after else ("first",):
        template = {
            "template_id": f"{step}.email",
            "channel": "email",
            "locale": "en",
            "purpose": "marketing",
            "subject": f"The {step} news from {{{{ tenant.name }}}}",
            "body": f"New arrivals: {SHOP}/collections/{step}\n"
            "Unsubscribe: {{ links.unsubscribe_url }}",
        }
        add_template(stack, seller, template)
        if step == "second":
            steps.append({"id": "pause", "type": "wait", "duration": second_after})
        send = {"type": "send", "channel": "email", "purpose": "marketing"}
        steps.append({"id": step, **send, "template": f"{step}.email"})
    flow = {"name": "News", "trigger": {"event": "contact.subscribed"}, "steps": steps}
    return str(add_flow(stack, seller, flow)["flow_id"])


def landing_site_of(sent: moto_outbox.SentEmail) -> str:
    """Where the email's shop link lands, as Shopify reports an order's ``landing_site``: the
    path and query of the URL the buyer followed (UTM included)."""
    (url,) = [word for word in (sent.text or "").split() if word.startswith(SHOP)]
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def order_landing(buyer: str, placed: datetime, landing_site: str) -> bytes:
    order = json.loads(order_placed_at(buyer, placed))
    order["landing_site"] = landing_site
    return json.dumps(order).encode()


def test_an_order_landing_through_a_message_link_is_its_conversion_once(stack: Stack) -> None:
    # Given an email with a shop link, which the buyer neither opened nor clicked as far as SES
    # can tell (images off, no click tracking)
    seller = new_seller(stack, "Landed")
    flow = link_flow(stack, seller)
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        contact = subscribe(stack, seller, "landed@example.com")
        run.run()
        (sent,) = emails_to("landed@example.com", before)
        landing = landing_site_of(sent)
        # When they order an hour later, having landed through that link (and the platform
        # sends the webhook twice)
        clock.advance(hours=1)
        body = order_landing("landed@example.com", START + timedelta(hours=1), landing)
        post_webhook(stack, seller, "orders/create", body)
        post_webhook(stack, seller, "orders/create", body)
        run.run()
    # Then the link's UTM named the message, and the order is its flow's conversion, once
    (message,) = messages(stack, seller, contact_id=contact)
    assert f"utm_content={message['message_id']}" in landing
    counts = stats(stack, seller, flow)
    assert counts["conversions"] == 1
    assert counts["attributed_revenue"] == {"USD": "409.94"}
    assert message["attributed_order_id"] is not None


def test_a_utm_naming_another_buyers_or_sellers_message_is_not_trusted(stack: Stack) -> None:
    # Given two sellers mailing the same flow, and the link one of them sent to Alice
    seller = new_seller(stack, "Trusting")
    other = new_seller(stack, "Other shop")
    flow, other_flow = link_flow(stack, seller), link_flow(stack, other)
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        alice = subscribe(stack, seller, "alice.utm@example.com")
        subscribe(stack, seller, "bob.utm@example.com")
        run.run()
        (sent,) = emails_to("alice.utm@example.com", before)
        landing = landing_site_of(sent)
        # When Bob orders from that seller through Alice's link, and Alice orders from the
        # other seller through it
        clock.advance(hours=1)
        placed = START + timedelta(hours=1)
        bobs = order_landing("bob.utm@example.com", placed, landing)
        post_webhook(stack, seller, "orders/create", bobs)
        alices = order_landing("alice.utm@example.com", placed, landing)
        post_webhook(stack, other, "orders/create", alices)
        run.run()
    # Then neither order is anybody's conversion
    assert stats(stack, seller, flow)["conversions"] == 0
    assert stats(stack, other, other_flow)["conversions"] == 0
    (message,) = messages(stack, seller, contact_id=alice)
    assert message["attributed_order_id"] is None


def test_an_order_is_credited_to_the_message_its_utm_names_over_the_last_clicked(
    stack: Stack,
) -> None:
    # Given two emails a day apart (the marketing email cap is one per 16 h): the buyer
    # clicked the first one
    seller = new_seller(stack, "Two links")
    flow = link_flow(stack, seller, second_after="P1D")
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        contact = subscribe(stack, seller, "twice@example.com")
        run.run()
        (first,) = emails_to("twice@example.com", before)
        click = ses_click(first, f"{SHOP}/collections/first?utm_source=linkstar")
        publish_feedback(stack, click)
        run.run()
        clock.advance(days=1)
        run.tick()
        _, second = emails_to("twice@example.com", before)
        # When they order through the second email's link
        clock.advance(minutes=30)
        placed = START + timedelta(days=1, minutes=30)
        body = order_landing("twice@example.com", placed, landing_site_of(second))
        post_webhook(stack, seller, "orders/create", body)
        run.run()
    # Then the second email gets the credit, the clicked one doesn't
    log = {m["step_id"]: m for m in messages(stack, seller, contact_id=contact)}
    assert log["first"]["state"] == "clicked"
    assert log["first"]["attributed_order_id"] is None
    assert log["second"]["attributed_order_id"] is not None
    assert stats(stack, seller, flow)["conversions"] == 1


# ---------------------------------------------------------------- SES list management


def ses_subscription(sent: moto_outbox.SentEmail, at: datetime) -> dict[str, Any]:
    """The SES guide's Subscription record (events/ses_event_records.json: the recipient used
    the List-Unsubscribe header to leave every topic of the contact list) about ``sent``."""
    from tests.support import REPO

    records = json.loads((REPO / "events" / "ses_event_records.json").read_text())
    event = dict(records["Subscription"])
    (address,) = sent.destinations
    event["mail"] = dict(event["mail"], messageId=sent.message_id, destination=[address])
    event["mail"].pop("tags", None)  # found through the route, not the tags
    event["subscription"] = dict(event["subscription"], timestamp=iso(at))
    return event


def test_an_ses_list_unsubscribe_withdraws_email_marketing_consent_once(stack: Stack) -> None:
    # Given a welcome email that went out
    seller = new_seller(stack, "Listed")
    flow = enable_preset(stack, seller, "welcome")
    before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        contact = subscribe(stack, seller, "lister@example.com")
        run.run()
        (sent,) = emails_to("lister@example.com", before)
        # When SES reports that the recipient unsubscribed through the List-Unsubscribe header
        # (and SNS delivers the report twice)
        left = ses_subscription(sent, START + timedelta(minutes=10))
        publish_feedback(stack, left)
        publish_feedback(stack, left)
        run.run()
        # And the series' second email falls due
        clock.advance(days=2)
        run.tick()
    # Then email marketing consent is withdrawn, with SES's list and topics as proof, once
    view = contact_view(stack, seller, contact)
    consent = view["consent"]["email"]["marketing"]
    assert (consent["status"], consent["source"]) == ("unsubscribed", "ses_subscription")
    proof = consent["proof"]
    assert (proof["contact_list"], proof["topics"], proof["all_topics"]) == (
        "ContactListName",
        [],
        True,
    )
    assert proof["reason"] == "all topics: UnsubscribeHeader"
    log = {m["step_id"]: m for m in messages(stack, seller, contact_id=contact)}
    assert proof["message_id"] == log["welcome_email"]["message_id"]
    history = [(c["channel"], c["status"], c["source"]) for c in view["consent_history"]]
    assert history == [
        ("email", "subscribed", "api"),
        ("email", "unsubscribed", "ses_subscription"),
    ]
    assert stats(stack, seller, flow["flow_id"])["unsubscribed"] == 1
    # And nothing more is sent
    assert len(emails_to("lister@example.com", before)) == 1
    assert (log["tip_email"]["state"], log["tip_email"]["reason"]) == (
        "suppressed",
        "email: unsubscribed",
    )


# ---------------------------------------------------------------- consent history


def test_two_consent_changes_in_one_instant_both_stay_in_the_history(stack: Stack) -> None:
    # Given a seller texting new subscribers, on a clock that doesn't move
    moto_outbox.install()
    seller = new_seller(stack, "Same instant")
    sms_flow(stack, seller)
    both = {"email": "subscribed", "sms": "subscribed"}
    with pipeline(stack) as (run, _):
        # When a contact is imported with SMS consent and texts STOP in the same microsecond
        contact = subscribe(
            stack, seller, "instant@example.com", phone="+1 425 555 0191", consent=both
        )
        run.run()
        publish_feedback(stack, inbound_sms("+14255550191", "STOP"))
        run.run()
    # Then the history keeps both SMS changes, in the order they were made
    view = contact_view(stack, seller, contact)
    sms = [(c["status"], c["source"]) for c in view["consent_history"] if c["channel"] == "sms"]
    assert sms == [("subscribed", "api"), ("unsubscribed", "sms_keyword")]
    assert len({c["at"] for c in view["consent_history"]}) == 1  # one instant
    assert view["consent"]["sms"]["marketing"]["status"] == "unsubscribed"
