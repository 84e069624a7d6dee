"""Amazon's settlement report in, each order's actual marketplace fees out.

The report is the flat file V2 settlement report (``GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2``;
Seller Central, Payments > All Statements > "Download Flat File V2"): tab-separated, unquoted, a
header line, then one row per amount. Its columns (SP-API docs, "Settlement reports
attributes") are ``settlement-id, settlement-start-date, settlement-end-date, deposit-date,
total-amount, currency, transaction-type, order-id, merchant-order-id, adjustment-id,
shipment-id, marketplace-name, amount-type, amount-description, amount, fulfillment-id,
posted-date, posted-date-time, order-item-code, merchant-order-item-id,
merchant-adjustment-item-id, sku, quantity-purchased`` (and ``promotion-id`` in newer files);
columns are found by name, so their order and any extra ones don't matter.

- The first data row is the settlement's summary: ``settlement-id``, the period, the deposit
  date, ``total-amount`` and ``currency``, and no order. Every row must carry the same
  ``settlement-id``; a row naming a currency must name the summary's (Amazon pays one
  settlement in one currency, so another currency means a file edited or pasted together: it is
  refused with ``mixed_currencies`` rather than summed across currencies).
- Each other row is one amount of one order (``order-id``, the ``AmazonOrderId``) or of the
  account (no order: storage fees, subscriptions, transfers). Fees are written negative and
  their reversals positive, so an order's actual cost of a component is **minus the sum** of its
  rows: a refund's ``Commission`` (+15.00, the fee given back) and ``RefundCommission`` (-3.00,
  Amazon's refund administration fee) leave 3.00 of a 15.00 commission.

How ``amount-description`` maps onto :data:`linkstar.costs.model.COMPONENTS`:

=================================================  ========================================
``Commission``, ``RefundCommission``,              ``commission``
``VariableClosingFee``, ``FixedClosingFee``
``FBAPerUnitFulfillmentFee``, ``FBAWeightBasedFee``, ``logistics``
``ShippingChargeback``, ``ShippingHB``
amount-type ``ItemPrice`` or ``Promotion``          not a cost: revenue (price, shipping and
                                                    gift wrap charged, their tax, discounts),
                                                    which the order itself already carries
amount-type ``ItemWithheldTax``, or a description   not a cost: tax the buyer paid that Amazon
starting ``MarketplaceFacilitator``                 keeps and remits as marketplace facilitator
                                                    (:mod:`linkstar.costs.profit`: collected tax
                                                    is never revenue, so never a cost either)
anything else on an order                           *unmapped*: counted per description and left
                                                    out, never guessed into a component
=================================================  ========================================

Rows without an order are counted per description (``without_order``), not spread over orders.
An order's components are those its rows name: a settlement with only an order's refund
carries only that refund's commission rows, and other components stay with the cost model.

Amounts are read exactly (``Decimal``), with a decimal point or, as Amazon's European files
write them, a decimal comma, and at most the currency's minor units of decimals (``1,234`` is
refused rather than read as 1.234 or 1234). Dates read as ISO 8601 with an offset, or as the
report writes them: ``2026-03-02 14:23:00 UTC`` or ``02.03.2026 14:23:00 UTC``.

Problems are all reported at once (:class:`SettlementError`, at most :data:`MAX_PROBLEMS`),
with 1-based data row numbers (the header not counted).

Pure: no I/O.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from linkstar import money
from linkstar.costs.model import Component, currency_code
from linkstar.errors import BadRequest
from linkstar.text import Text

REPORT_TYPE = "GET_V2_SETTLEMENT_REPORT_DATA_FLAT_FILE_V2"
REQUIRED_COLUMNS = (
    "settlement-id",
    "total-amount",
    "currency",
    "transaction-type",
    "order-id",
    "amount-type",
    "amount-description",
    "amount",
)
MAX_PROBLEMS = 50

FEE_COMPONENTS: Mapping[str, Component] = {
    "commission": "commission",
    "refundcommission": "commission",
    "variableclosingfee": "commission",
    "fixedclosingfee": "commission",
    "fbaperunitfulfillmentfee": "logistics",
    "fbaweightbasedfee": "logistics",
    "shippingchargeback": "logistics",
    "shippinghb": "logistics",
}
"""``amount-description`` (case-folded) → the component it is an actual of."""

REVENUE_AMOUNT_TYPES = frozenset({"itemprice", "promotion"})
WITHHELD_TAX_AMOUNT_TYPES = frozenset({"itemwithheldtax"})
WITHHELD_TAX_PREFIX = "marketplacefacilitator"

# An AmazonOrderId is 3-7-7 digits; Multi-Channel Fulfillment ids start with a letter (S01-…).
_ORDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
# Amazon documents 1 to 20 digits; letters are let through, a key separator ('#') is not.
_SETTLEMENT_ID = re.compile(r"^[A-Za-z0-9-]{1,40}$")
# ASCII digits (\d would take any script's), at most 12 before the separator: the amounts are
# added into orders' costs, which round within Decimal's 28 digits (costs.model.MAX_AMOUNT).
_AMOUNT = re.compile(r"^[+-]?[0-9]{1,12}(?:[.,]([0-9]+))?$")
_UTC_FORMATS = ("%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S")


class SettlementError(BadRequest):
    """A file that can't be read as a settlement report; ``code`` says why, ``details`` what."""


