"""Refusals of flows, templates, plans and rate cards are messages: English outside a request
(logs, ``str()``), the reader's language inside one, and a stored render failure keeps its
message so that it reads in the language of whoever reads it later."""

from __future__ import annotations

import pytest
from linkstar import text
from linkstar.billing.ratecards import RateCardError, parse_rate_card_csv
from linkstar.outreach import templates as tpl
from linkstar.outreach.flows import parse_duration
from linkstar.text import Text, reason_of


def test_a_duration_refusal_is_english_by_str_and_chinese_by_its_message() -> None:
    # Given / When
    with pytest.raises(ValueError) as caught:
        parse_duration("P1M")

    # Then
    assert str(caught.value) == (
        "duration 'P1M' uses years or months, which have no fixed length; "
        "use days instead (e.g. 'P30D')"
    )
    said = reason_of(caught.value)
    assert said is not None
    assert said.render("zh-CN") == "时长 'P1M' 用了年或月，其长度不固定；请改用天数（如 'P30D'）"


def test_a_rate_card_error_summary_stays_english_in_a_chinese_request() -> None:
    # Given a request in Chinese
    with text.use_locale("zh-CN"), pytest.raises(RateCardError) as caught:
        # When a bad card is parsed
        parse_rate_card_csv("country,unit_price\nUS,abc\n")

    # Then the log summary is English and the problem itself renders in Chinese
    assert (
        str(caught.value)
        == "rate card has 1 problem(s): line 2 unit_price: 'abc' is not a decimal number"
    )
    assert str(caught.value.problems[0]["reason"]) == "'abc' is not a decimal number"
    with text.use_locale("zh-CN"):
        assert str(caught.value.problems[0]["reason"]) == "'abc' 不是十进制数"


def test_a_render_failure_stored_as_a_message_reads_in_chinese() -> None:
    # Given a template only in German for a tenant whose default is French
    template = tpl.Template(
        template_id="t", channel="sms", locale="de", purpose="transactional", body="Hallo"
    )
    with pytest.raises(tpl.TemplateError) as caught:
        tpl.pick([template], None, "fr")

    # When the failure is stored as the engine stores it, and read back
    failed = Text("outreach.render_failed", code=caught.value.code, why=caught.value.message)
    stored = text.load(failed.dump())

    # Then
    assert isinstance(stored, Text)
    assert stored.render("en") == (
        "template_locale_missing: no template for locale None or the default 'fr'"
    )
    assert stored.render("zh-CN") == (
        "模板渲染失败（template_locale_missing）：没有语言 None 或默认语言 'fr' 的模板"
    )
