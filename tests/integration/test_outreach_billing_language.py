"""Outreach and billing answer in the language the request asks for: why a message is held, an
unpriced usage line, a usage alert, a preset's description, an error. Sentences stored before
they were messages (plain English) still read; the list routes are the tenant's own."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.conftest import Seller, Stack, call, new_seller
from tests.integration.outreach import START, add_contact, enable_preset, pipeline
from tests.integration.test_billing import plan as sms_plan
from tests.integration.test_billing import put_plan

pytestmark = pytest.mark.xdist_group("billing")

MONTH = START.strftime("%Y-%m")


def body(response: Any) -> Any:
    return json.loads(response.body)


def get(stack: Stack, seller: Seller, path: str, language: str | None = None) -> Any:
    answer = call(stack, "GET", path, seller.api_key, language=language)
    assert answer.status_code == 200, answer.body
    return body(answer)


def one_step_flow(stack: Stack, seller: Seller, channel: str) -> None:
    """A transactional message on ``channel`` when a contact subscribes."""
    template: dict[str, Any] = {
        "template_id": f"lang.{channel}",
        "channel": channel,
        "locale": "en",
        "purpose": "transactional",
        "body": "Your order shipped",
    }
    if channel == "email":
        template["subject"] = "Shipped"
    assert call(stack, "POST", "/templates", seller.api_key, template).status_code == 200
    flow = {
        "name": f"Language {channel}",
        "trigger": {"event": "contact.subscribed"},
        "steps": [
            {
                "id": "send",
                "type": "send",
                "channel": channel,
                "template": template["template_id"],
                "purpose": "transactional",
            }
        ],
        "reentry": {"policy": "once"},
    }
    created = call(stack, "POST", "/flows", seller.api_key, flow)
    assert created.status_code == 200, created.body


def sms_subscriber(stack: Stack, seller: Seller, phone: str) -> str:
    consent = {"email": "subscribed", "sms": "subscribed"}
    email = f"p{phone.lstrip('+')}@example.com"
    return str(add_contact(stack, seller, email=email, phone=phone, consent=consent)["contact_id"])


def reason_of(stack: Stack, seller: Seller, contact_id: str, language: str | None) -> Any:
    (message,) = get(stack, seller, f"/messages?contact_id={contact_id}", language)["messages"]
    return message["state"], message["reason"]


# ---------------------------------------------------------------- why a message is held


def test_a_held_message_says_why_in_the_language_asked_for(stack: Stack) -> None:
    # Given a send held because the plan can't price an SMS to Mexico
    seller = new_seller(stack, "Heldlingo")
    put_plan(stack, seller, sms_plan())
    one_step_flow(stack, seller, "sms")
    with pipeline(stack) as (run, _):
        contact = sms_subscriber(stack, seller, "+525512345678")
        run.run()
    # When the message log is read in Chinese, and without a language
    chinese = reason_of(stack, seller, contact, "zh-CN")
    english = reason_of(stack, seller, contact, None)
    # Then the reason is Chinese, and the English is what it always was (the code kept in both)
    assert chinese == ("held", "计费：套餐无法为此次发送计价（no_rate:sms:MX）")
    assert english == ("held", "billing: cannot price this send (no_rate:sms:MX)")


def test_a_message_that_could_not_go_says_on_which_channel_in_chinese(stack: Stack) -> None:
    # Given an SMS to a contact who has no phone number
    seller = new_seller(stack, "Nobodylingo")
    one_step_flow(stack, seller, "sms")
    with pipeline(stack) as (run, _):
        contact = add_contact(
            stack, seller, email="nophone@example.com", consent={"email": "subscribed"}
        )
        run.run()
    # When the log is read, it names the channel and why, in the language asked for
    contact_id = contact["contact_id"]
    assert reason_of(stack, seller, contact_id, "zh-CN") == ("suppressed", "短信：没有手机号")
    assert reason_of(stack, seller, contact_id, None) == ("suppressed", "sms: no phone number")


def test_a_reason_stored_as_plain_english_before_still_reads(stack: Stack) -> None:
    # Given a held message as an item written before reasons were messages: English only
    from linkstar.store import dynamo
    from linkstar.store import outreach as repo

    seller = new_seller(stack, "Oldlingo")
    put_plan(stack, seller, sms_plan())
    one_step_flow(stack, seller, "sms")
    with pipeline(stack) as (run, _):
        contact = sms_subscriber(stack, seller, "+525512345679")
        run.run()
    (message,) = repo.messages_of_contact(seller.tenant_id, contact)
    assert message.reason_message is not None
    old = message.model_copy(update={"reason_message": None, "reason": "quiet hours until 09:00"})
    dynamo.put(repo.message_item(old))
    # When it is read in Chinese
    # Then its English is shown as it is, not an error or a blank
    assert reason_of(stack, seller, contact, "zh-CN") == ("held", "quiet hours until 09:00")


# ---------------------------------------------------------------- billing answers


def test_an_unpriced_usage_line_is_explained_in_the_language_asked_for(stack: Stack) -> None:
    # Given an SMS to the UK counted, then a plan from this month without the UK rate
    seller = new_seller(stack, "Unpricedlingo")
    put_plan(stack, seller, sms_plan())
    one_step_flow(stack, seller, "sms")
    with pipeline(stack) as (run, _):
        sms_subscriber(stack, seller, "+442071838750")
        run.run()
    us_only = sms_plan()
    us_only["channels"]["sms"]["rates"] = [{"country": "US", "unit_price": "0.01"}]
    us_only["channels"]["sms"]["included_units"] = 0  # an included unit is never unpriced
    put_plan(stack, seller, us_only)
    # When the usage and the invoice preview are read in Chinese, and without a language
    path = f"/usage?month={MONTH}"
    zh = {(ln["channel"], ln["country"]): ln for ln in get(stack, seller, path, "zh-CN")["lines"]}
    en = {(ln["channel"], ln["country"]): ln for ln in get(stack, seller, path)["lines"]}
    preview = get(stack, seller, f"/usage/invoice-preview?month={MONTH}", "zh-CN")
    # Then the code stays as it was, and the note says it in the reader's language
    assert zh[("sms", "GB")]["unpriced_reason"] == "no_rate:sms:GB"
    assert zh[("sms", "GB")]["unpriced_note"] == "短信费率表中没有 GB 的费率"
    assert en[("sms", "GB")]["unpriced_note"] == "the SMS rate card has no rate for GB"
    (line,) = [ln for ln in preview["lines"] if ln.get("unpriced_reason")]
    assert line["unpriced_note"] == "短信费率表中没有 GB 的费率"
    # And the month close the unpriced usage stops says so in the operator's language
    from linkstar import clock

    with clock.override(datetime(2026, 12, 2, tzinfo=UTC)):
        closed = call(
            stack,
            "POST",
            f"/admin/billing/close?month={MONTH}&tenant_id={seller.tenant_id}",
            stack.admin_token,
            language="zh-CN",
        )
    assert closed.status_code == 200, closed.body
    assert body(closed)["failed"][seller.tenant_id] == (
        f"unpriced_usage: {MONTH} 有套餐无法计价的用量：no_rate:sms:GB"
    )


def test_billing_errors_are_in_the_language_asked_for(stack: Stack) -> None:
    seller = new_seller(stack, "Errlingo")
    zh = call(stack, "GET", "/usage?month=2026-13", seller.api_key, language="zh-CN")
    en = call(stack, "GET", "/usage?month=2026-13", seller.api_key)
    assert (zh.status_code, body(zh)["code"]) == (400, "invalid_query")
    assert body(zh)["message"] == "month 必须是 YYYY-MM 格式"
    assert body(en)["message"] == "month must be YYYY-MM"
    missing = call(stack, "GET", "/invoices/INV-202611-nobody", seller.api_key, language="zh")
    assert (missing.status_code, body(missing)["message"]) == (404, "账单不存在")


# ---------------------------------------------------------------- GET /usage/alerts


def test_usage_alerts_are_listed_newest_first_for_their_tenant_only(stack: Stack) -> None:
    # Given 3 included emails, alerts at 50% and 100%, and three emails a day apart
    seller = new_seller(stack, "Alertlingo")
    other = new_seller(stack, "Quietlingo")
    put_plan(stack, seller, sms_plan(alert_thresholds=[50, 100]))
    one_step_flow(stack, seller, "email")
    with pipeline(stack) as (run, clock):
        for i in range(3):
            add_contact(
                stack, seller, email=f"alert{i}@example.com", consent={"email": "subscribed"}
            )
            run.run()
            clock.advance(days=1)
        # When the alerts are listed (this month and the ones before it), in Chinese
        zh = get(stack, seller, "/usage/alerts", "zh-CN")["alerts"]
        en = get(stack, seller, "/usage/alerts")["alerts"]
        others = get(stack, other, "/usage/alerts")["alerts"]
    # Then the 100% alert comes first, with what crossed it, in the language asked for
    assert [(a["key"], a["percent"], a["used"], a["limit"]) for a in zh] == [
        ("quota:email:100", 100, "3", "3"),
        ("quota:email:50", 50, "2", "3"),
    ]
    assert (
        zh[0]["message"]
        == f"邮件：{MONTH} 已用 3个收件人，套餐内含 3个收件人（达到 100% 提醒阈值）"
    )
    assert (
        en[0]["message"]
        == f"Email: 3 of the 3 included recipients used in {MONTH} (100% threshold)"
    )
    assert zh[0]["fired_at"] > zh[1]["fired_at"]
    # And another tenant sees none of them
    assert others == []
    # And a month is chosen with ?period; another month has none
    assert len(get(stack, seller, f"/usage/alerts?period={MONTH}")["alerts"]) == 2
    assert get(stack, seller, "/usage/alerts?period=2026-01")["alerts"] == []
    assert get(stack, other, f"/usage/alerts?period={MONTH}")["alerts"] == []
    bad = call(stack, "GET", "/usage/alerts?period=2026-W47", seller.api_key, language="zh-CN")
    assert (bad.status_code, body(bad)["message"]) == (400, "period 必须是 YYYY-MM 格式")


def test_an_alert_fired_before_its_threshold_was_kept_still_lists(stack: Stack) -> None:
    # Given an alert item as written before: only the event's detail, its message in English
    from linkstar.store import billing as store

    seller = new_seller(stack, "Oldalertlingo")
    detail = {
        "tenant_id": seller.tenant_id,
        "month": MONTH,
        "key": "quota:sms:80",
        "message": f"SMS: 8 of the 10 included segments used in {MONTH} (80% threshold)",
        "currency": "USD",
        "fired_at": START.isoformat(),
    }
    assert store.fire_alert(seller.tenant_id, MONTH, "quota:sms:80", detail)
    # When it is listed in Chinese
    (alert,) = get(stack, seller, f"/usage/alerts?period={MONTH}", "zh-CN")["alerts"]
    # Then its threshold is read from its key, and its English message is shown as it is
    assert (alert["kind"], alert["channel"], alert["percent"]) == ("quota", "sms", 80)
    assert (alert["used"], alert["limit"]) == (None, None)
    assert alert["message"] == detail["message"]


# ---------------------------------------------------------------- GET /flow-presets


def test_flow_presets_are_described_and_say_which_the_tenant_has(stack: Stack) -> None:
    # Given a tenant that enabled the welcome series, and one that enabled nothing
    seller = new_seller(stack, "Presetlingo")
    other = new_seller(stack, "Barelingo")
    welcome = enable_preset(stack, seller, "welcome")
    # When each lists the presets, in Chinese and without a language
    zh = {p["key"]: p for p in get(stack, seller, "/flow-presets", "zh-CN")["presets"]}
    en = {p["key"]: p for p in get(stack, seller, "/flow-presets")["presets"]}
    bare = {p["key"]: p for p in get(stack, other, "/flow-presets", "zh-CN")["presets"]}
    # Then every preset is there with its channels and trigger, described in that language
    assert set(zh) >= {"welcome", "abandoned_checkout", "order_confirmation", "win_back"}
    assert zh["abandoned_checkout"]["channels"] == ["email", "sms"]
    assert zh["abandoned_checkout"]["trigger"] == "checkout.started"
    assert zh["win_back"]["trigger"] == "segment:dormant"
    assert zh["welcome"]["description"].startswith("新邮件订阅者加入时立即发送欢迎邮件")
    assert en["welcome"]["description"].startswith("Welcomes a new email subscriber")
    # And only the tenant that enabled one sees its flow
    assert zh["welcome"]["enabled_as"] == [welcome["flow_id"]]
    assert zh["abandoned_checkout"]["enabled_as"] == []
    assert all(p["enabled_as"] == [] for p in bare.values())


def test_outreach_errors_are_in_the_language_asked_for(stack: Stack) -> None:
    seller = new_seller(stack, "Flowerrlingo")
    zh = call(stack, "GET", "/flows/nope", seller.api_key, language="zh-CN")
    en = call(stack, "GET", "/flows/nope", seller.api_key)
    assert (zh.status_code, body(zh)["code"], body(zh)["message"]) == (
        404,
        "flow_not_found",
        "流程不存在",
    )
    assert body(en)["message"] == "no such flow"
    unknown = call(stack, "POST", "/flows", seller.api_key, {"preset": "nope"}, language="zh-CN")
    assert body(unknown)["code"] == "unknown_preset"
    assert body(unknown)["message"].startswith("preset 必须是以下之一：abandoned_checkout、")