class Settlement(BaseModel):
    """One settlement report, read. ``orders`` maps each ``AmazonOrderId`` of the report to its
    actual costs in ``currency`` (positive: the seller paid; an order with rows but no mapped
    fee maps to ``{}``). The three counters are per ``amount-description``."""

    model_config = ConfigDict(frozen=True)

    settlement_id: str
    currency: str
    start: datetime | None
    end: datetime | None
    deposit_date: datetime | None
    total_amount: Decimal
    orders: dict[str, dict[Component, Decimal]]
    not_costs: dict[str, int]
    unmapped: dict[str, int]
    without_order: dict[str, int]

    def totals(self) -> dict[Component, Decimal]:
        """Each component's actual cost summed over the report's orders."""
        sums: dict[Component, Decimal] = defaultdict(Decimal)
        for fees in self.orders.values():
            for component, amount in fees.items():
                sums[component] += amount
        return dict(sorted(sums.items()))


def component_of(description: str) -> Component | None:
    """The component an order's fee is an actual of; None when it isn't one we know."""
    return FEE_COMPONENTS.get(description.strip().casefold())


def is_not_a_cost(amount_type: str, description: str) -> bool:
    """Revenue, discounts and marketplace-withheld tax: amounts, but never the seller's cost."""
    kind = amount_type.strip().casefold()
    return (
        kind in REVENUE_AMOUNT_TYPES
        or kind in WITHHELD_TAX_AMOUNT_TYPES
        or description.strip().casefold().startswith(WITHHELD_TAX_PREFIX)
    )


class _Row:
    def __init__(self, number: int, fields: Sequence[str], positions: Mapping[str, int]) -> None:
        self.number = number
        self.fields = fields
        self.positions = positions

    def get(self, column: str) -> str:
        index = self.positions.get(column)
        if index is None or index >= len(self.fields):
            return ""
        return self.fields[index].strip()


class _Problems:
    def __init__(self) -> None:
        self.found: list[dict[str, Any]] = []

    def add(self, row: _Row, code: str, reason: Text) -> None:
        if len(self.found) < MAX_PROBLEMS:
            # Rendered now: the report is read while its upload is answered.
            self.found.append({"row": row.number, "code": code, "reason": str(reason)})

    def raise_if_any(self) -> None:
        if self.found:
            raise SettlementError(
                Text("cost.settlement.invalid_rows"),
                code="invalid_settlement_rows",
                problems=self.found,
            )


def parse(text: str) -> Settlement:
    """Read a flat file V2 settlement report (the whole file, header first)."""
    rows = _rows(text)
    summary = _summary(rows)
    settlement_id = summary.get("settlement-id")
    currency = _currency(summary)
    problems = _Problems()
    _one_settlement(rows, settlement_id, currency)
    total = _amount(summary, "total-amount", currency, problems)
    start = _date(summary, "settlement-start-date", problems)
    end = _date(summary, "settlement-end-date", problems)
    deposit = _date(summary, "deposit-date", problems)

    orders: dict[str, dict[Component, Decimal]] = {}
    not_costs: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    without_order: Counter[str] = Counter()
    for row in rows:
        if row is summary:
            continue
        order_id = row.get("order-id")
        amount_type, description = row.get("amount-type"), row.get("amount-description")
        label = description or amount_type or row.get("transaction-type") or "(none)"
        amount = _amount(row, "amount", currency, problems)
        if not order_id:
            without_order[label] += 1
            continue
        if not _ORDER_ID.match(order_id):
            problems.add(
                row,
                "invalid_order_id",
                Text("cost.settlement.invalid_order_id", order_id=repr(order_id)),
            )
            continue
        fees = orders.setdefault(order_id, {})
        if is_not_a_cost(amount_type, description):
            not_costs[label] += 1
            continue
        component = component_of(description)
        if component is None:
            unmapped[label] += 1
            continue
        if amount is not None:
            fees[component] = fees.get(component, Decimal(0)) - amount
    problems.raise_if_any()
    return Settlement(
        settlement_id=settlement_id,
        currency=currency,
        start=start,
        end=end,
        deposit_date=deposit,
        total_amount=total or Decimal(0),
        orders=orders,
        not_costs=dict(sorted(not_costs.items())),
        unmapped=dict(sorted(unmapped.items())),
        without_order=dict(sorted(without_order.items())),
    )


