"""A KPI owner's alert in their language (``kpi.alert.*``): the English is what the f-strings
wrote before the catalogue, the Chinese reads as Chinese with the name, period and figures as they
are, and the Chinese SMS stays one UCS-2 segment for a name of a typical length; an owner's locale
is ``en`` or ``zh-CN``, and one stored before locales were checked reads as the nearest."""

from __future__ import annotations

from typing import Any

import pytest
from linkstar.kpis.service import Owner, OwnerIn, owner_alert
from linkstar.outreach.sms import encoding_of
from pydantic import ValidationError

DETAIL: dict[str, Any] = {
    "kpi_id": "k1",
    "name": "ACoS",
    "period": "2026-11",
    "status": "off_track",
    "actual": "0.3333",
    "projected": "0.3333",
    "target": "0.28",
    "attainment": "0.8400",
    "stale": True,
}


def before_the_catalogue(detail: dict[str, Any]) -> tuple[str, str, str]:
    """The subject, body and SMS as ``_tell_owner`` wrote them with f-strings."""
    words = {"at_risk": "at risk", "off_track": "off track"}[detail["status"]]
    lines = [
        f"{detail['name']} is {words} for {detail['period']}.",
        f"Actual so far: {detail['actual']}; projected to period end: {detail['projected']}; "
        f"target: {detail['target']}; attainment: {detail['attainment']}.",
    ]
    if detail["stale"]:
        lines.append("Some of its data is stale: check the latest imports.")
    subject = f"KPI {words}: {detail['name']} ({detail['period']})"
    sms = (
        f"LinkStar: {detail['name']} is {words} for {detail['period']} "
        f"(attainment {detail['attainment']})."
    )
    return subject, "\n".join(lines) + "\n", sms


@pytest.mark.parametrize("status", ["at_risk", "off_track"])
@pytest.mark.parametrize("stale", [True, False])
def test_the_english_alert_is_what_it_was(status: str, stale: bool) -> None:
    # Given a slip, stale or not
    detail = {**DETAIL, "status": status, "stale": stale, "period": "2026-W47"}
    # When it is written in English
    alert = owner_alert(detail, "en")
    # Then it is byte for byte what the f-strings wrote
    assert tuple(alert) == before_the_catalogue(detail)


def test_the_chinese_alert_says_the_status_and_keeps_the_name_period_and_figures() -> None:
    # Given an off-track KPI with stale data, then one at risk with fresh data
    at_risk = {**DETAIL, "status": "at_risk", "stale": False, "period": "2026-Q4"}
    # When each is written in Chinese
    off, risk = owner_alert(DETAIL, "zh-CN"), owner_alert(at_risk, "zh-CN")
    # Then
    assert off.subject == "KPI 预警：ACoS 偏离目标（2026-11）"
    assert off.body == (
        "ACoS 在 2026-11 偏离目标。\n"
        "当前实际值：0.3333；预计期末值：0.3333；目标：0.28；达成率：0.8400。\n"
        "部分数据未及时更新：请检查最近的导入。\n"
    )
    assert off.sms == "【LinkStar】ACoS 在 2026-11 偏离目标（达成率 0.8400）。"
    assert risk.subject == "KPI 预警：ACoS 有未达标风险（2026-Q4）"
    assert risk.body == (
        "ACoS 在 2026-Q4 有未达标风险。\n"
        "当前实际值：0.3333；预计期末值：0.3333；目标：0.28；达成率：0.8400。\n"
    )


@pytest.mark.parametrize("period", ["2026-11", "2026-W47", "2026-Q4", "2026-11-20"])
def test_the_chinese_sms_is_one_segment_for_a_name_of_up_to_24_characters(period: str) -> None:
    # Given the longest status, a ten-thousand-percent attainment and a 24-character name
    detail = {
        **DETAIL,
        "status": "at_risk",
        "period": period,
        "attainment": "10.0000",
        "name": "美国站 Sponsored Product 广告",
    }
    assert len(detail["name"]) == 24
    # When the SMS is written in Chinese
    sms = owner_alert(detail, "zh-CN").sms
    # Then it is UCS-2 and fits one segment (70 characters)
    encoding = encoding_of(sms)
    assert (encoding.encoding, encoding.segments) == ("UCS-2", 1), (sms, encoding.units)


def test_an_attainment_that_is_undefined_reads_as_a_dash() -> None:
    detail = {**DETAIL, "attainment": None}
    assert owner_alert(detail, "en").sms.endswith("(attainment —).")
    assert owner_alert(detail, "zh-CN").sms.endswith("（达成率 —）。")


def test_an_owner_reads_english_unless_it_says_chinese() -> None:
    assert OwnerIn.model_validate({"name": "Lin"}).locale == "en"
    assert OwnerIn.model_validate({"name": "Lin", "locale": None}).locale == "en"
    assert OwnerIn.model_validate({"name": "Lin", "locale": "zh-CN"}).locale == "zh-CN"
    # A language tag's letter case doesn't matter; the locale is kept the catalogue's way
    assert Owner.model_validate({"owner_id": "l", "name": "L", "locale": "zh-cn"}).locale == "zh-CN"


@pytest.mark.parametrize("locale", ["fr", "zh", "en-GB", "", 5, ["en"]])
def test_a_locale_alerts_are_not_written_in_is_refused(locale: object) -> None:
    with pytest.raises(ValidationError) as refused:
        Owner.model_validate({"owner_id": "l", "name": "L", "locale": locale})
    (error,) = refused.value.errors()
    assert error["loc"] == ("locale",)
    assert "use one of en, zh-CN" in error["msg"]


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        (None, "en"),
        ("en", "en"),
        ("zh-CN", "zh-CN"),
        ("zh", "zh-CN"),
        ("en-GB", "en"),
        ("fr", "en"),
    ],
)
def test_an_owner_stored_before_locales_were_checked_reads_as_the_nearest(
    stored: str | None, read: str
) -> None:
    doc = {"owner_id": "l", "name": "L", "kind": "person", "email": None, "phone": None}
    assert Owner.from_doc({**doc, "locale": stored}).locale == read
    assert Owner.from_doc(doc).locale == "en"  # a document written without the field


def test_the_request_and_the_response_document_the_locale() -> None:
    for model in (OwnerIn, Owner):
        locale = model.model_json_schema()["properties"]["locale"]
        assert (locale["enum"], locale["default"]) == (["en", "zh-CN"], "en")
