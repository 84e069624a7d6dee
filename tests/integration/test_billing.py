"""Metering and billing through the whole pipeline on moto: what was sent (moto's SES and SNS
outboxes) is what was counted, exactly once under redelivery, retries and a crash; plans, rate
cards, holds, alerts, the month close, reconciliation and the export, through the API."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests import moto_outbox
from tests.integration.conftest import (
    FakeContext,
    Seller,
    Stack,
    call,
    drain,
    new_seller,
    sqs_event,
)
from tests.integration.outreach import START, add_contact, messages, pipeline

pytestmark = pytest.mark.xdist_group("billing")

MONTH = START.strftime("%Y-%m")


def body(response: Any) -> Any:
    return json.loads(response.body)


def send_flow(stack: Stack, seller: Seller, channel: str, text: str, purpose: str) -> str:
    """A one-step flow sending ``text`` on ``channel`` when a contact subscribes."""
    template: dict[str, Any] = {
        "template_id": f"bill.{channel}",
        "channel": channel,
        "locale": "en",
        "purpose": purpose,
        "body": text,
    }
    if channel == "email":
        template["subject"] = "Hello"
        if purpose == "marketing":
            template["body"] += "\nUnsubscribe: {{ links.unsubscribe_url }}"
    if channel == "whatsapp":
        template["whatsapp"] = {"name": "order_update", "language": "en", "category": "utility"}
    saved = call(stack, "POST", "/templates", seller.api_key, template)
    assert saved.status_code == 200, saved.body
    definition = {
        "name": f"Billing {channel}",
        "trigger": {"event": "contact.subscribed"},
        "steps": [
            {
                "id": "send",
                "type": "send",
                "channel": channel,
                "template": template["template_id"],
                "purpose": purpose,
            }
        ],
        "reentry": {"policy": "once"},
    }
    created = call(stack, "POST", "/flows", seller.api_key, definition)
    assert created.status_code == 200, created.body
    return str(body(created)["flow_id"])


def plan(**changes: Any) -> dict[str, Any]:
    """A small plan: 3 emails and 2 SMS segments included; SMS priced in US and GB only."""
    doc: dict[str, Any] = {
        "plan_id": "test",
        "currency": "USD",
        "effective_from": f"{MONTH}-01",
        "base_fee": "10.00",
        "channels": {
            "email": {
                "included_units": 3,
                "model": "graduated",
                "tiers": [{"up_to": None, "per_thousand": "1.00"}],
            },
            "sms": {
                "included_units": 2,
                "model": "rate_card",
                "rates": [
                    {"country": "US", "unit_price": "0.01", "provider_cost": "0.006"},
                    {"country": "GB", "unit_price": "0.04", "provider_cost": "0.03"},
                ],
            },
        },
    }
    doc.update(changes)
    return doc


def put_plan(stack: Stack, seller: Seller, doc: dict[str, Any]) -> dict[str, Any]:
    answer = call(stack, "PUT", "/plan", seller.api_key, doc)
    assert answer.status_code == 200, answer.body
    return dict(body(answer))


def usage(stack: Stack, seller: Seller) -> dict[str, Any]:
    answer = call(stack, "GET", f"/usage?month={MONTH}", seller.api_key)
    assert answer.status_code == 200, answer.body
    return dict(body(answer))


def lines(report: dict[str, Any]) -> dict[tuple[str, str], tuple[int, int, int, str]]:
    return {
        (line["channel"], line["country"]): (
            line["units"],
            line["included_units"],
            line["overage_units"],
            line["amount"],
        )
        for line in report["lines"]
    }


def reconcile(stack: Stack, seller: Seller) -> dict[str, Any]:
    path = f"/admin/billing/reconcile?tenant_id={seller.tenant_id}&month={MONTH}"
    answer = call(stack, "GET", path, stack.admin_token)
    assert answer.status_code == 200, answer.body
    return dict(body(answer))


def subscribe(stack: Stack, seller: Seller, n: int, prefix: str, **fields: Any) -> list[str]:
    ids = []
    for i in range(n):
        contact = add_contact(
            stack,
            seller,
            email=f"{prefix}{i}@example.com",
            consent={"email": "subscribed"},
            **fields,
        )
        ids.append(contact["contact_id"])
    return ids


def sms_subscriber(stack: Stack, seller: Seller, phone: str) -> dict[str, Any]:
    """A contact subscribing (by email, which is what fires contact.subscribed) with a phone."""
    consent = {"email": "subscribed", "sms": "subscribed"}
    email = f"p{phone.lstrip('+')}@example.com"
    return add_contact(stack, seller, email=email, phone=phone, consent=consent)


# ---------------------------------------------------------------- what is counted


def redeliver_shuffled(stack: Stack, queue_name: str, expected: int, seed: int) -> None:
    """Take every request off ``queue_name`` (there must be ``expected``) and put each back
    three times, the copies shuffled among each other: SQS's at-least-once delivery, at worst."""
    sqs = boto3.client("sqs")
    queue = stack.resource(queue_name)
    bodies = []
    while got := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages"):
        for message in got:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    assert len(bodies) == expected
    copies = bodies * 3
    random.Random(seed).shuffle(copies)
    for text in copies:
        sqs.send_message(QueueUrl=queue, MessageBody=text)


