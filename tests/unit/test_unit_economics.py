"""Unit economics: CAC, the cohort gross-margin curve, LTV, LTV:CAC, payback, the CAC > LTV flag,
and the zero denominators. Figures are worked out by hand beside the assertions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from linkstar.costs.economics import Cohort, unit_economics
from pydantic import ValidationError

D = Decimal

# September's cohort has reached 180 days, October's 90, November's only 30.
COHORTS = [
    Cohort.model_validate(
        {
            "month": "2025-09",
            "customers": 100,
            "gross_margin": {"30": "1500", "60": "2200", "90": "2800", "180": "3600"},
        }
    ),
    Cohort(month="2025-10", customers=50, gross_margin={30: D(600), 60: D(1000), 90: D(1300)}),
    Cohort(month="2025-11", customers=50, gross_margin={30: D(500)}),
]


def test_cac_ltv_ratio_and_payback_from_the_cohorts() -> None:
    # Given 1,000.00 USD of ad spend and 40 new customers
    # When
    result = unit_economics(
        ad_spend=D("1000.00"), new_customers=40, cohorts=COHORTS, currency="USD"
    )

    # Then CAC 1,000.00 / 40 = 25.00
    assert result.cac.value == D("25.00")
    # each horizon over the cohorts that reached it
    assert {h: o.value for h, o in result.margin_per_customer.items()} == {
        30: D("13.00"),  # (1500 + 600 + 500) / 200
        60: D("21.33"),  # (2200 + 1000) / 150 = 21.333...
        90: D("27.33"),  # (2800 + 1300) / 150 = 27.333...
        180: D("36.00"),  # 3600 / 100
    }
    assert (result.ltv.value, result.ltv_horizon_days) == (D("36.00"), 180)
    assert result.ltv_to_cac.value == D("1.44")  # 36.00 / 25.00
    assert result.payback_months.value == D(3)  # 27.33 >= 25.00 first at 90 days
    assert result.flag is None


def test_cac_above_ltv_is_flagged_and_not_paid_back() -> None:
    # Given 1,000.00 over only 20 new customers: CAC 50.00 > LTV 36.00
    # When
    result = unit_economics(
        ad_spend=D("1000.00"), new_customers=20, cohorts=COHORTS, currency="USD"
    )

    # Then
    assert result.cac.value == D("50.00")
    assert result.ltv_to_cac.value == D("0.72")  # 36.00 / 50.00
    assert result.flag == "CAC 50.00 USD is above LTV 36.00 USD (180 days)"
    assert result.payback_months.value is None
    assert result.payback_months.reason == (
        "not paid back within 180 days: gross margin per customer 36.00 USD is below CAC 50.00 USD"
    )


def test_no_new_customers_is_a_zero_denominator_not_a_number() -> None:
    # When
    result = unit_economics(ad_spend=D("500.00"), new_customers=0, cohorts=COHORTS, currency="EUR")

    # Then
    assert result.cac.value is None
    assert result.cac.reason == "division by zero: no new customers in the period"
    assert result.ltv_to_cac.reason == ("no CAC: division by zero: no new customers in the period")
    assert result.payback_months.value is None
    assert result.flag is None
    assert result.ltv.value == D("36.00")  # LTV doesn't need CAC


def test_no_ad_spend_is_a_cac_of_zero_paid_back_at_once() -> None:
    # When
    result = unit_economics(ad_spend=D(0), new_customers=10, cohorts=COHORTS, currency="USD")

    # Then
    assert result.cac.value == D("0.00")
    assert result.ltv_to_cac.value is None
    assert result.ltv_to_cac.reason == "division by zero: CAC is 0 (no ad spend)"
    assert result.payback_months.value == D(0)


def test_ltv_needs_a_cohort_old_enough_for_its_horizon() -> None:
    # Given only cohorts younger than 180 days
    young = COHORTS[1:]

    # When
    result = unit_economics(ad_spend=D(100), new_customers=10, cohorts=young, currency="USD")

    # Then LTV at 180 days is unknown; at 90 days it is (1300 / 50) = 26.00
    assert result.ltv.reason == "no data: no cohort has reached 180 days"
    assert result.ltv_to_cac.reason == "no LTV: no data: no cohort has reached 180 days"
    assert result.flag is None
    # CAC 10.00 is paid back within 30 days: (600 + 500) / 100 = 11.00
    assert result.payback_months.value == D(1)
    shorter = unit_economics(
        ad_spend=D(100), new_customers=10, cohorts=young, currency="USD", ltv_horizon=90
    )
    assert shorter.ltv.value == D("26.00") and shorter.ltv_to_cac.value == D("2.60")


def test_cohorts_of_no_customers_are_a_zero_denominator() -> None:
    # Given
    empty = [Cohort(month="2025-09", customers=0, gross_margin={30: D(0)})]

    # When
    result = unit_economics(ad_spend=D(100), new_customers=10, cohorts=empty, currency="USD")

    # Then
    assert result.margin_per_customer[30].reason == (
        "division by zero: the cohorts at 30 days have no customers"
    )
    assert result.payback_months.reason == "no data: no cohort gross margin"


@pytest.mark.parametrize(
    "body",
    [
        {"month": "2025-13", "customers": 1, "gross_margin": {}},
        {"month": "2025-09", "customers": -1, "gross_margin": {}},
        {"month": "2025-09", "customers": 1, "gross_margin": {"45": "1"}},
    ],
)
def test_invalid_cohorts_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Cohort.model_validate(body)
