"""A KPI owner hears of a slip in their own language: ``PUT /owners/{id}`` takes a ``locale``
(``en`` or ``zh-CN``, English when not given), ``GET /owners`` and the audit show it, and the
daily job's email and SMS are written in it. An owner saved before locales (``"locale": null``)
reads, and is told, in English; a locale alerts aren't written in is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests import moto_outbox
from tests.integration.conftest import Seller, Stack, call
from tests.integration.outreach import pipeline
from tests.integration.test_kpis import create_kpi, seller_with_data

pytestmark = pytest.mark.xdist_group("kpis")

__all__ = ["seller_with_data"]  # the fixture, shared with test_kpis

ZH = "zh-CN"


def body(response: Any) -> Any:
    return json.loads(response.body)


def emails_to(address: str, since: int) -> list[moto_outbox.SentEmail]:
    return [e for e in moto_outbox.sent_emails()[since:] if address in e.destinations]


def texts_to(phone: str, since: int) -> list[str]:
    return [t.message for t in moto_outbox.sent_sms()[since:] if t.phone == phone]


def test_an_owner_who_reads_chinese_is_told_of_a_slip_in_chinese_and_others_in_english(
    stack: Stack, seller_with_data: Seller
) -> None:
    from linkstar import clock
    from linkstar.store import keys
    from linkstar.store import kpis as store

    from functions.timers.app import handler as timers
    from tests.integration.conftest import FakeContext

    # Given an owner who reads Chinese, one saved without a locale, and one saved before
    # owners had a checked locale (its stored document says "locale": null)
    seller = seller_with_data
    emails_before, sms_before = len(moto_outbox.sent_emails()), len(moto_outbox.sent_sms())
    wang = {"name": "王芳", "email": "wang@kpi-seller.example", "phone": "+8613800138000"}
    lin = {"name": "Lin", "email": "lin-en@kpi-seller.example", "phone": "+14155550199"}
    with pipeline(stack) as (run, _):
        saved = call(stack, "PUT", "/owners/wang", seller.api_key, {**wang, "locale": ZH})
        assert saved.status_code == 200, saved.body
        assert body(saved)["locale"] == ZH
        assert call(stack, "PUT", "/owners/lin-en", seller.api_key, lin).status_code == 200
        old = {"owner_id": "old", "name": "Old", "kind": "person", "locale": None,
               "email": "old@kpi-seller.example", "phone": None}  # fmt: skip
        store.save(seller.tenant_id, "kpi_owner", keys.kpi_owner(seller.tenant_id, "old"), "old",
                   old, None, 0, {"key": "test"}, clock.now())  # fmt: skip
        listed = body(call(stack, "GET", "/owners", seller.api_key))["owners"]
        audit = body(call(stack, "GET", "/kpis/audit", seller.api_key))["changes"]
        # ACoS 0.3333 against 0.28 (attainment 0.84) and ROAS 3 against 10 (0.30): off track
        create_kpi(stack, seller.api_key, name="ACoS", builtin="acos", target="0.28", owner="wang")
        create_kpi(stack, seller.api_key, name="ROAS", builtin="roas", target="10", owner="lin-en")
        create_kpi(stack, seller.api_key, name="CTR", builtin="ctr", target="0.4", owner="old")

        # When the daily job runs
        timers({"job": "kpi_alerts"}, FakeContext())
        run.run()

    # Then GET /owners and the audit show each owner's locale, English where none was given
    assert {o["owner_id"]: o["locale"] for o in listed} == {"wang": ZH, "lin-en": "en", "old": "en"}
    assert {c["entity_id"]: c["after"]["locale"] for c in audit if c["entity"] == "kpi_owner"} == {
        "wang": ZH,
        "lin-en": "en",
        "old": None,
    }
    # The owner who reads Chinese got a Chinese email and SMS; the figures, the KPI's name and
    # the period label are as they are; the ad data ends on 2 November, stale on the 20th
    (email,) = emails_to("wang@kpi-seller.example", emails_before)
    assert email.subject == "KPI 预警：ACoS 偏离目标（2026-11）"
    assert email.text is not None
    assert email.text.splitlines()[:3] == [
        "ACoS 在 2026-11 偏离目标。",
        "当前实际值：0.3333333333333333333333333333；预计期末值：0.3333333333333333333333333333；"
        "目标：0.28；达成率：0.8400。",
        "部分数据未及时更新：请检查最近的导入。",
    ]
    assert texts_to("+8613800138000", sms_before) == [
        "【LinkStar】ACoS 在 2026-11 偏离目标（达成率 0.8400）。"
    ]
    # The owner saved without a locale, and the one saved before locales, got today's English
    (english,) = emails_to("lin-en@kpi-seller.example", emails_before)
    assert english.subject == "KPI off track: ROAS (2026-11)"
    assert english.text is not None
    assert english.text.splitlines()[:3] == [
        "ROAS is off track for 2026-11.",
        "Actual so far: 3; projected to period end: 3; target: 10; attainment: 0.3000.",
        "Some of its data is stale: check the latest imports.",
    ]
    assert texts_to("+14155550199", sms_before) == [
        "LinkStar: ROAS is off track for 2026-11 (attainment 0.3000)."
    ]
    (older,) = emails_to("old@kpi-seller.example", emails_before)
    assert older.subject == "KPI off track: CTR (2026-11)"


def test_a_locale_alerts_are_not_written_in_is_refused_in_the_readers_language(
    stack: Stack, seller_with_data: Seller
) -> None:
    # Given an owner saved in English
    seller = seller_with_data
    owner = {"name": "Lin", "email": "lin@kpi-seller.example"}
    with pipeline(stack):
        assert call(stack, "PUT", "/owners/ref", seller.api_key, owner).status_code == 200

        # When it is saved again with a locale alerts aren't written in, asked in each language
        english = call(stack, "PUT", "/owners/ref", seller.api_key, {**owner, "locale": "fr"})
        chinese = call(
            stack, "PUT", "/owners/ref", seller.api_key, {**owner, "locale": "zh"}, language=ZH
        )
        # and in another letter case (a language tag's case doesn't matter)
        upper = call(stack, "PUT", "/owners/up", seller.api_key, {**owner, "locale": "ZH-cn"})
        listed = body(call(stack, "GET", "/owners", seller.api_key))["owners"]

    # Then both are refused with a 400 that says which locales there are, and nothing changed
    assert english.status_code == chinese.status_code == 400
    (problem,) = body(english)["errors"]
    assert (problem["loc"], problem["msg"]) == (
        ["locale"],
        "'fr' is not a language alerts are written in: use one of en, zh-CN",
    )
    (problem,) = body(chinese)["errors"]
    assert problem["msg"] == "'zh' 不是可用的提醒语言：请使用 en、zh-CN 之一"
    assert upper.status_code == 200 and body(upper)["locale"] == ZH
    assert {o["owner_id"]: o["locale"] for o in listed} == {"ref": "en", "up": ZH}
