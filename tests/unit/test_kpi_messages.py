"""KPI sentences are messages (:mod:`linkstar.text`): an outcome's reason, a score's, a statement's
explanations, a formula's syntax errors and an imported row's problems read in English and in
Chinese, with metric names, numbers and operators kept as they are."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from linkstar import text
from linkstar.errors import BadRequest
from linkstar.kpis import facts, importers
from linkstar.kpis.formula import FormulaError, Outcome, PeriodData, Window, evaluate, parse
from linkstar.kpis.library import check_formula
from linkstar.kpis.reasons import reason_of
from linkstar.kpis.scoring import KpiSpec, Target, score
from linkstar.kpis.settlement import Contract, settle
from linkstar.text import Refusal, Text
from pydantic import ValidationError

D = Decimal
NOV = (date(2026, 11, 1), date(2026, 11, 30))
CLOSED = date(2026, 12, 5)


def both(value: Any) -> tuple[Any, Any]:
    """``value`` rendered in English and in Chinese."""
    rendered = []
    for locale in ("en", "zh-CN"):
        with text.use_locale(locale):
            rendered.append(text.render(value))
    return rendered[0], rendered[1]


def outcome_of(formula: str, **series: str) -> Outcome:
    start, end = NOV
    values = {name: [(start, D(v))] for name, v in series.items()}
    current = Window(start=start, end=end, values=values)
    previous = Window(start=date(2026, 10, 1), end=date(2026, 10, 31), values={})
    return evaluate(parse(formula), PeriodData(current=current, previous=previous))


# ---------------------------------------------------------------- outcomes and scores


@pytest.mark.parametrize(
    ("formula", "series", "english", "chinese"),
    [
        ("ad_spend / ad_sales", {}, "no data: ad_spend, ad_sales", "无数据：ad_spend、ad_sales"),
        (
            "(gmv - prev(gmv)) / prev(gmv)",
            {"gmv": "5"},
            "no data: gmv (previous period)",
            "无数据：gmv（上期）",
        ),
        (
            "clicks / impressions",
            {"clicks": "3", "impressions": "0"},
            "division by zero: impressions",
            "除数为零：impressions",
        ),
    ],
)
def test_an_outcomes_reason_reads_in_both_languages(
    formula: str, series: dict[str, str], english: str, chinese: str
) -> None:
    # When
    outcome = outcome_of(formula, **series)

    # Then the reason is a message, whichever language reads it
    assert outcome.value is None and isinstance(outcome.reason, Text)
    assert both(outcome.reason) == (english, chinese)


def test_a_score_carries_its_reason_and_a_json_dump_renders_it_in_the_locale_in_use() -> None:
    # Given a KPI without data, one without a target and a growth target with no previous data
    kpi = KpiSpec(kpi_id="cvr", period="2026-11")
    no_data = score(kpi, outcome_of("orders / sessions"), None, Target(value=D(1)), CLOSED)
    no_target = score(kpi, Outcome.of(D(1)), None, None, CLOSED)
    growth = score(
        kpi, Outcome.of(D(1)), outcome_of("gmv"), Target(kind="growth", value=D("0.1")), CLOSED
    )

    # Then
    assert both(no_data.reason) == ("no data: orders, sessions", "无数据：orders、sessions")
    assert both(no_target.reason) == ("no target set", "未设置目标")
    assert both(growth.reason) == (
        "growth target needs the previous period's actual (no data: gmv)",
        "增长目标需要上期实际值（无数据：gmv）",
    )
    # The API dumps the row as JSON inside the request: the reason is then in its language
    with text.use_locale("zh-CN"):
        assert no_target.model_dump(mode="json")["reason"] == "未设置目标"
    assert no_target.model_dump(mode="json")["reason"] == "no target set"


def test_a_reason_given_as_plain_text_is_kept_as_it_is() -> None:
    # Another module's reason (or one written before messages) is a string: shown as it is
    outcome = Outcome.missing("no LTV: no data")
    assert both(outcome.reason) == ("no LTV: no data", "no LTV: no data")
    kpi = KpiSpec(kpi_id="ltv", period="2026-11")
    assert score(kpi, outcome, None, None, CLOSED).model_dump(mode="json")["reason"] == (
        "no LTV: no data"
    )


# ---------------------------------------------------------------- formulas


def test_a_formula_error_says_what_and_where_in_both_languages() -> None:
    with pytest.raises(FormulaError) as caught:
        parse("sum(gmv")

    # str() stays English (logs, pydantic); the message renders in the reader's language
    assert (
        str(caught.value) == "expected ')' to close sum( at position 3 but found the end of "
        "the formula (at position 7)"
    )
    assert both(caught.value.text) == (
        str(caught.value),
        "缺少 ')' 来闭合位置 3 的 sum(，实际为公式结尾（位置 7）",
    )
    assert both(check_formula("gmvv / orders")) == (
        ["unknown metric 'gmvv' (did you mean 'gmv'?)"],
        ["未知指标 'gmvv'（是否想用 'gmv'？）"],
    )


# ---------------------------------------------------------------- agency statements


def test_a_statement_explains_itself_in_both_languages() -> None:
    # Given a commission on GMV if ACoS <= 28%, a penalty on ODR and ACoS without data
    contract = Contract.model_validate(
        {
            "agency": "Acme Ads",
            "currency": "USD",
            "base_fee": "100.00",
            "rules": [
                {
                    "type": "commission",
                    "name": "5% of GMV",
                    "rate": "0.05",
                    "on": {"metric": "gmv"},
                    "conditions": [{"kpi": "acos", "op": "<=", "value": "0.28"}],
                },
                {
                    "type": "penalty",
                    "name": "ODR",
                    "amount": "500.00",
                    "conditions": [{"kpi": "odr", "op": "<", "value": "0.005"}],
                },
            ],
        }
    )
    kpis = {
        "acos": Outcome.missing(Text("kpi.no_data", metrics=["ad_spend"])),
        "odr": Outcome.of(D("0.006")),
    }

    # When
    statement = settle(contract, kpis, {"gmv": D(1000)}, "2026-11")

    # Then
    commission, penalty = statement.rules
    assert both(commission.conditions[0].explanation) == (
        "acos: no value (no data: ad_spend), so acos <= 0.28 is not shown to hold",
        "acos：无数值（无数据：ad_spend），因此无法证明 acos <= 0.28 成立",
    )
    assert both(commission.explanation) == (
        "not earned: condition on acos not met",
        "未达成：acos 的条件未满足",
    )
    assert both(penalty.explanation) == (
        "applied: condition on odr not met; fixed 500.00",
        "扣罚：odr 的条件未满足；固定金额 500.00",
    )
    assert both(statement.notes) == (
        ["penalties exceed the fees by 400.00: the total is floored at 0"],
        ["扣罚超出费用 400.00：合计按 0 计"],
    )
    with text.use_locale("zh-CN"):
        dumped = statement.model_dump(mode="json")
    assert dumped["rules"][1]["conditions"][0]["explanation"] == "odr 0.006 < 0.005：未满足"


# ---------------------------------------------------------------- facts and imports


def test_a_facts_problems_read_in_both_languages() -> None:
    # Given a fact with an unknown field, no value and a future date
    with pytest.raises(ValidationError) as caught:
        facts.validate_fact(
            {"date": "2027-01-05", "metric": "clicks", "colour": "red"}, today=date(2026, 11, 1)
        )

    # Then each problem names its field, its reason a message
    problems = facts.fact_problems(caught.value)
    assert [p["field"] for p in problems] == ["date", "value", "colour"]
    english, chinese = both([p["reason"] for p in problems])
    assert english == [
        "2027-01-05 is in the future (today is 2026-11-01)",
        "required",
        "unknown field; a fact has date, metric, value and store_id, platform, market, "
        "campaign, sku, owner",
    ]
    assert chinese == [
        "2027-01-05 是未来日期（今天是 2026-11-01）",
        "必填",
        "未知字段；数据只能包含 date、metric、value 和 store_id、platform、market、campaign、"
        "sku、owner",
    ]


def test_a_pydantic_error_without_its_own_message_keeps_pydantics_words_as_a_detail() -> None:
    # A type no message maps (pydantic's English is all there is to say): quoted as a detail
    item = {"type": "less_than", "loc": ("value",), "msg": "Input should be less than 5"}
    assert both(facts._reason(item)) == (
        "Input should be less than 5",
        "值无效：Input should be less than 5",
    )
    # A refusal raised by a validator carries its own message; any other ValueError is quoted
    assert reason_of(Refusal(Text("kpi.fact.required"))) == Text("kpi.fact.required")
    assert both(reason_of(ValueError("odd"))) == ("odd", "值无效：odd")


def test_an_imported_rows_problems_read_in_both_languages() -> None:
    # Given a TikTok report with a bad cost, a shifted row and a totals row
    report = (
        "By Day,Campaign name,Cost,Clicks\n"
        "2026-11-01,Spring,abc,3\n"
        "2026-11-02,Spring,1.00,3,extra\n"
        "Total of 2 results,,1.00,6\n"
    )

    # When
    result = importers.import_csv(report, "tiktok_ads", defaults={"currency": "USD"})

    # Then
    english, chinese = both(result.rejected + result.skipped)
    assert english == [
        {"line": 2, "column": "Cost", "reason": "'abc' is not a number"},
        {
            "line": 3,
            "column": "",
            "reason": "5 fields but the header has 4: the columns are shifted (an unquoted "
            "delimiter in a name?)",
        },
        {"line": 4, "column": "", "reason": "a totals row ('Total of 2 results'), not a day"},
    ]
    assert chinese == [
        {"line": 2, "column": "Cost", "reason": "'abc' 不是数字"},
        {
            "line": 3,
            "column": "",
            "reason": "该行有 5 个字段，而表头有 4 个：列已错位（名称中是否有未加引号的分隔符？）",
        },
        {"line": 4, "column": "", "reason": "合计行（'Total of 2 results'），不是单日数据"},
    ]


def test_a_report_that_cannot_be_read_lists_its_problems_the_locales_way() -> None:
    with pytest.raises(BadRequest) as caught:
        importers.import_csv("x", "generic", {"metrics": {}, "colour": "red"})

    assert both(caught.value.message) == (
        "the report can't be imported: mapping.colour: unknown key (date, metrics, dimensions); "
        "mapping.metrics: must map column names to metric names",
        "报表无法导入：mapping.colour：未知的键（可用：date、metrics、dimensions）；"
        "mapping.metrics：应为列名到指标名的映射",
    )
