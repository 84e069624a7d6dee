"""Amazon's "All Orders" flat-file report → canonical orders.

Report types GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL and
GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL (the same file from Seller Central's
Reports > Fulfillment > All Orders). Tab-separated, unquoted, one row per item; the header varies
a little by age and marketplace (older files have ``url``, Brazil ``cpf``, newer ones
``number-of-items``, ``tax-collection-model``, ``address-type`` …), so columns are found by name.

What the report says, and how it lands:

- ``external_id`` is ``amazon-order-id``, the SP-API ``AmazonOrderId``: imports and
  notifications for the same order merge.
- Fields are never quoted: a product name such as ``Ruler 12" (30 cm)`` is literal text, so the
  file is read with ``QUOTE_NONE``.
- Money: ``item-price``, ``item-tax``, ``shipping-price`` … are totals for the row's quantity,
  not unit prices (Seller Central help, All Orders Report: "Amount is aggregate of the
  quantity"). The order's amounts follow the SP-API client's mapping of the same order
  (``linkstar.platforms.clients.amazon``), so an imported order and its enrichment agree:
  ``subtotal`` = Σ item-price; ``tax`` = Σ item, shipping and gift-wrap tax; ``shipping`` =
  Σ shipping-price; ``discounts`` = Σ item and shipping promotions; a line's ``total`` is its
  item-price. ``total`` (the SP-API's OrderTotal: what the buyer was charged) = items + gift
  wrap + shipping + tax - discounts. Promotion discounts are written negative in Amazon's
  examples and positive by some tools; their size is what counts. In VAT-inclusive marketplaces
  the prices already include VAT and Amazon leaves the tax columns empty or zero.
- Pending orders (and cancelled ones) usually have empty amounts: the order is then
  ``amounts_pending`` with zero totals, like a marketplace notification, so it never overwrites
  known amounts.
- There is no order-item id: the same SKU can appear on two rows of one order (split
  shipments), so ``line_id`` is ``f"{amazon-order-id}:{n}"`` by position, and rows are never
  merged by SKU.
- The market is the marketplace named by ``sales-channel`` ("Amazon.de" → DE/EUR); failing that,
  ``ship-country``, then the store's market. Rows whose sales channel is "Non-Amazon" are
  Multi-Channel Fulfillment orders placed on the seller's other stores (Shopify, …): they are
  not Amazon sales, would double count the other store's order, and are refused with
  ``not_an_amazon_order``.
- ``name`` is the order id and ``source_name`` the sales channel ("Amazon.com"), as the SP-API
  client sets them. The report has no buyer email or name: ``customer`` is None.
- Status words: the report mostly uses the SP-API words, plus its own (``Cancelled``,
  ``Shipping``, ``Shipped - Delivered to Buyer`` …). :func:`report_status` asks the lifecycle
  table first (so words added there win), then maps the report's own words onto the SP-API
  vocabulary (:data:`REPORT_STATUS_WORDS`).
- ``cancelled_at`` of a cancelled order is its ``last-updated-date``: the report has no
  cancellation time, and the cancellation is the order's last change.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from linkstar import money
from linkstar.errors import PermanentError
from linkstar.orders.lifecycle import canonical_status, implies_paid, is_known_status
from linkstar.orders.models import Address, LineItem, Order, OrderStatus, Platform
from linkstar.platforms.imports import (
    AMAZON_ALL_ORDERS,
    ImportContext,
    OrderFormat,
    Problems,
    Row,
)
from linkstar.platforms.marketplaces import AMAZON_BY_DOMAIN, default_currency
from linkstar.text import Text

# The report's own order-status words, onto the SP-API OrderStatus word that means the same
# stage. Keys are lower case with single spaces. Sources: a 1.28-million-order count of
# BY_LAST_UPDATE_GENERAL statuses (Shipped, Shipped - Delivered to Buyer, Cancelled, Pending,
# Shipped - Picked Up, Shipped - Lost in Transit, Shipped - Returned to Seller, Shipped -
# Returning to Seller, Shipped - Undeliverable, Shipped - Rejected by Buyer, Shipped - Out for
# Delivery, Unfulfillable, Pending - Waiting for Pick Up) and Amazon.in's published sales report
# (adds Shipping and Shipped - Damaged).
REPORT_STATUS_WORDS = {
    "cancelled": "Canceled",  # the report's British spelling of SP-API "Canceled"
    # Packed or being packed, not yet handed to the carrier (Seller Central: "Shipping - the
    # order is being packed for shipment").
    "shipping": "Unshipped",
    # Seller-fulfilled: ready and waiting for the carrier's pick-up, so paid but not shipped.
    "pending - waiting for pick up": "Unshipped",
    # Every "Shipped - …" word is a carrier event after the shipment: the order shipped. The
    # SP-API vocabulary has nothing later than Shipped, so that is where they land; a return or
    # a loss is money that comes from settlement data, not from this status.
    "shipped - delivered to buyer": "Shipped",
    "shipped - picked up": "Shipped",
    "shipped - out for delivery": "Shipped",
    "shipped - returning to seller": "Shipped",
    "shipped - returned to seller": "Shipped",
    "shipped - rejected by buyer": "Shipped",
    "shipped - undeliverable": "Shipped",
    "shipped - lost in transit": "Shipped",
    "shipped - damaged": "Shipped",
}

REQUIRED_COLUMNS = (
    "amazon-order-id",
    "purchase-date",
    "order-status",
    "quantity",
    "item-price",
)

_NON_AMAZON = "non-amazon"


def report_status(raw: str) -> OrderStatus:
    """The canonical status of a report ``order-status`` word; PermanentError when unknown."""
    if is_known_status(Platform.AMAZON, raw):
        return canonical_status(Platform.AMAZON, raw)
    word = REPORT_STATUS_WORDS.get(" ".join(raw.lower().split()))
    if word is None:
        raise PermanentError(
            Text("history.amazon_unknown_status", value=repr(raw)), code="unknown_status"
        )
    return canonical_status(Platform.AMAZON, word)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)  # the report writes ISO 8601 with an offset


def _country(value: str) -> str | None:
    code = value.strip().upper()
    if len(code) != 2 or not code.isalpha():
        return None
    return "GB" if code == "UK" else code


def _province(value: str) -> str | None:
    # US and CA reports write state codes; other marketplaces write names ("Bayern", "東京都"),
    # which are not codes.
    value = value.strip()
    if value and len(value) <= 3 and value.isascii() and value.isalnum():
        return value.upper()
    return None


def build_order(rows: Sequence[Row], context: ImportContext, problems: Problems) -> Order | None:
    first = rows[0]
    order_id = first.get("amazon-order-id")
    channel = first.get("sales-channel")
    if channel.lower() == _NON_AMAZON:
        for row in rows:
            problems.add(
                row,
                "not_an_amazon_order",
                Text("history.not_an_amazon_order"),
            )
        return None

    marketplace = AMAZON_BY_DOMAIN.get(channel.lower())
    ship_country = _country(first.get("ship-country"))
    market = marketplace.country if marketplace else (ship_country or context.store_market)

    raw_status = problems.required(first, "order-status")
    status: OrderStatus | None = None
    if raw_status:
        try:
            status = report_status(raw_status)
        except PermanentError:
            problems.add(
                first,
                "unknown_status",
                Text("history.amazon_unknown_status", value=repr(raw_status)),
            )

    created_at = problems.time(first, "purchase-date", parse_time, required=True)
    updated_at = problems.time(first, "last-updated-date", parse_time) or created_at

    currencies = {row.get("currency").upper() for row in rows if row.get("currency")}
    if len(currencies) > 1:
        problems.add(
            first,
            "invalid_currency",
            Text("history.several_currencies", currencies=sorted(currencies)),
        )
    currency = (
        next(iter(currencies), "")
        or (marketplace.currency if marketplace else "")
        or context.store_currency
        or default_currency(market)
    ).upper()
    if not money.is_currency(currency):
        problems.add(
            first,
            "invalid_currency",
            Text("history.invalid_currency", column="currency", value=repr(currency)),
        )
        currency = "XXX"  # keeps reading the rows, so every other problem is reported too

    def amount(row: Row, column: str) -> Decimal:
        return problems.amount(row, column, currency)

    items = discounts = shipping = gift_wrap = tax = Decimal(0)
    line_items = []
    for index, row in enumerate(rows, start=1):
        quantity = problems.quantity(row, "quantity")
        price = amount(row, "item-price")
        items += price
        discounts += abs(amount(row, "item-promotion-discount"))
        discounts += abs(amount(row, "ship-promotion-discount"))
        shipping += amount(row, "shipping-price")
        gift_wrap += amount(row, "gift-wrap-price")
        tax += amount(row, "item-tax") + amount(row, "shipping-tax") + amount(row, "gift-wrap-tax")
        line_items.append(
            LineItem(
                line_id=f"{order_id}:{index}",
                sku=row.get("sku") or None,
                title=row.get("product-name"),
                quantity=quantity,
                unit_price=money.quantize(price / quantity, currency) if quantity else price,
                total=price,
                product_id=row.get("asin") or None,  # the ASIN, as the SP-API client sets it
            )
        )
    if problems or status is None or created_at is None or updated_at is None:
        return None

    # Amazon leaves the amounts empty until payment clears (and on cancelled orders): zero
    # placeholders marked pending, which the merge never lets overwrite real amounts.
    amounts_pending = any(not row.get("item-price") for row in rows)

    def total_of(value: Decimal) -> Decimal:
        return money.quantize(Decimal(0) if amounts_pending else value, currency)

    address = Address(
        country_code=ship_country,
        province_code=_province(first.get("ship-state")),
        city=first.get("ship-city") or None,
        zip=first.get("ship-postal-code") or None,
    )
    return Order(
        platform=Platform.AMAZON,
        external_id=order_id,
        name=order_id,
        status=status,
        platform_status=raw_status,
        currency=currency,
        subtotal=total_of(items),
        total=total_of(items + gift_wrap + shipping + tax - discounts),
        tax=total_of(tax),
        shipping=total_of(shipping),
        discounts=total_of(discounts),
        line_items=tuple(line_items),
        customer=None,  # the report carries no buyer identity
        shipping_address=address if address != Address() else None,
        created_at=created_at,
        updated_at=updated_at,
        paid=implies_paid(status),
        fully_fulfilled=status in (OrderStatus.FULFILLED, OrderStatus.DELIVERED),
        cancelled_at=updated_at if status is OrderStatus.CANCELLED else None,
        source_name=channel or None,
        market=market,
        amounts_pending=amounts_pending,
        from_export=True,
    )


FORMAT = OrderFormat(
    kind=AMAZON_ALL_ORDERS,
    delimiter="\t",
    quoting=csv.QUOTE_NONE,
    key_column="amazon-order-id",
    required_columns=REQUIRED_COLUMNS,
    build=build_order,
)
