"""Costs and the funnel answer in the language asked for: an order's cost workings, the cost
report's ad notes, a refused import's row problems and the funnel's reasons are Chinese when the
request says ``Accept-Language: zh-CN`` and English without it; figures and codes never change."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import Stack, body_of, call, drain_ingest, new_seller, post_webhook
from tests.integration.outreach import START, pipeline
from tests.integration.test_cost_actuals import HEADER, operator_key, shop
from tests.integration.test_cost_ledger import recost, shopify_order
from tests.integration.test_costs import MODEL
from tests.integration.test_funnel import NOVEMBER, OCTOBER, _aggregates
from tests.integration.test_settlements import ORDER, TSV, amazon_seller, settlement_file

pytestmark = pytest.mark.xdist_group("costs")

PERIOD = START.strftime("%Y-%m")
ZH = "zh-CN"


def both(stack: Stack, method: str, path: str, key: str, *body: Any, **kw: Any) -> tuple[Any, Any]:
    """The same request in Chinese and with no language preference."""
    chinese = call(stack, method, path, key, *body, language=ZH, **kw)
    plain = call(stack, method, path, key, *body, **kw)
    return chinese, plain


def test_an_orders_cost_workings_are_in_the_language_asked_for(stack: Stack) -> None:
    # Given a costed US order and a model without a payout (fx) rule
    seller = new_seller(stack, "Costs Zh")
    with pipeline(stack):
        post_webhook(stack, seller, "orders/create", shopify_order(8101))
        drain_ingest(stack)
        assert call(stack, "PUT", "/cost-model", seller.api_key, MODEL).status_code == 200
        (listed,) = body_of(call(stack, "GET", "/orders", seller.api_key))["orders"]

        # When its profit is asked for in Chinese and in English
        chinese, plain = both(stack, "GET", f"/orders/{listed['order_id']}/profit", seller.api_key)

    # Then the workings are in each language and the figures are the same
    assert (chinese.status_code, plain.status_code) == (200, 200)
    zh, en = body_of(chinese), body_of(plain)
    assert chinese.headers["Content-Language"] == ZH
    assert zh["components"] == en["components"] and zh["missing"] == en["missing"]
    assert zh["details"]["commission"]["how"] == "398.00 USD 的 2%（shopify，默认）"
    assert en["details"]["commission"]["how"] == "2% on 398.00 USD (shopify, default)"
    assert zh["details"]["logistics"]["how"] == "US 任意运输方式 固定运费：8.00 USD"
    assert en["details"]["logistics"]["how"] == "US any method flat: 8.00 USD"
    assert zh["details"]["fx"]["how"] == "成本模型中没有汇兑规则（回款币种和汇差）"
    assert (
        en["details"]["fx"]["how"] == "no fx rules (payout currency and spread) in the cost model"
    )
    assert zh["details"]["fx"]["source"] == en["details"]["fx"]["source"] == "missing"
    # no ad spend imported for the month: ads are missing, and say so
    assert zh["details"]["ads"]["how"] == "该订单尚未分摊广告费（需先分摊其所在周期的广告费）"


def test_the_cost_reports_ad_notes_are_in_the_language_asked_for(stack: Stack) -> None:
    # Given costed US orders, ad spend on a market without revenue, and a month without spend
    seller = new_seller(stack, "Ads Zh")
    with pipeline(stack):
        assert call(stack, "PUT", "/cost-model", seller.api_key, MODEL).status_code == 200
        post_webhook(stack, seller, "orders/create", shopify_order(8201))
        drain_ingest(stack)
        recost(stack)
        spend = {"facts": [{"date": START.date().isoformat(), "metric": "ad_spend",
                            "value": "20.00", "market": "DE"}]}  # fmt: skip
        assert call(stack, "POST", "/metrics", seller.api_key, spend).status_code == 200

        # When the report is read in Chinese and in English
        chinese, plain = both(stack, "GET", f"/costs?period={PERIOD}", seller.api_key)
        quiet_zh, quiet_en = both(stack, "GET", "/costs?period=2026-09", seller.api_key)
        bad_zh, bad_en = both(stack, "GET", f"/costs?period={PERIOD}&by=colour", seller.api_key)

    # Then the unallocated spend says why in each language
    (zh,) = body_of(chinese)["unallocated_ads"]
    (en,) = body_of(plain)["unallocated_ads"]
    assert zh["reason"] == "该市场当月没有已核算成本的收入"
    assert en["reason"] == "no costed revenue in the market that month"
    assert {**zh, "reason": None} == {**en, "reason": None}
    # and a period without spend has the note in each language
    assert body_of(quiet_zh)["ads_note"] == "本期未导入广告费（POST /metrics，指标 ad_spend）"
    assert body_of(quiet_en)["ads_note"] == (
        "no ad spend imported for the period (POST /metrics, metric ad_spend)"
    )
    # and a refused query too, with the same code
    assert body_of(bad_zh)["code"] == body_of(bad_en)["code"] == "invalid_query"
    assert body_of(bad_zh)["message"].startswith("by 必须是以下之一：")


def test_a_refused_batch_of_actual_costs_says_what_is_wrong_in_the_language_asked_for(
    stack: Stack,
) -> None:
    # Given a batch with a row giving ad spend per order
    with pipeline(stack):
        seller, orders = shop(stack, "Actuals Zh", 8301)
        key = operator_key(stack, seller)
        batch = HEADER + f"{orders[8301]},logistics,6.40,USD,\n{orders[8301]},ads,5.00,USD,\n"

        # When it is posted in Chinese and in English
        chinese, plain = both(
            stack, "POST", "/cost-actuals?source=zh-1", key, batch, content_type="text/csv"
        )

    # Then it is refused with the same code and rows, the sentences in each language
    assert (chinese.status_code, plain.status_code) == (400, 400)
    zh, en = body_of(chinese), body_of(plain)
    assert zh["code"] == en["code"] == "invalid_rows"
    assert zh["message"] == "1 行无法读取；未保存任何数据"
    assert en["message"] == "1 row(s) can't be read; nothing was stored"
    ((zh_row,), (en_row,)) = zh["details"]["problems"], en["details"]["problems"]
    assert zh_row["row"] == en_row["row"] == 2
    assert zh_row["reason"].startswith("成本项 ads 不能按订单提供：广告费没有按订单的实际金额")
    assert en_row["reason"].startswith("component ads can't be given per order: ad spend has")


def test_a_settlement_row_that_cant_be_read_is_explained_in_the_language_asked_for(
    stack: Stack,
) -> None:
    # Given an Amazon store's settlement report with an amount written "abc"
    seller = amazon_seller(stack, "Settle Zh")
    report = settlement_file("amazon_us_settlement_1.tsv").decode()
    lines = report.splitlines(keepends=True)
    order_row = next(i for i, line in enumerate(lines) if ORDER in line and "Commission" in line)
    fields = lines[order_row].rstrip("\n").split("\t")
    header = lines[0].rstrip("\n").split("\t")
    fields[header.index("amount")] = "abc"
    lines[order_row] = "\t".join(fields) + "\n"
    broken = "".join(lines).encode()
    path = f"/stores/{seller['store_id']}/settlements"

    # When it is uploaded in Chinese and in English
    chinese, plain = both(stack, "POST", path, seller["operator"], broken, content_type=TSV)

    # Then the row's problem is in each language, its row and code the same
    assert (chinese.status_code, plain.status_code) == (400, 400)
    zh, en = body_of(chinese), body_of(plain)
    assert zh["code"] == en["code"] == "invalid_settlement_rows"
    assert zh["message"] == "结算报告中有无法读取的行"
    ((zh_row,), (en_row,)) = zh["details"]["problems"], en["details"]["problems"]
    assert (zh_row["row"], zh_row["code"]) == (en_row["row"], en_row["code"])
    assert zh_row["reason"] == "amount 不是 USD 金额：'abc'"
    assert en_row["reason"] == "amount is not an amount in USD: 'abc'"


def test_the_funnels_reasons_are_in_the_language_asked_for(stack: Stack) -> None:
    # Given checkouts and orders per market in October and November, and no session data
    seller = new_seller(stack, "Funnel Zh")
    _aggregates(seller.tenant_id, seller.store_id, "2026-10-05", OCTOBER)
    _aggregates(seller.tenant_id, seller.store_id, "2026-11-05", NOVEMBER)
    stages = {"stages": ["sessions", "checkouts", "orders"]}
    with pipeline(stack):
        assert call(stack, "PUT", "/funnel/stages", seller.api_key, stages).status_code == 200

        # When the funnel is read in Chinese and in English
        chinese, plain = both(stack, "GET", "/funnel?period=2026-11", seller.api_key)
        bad_zh, _ = both(
            stack, "PUT", "/funnel/stages", seller.api_key, {"stages": ["orders", "sessions"]}
        )

    # Then each stage's reason is in each language, the counts the same
    assert (chinese.status_code, plain.status_code) == (200, 200)
    zh, en = body_of(chinese), body_of(plain)
    zh_us = next(g for g in zh["groups"] if g["key"] == "US")
    en_us = next(g for g in en["groups"] if g["key"] == "US")
    assert [s["reason"] for s in zh_us["stages"]] == ["第一个环节", "之前的环节都没有数据", None]
    assert [s["reason"] for s in en_us["stages"]] == [
        "first stage",
        "no earlier stage has data",
        None,
    ]
    assert [s["count"] for s in zh_us["stages"]] == [s["count"] for s in en_us["stages"]]
    assert zh_us["change"][0]["reason"] == "无数据：sessions"
    assert zh["drop_offs"] == en["drop_offs"]  # numbers and stage names only
    # and a stage configuration that reorders the funnel is refused in Chinese
    assert bad_zh.status_code == 400
    assert "环节可以省略，但不能调整顺序" in body_of(bad_zh)["errors"][0]["msg"]
