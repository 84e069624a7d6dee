"""The sentences of costs and the funnel in the reader's language: how each cost component of an
order was worked out (or why it is missing), the reasons of unit economics, import row problems,
cost-model validation errors and funnel reasons, in English outside a request and in Chinese when
the request asks for zh-CN. The orders are ``test_profit``'s, worked by hand there."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from linkstar import text
from linkstar.costs import actuals, economics, settlement
from linkstar.costs.fx import FxTable, parse_rates
from linkstar.costs.model import CostModel
from linkstar.costs.profit import AdSpend, allocate_ads, profit
from linkstar.funnel.analysis import funnel
from linkstar.funnel.stages import StageConfig
from pydantic import ValidationError

from tests.unit.test_profit import DE_ORDER, FX, GB_ORDER, MODEL, MODEL_BODY, MONDAY, facts

D = Decimal


def test_the_de_orders_workings_in_english_and_in_chinese() -> None:
    # Given the DE order (two mugs, 59.50 EUR incl. 19% VAT), worked out in each language
    english = profit(facts(**DE_ORDER), MODEL, FX)
    with text.use_locale("zh-CN"):
        chinese = profit(facts(**DE_ORDER), MODEL, FX)

    # Then the figures are the same and only the words change
    assert chinese.components == english.components
    how = {name: detail.how for name, detail in chinese.details.items()}
    assert how["commission"] == "100.00 EUR 的 15%（amazon，默认）"
    assert how["cogs"] == "2 x 36.00 CNY（MUG-1）"
    assert how["logistics"] == "DE 任意运输方式，800 克，2000 克以内：6.50 EUR"
    assert how["taxes"] == "19.00 EUR VAT（19%），已含在价格中，由卖家缴纳：不计收入，也不计成本"
    assert how["duties"] == "货值 100.00 EUR 不超过 DE 的免税额 150.00 EUR：无关税"
    assert how["fx"] == "收入 100.00 EUR 换成 USD 回款的 1.5% 汇差"
    assert how["returns"] == "无退货"
    # and English stays as it was
    assert english.details["commission"].how == "15% on 100.00 EUR (amazon, default)"
    assert english.details["logistics"].how == "DE any method, 800 g, up to 2000 g: 6.50 EUR"


def test_sums_of_parts_actuals_and_marketplace_tax_in_chinese() -> None:
    with text.use_locale("zh-CN"):
        result = profit(facts(**GB_ORDER), MODEL, FX)
        shopify = profit(
            facts(**{**DE_ORDER, "platform": "shopify", "gateway": "stripe"}), MODEL, FX
        )
    assert result.details["commission"].how == "实际 7.50 GBP"
    assert result.details["returns"].how == (
        "1 x 10.00 USD 逆向物流 + 1 x 8.00 USD（TEE-2）的 50% 报废损失"
    )
    assert result.details["cogs"].how == "1 x 8.00 USD（TEE-2，退货 1 件）"
    assert result.details["taxes"].how == (
        "8.00 GBP VAT（20%），由 amazon 代收代缴：不是卖家的成本"
    )
    assert shopify.details["payment_fees"].how == "实付 119.00 EUR 的 1.5% + 0.25 EUR（stripe）"


def test_the_tax_a_seller_owes_in_chinese() -> None:
    order = facts(
        platform="shopify",
        market="US",
        currency="USD",
        lines=[{"sku": "TEE-2", "quantity": 1, "unit_price": "50.00"}],
        tax_collected="0",
    )
    with text.use_locale("zh-CN"):
        result = profit(order, MODEL, FX)
    assert result.details["taxes"].how == (
        "50.00 USD 按 8% 应缴 sales tax 4.00 USD，已收 0.00 USD：卖家补缴 4.00 USD"
    )


def test_why_a_component_is_missing_in_chinese() -> None:
    # Given a model with nothing but the reporting currency, and an order in a currency
    # without any rate
    bare = CostModel.model_validate({"reporting_currency": "USD"})
    with text.use_locale("zh-CN"):
        missing = profit(facts(**DE_ORDER), bare, FX)
        untranslated = profit(facts(**{**DE_ORDER, "currency": "AUD"}), MODEL, FX)

    # Then each missing component says why, in Chinese
    how = {name: d.how for name, d in missing.details.items() if d.source == "missing"}
    assert how["cogs"] == "成本模型中没有商品成本（COGS）"
    assert how["commission"] == "成本模型中没有佣金规则"
    assert how["logistics"] == "成本模型中没有物流费率"
    assert how["fx"] == "成本模型中没有汇兑规则（回款币种和汇差）"
    assert how["taxes"] == "成本模型中没有 DE 的税务规则，订单也未注明税额"
    # and a missing rate says which pair and day (the order stays in its own currency)
    assert untranslated.details["fx"].how == (
        "2026-03-02 及之前 7 天内没有 AUD→USD 的汇率（正向或反向均无）"
        "：金额以 AUD 显示，而非报表币种 USD"
    )


def test_ad_allocation_workings_in_chinese() -> None:
    model = CostModel.model_validate({**MODEL_BODY, "ads": {"within": "market"}})
    orders = [facts(**{**DE_ORDER, "order_id": "a"})]
    spend = [
        AdSpend(key="DE", date=MONDAY, amount=D("10.00"), currency="USD"),
        AdSpend(key="FR", date=MONDAY, amount=D("5.00"), currency="USD"),
    ]
    with text.use_locale("zh-CN"):
        allocation = allocate_ads(spend, orders, model, FX)
    assert allocation.by_order["a"].how == (
        "按收入占比分摊：市场 DE：10.00 USD 中的 10.00 USD（收入 108.00 USD 中的 108.00 USD）"
    )
    assert allocation.unallocated[0].reason == "本期市场 FR 没有产生收入的订单"


def test_unit_economics_reasons_and_flag_in_chinese() -> None:
    cohort = economics.Cohort(month="2026-01", customers=10, gross_margin={30: D("100")})
    with text.use_locale("zh-CN"):
        none = economics.unit_economics(
            ad_spend=D("0"), new_customers=0, cohorts=[], currency="USD"
        )
        flagged = economics.unit_economics(
            ad_spend=D("500"), new_customers=10, cohorts=[cohort], currency="USD", ltv_horizon=30
        )
    assert none.cac.reason == "除数为零：本期没有新客户"
    assert none.ltv.reason == "无数据：没有客群满 180 天"
    assert none.ltv_to_cac.reason == "无 LTV：无数据：没有客群满 180 天"
    assert flagged.flag == "CAC 50.00 USD 高于 LTV 10.00 USD（30 天）"
    assert flagged.payback_months.reason == (
        "30 天内未回本：每位客户毛利 10.00 USD 低于 CAC 50.00 USD"
    )


def test_a_cost_model_error_is_in_the_language_it_is_read_in() -> None:
    body = {**MODEL_BODY, "duties": [{"country": "DE", "rate": "0.1", "de_minimis": "150"}]}
    with pytest.raises(ValidationError) as caught:
        CostModel.model_validate(body)
    with text.use_locale("zh-CN"):
        chinese = caught.value.errors()[0]["msg"]
    assert chinese.endswith("设置 de_minimis 时需要填写 currency")
    assert caught.value.errors()[0]["msg"].endswith("de_minimis needs a currency")


def test_fx_rate_problems_in_chinese() -> None:
    rows = [
        {"date": "2026-03-02", "base": "EUR", "quote": "EUR", "rate": "1"},
        {"date": "2026-03-02", "base": "EUR", "quote": "USD", "rate": "1.08"},
        {"date": "2026-03-02", "base": "EUR", "quote": "USD", "rate": "1.09"},
    ]
    with text.use_locale("zh-CN"):
        _, problems = parse_rates({"rates": rows})
    assert problems == [
        "rates[0]：基准币种和报价币种都是 EUR",
        "rates[2]：2026-03-02 的 EUR→USD 在此处为 1.09，在 rates[1] 中为 1.08",
    ]


def test_import_row_problems_in_chinese() -> None:
    csv = (
        "order_id,component,amount,currency\nsabcdefgh-1,ads,1.00,USD\nsabcdefgh-1,duties,-2,USD\n"
    )
    with text.use_locale("zh-CN"), pytest.raises(actuals.ActualsError) as caught:
        actuals.parse_csv(csv, source="s-1", tenant_id="t", store_exists=lambda _: True)
    reasons = [p["reason"] for p in caught.value.details["problems"]]
    assert reasons[0].startswith("成本项 ads 不能按订单提供：广告费没有按订单的实际金额")
    assert reasons[1].startswith("金额为负数（-2）")
    with text.use_locale("zh-CN"):
        assert str(caught.value.message) == "2 行无法读取；未保存任何数据"
    assert str(caught.value.message) == "2 row(s) can't be read; nothing was stored"

    with text.use_locale("zh-CN"), pytest.raises(settlement.SettlementError) as refused:
        settlement.parse("settlement-id\n1\n")
    with text.use_locale("zh-CN"):
        assert str(refused.value.message).startswith("这不是 Flat File V2 结算报告：表头缺少 ")


def test_funnel_reasons_in_chinese() -> None:
    config = StageConfig(stages=("sessions", "checkouts", "orders"))
    current = {"US": {"sessions": 100, "checkouts": 0, "orders": None}}
    previous = {"US": {"sessions": None, "checkouts": 10, "orders": 5}}
    with text.use_locale("zh-CN"):
        report = funnel(config, current, previous, period="2026-11")
    (group,) = report.groups
    assert [row.reason for row in group.stages] == [
        "第一个环节",
        None,
        "无数据：orders",
    ]
    assert group.change[0].reason == "无数据：sessions（上一周期）"
    assert group.change[2].reason == "无数据：orders；本期没有转化率"
    english = funnel(config, current, previous, period="2026-11")
    assert english.groups[0].change[2].reason == "no data: orders; no conversion in this period"


def test_a_stage_configuration_error_in_chinese() -> None:
    with pytest.raises(ValidationError) as caught:
        StageConfig(stages=("orders", "sessions"))
    with text.use_locale("zh-CN"):
        message = caught.value.errors()[0]["msg"]
    assert "环节可以省略，但不能调整顺序" in message


def test_a_missing_rate_reason_renders_in_either_language() -> None:
    table = FxTable([])
    with pytest.raises(Exception) as caught:
        table.rate("EUR", "USD", date(2026, 3, 2))
    reason = caught.value.reason  # type: ignore[attr-defined]
    assert str(reason).startswith("no EUR→USD rate on 2026-03-02")
    assert reason.render("zh-CN") == "2026-03-02 及之前 7 天内没有 EUR→USD 的汇率（正向或反向均无）"


def test_a_tax_named_by_the_tenant_reads_as_named_and_an_unnamed_one_is_translated() -> None:
    # Given the DE rule without the tenant's "VAT" label (the model's default label)
    body = {**MODEL_BODY, "taxes": [{**MODEL_BODY["taxes"][0]}]}
    del body["taxes"][0]["label"]
    unnamed = CostModel.model_validate(body)
    with text.use_locale("zh-CN"):
        chinese = profit(facts(**DE_ORDER), unnamed, FX)
        named = profit(facts(**DE_ORDER), MODEL, FX)
    english = profit(facts(**DE_ORDER), unnamed, FX)
    # Then our word is translated, the tenant's is kept
    assert chinese.details["taxes"].how.startswith("19.00 EUR 税（19%）")
    assert named.details["taxes"].how.startswith("19.00 EUR VAT（19%）")
    assert english.details["taxes"].how.startswith("19.00 EUR tax (19%)")
