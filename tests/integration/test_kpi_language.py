"""KPI sentences in the reader's language through the API: a KPI's reason for having no value, an
imported row's problems, an agency statement's explanations and the KPI errors come in Chinese
when ``Accept-Language`` asks for it and in English without it; and the agency contracts list
(``GET /settlements/contracts``), one tenant's only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import Seller, Stack, call, new_seller
from tests.integration.outreach import pipeline
from tests.integration.test_kpis import create_kpi, seller_with_data

pytestmark = pytest.mark.xdist_group("kpis")

__all__ = ["seller_with_data"]  # the fixture, shared with test_kpis

ZH = "zh-CN"
# ODR 0.6% fails "< 0.5%": no commission (seller_with_data imports ODR 0.006 on 15 November).
CONTRACT = {
    "currency": "USD",
    "base_fee": "100.00",
    "rules": [
        {
            "type": "commission",
            "name": "5% of ad sales",
            "rate": "0.05",
            "on": {"metric": "ad_sales"},
            "conditions": [{"kpi": "odr", "op": "<", "value": "0.005"}],
        }
    ],
}


def body(response: Any) -> Any:
    return json.loads(response.body)


def get(stack: Stack, path: str, key: str, language: str | None = None) -> Any:
    answer = call(stack, "GET", path, key, language=language)
    assert answer.status_code == 200, answer.body
    return body(answer)


def api_key(stack: Stack, seller: Seller, role: str, owner: str | None = None) -> str:
    made = call(stack, "POST", "/api-keys", seller.api_key, {"role": role, "owner": owner})
    assert made.status_code == 201, made.body
    return str(body(made)["api_key"])


def test_the_dashboard_gives_each_kpis_reason_in_the_language_asked_for(
    stack: Stack, seller_with_data: Seller
) -> None:
    # Given a KPI on sessions, which nobody imported, and one dividing by zero
    seller = seller_with_data
    with pipeline(stack):
        create_kpi(stack, seller.api_key, name="CVR", builtin="cvr", target="0.1")
        create_kpi(
            stack, seller.api_key, name="Broken", formula="clicks / (impressions - impressions)"
        )
        create_kpi(stack, seller.api_key, name="ROAS", builtin="roas")  # no target

        # When the dashboard is asked for in Chinese, and without a language
        chinese = get(stack, "/kpis/dashboard?period=2026-11", seller.api_key, ZH)
        english = get(stack, "/kpis/dashboard?period=2026-11", seller.api_key)

    # Then each reason is in that language; the metric names stay as they are
    reasons = {row["name"]: row["reason"] for row in chinese["kpis"]}
    assert reasons == {
        "CVR": "无数据：sessions",
        "Broken": "除数为零：impressions - impressions",
        "ROAS": "未设置目标",
    }
    assert {row["name"]: row["reason"] for row in english["kpis"]} == {
        "CVR": "no data: sessions",
        "Broken": "division by zero: impressions - impressions",
        "ROAS": "no target set",
    }


def test_an_imported_reports_row_problems_are_in_the_language_asked_for(
    stack: Stack, seller: Seller
) -> None:
    # Given an ad report with a row whose spend is not a number and one in another currency
    report = (
        "By Day,Campaign name,Cost,Clicks\n"
        "2026-11-01,Spring,abc,3\n"
        "2026-11-01,Summer,€5.00,3\n"
        "2026-11-02,Spring,1.00,3\n"
    )
    path = "/metrics/import?preset=tiktok_ads"

    with pipeline(stack):
        # When it is imported in Chinese, then in English
        answers = [
            call(stack, "POST", path, seller.api_key, report, "text/csv", language)
            for language in (ZH, None)
        ]

    # Then the good row is imported and the others are refused, saying why in that language
    chinese, english = (body(answer) for answer in answers)
    assert chinese["facts"] == english["facts"] == 2
    assert chinese["rejected"] == [
        {"line": 2, "column": "Cost", "reason": "'abc' 不是数字"},
        {
            "line": 3,
            "column": "Cost",
            "reason": "'€5.00' 不是报告货币 USD：金额只能以报告货币导入（不做汇率换算）",
        },
    ]
    assert english["rejected"][0] == {
        "line": 2,
        "column": "Cost",
        "reason": "'abc' is not a number",
    }
    assert answers[0].headers["Content-Language"] == ZH


def test_a_report_that_cannot_be_read_and_a_bad_fact_say_so_in_chinese(
    stack: Stack, seller: Seller
) -> None:
    with pipeline(stack):
        # When a report without a date column and a batch with a bad fact are posted in Chinese
        unreadable = call(
            stack,
            "POST",
            "/metrics/import?preset=tiktok_ads",
            seller.api_key,
            "Campaign name,Cost\nSpring,1.00\n",
            "text/csv",
            ZH,
        )
        facts = {"facts": [{"date": "2026-11-01", "metric": "clicks", "value": "3.5"}, 7]}
        posted = call(stack, "POST", "/metrics", seller.api_key, facts, language=ZH)
        missing = call(
            stack, "GET", "/kpis/k000000000000?period=2026-11", seller.api_key, None, language=ZH
        )

    # Then the whole-file problem, each fact's problem and the error are in Chinese
    assert unreadable.status_code == 400
    error = body(unreadable)
    assert error["code"] == "invalid_report"
    assert error["message"].startswith("报表无法导入：第 1 行：缺少日期列：应为 By Day、Date、")
    assert error["details"]["problems"][0]["reason"].startswith("缺少日期列")
    assert body(posted)["rejected"] == [
        {"index": 0, "field": "value", "reason": "clicks 是计数，应为整数，实际为 3.5"},
        {"index": 1, "field": "", "reason": "每条数据必须是对象"},
    ]
    assert missing.status_code == 404
    assert body(missing) == {"code": "kpi_not_found", "message": "KPI 不存在"}


def test_an_agency_statement_explains_itself_in_the_language_asked_for(
    stack: Stack, seller_with_data: Seller
) -> None:
    seller = seller_with_data
    with pipeline(stack):
        put = call(stack, "PUT", "/settlements/contracts/acme-ads", seller.api_key, CONTRACT)
        assert put.status_code == 200, put.body
        path = "/settlements?agency=acme-ads&period=2026-11"
        chinese = get(stack, path, seller.api_key, ZH)
        english = get(stack, path, seller.api_key)

    (rule,) = chinese["rules"]
    assert rule["explanation"] == "未达成：odr 的条件未满足"
    assert rule["conditions"][0]["explanation"] == "odr 0.006 < 0.005：未满足"
    (rule,) = english["rules"]
    assert rule["explanation"] == "not earned: condition on odr not met"
    assert rule["conditions"][0]["explanation"] == "odr 0.006 < 0.005: not met"
    assert chinese["total"] == english["total"] == "100.00"


def test_the_contracts_list_holds_the_tenants_contracts_only(stack: Stack) -> None:
    # Given two tenants, one with two agency contracts and one with its own
    first, second = new_seller(stack, "First"), new_seller(stack, "Second")
    with pipeline(stack):
        for agency in ("zeta-media", "acme-ads"):
            saved = call(
                stack,
                "PUT",
                f"/settlements/contracts/{agency}",
                first.api_key,
                {**CONTRACT, "scope": {"market": "US"}},
            )
            assert saved.status_code == 200, saved.body
        other = call(stack, "PUT", "/settlements/contracts/other-agency", second.api_key, CONTRACT)
        assert other.status_code == 200, other.body
        viewer, operator = (
            api_key(stack, first, "viewer"),
            api_key(stack, first, "operator", owner="acme-ads"),
        )

        # When each lists its contracts (a viewer may: it may read statements)
        listed = get(stack, "/settlements/contracts", viewer)
        theirs = get(stack, "/settlements/contracts", second.api_key)
        as_operator = get(stack, "/settlements/contracts", operator)
        no_key = call(stack, "GET", "/settlements/contracts", None)

    # Then a tenant sees its own, by agency, with the terms and scope saved; never another's
    assert [c["agency"] for c in listed["contracts"]] == ["acme-ads", "zeta-media"]
    acme = listed["contracts"][0]
    assert acme["contract"]["base_fee"] == "100.00"
    assert acme["contract"]["rules"][0]["name"] == "5% of ad sales"
    assert acme["scope"]["market"] == "US"
    assert [c["agency"] for c in theirs["contracts"]] == ["other-agency"]
    # An operator sees the contract of the agency its key acts for, as with statements
    assert [c["agency"] for c in as_operator["contracts"]] == ["acme-ads"]
    assert no_key.status_code == 401