def _rows(text: str) -> list[_Row]:
    # QUOTE_NONE: Amazon never quotes, so a '"' in a value is literal text.
    reader = csv.reader(
        io.StringIO(text.removeprefix("\ufeff"), newline=""),
        delimiter="\t",
        quoting=csv.QUOTE_NONE,
    )
    header: list[str] | None = None
    rows: list[_Row] = []
    positions: dict[str, int] = {}
    for fields in reader:
        if not any(field.strip() for field in fields):
            continue
        if header is None:
            header = [name.strip() for name in fields]
            positions = {name: i for i, name in enumerate(header) if name}
            missing = [name for name in REQUIRED_COLUMNS if name not in positions]
            if missing:
                raise SettlementError(
                    Text(
                        "cost.settlement.not_a_settlement_report",
                        columns=", ".join(missing),
                        report_type=REPORT_TYPE,
                    ),
                    code="not_a_settlement_report",
                    missing_columns=missing,
                )
            continue
        rows.append(_Row(len(rows) + 1, fields, positions))
    if not rows:
        raise SettlementError(Text("cost.settlement.no_rows"), code="empty_settlement")
    return rows


def _summary(rows: Sequence[_Row]) -> _Row:
    summaries = [row for row in rows if row.get("total-amount")]
    if not summaries:
        raise SettlementError(
            Text("cost.settlement.no_summary"),
            code="no_settlement_summary",
        )
    if len(summaries) > 1:
        raise SettlementError(
            Text("cost.settlement.several_summaries"),
            code="several_settlements",
            rows=[row.number for row in summaries[:MAX_PROBLEMS]],
        )
    summary = summaries[0]
    if not _SETTLEMENT_ID.match(summary.get("settlement-id")):
        raise SettlementError(
            Text(
                "cost.settlement.invalid_settlement_id",
                settlement_id=repr(summary.get("settlement-id")),
            ),
            code="invalid_settlement_id",
            row=summary.number,
        )
    return summary


def _currency(summary: _Row) -> str:
    given = summary.get("currency")
    try:
        return currency_code(given)
    except ValueError as exc:
        raise SettlementError(
            Text("cost.settlement.invalid_currency", currency=repr(given)),
            code="invalid_currency",
            row=summary.number,
        ) from exc


def _one_settlement(rows: Sequence[_Row], settlement_id: str, currency: str) -> None:
    others = sorted({r.get("settlement-id") for r in rows} - {settlement_id, ""})
    if others:
        raise SettlementError(
            Text("cost.settlement.other_settlements", settlement_id=settlement_id),
            code="several_settlements",
            settlement_ids=[settlement_id, *others[:MAX_PROBLEMS]],
        )
    others_by = Counter(
        r.get("currency").upper() for r in rows if r.get("currency").upper() not in ("", currency)
    )
    if others_by:
        raise SettlementError(
            Text("cost.settlement.mixed_currencies", currency=currency),
            code="mixed_currencies",
            currency=currency,
            rows_in_other_currencies=dict(sorted(others_by.items())),
        )


def _amount(row: _Row, column: str, currency: str, problems: _Problems) -> Decimal | None:
    text = row.get(column)
    match = _AMOUNT.match(text)
    decimals = match.group(1) if match else None
    if match is None or (decimals is not None and len(decimals) > money.minor_units(currency)):
        shown = repr(text) if text else Text("cost.word.empty")
        problems.add(
            row,
            "invalid_amount",
            Text("cost.settlement.invalid_amount", column=column, currency=currency, given=shown),
        )
        return None
    return Decimal(text.replace(",", "."))


def _date(row: _Row, column: str, problems: _Problems) -> datetime | None:
    text = row.get(column)
    if not text:
        return None
    if text.endswith(" UTC"):
        bare = text.removesuffix(" UTC")
        for layout in _UTC_FORMATS:
            try:
                return datetime.strptime(bare, layout).replace(tzinfo=UTC)
            except ValueError:
                continue
    else:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            value = None
        if value is not None and value.tzinfo is not None:
            return value.astimezone(UTC)
    problems.add(
        row, "invalid_date", Text("cost.settlement.invalid_date", column=column, given=repr(text))
    )
    return None
