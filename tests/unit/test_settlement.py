"""Reading Amazon's flat file V2 settlement report into each order's actual fees.

No real settlement report was found to copy, so the samples in ``tests/fixtures/settlements``
and the small reports built here follow the columns and words Amazon documents for
``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2`` (see that folder's SOURCES.md); every amount
below is worked out by hand from their rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from linkstar.costs.settlement import SettlementError, parse

from tests.support import REPO

D = Decimal
SAMPLES = REPO / "tests" / "fixtures" / "settlements"
# The documented header, as the samples carry it
COLUMNS = (
    (SAMPLES / "amazon_us_settlement_1.tsv").read_text(encoding="utf-8").split("\n")[0].split("\t")
)
ORDER = "113-4825910-2218650"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def report(*rows: dict[str, str], total: str = "0.00", currency: str = "USD") -> str:
    """A settlement report: the summary row, then ``rows`` (each a few columns by name)."""
    summary = {
        "settlement-id": "1001",
        "settlement-start-date": "2026-03-01 00:00:00 UTC",
        "settlement-end-date": "2026-03-15 00:00:00 UTC",
        "deposit-date": "2026-03-17 00:00:00 UTC",
        "total-amount": total,
        "currency": currency,
    }
    lines = ["\t".join(COLUMNS)]
    for row in (summary, *({"settlement-id": "1001", **r} for r in rows)):
        lines.append("\t".join(row.get(column, "") for column in COLUMNS))
    return "\n".join(lines) + "\n"


def fee(description: str, amount: str, order: str = ORDER, **more: str) -> dict[str, str]:
    return {
        "transaction-type": "Order",
        "order-id": order,
        "amount-type": "ItemFees",
        "amount-description": description,
        "amount": amount,
        **more,
    }


def rejected(text: str) -> SettlementError:
    with pytest.raises(SettlementError) as caught:
        parse(text)
    return caught.value


def test_an_orders_commission_and_fba_fees_are_minus_the_sum_of_its_fee_rows() -> None:
    # Given the sample settlement: the two-item FBA order, an order LinkStar doesn't know, and
    # two account fees
    text = sample("amazon_us_settlement_1.tsv")

    # When
    settled = parse(text)

    # Then the summary row is read as the settlement
    assert (settled.settlement_id, settled.currency, settled.total_amount) == (
        "24288374651",
        "USD",
        D("14.12"),
    )
    assert settled.start == datetime(2024, 2, 9, 16, 12, 34, tzinfo=UTC)
    assert settled.deposit_date == datetime(2024, 2, 25, 16, 12, 34, tzinfo=UTC)
    # commission 5.25 + 2.40; logistics: FBA 4.75 + 6.44 and the 5.99 shipping chargeback
    assert settled.orders == {
        ORDER: {"commission": D("7.65"), "logistics": D("17.18")},
        "112-9034455-6671203": {"commission": D("5.85")},
    }
    assert settled.totals() == {"commission": D("13.50"), "logistics": D("17.18")}
    # Prices, promotions and the tax Amazon withheld as marketplace facilitator are no cost
    assert settled.not_costs == {
        "MarketplaceFacilitatorTax-Principal": 3,
        "MarketplaceFacilitatorTax-Shipping": 1,
        "Principal": 4,
        "Shipping": 2,
        "ShippingTax": 1,
        "Tax": 3,
    }
    assert settled.unmapped == {}
    assert settled.without_order == {"Storage Fee": 1, "Subscription Fee": 1}


def test_a_refund_gives_back_commission_less_the_refund_commission_and_reports_the_unmapped() -> (
    None
):
    # Given the next settlement: the rulers refunded (Commission +2.40 given back,
    # RefundCommission -0.48 kept) and an FBA reimbursement naming the order
    text = sample("amazon_us_settlement_2_refund.tsv")

    # When
    settled = parse(text)

    # Then the settlement's commission on the order is a credit: -(2.40 - 0.48) = -1.92, so
    # with the first settlement's 7.65 the order's commission is 5.73
    assert settled.orders == {ORDER: {"commission": D("-1.92")}}
    assert D("7.65") + settled.orders[ORDER]["commission"] == D("5.73")
    # and the reimbursement is counted, not guessed into a component
    assert settled.unmapped == {"CUSTOMER_RETURN": 1}
    assert settled.total_amount == D("-5.94")


def test_every_mapped_description_lands_in_its_component() -> None:
    # Given one order with each fee LinkStar maps, written as Amazon writes them
    rows = [
        fee("Commission", "-10.00"),
        fee("RefundCommission", "-1.00"),
        fee("VariableClosingFee", "-0.81"),
        fee("FixedClosingFee", "-1.80"),
        fee("FBAPerUnitFulfillmentFee", "-3.22"),
        fee("FBAWeightBasedFee", "-0.50"),
        fee("ShippingChargeback", "-4.99"),
        fee("ShippingHB", "-0.30"),
    ]

    # When
    settled = parse(report(*rows))

    # Then commission 10.00 + 1.00 + 0.81 + 1.80; logistics 3.22 + 0.50 + 4.99 + 0.30
    assert settled.orders[ORDER] == {"commission": D("13.61"), "logistics": D("9.01")}


def test_an_order_with_only_revenue_rows_is_named_with_no_fees() -> None:
    settled = parse(
        report(
            {
                "transaction-type": "Order",
                "order-id": ORDER,
                "amount-type": "ItemPrice",
                "amount-description": "Principal",
                "amount": "19.99",
            }
        )
    )

    assert settled.orders == {ORDER: {}}
    assert settled.not_costs == {"Principal": 1}


def test_a_european_report_reads_decimal_commas_and_day_first_dates() -> None:
    # Given an Amazon.de settlement as its flat file writes it: 24,90 and 02.03.2026
    text = report(
        fee("Commission", "-3,74", **{"marketplace-name": "Amazon.de"}),
        fee("FBAPerUnitFulfillmentFee", "-2,70"),
        fee("DigitalServicesFee", "-0,11"),
        {
            "transaction-type": "Order",
            "order-id": ORDER,
            "amount-type": "ItemWithheldTax",
            "amount-description": "MarketplaceFacilitatorVAT-Principal",
            "amount": "-3,98",
        },
        total="14,37",
        currency="EUR",
    ).replace("2026-03-01 00:00:00 UTC", "01.03.2026 00:00:00 UTC")

    # When
    settled = parse(text)

    # Then
    assert (settled.currency, settled.total_amount) == ("EUR", D("14.37"))
    assert settled.start == datetime(2026, 3, 1, tzinfo=UTC)
    assert settled.orders[ORDER] == {"commission": D("3.74"), "logistics": D("2.70")}
    # the Digital Services Fee is Amazon's to name, not ours to guess: reported
    assert settled.unmapped == {"DigitalServicesFee": 1}
    assert settled.not_costs == {"MarketplaceFacilitatorVAT-Principal": 1}


def test_a_report_with_rows_in_another_currency_is_refused() -> None:
    # Given a USD settlement with a row in EUR pasted in
    text = report(fee("Commission", "-5.25"), fee("Commission", "-3.74", currency="EUR"))

    # When / Then: summing 5.25 USD and 3.74 EUR would be a wrong number, so nothing is read
    error = rejected(text)
    assert error.code == "mixed_currencies"
    assert error.details == {"currency": "USD", "rows_in_other_currencies": {"EUR": 1}}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty_settlement"),
        ("\t".join(COLUMNS) + "\n", "empty_settlement"),
        ("amazon-order-id\tpurchase-date\titem-price\n1\t2\t3\n", "not_a_settlement_report"),
        (
            report(fee("Commission", "-1.00")).replace("\t0.00\tUSD", "\t\tUSD"),
            "no_settlement_summary",
        ),
        (report(fee("Commission", "-1.00", **{"settlement-id": "1002"})), "several_settlements"),
        (report(fee("Commission", "-1.00", **{"total-amount": "5.00"})), "several_settlements"),
        (report(currency="US"), "invalid_currency"),
        (report().replace("1001\t2026", "10#01\t2026"), "invalid_settlement_id"),
    ],
    ids=[
        "empty",
        "header only",
        "another report",
        "no summary",
        "two settlement ids",
        "two summaries",
        "not a currency",
        "not a settlement id",
    ],
)
def test_a_file_that_is_not_one_settlement_is_refused_with_a_code(text: str, code: str) -> None:
    assert rejected(text).code == code


def test_every_unreadable_row_is_reported_at_once() -> None:
    # Given amounts that can't be read in USD (1,234 could be 1.234 or 1234), an order id that
    # isn't one, and a date without a zone
    text = report(
        fee("Commission", "-1,234"),
        fee("Commission", "ten"),
        fee("Commission", "-1.00", order="113 4825910"),
        fee("Commission", ""),
        fee("Commission", "-1" + "0" * 27),  # no order's cost can hold it (its profit was a 500)
        fee("Commission", "-١٢.٣٤"),  # digits, but not ASCII ones
    ).replace("2026-03-15 00:00:00 UTC", "2026-03-15 00:00:00")

    # When
    error = rejected(text)

    # Then each is named with its data row (the summary is row 1)
    assert error.code == "invalid_settlement_rows"
    problems: list[dict[str, Any]] = error.details["problems"]
    assert [(p["row"], p["code"]) for p in problems] == [
        (1, "invalid_date"),
        (2, "invalid_amount"),
        (3, "invalid_amount"),
        (4, "invalid_order_id"),
        (5, "invalid_amount"),
        (6, "invalid_amount"),
        (7, "invalid_amount"),
    ]
    assert all(p["reason"] for p in problems)


def test_the_mapping_ignores_case_and_the_columns_order() -> None:
    # Given the same order written with its columns reversed and a lower-case description
    forward = report(fee("Commission", "-5.25"), fee("fbaperunitfulfillmentfee", "-4.75"))
    lines = [line.split("\t") for line in forward.splitlines()]
    reversed_text = "\r\n".join("\t".join(reversed(fields)) for fields in lines)

    # When
    settled = parse(reversed_text)

    # Then
    assert settled.orders[ORDER] == {"commission": D("5.25"), "logistics": D("4.75")}
