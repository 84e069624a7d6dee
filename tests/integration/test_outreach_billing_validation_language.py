"""What is wrong with a flow, a template, a plan or a rate card the seller sends is said in the
language the request asks for (English when it asks for none), each problem in its place."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import Seller, Stack, call, new_seller
from tests.integration.outreach import START

pytestmark = pytest.mark.xdist_group("billing")

MONTH = START.strftime("%Y-%m")


def body(response: Any) -> Any:
    return json.loads(response.body)


def both(
    stack: Stack, seller: Seller, method: str, path: str, doc: Any, **kw: Any
) -> tuple[Any, Any]:
    """The answer in Chinese and in English (no Accept-Language) to the same refused request."""
    zh = call(stack, method, path, seller.api_key, doc, language="zh-CN", **kw)
    en = call(stack, method, path, seller.api_key, doc, **kw)
    assert zh.status_code == en.status_code == 400, (zh.body, en.body)
    return body(zh), body(en)


def bad_flow(**changes: Any) -> dict[str, Any]:
    flow: dict[str, Any] = {
        "name": "Cart reminder",
        "trigger": {"event": "checkout.strated"},
        "steps": [
            {
                "id": "remind",
                "type": "send",
                "channel": "sms",
                "template": "cart.sms",
                "purpose": "marketing",
                "fallback": ["whatsapp"],
                "fallback_templates": {"whatsapp": "cart.wa"},
            }
        ],
    }
    flow.update(changes)
    return flow


def test_a_refused_flow_says_what_is_wrong_in_the_language_asked_for(stack: Stack) -> None:
    # Given a flow with a misspelt event and an SMS step that falls back
    seller = new_seller(stack, "Flowcheck")

    # When it is created in Chinese and in English
    zh, en = both(stack, seller, "POST", "/flows", bad_flow())

    # Then each problem is said in the language asked for, and the summary too
    assert zh["code"] == en["code"] == "invalid_flow"
    assert [e["loc"] for e in zh["details"]["errors"]] == ["trigger.event", "steps[0]"]
    assert zh["details"]["errors"][0]["message"].startswith(
        "未知事件 'checkout.strated'；应为以下之一：checkout.completed、checkout.started、"
    )
    assert zh["details"]["errors"][1] == {
        "loc": "steps[0]",
        "message": "只有渠道为 email 的发送步骤才能设置 'fallback'",
        "step": "remind",
    }
    assert zh["message"].startswith("流程无效：trigger.event：未知事件 'checkout.strated'；")
    assert zh["message"].endswith("（另有 1 处问题）")
    assert en["details"]["errors"][1]["message"] == (
        "'fallback' is only allowed on a send step whose channel is email"
    )
    assert en["message"].startswith(
        "invalid flow: trigger.event: unknown event 'checkout.strated'; expected one of: "
        "checkout.completed, checkout.started, "
    )
    assert en["message"].endswith(" (and 1 more)")


def test_a_flow_whose_template_is_missing_or_wrong_says_so_in_chinese(stack: Stack) -> None:
    # Given an email template only, with a variable an order flow does not have
    seller = new_seller(stack, "Flowtpl")
    template = {
        "template_id": "cart.sms",
        "channel": "email",
        "locale": "en",
        "purpose": "marketing",
        "subject": "Your cart",
        "body": "Finish: {{ checkout.recovery_url }}",
    }
    assert call(stack, "POST", "/templates", seller.api_key, template).status_code == 200
    flow = bad_flow(trigger={"event": "order.paid"})
    flow["steps"][0].update(channel="email", fallback=[], fallback_templates={})
    sms = bad_flow(trigger={"event": "checkout.started"})
    del sms["steps"][0]["fallback"], sms["steps"][0]["fallback_templates"]

    # When flows using it are created
    zh, en = both(stack, seller, "POST", "/flows", flow)
    zh_sms, en_sms = both(stack, seller, "POST", "/flows", sms)

    # Then the variable and the missing channel are named, in the language asked for
    assert zh["details"]["errors"][0]["message"] == (
        "模板 'cart.sms'（en）：模板使用了此处不可用的变量：checkout.recovery_url"
        "（触发条件 'order.paid' 提供 contact、links、order、tenant）"
    )
    assert zh["message"] == (
        "流程无效：steps[0].template（步骤 'remind'）：" + zh["details"]["errors"][0]["message"]
    )
    assert en["details"]["errors"][0]["message"] == (
        "template 'cart.sms' (en): the template uses variables that are not available here: "
        "checkout.recovery_url (trigger 'order.paid' provides contact, links, order, tenant)"
    )
    assert zh_sms["details"]["errors"][0]["message"] == (
        "没有 sms 模板 'cart.sms'（该模板只有 email 版本）"
    )
    assert en_sms["details"]["errors"][0]["message"] == (
        "no sms template 'cart.sms' (it exists for email)"
    )


def test_pydantic_problems_in_a_flow_are_said_in_chinese_too(stack: Stack) -> None:
    # Given a flow whose step lacks its purpose and has a misspelt key
    seller = new_seller(stack, "Flowshape")
    flow = bad_flow(trigger={"event": "checkout.started"})
    step = flow["steps"][0]
    del step["purpose"], step["fallback"], step["fallback_templates"]
    step["chanel"] = "sms"

    # When it is created
    zh, en = both(stack, seller, "POST", "/flows", flow)

    # Then
    by_loc = {e["loc"]: e["message"] for e in zh["details"]["errors"]}
    assert by_loc == {"steps[0].purpose": "必填字段", "steps[0].chanel": "未知字段（请检查拼写）"}
    assert {e["loc"]: e["message"] for e in en["details"]["errors"]} == {
        "steps[0].purpose": "Field required",
        "steps[0].chanel": "unknown key (check the spelling)",
    }


def test_a_refused_template_says_why_in_the_language_asked_for(stack: Stack) -> None:
    # Given an SMS template with a subject, and one reading a variable that does not exist
    seller = new_seller(stack, "Tplcheck")
    sms = {
        "template_id": "ship.sms",
        "channel": "sms",
        "locale": "en",
        "purpose": "transactional",
        "subject": "Shipped",
        "body": "Shipped",
    }
    unknown = {**sms, "subject": None, "body": "Hi {{ contact.nickname }}"}

    # When they are saved
    zh, en = both(stack, seller, "POST", "/templates", sms)
    zh_var, en_var = both(stack, seller, "POST", "/templates", unknown)

    # Then
    assert zh["code"] == "validation_error"
    assert [e["msg"] for e in zh["errors"]] == ["sms 模板不能有 subject"]
    assert [e["msg"] for e in en["errors"]] == ["sms templates have no subject"]
    assert zh_var["code"] == "template_variables_missing"
    assert zh_var["message"] == "模板使用了此处不可用的变量：contact.nickname"
    assert en_var["message"] == (
        "the template uses variables that are not available here: contact.nickname"
    )


def test_a_template_with_a_forbidden_tag_or_a_misnamed_attachment_says_so(stack: Stack) -> None:
    # Given an email template that includes another, and one attaching a PDF named .exe
    seller = new_seller(stack, "Tplrich")
    email = {
        "template_id": "news.email",
        "channel": "email",
        "locale": "en",
        "purpose": "marketing",
        "subject": "News",
        "body": "Hello\n{% include 'footer' %}",
    }
    attached = {
        **email,
        "body": "Hello",
        "attachments": [{"key": "docs/catalogue.exe", "content_type": "image/jpeg"}],
    }

    # When they are saved
    zh, en = both(stack, seller, "POST", "/templates", email)
    zh_att, en_att = both(stack, seller, "POST", "/templates", attached)

    # Then
    assert zh["message"] == "body，第 2 行：消息模板中不允许使用 {% include %}"
    assert en["message"] == "body, line 2: {% include %} is not allowed in message templates"
    assert [e["msg"] for e in zh_att["errors"]] == [
        "image/jpeg 附件的文件名须以 .jpg或.jpeg 结尾；'catalogue.exe' 不符合"
    ]
    assert [e["msg"] for e in en_att["errors"]] == [
        "a image/jpeg attachment's file name must end in .jpg or .jpeg; 'catalogue.exe' does not"
    ]


def plan(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "plan_id": "check",
        "currency": "USD",
        "effective_from": f"{MONTH}-01",
        "channels": {
            "email": {"model": "graduated", "tiers": [{"up_to": None, "per_thousand": "1.00"}]},
            "sms": {"model": "graduated", "tiers": [{"up_to": None, "per_thousand": "1.00"}]},
        },
    }
    doc.update(changes)
    return doc


def test_a_refused_plan_says_why_in_the_language_asked_for(stack: Stack) -> None:
    # Given a plan pricing SMS by tiers, and one with a hard cap but no spend limit
    seller = new_seller(stack, "Plancheck")
    capped = plan(hard_cap=True)
    capped["channels"].pop("sms")

    # When they are saved
    zh, en = both(stack, seller, "PUT", "/plan", plan())
    zh_cap, en_cap = both(stack, seller, "PUT", "/plan", capped)

    # Then
    assert [e["msg"] for e in zh["errors"]] == [
        "channels.sms.model：sms 按目的国家计价，须为 'rate_card'，不能是 'graduated'"
    ]
    assert [e["msg"] for e in en["errors"]] == [
        "channels.sms.model: sms is priced by destination country, so it must be 'rate_card', "
        "not 'graduated'"
    ]
    assert [e["msg"] for e in zh_cap["errors"]] == ["hard_cap：设置硬上限需要 spend_limit"]
    assert [e["msg"] for e in en_cap["errors"]] == ["hard_cap: a hard cap needs a spend_limit"]


def test_a_refused_rate_card_csv_says_each_row_problem_in_the_language_asked_for(
    stack: Stack,
) -> None:
    # Given a CSV with a bad country, a negative price, a short row and a duplicate
    seller = new_seller(stack, "Ratecheck")
    text = (
        "country,category,unit_price\n"
        "USA,,0.01\n"
        "GB,,-0.04\n"
        "DE,0.05\n"
        "FR,,0.08\n"
        "fr,,0.09\n"
        "JP,promo,0.07\n"
    )
    path = f"/rate-cards/sms?effective_from={MONTH}-01"

    # When it is uploaded
    zh, en = both(stack, seller, "PUT", path, text, content_type="text/csv")

    # Then every problem is listed with its line, in the language asked for
    assert zh["code"] == "invalid_rate_card"
    assert zh["details"]["problems"] == [
        {
            "line": 2,
            "column": "country",
            "reason": "'USA' 不是 ISO-3166 两位国家代码（如 US），也不是代表任意国家的 '*'",
        },
        {"line": 3, "column": "unit_price", "reason": "-0.04 是负数"},
        {"line": 4, "column": "", "reason": "应有 3 个字段，实际为 2 个"},
        {"line": 6, "column": "country", "reason": "与第 5 行重复（国家 'FR'，类别 ''）"},
        {"line": 7, "column": "category", "reason": "短信费率没有类别，收到的是 'promo'"},
    ]
    assert [p["reason"] for p in en["details"]["problems"]] == [
        "'USA' is not an ISO-3166 alpha-2 country code (such as US) or '*' for any",
        "-0.04 is negative",
        "expected 3 fields, found 2",
        "duplicate of line 5 (country 'FR', category '')",
        "SMS rates have no category, got 'promo'",
    ]


def test_a_refused_json_rate_card_says_why_in_chinese(stack: Stack) -> None:
    # Given rates as JSON with a WhatsApp row that names no category
    seller = new_seller(stack, "Ratejson")
    rates = {"effective_from": f"{MONTH}-01", "rates": [{"country": "US", "unit_price": "0.03"}]}

    # When they are saved
    zh, en = both(stack, seller, "PUT", "/rate-cards/whatsapp", rates)

    # Then
    assert [e["msg"] for e in zh["errors"]] == [
        "channels.whatsapp.rates[0].category：须为 marketing、utility、authentication、service "
        "之一，收到的是 ''"
    ]
    assert [e["msg"] for e in en["errors"]] == [
        "channels.whatsapp.rates[0].category: must be one of marketing, utility, "
        "authentication, service, got ''"
    ]