def test_sms_is_counted_per_segment_and_destination_and_priced_after_the_quota(
    stack: Stack,
) -> None:
    # Given a plan with 2 SMS segments included, US at $0.01 and GB at $0.04 a segment
    seller = new_seller(stack, "Segments")
    put_plan(stack, seller, plan())
    # And a transactional SMS in Chinese: UCS-2, 75 characters is two segments (67 + 8)
    send_flow(stack, seller, "sms", "您好" * 37 + "!", "transactional")
    sent_before = len(moto_outbox.sent_sms())
    with pipeline(stack) as (run, _):
        # When it goes to two US numbers and one UK number
        for phone in ("+14155550101", "+14155550102", "+447400123456"):
            sms_subscriber(stack, seller, phone)
        run.run()
    # Then three texts went out, and six segments are counted by destination
    assert len(moto_outbox.sent_sms()[sent_before:]) == 3
    report = usage(stack, seller)
    # The 2 included segments go to the dearer GB ones first: GB 2 included, US 4 x $0.01.
    assert lines(report) == {("sms", "GB"): (2, 2, 0, "0.00"), ("sms", "US"): (4, 0, 4, "0.04")}
    assert report["total"] == "10.04"  # base fee 10.00 + 0.04
    assert reconcile(stack, seller)["ok"] is True


def test_redelivered_and_shuffled_send_requests_count_each_email_once(stack: Stack) -> None:
    # Given an email flow and five subscribers
    seller = new_seller(stack, "Redelivered")
    put_plan(stack, seller, plan())
    send_flow(stack, seller, "email", "Welcome", "transactional")
    from functions.flows.app import handler as flows
    from functions.senders.app import handler as senders

    emails_before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        subscribe(stack, seller, 5, "dup")
        run.publish()
        drain(stack, "FlowQueue", flows)
        # When every send request is delivered three times, in a shuffled order
        redeliver_shuffled(stack, "EmailQueue", 5, seed=7)
        drain(stack, "EmailQueue", senders)
        run.run()
    # Then five emails went out and five are counted: 3 included, 2 over at $1 per 1,000
    assert len(moto_outbox.sent_emails()[emails_before:]) == 5
    assert lines(usage(stack, seller)) == {("email", "ZZ"): (5, 3, 2, "0.00")}
    check = reconcile(stack, seller)
    assert (check["ok"], check["records"], check["messages"], check["units"]) == (True, 5, 5, 5)
    # And the operator's recount of every tenant agrees too
    everyone = call(stack, "GET", f"/admin/billing/reconcile?month={MONTH}", stack.admin_token)
    assert body(everyone)["ok"] is True
    assert seller.tenant_id in {t["tenant_id"] for t in body(everyone)["tenants_with_usage"]}


