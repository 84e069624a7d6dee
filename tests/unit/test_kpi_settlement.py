"""Agency settlement: conditions met, not met and without data, tiers, penalties, caps, rounding.

Expected amounts are worked out by hand in the comments beside them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from linkstar.kpis.formula import Outcome
from linkstar.kpis.settlement import Contract, settle
from linkstar.text import render
from pydantic import ValidationError

D = Decimal
PERIOD = "2026-11"

# The contract: 5% commission on GMV only if ACoS <= 28% and ODR < 0.5%.
GMV_COMMISSION: dict[str, Any] = {
    "type": "commission",
    "name": "5% of GMV",
    "rate": "0.05",
    "on": {"metric": "gmv"},
    "conditions": [
        {"kpi": "acos", "op": "<=", "value": "0.28"},
        {"kpi": "odr", "op": "<", "value": "0.005"},
    ],
}


def contract(*rules: dict[str, Any], **fields: Any) -> Contract:
    values: dict[str, Any] = {
        "agency": "Acme Ads",
        "currency": "USD",
        "base_fee": "2000.00",
        "rules": list(rules),
    }
    values.update(fields)
    return Contract.model_validate(values)


def kpis(**values: str | None) -> dict[str, Outcome]:
    return {
        key: Outcome.of(D(value)) if value is not None else Outcome.missing(f"no data: {key}")
        for key, value in values.items()
    }


GMV = {"gmv": D("120000.00")}


def test_worked_example_commission_earned_when_both_conditions_hold() -> None:
    # Given November: GMV 120,000.00, ACoS 25%, ODR 0.4%
    terms = contract(GMV_COMMISSION)

    # When
    statement = settle(terms, kpis(acos="0.25", odr="0.004"), GMV, PERIOD)

    # Then 0.05 x 120,000.00 = 6,000.00; 2,000.00 + 6,000.00 = 8,000.00
    rule = statement.rules[0]
    assert (rule.met, rule.rate, rule.base, rule.amount) == (
        True,
        D("0.05"),
        D("120000.00"),
        D("6000.00"),
    )
    assert [str(c.explanation) for c in rule.conditions] == [
        "acos 0.25 <= 0.28: met",
        "odr 0.004 < 0.005: met",
    ]
    assert statement.commissions == D("6000.00")
    assert statement.subtotal == statement.total == D("8000.00")
    assert statement.penalties == D("0")
    # every input number is on the statement
    assert [(i.kind, i.name, i.value) for i in statement.inputs] == [
        ("metric", "gmv", D("120000.00")),
        ("kpi", "acos", D("0.25")),
        ("kpi", "odr", D("0.004")),
    ]
    assert terms.kpis_needed() == ["acos", "odr"]
    assert terms.metrics_needed() == ["gmv"]


def test_worked_example_commission_withheld_when_acos_is_over() -> None:
    # Given ACoS of 31%
    statement = settle(contract(GMV_COMMISSION), kpis(acos="0.31", odr="0.004"), GMV, PERIOD)

    # Then no commission, only the base fee
    rule = statement.rules[0]
    assert (rule.met, rule.amount) == (False, D("0.00"))
    assert str(rule.conditions[0].explanation) == "acos 0.31 <= 0.28: not met"
    assert str(rule.explanation) == "not earned: condition on acos not met"
    assert statement.total == D("2000.00")


def test_a_condition_on_a_kpi_without_data_fails_and_says_so() -> None:
    # Given no ODR imported (and a KPI the caller never computed)
    statement = settle(contract(GMV_COMMISSION), kpis(acos="0.25", odr=None), GMV, PERIOD)

    # Then
    odr = statement.rules[0].conditions[1]
    assert (odr.met, odr.actual) == (False, None)
    assert (
        str(odr.explanation) == "odr: no value (no data: odr), so odr < 0.005 is not shown to hold"
    )
    assert statement.total == D("2000.00")
    not_computed = settle(contract(GMV_COMMISSION), kpis(acos="0.25"), GMV, PERIOD)
    assert "odr: no value (not computed)" in str(not_computed.rules[0].conditions[1].explanation)
    assert str(not_computed.inputs[2].reason) == "not computed"


def test_a_zero_denominator_kpi_fails_its_condition() -> None:
    outcomes = {"acos": Outcome.missing("division by zero: ad_sales"), **kpis(odr="0.001")}
    statement = settle(contract(GMV_COMMISSION), outcomes, GMV, PERIOD)
    assert str(statement.rules[0].conditions[0].explanation).startswith(
        "acos: no value (division by zero: ad_sales)"
    )
    assert statement.total == D("2000.00")


def test_commission_without_its_base_pays_nothing() -> None:
    rule = {"type": "commission", "name": "10% of creator GMV", "rate": "0.1", "on": {"kpi": "cg"}}
    statement = settle(contract(rule), kpis(cg=None), {}, PERIOD)
    assert str(statement.rules[0].explanation) == "not earned: cg has no value (no data: cg)"
    assert statement.total == D("2000.00")
    metric_rule = {**rule, "on": {"metric": "gmv"}}
    statement = settle(contract(metric_rule), {}, {"gmv": None}, PERIOD)
    assert str(statement.rules[0].explanation) == "not earned: gmv has no value (no data: gmv)"


# --- tiers --------------------------------------------------------------------------------------

TIERS: dict[str, Any] = {
    "type": "tiered_commission",
    "name": "Growth bonus",
    "on": {"metric": "gmv"},
    "band_by": {"kpi": "gmv_growth_mom"},
    "bands": [
        {"min": "0", "rate": "0.01"},
        {"min": "0.10", "rate": "0.03"},
        {"min": "0.20", "rate": "0.05"},
    ],
}


@pytest.mark.parametrize(
    ("growth", "rate", "amount"),
    [
        ("0.15", D("0.03"), D("3600.00")),  # band from 0.10: 0.03 x 120,000.00
        ("0.10", D("0.03"), D("3600.00")),  # a band's min is inclusive
        ("0.35", D("0.05"), D("6000.00")),  # top band: 0.05 x 120,000.00, on the whole base
        ("0", D("0.01"), D("1200.00")),  # flat: 0.01 x 120,000.00
    ],
)
def test_tiered_commission_picks_the_band_growth_falls_in(
    growth: str, rate: Decimal, amount: Decimal
) -> None:
    statement = settle(contract(TIERS), kpis(gmv_growth_mom=growth), GMV, PERIOD)
    rule = statement.rules[0]
    assert (rule.met, rule.rate, rule.amount) == (True, rate, amount)
    assert statement.total == D("2000.00") + amount


def test_tiered_commission_below_the_lowest_band_or_without_growth_pays_nothing() -> None:
    below = settle(contract(TIERS), kpis(gmv_growth_mom="-0.05"), GMV, PERIOD).rules[0]
    assert (below.met, below.amount) == (False, D("0.00"))
    assert (
        str(below.explanation)
        == "not earned: gmv_growth_mom -0.05 is below the lowest band (from 0)"
    )
    missing = settle(contract(TIERS), kpis(gmv_growth_mom=None), GMV, PERIOD).rules[0]
    assert str(missing.explanation) == (
        "not earned: gmv_growth_mom has no value (no data: gmv_growth_mom)"
    )


def test_tiers_must_ascend() -> None:
    bad = {**TIERS, "bands": [{"min": "0.1", "rate": "0.02"}, {"min": "0.1", "rate": "0.03"}]}
    with pytest.raises(ValidationError, match="bands must ascend"):
        contract(bad)


# --- penalties, caps, floors --------------------------------------------------------------------

LATE_SHIPMENTS: dict[str, Any] = {
    "type": "penalty",
    "name": "Late shipments over 4%",
    "conditions": [{"kpi": "late_shipment_rate", "op": "<", "value": "0.04"}],
    "rate": "0.10",
}
ODR_PENALTY: dict[str, Any] = {
    "type": "penalty",
    "name": "ODR at or over 1%",
    "conditions": [{"kpi": "odr", "op": "<", "value": "0.01"}],
    "amount": "500.00",
}


def test_penalties_fixed_and_percentage() -> None:
    # Given commission earned (8,000.00 subtotal), late shipments at 5% and ODR at 1.2%
    terms = contract(GMV_COMMISSION, LATE_SHIPMENTS, ODR_PENALTY)
    outcomes = kpis(acos="0.25", odr="0.012", late_shipment_rate="0.05")

    # When
    statement = settle(terms, outcomes, GMV, PERIOD)

    # Then the ODR condition of the commission also fails (0.012 is not < 0.005): subtotal is the
    # base fee 2,000.00; late shipments 0.10 x 2,000.00 = 200.00; ODR fixed 500.00
    commission, late, odr = statement.rules
    assert commission.amount == D("0.00")
    assert (late.met, late.base, late.amount) == (False, D("2000.00"), D("200.00"))
    assert str(late.explanation) == (
        "applied: condition on late_shipment_rate not met; 0.10 x subtotal 2000.00"
    )
    assert (odr.met, odr.amount) == (False, D("500.00"))
    assert statement.penalties == D("700.00")
    assert statement.total == D("1300.00")  # 2,000.00 - 700.00


def test_penalty_not_applied_when_its_conditions_hold() -> None:
    statement = settle(
        contract(GMV_COMMISSION, LATE_SHIPMENTS),
        kpis(acos="0.25", odr="0.004", late_shipment_rate="0.02"),
        GMV,
        PERIOD,
    )
    assert str(statement.rules[1].explanation) == "not applied: every condition held"
    assert statement.total == D("8000.00")


def test_penalty_applies_when_its_kpi_has_no_data() -> None:
    statement = settle(contract(ODR_PENALTY), kpis(odr=None), {}, PERIOD)
    assert statement.rules[0].amount == D("500.00")
    assert statement.total == D("1500.00")  # 2,000.00 - 500.00


def test_cap_limits_the_payout() -> None:
    # Given a 7,500.00 cap and a 6,000.00 commission: 8,000.00 is cut by 500.00
    cap = {"type": "cap", "name": "Monthly cap", "max_payout": "7500.00"}
    statement = settle(contract(GMV_COMMISSION, cap), kpis(acos="0.25", odr="0.004"), GMV, PERIOD)
    assert statement.subtotal == D("8000.00")
    assert statement.cap == D("7500.00")
    assert statement.total == D("7500.00")
    assert (
        str(statement.rules[1].explanation) == "8000.00 is above the cap 7500.00: reduced by 500.00"
    )
    assert (statement.rules[1].met, statement.rules[1].amount) == (False, D("500.00"))
    # Two caps: the lowest applies
    higher = {"type": "cap", "name": "Annual share", "max_payout": "7800.00"}
    two = settle(contract(GMV_COMMISSION, higher, cap), kpis(acos="0.25", odr="0.004"), GMV, PERIOD)
    assert two.total == D("7500.00")
    assert str(two.rules[1].explanation) == "8000.00 is above 7800.00, but a lower cap applies"
    assert two.rules[1].amount == D("0.00")


def test_penalties_above_the_fees_floor_at_zero_unless_a_refund_is_allowed() -> None:
    # Given a 2,000.00 base fee and a 2,500.00 penalty
    big = {**ODR_PENALTY, "amount": "2500.00"}

    floored = settle(contract(big), kpis(odr="0.02"), {}, PERIOD)
    refund = settle(contract(big, allow_refund=True), kpis(odr="0.02"), {}, PERIOD)

    assert floored.total == D("0.00")
    assert render(floored.notes) == [
        "penalties exceed the fees by 500.00: the total is floored at 0"
    ]
    assert refund.total == D("-500.00")
    assert render(refund.notes) == ["a refund of 500.00 is due from the agency"]


def test_amounts_are_rounded_once_to_the_currency_minor_units() -> None:
    # Given 3.3% of 1,234.567 GMV: 40.740711 -> 40.74 USD; in JPY (0 decimals) 41
    rule = {"type": "commission", "name": "3.3%", "rate": "0.033", "on": {"metric": "gmv"}}
    usd = settle(contract(rule, base_fee="0"), {}, {"gmv": D("1234.567")}, PERIOD)
    jpy = settle(contract(rule, currency="JPY", base_fee="0"), {}, {"gmv": D("1234.567")}, PERIOD)
    assert usd.total == D("40.74")
    assert jpy.total == D("41")
    # half-even: 0.05 x 10.1 = 0.505 -> 0.50
    half = {"type": "commission", "name": "5%", "rate": "0.05", "on": {"metric": "gmv"}}
    assert settle(contract(half, base_fee="0"), {}, {"gmv": D("10.1")}, PERIOD).total == D("0.50")


def test_contract_validation() -> None:
    with pytest.raises(ValidationError, match="more decimals than JPY"):
        contract(currency="JPY", base_fee="10.50")
    with pytest.raises(ValidationError, match="not an ISO 4217"):
        contract(currency="usd")
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        contract({**GMV_COMMISSION, "rate": "5"})  # 5 means 500%; 5% is 0.05
    with pytest.raises(ValidationError, match="either kpi or metric"):
        contract(
            {**GMV_COMMISSION, "conditions": [{"kpi": "a", "metric": "b", "op": "<", "value": "1"}]}
        )
    with pytest.raises(ValidationError, match="either a fixed amount or a rate"):
        contract({**ODR_PENALTY, "rate": "0.1"})
    with pytest.raises(ValidationError):
        contract({"type": "bonus", "name": "?"})


def test_statement_text_shows_every_number() -> None:
    statement = settle(
        contract(GMV_COMMISSION, LATE_SHIPMENTS),
        kpis(acos="0.25", odr="0.004", late_shipment_rate="0.02"),
        GMV,
        PERIOD,
    )
    text = statement.to_text()
    for fragment in (
        "Settlement for Acme Ads, 2026-11 (USD)",
        "metric gmv: 120000.00",
        "kpi acos: 0.25",
        "kpi late_shipment_rate: 0.02",
        "5% of GMV [commission]: 6000.00 - 0.05 x gmv 120000.00",
        "acos 0.25 <= 0.28: met",
        "Subtotal: 8000.00",
        "Total: 8000.00",
    ):
        assert fragment in text