def test_a_crash_after_the_provider_call_counts_once_and_a_refusal_not_at_all(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an email flow, SES refusing one address, and a worker that dies right after SES
    # accepted another (before it could record the send)
    seller = new_seller(stack, "Crashing")
    put_plan(stack, seller, plan())
    send_flow(stack, seller, "email", "Welcome", "transactional")
    from linkstar.outreach import sender
    from linkstar.outreach.providers.errors import PermanentProviderError

    from functions.flows.app import handler as flows
    from functions.senders.app import handler as senders

    real = sender.PROVIDERS["email"]

    def flaky(message: Any, contact: Any) -> str:
        if contact.email == "refused@example.com":
            raise PermanentProviderError(
                "SES refused the email", provider="ses", code="ses_message_rejected"
            )
        provider_id = real(message, contact)
        if contact.email == "crash@example.com":
            raise RuntimeError("worker died after the provider call")
        return str(provider_id)

    monkeypatch.setitem(sender.PROVIDERS, "email", flaky)
    sqs = boto3.client("sqs")
    queue = stack.resource("EmailQueue")
    emails_before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, clock):
        for name in ("crash", "refused", "fine"):
            add_contact(stack, seller, email=f"{name}@example.com", consent={"email": "subscribed"})
        run.publish()
        drain(stack, "FlowQueue", flows)
        # When one batch of the three requests reaches the sender
        got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        assert len(got) == 3
        answer = senders(sqs_event(queue, got), FakeContext())
        assert len(answer["batchItemFailures"]) == 1  # the crashed one, for SQS to redeliver
        for message in got:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        # Then the crashed message is still "sending" and counted; the refused one failed and
        # is not counted; the fine one is sent and counted
        crashed = next(m for m in messages(stack, seller) if m["to"] == "crash@example.com")
        assert crashed["state"] == "sending"
        assert lines(usage(stack, seller)) == {("email", "ZZ"): (2, 2, 0, "0.00")}
        # When its redelivery arrives after the claim has gone stale
        clock.advance(minutes=11)
        sqs.send_message(
            QueueUrl=queue,
            MessageBody=json.dumps(
                {"tenant_id": seller.tenant_id, "message_id": crashed["message_id"]}
                | {"channel": "email"}
            ),
        )
        drain(stack, "EmailQueue", senders)
    # Then it is failed as "outcome unknown", never sent twice, and still counted once
    by_address = {m["to"]: m for m in messages(stack, seller)}
    assert by_address["crash@example.com"]["state"] == "failed"
    assert by_address["crash@example.com"]["reason"].startswith("outcome unknown")
    assert by_address["refused@example.com"]["state"] == "failed"
    assert by_address["fine@example.com"]["state"] == "sent"
    sent = [e.destinations for e in moto_outbox.sent_emails()[emails_before:]]
    assert sorted(sent) == [["crash@example.com"], ["fine@example.com"]]
    assert lines(usage(stack, seller)) == {("email", "ZZ"): (2, 2, 0, "0.00")}
    assert reconcile(stack, seller)["ok"] is True


# ---------------------------------------------------------------- holds


def test_a_send_that_cant_be_priced_is_held_until_a_rate_card_prices_it(stack: Stack) -> None:
    # Given a plan whose SMS rate card has no Mexico row
    seller = new_seller(stack, "Unpriced")
    put_plan(stack, seller, plan())
    send_flow(stack, seller, "sms", "Your order shipped", "transactional")
    sent_before = len(moto_outbox.sent_sms())
    with pipeline(stack) as (run, _):
        # When a Mexican number is to get an SMS
        contact = sms_subscriber(stack, seller, "+525512345678")
        run.run()
        # Then it is held with the reason, and nothing was sent for free
        (held,) = messages(stack, seller, contact_id=contact["contact_id"])
        assert (held["state"], held["reason"]) == (
            "held",
            "billing: cannot price this send (no_rate:sms:MX)",
        )
        assert moto_outbox.sent_sms()[sent_before:] == []
        # When the admin uploads a rate card with Mexico, from this month
        card = "country,unit_price,provider_cost\nUS,0.01,0.006\nGB,0.04,0.03\nMX,0.05,0.04\n"
        answer = call(
            stack,
            "PUT",
            f"/rate-cards/sms?effective_from={MONTH}-01",
            seller.api_key,
            card,
            content_type="text/csv",
        )
        assert answer.status_code == 200, answer.body
        assert body(answer)["released_holds"] == 1
        run.run()
    # Then it goes out and is counted for Mexico (inside the included quota)
    assert [t.phone for t in moto_outbox.sent_sms()[sent_before:]] == ["+525512345678"]
    assert lines(usage(stack, seller)) == {("sms", "MX"): (1, 1, 0, "0.00")}


def test_a_hard_cap_holds_sends_beyond_the_spend_limit_and_lifting_it_releases_them(
    stack: Stack,
) -> None:
    # Given a hard cap at $10.02 over a $10 base fee and US SMS at $0.01 after 2 free segments
    seller = new_seller(stack, "Capped")
    put_plan(stack, seller, plan(spend_limit="10.02", hard_cap=True))
    send_flow(stack, seller, "sms", "Your order shipped", "transactional")
    sent_before = len(moto_outbox.sent_sms())
    phones = [f"+1415555020{i}" for i in range(6)]
    with pipeline(stack) as (run, _):
        # When six US numbers are to get one segment each
        for phone in phones:
            sms_subscriber(stack, seller, phone)
        run.run()
        # Then four go (2 free, 2 x $0.01 = $10.02) and two are held with the reason
        assert len(moto_outbox.sent_sms()[sent_before:]) == 4
        report = usage(stack, seller)
        assert report["total"] == "10.02"
        held = [
            m
            for m in messages(stack, seller)
            if m["state"] == "held" and m["reason"].startswith("billing: spend limit")
        ]
        assert len(held) == 2
        assert held[0]["reason"] == "billing: spend limit 10.02 USD reached (hard cap)"
        # When the owner lifts the cap
        answer = put_plan(stack, seller, plan(spend_limit="50.00", hard_cap=True))
        assert answer["released_holds"] == 2
        run.run()
    # Then the held two go as well, and nothing was dropped
    assert sorted(t.phone for t in moto_outbox.sent_sms()[sent_before:]) == sorted(phones)
    assert usage(stack, seller)["total"] == "10.04"


# ---------------------------------------------------------------- alerts


def test_quota_alerts_fire_once_each_as_an_event_and_an_email_to_the_billing_contact(
    stack: Stack,
) -> None:
    # Given 3 included emails, alerts at 80% and 100%, and a billing contact
    seller = new_seller(stack, "Alerted")
    put_plan(stack, seller, plan(alert_emails=["billing@alerted.example"]))
    send_flow(stack, seller, "email", "Welcome", "transactional")
    emails_before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        # When five emails go out, one at a time
        for i in range(5):
            subscribe(stack, seller, 1, f"alert{i}-")
            run.run()
    # Then 80% (at the 3rd email: 100%, both) fired once each, and no more after that
    to_contact = [
        e.subject
        for e in moto_outbox.sent_emails()[emails_before:]
        if "billing@alerted.example" in e.destinations
    ]
    assert sorted(to_contact) == [
        f"LinkStar usage alert for {MONTH}: quota:email:100",
        f"LinkStar usage alert for {MONTH}: quota:email:80",
    ]
    # And the seller's own usage shows only its five emails (the alerts are LinkStar's)
    assert lines(usage(stack, seller)) == {("email", "ZZ"): (5, 3, 2, "0.00")}


def test_billing_contacts_read_alerts_in_the_plans_alert_language(stack: Stack) -> None:
    # Given a plan whose alerts go to a contact in Chinese
    seller = new_seller(stack, "Alerted in Chinese")
    put_plan(stack, seller, plan(alert_emails=["caiwu@alerted.example"], alert_locale="zh-CN"))
    send_flow(stack, seller, "email", "Welcome", "transactional")
    emails_before = len(moto_outbox.sent_emails())
    with pipeline(stack) as (run, _):
        # When the included emails run out
        for i in range(3):
            subscribe(stack, seller, 1, f"zh-alert{i}-")
            run.run()
    # Then the contact's alerts are written in Chinese, subject and body
    sent = [
        e
        for e in moto_outbox.sent_emails()[emails_before:]
        if "caiwu@alerted.example" in e.destinations
    ]
    assert sorted(e.subject for e in sent) == [
        f"LinkStar 用量提醒（{MONTH}）：quota:email:100",
        f"LinkStar 用量提醒（{MONTH}）：quota:email:80",
    ]
    assert all("月份：" in (e.text or "") and "used in" not in (e.text or "") for e in sent)
    # and the plan says its alert language back; anything but en or zh-CN is refused
    assert body(call(stack, "GET", "/plan", seller.api_key))["plan"]["alert_locale"] == "zh-CN"
    refused = call(stack, "PUT", "/plan", seller.api_key, plan(alert_locale="fr"))
    assert refused.status_code == 400


# ---------------------------------------------------------------- plans and invoices


def test_only_an_admin_changes_the_plan_from_a_month_that_has_not_ended_and_it_is_audited(
    stack: Stack,
) -> None:
    seller = new_seller(stack, "Governed")
    viewer = call(stack, "POST", "/api-keys", seller.api_key, {"role": "viewer"})
    viewer_key = body(viewer)["api_key"]
    with pipeline(stack) as (_, clock):
        # A viewer may read the plan (the starter plan until one is chosen) but not change it
        current = call(stack, "GET", "/plan", viewer_key)
        assert current.status_code == 200 and body(current)["is_default"] is True
        assert call(stack, "PUT", "/plan", viewer_key, plan()).status_code == 403
        # A change must say from when, and not from a month that has ended
        undated = {k: v for k, v in plan().items() if k != "effective_from"}
        answer = call(stack, "PUT", "/plan", seller.api_key, undated)
        assert (answer.status_code, body(answer)["code"]) == (400, "effective_from_required")
        past = call(stack, "PUT", "/plan", seller.api_key, plan(effective_from="2026-10-01"))
        assert (past.status_code, body(past)["code"]) == (400, "effective_from_in_the_past")
        bad = call(stack, "PUT", "/plan", seller.api_key, plan(effective_from="2026-12-15"))
        assert bad.status_code == 400
        # The owner's change is audited with who made it, before and after
        put_plan(stack, seller, plan())
        clock.advance(seconds=1)
        put_plan(stack, seller, plan(base_fee="12.00", effective_from="2026-12-01"))
        audit = body(call(stack, "GET", "/plan/audit", seller.api_key))["changes"]
    assert [(c["effective_from"], c["after"]["base_fee"]) for c in audit] == [
        ("2026-12-01", "12.00"),
        ("2026-11-01", "10.00"),
    ]
    assert audit[1]["before"] is None and audit[0]["actor"]["role"] == "owner"
    assert body(call(stack, "GET", "/plan?month=2026-12", seller.api_key))["plan"]["base_fee"] == (
        "12.00"
    )


def test_the_month_close_freezes_an_invoice_once_and_only_its_tenant_reads_it(
    stack: Stack,
) -> None:
    # Given a month with seven emails (3 included, 4 at $1 per 1,000) and a $10 base fee
    seller = new_seller(stack, "Invoiced")
    other = new_seller(stack, "Nosy")
    put_plan(
        stack,
        seller,
        plan(credits=[{"credit_id": "welcome", "amount": "4.00", "granted_at": f"{MONTH}-01"}]),
    )
    send_flow(stack, seller, "email", "Welcome", "transactional")
    with pipeline(stack) as (run, clock):
        subscribe(stack, seller, 7, "inv")
        run.run()
        preview = body(call(stack, "GET", f"/usage/invoice-preview?month={MONTH}", seller.api_key))
        # When the month-close schedule runs on the 1st, twice
        clock.set(datetime(2026, 12, 1, 0, 15, tzinfo=UTC))
        from functions.timers.app import handler as timers

        first = timers({"job": "close_month"}, FakeContext())
        second = timers({"job": "close_month"}, FakeContext())
    # (This stack is shared by the session: another module's tenant may hold usage its plan
    # can't price, whose month rightly stays open and counts as failed; closing again changes
    # nothing for anyone, and this seller's invoice below is the one that must be right.)
    assert first["closed"] >= 1 and second == first
    # Then there is one invoice: 10.00 base + 0.00 overage (4 x $0.001 = $0.004 → 0.00), less
    # the $4 credit
    listed = body(call(stack, "GET", "/invoices", seller.api_key))["invoices"]
    assert len(listed) == 1
    invoice_id = listed[0]["invoice_id"]
    invoice = body(call(stack, "GET", f"/invoices/{invoice_id}", seller.api_key))
    assert (invoice["subtotal"], invoice["credits_total"], invoice["total"]) == (
        "10.00",
        "4.00",
        "6.00",
    )
    assert invoice["total"] == preview["total"]
    email_lines = [line for line in invoice["lines"] if line["channel"] == "email"]
    assert sum(line["included_units"] for line in email_lines) == 3
    assert sum(line["overage_units"] for line in email_lines) == 4
    # And the CSV says the same
    text = call(stack, "GET", f"/invoices/{invoice_id}?format=csv", seller.api_key).body.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[-1]["line_type"] == "total" and rows[-1]["amount"] == "6.00"
    # And another tenant can't read it
    assert call(stack, "GET", f"/invoices/{invoice_id}", other.api_key).status_code == 404
    # And the credit's balance carried to the next month is what is left: nothing
    from linkstar.store import billing as store

    balances, _ = store.credit_balances(seller.tenant_id)
    assert balances == {"welcome": 0}


def test_usage_exports_as_csv_and_cloudevents_one_per_message(stack: Stack) -> None:
    seller = new_seller(stack, "Exported")
    put_plan(stack, seller, plan())
    send_flow(stack, seller, "email", "Welcome", "transactional")
    with pipeline(stack) as (run, _):
        subscribe(stack, seller, 3, "exp", country="DE")
        run.run()
        as_csv = call(stack, "GET", f"/usage/export?month={MONTH}", seller.api_key).body.decode()
        as_events = call(
            stack, "GET", f"/usage/export?month={MONTH}&format=cloudevents", seller.api_key
        ).body.decode()
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert [(r["channel"], r["country"], r["units"]) for r in rows] == [("email", "DE", "1")] * 3
    events = [json.loads(line) for line in as_events.splitlines()]
    assert {e["specversion"] for e in events} == {"1.0"}
    assert {e["subject"] for e in events} == {seller.tenant_id}
    assert len({e["id"] for e in events}) == 3
    assert timedelta(0) <= datetime.fromisoformat(events[0]["time"]) - START < timedelta(hours=1)
