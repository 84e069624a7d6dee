"""Shopify's admin "Export orders" CSV → canonical orders, field for field as the webhook adapter
(``linkstar.platforms.shopify.parse_order``) maps the same order.

The file has one row per line item. Order-level columns (Financial Status, Totals, addresses,
``Id`` …) are filled on an order's first row only; ``Name`` (and usually ``Email`` and
``Created at``) repeat on every row, so ``Name`` groups the rows. Columns are found by name, so
older and newer exports (Shopify has added columns such as Outstanding Balance, Employee,
Location, Device ID, Payment ID, Payment References over the years) read the same.

What the export can and can't say, and what that means here:

- ``external_id`` is the ``Id`` column, the numeric order id the webhooks carry as ``id``: an
  imported order and its later webhooks merge. Exports from before Shopify added ``Id`` have no
  such column; their orders fall back to ``Name`` (e.g. "#1001") and will NOT merge with webhook
  deliveries for the same order (they become a second order).
- ``updated_at`` is the latest of Created at, Paid at, Fulfilled at and Cancelled at: the export
  has no "updated at", and this is never later than the real one, so a later webhook (with its
  real ``updated_at``) wins the merge.
- Refunds are NOT turned into ``Refund`` objects: the export has only a "Refunded Amount", no
  refund id, and a ``refunds/create`` webhook for the same refund would then be counted twice.
  The status (``refunded`` / ``partially_refunded``) carries the fact.
- Fulfillments likewise: "Fulfilled at" has no fulfillment id, so none is invented; the status
  and ``fully_fulfilled`` carry it.
- Line items have no id in the export: ``line_id`` is ``f"{external_id}:{n}"`` (n = 1-based
  position in the order), stable across re-imports. A webhook snapshot replaces the lines with
  Shopify's own ids.
- The buyer's name is only a full "Billing Name"; splitting it would be a guess, so
  ``Person.first_name``/``last_name`` stay empty (the customers webhook fills them). There is
  no customer id column either.
- Zip codes and phone numbers may carry a leading apostrophe, which Shopify adds so that
  spreadsheets keep leading zeros; it is removed.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime

from linkstar import money
from linkstar.contacts import to_e164
from linkstar.orders.lifecycle import SHOPIFY_PAID_STATES, shopify_status
from linkstar.orders.models import Address, LineItem, Order, Person, Platform
from linkstar.platforms.imports import (
    SHOPIFY_ORDERS_CSV,
    ImportContext,
    OrderFormat,
    Problems,
    Row,
)
from linkstar.text import Text

# The REST order's financial_status values (plus "expired", which the admin shows for an
# authorization that lapsed). Anything else is refused rather than guessed, as the lifecycle
# tables do.
FINANCIAL_STATUSES = frozenset(
    {
        "pending",
        "authorized",
        "partially_paid",
        "paid",
        "partially_refunded",
        "refunded",
        "voided",
        "expired",
    }
)
# The export writes "unfulfilled" where the REST resource has null.
FULFILLMENT_STATUSES = frozenset({"unfulfilled", "fulfilled", "partial", "restocked"})

REQUIRED_COLUMNS = (
    "Name",
    "Financial Status",
    "Fulfillment Status",
    "Subtotal",
    "Total",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
)


def parse_time(text: str) -> datetime:
    """Shopify writes "2024-01-05 10:12:33 -0500"; ISO 8601 is accepted too (re-saved files)."""
    if len(text) == 25 and text[19] == " " and text[20] in "+-":
        # fromisoformat reads "…10:12:33-0500" and is ten times faster than strptime, which
        # matters at a hundred thousand rows.
        text = text[:19] + text[20:]
    return datetime.fromisoformat(text)


def _unquote(value: str) -> str:
    return value.removeprefix("'").strip()


def _address(row: Row, prefix: str) -> Address | None:
    country = row.get(f"{prefix} Country").upper()
    address = Address(
        # The export writes the ISO code; a full country name (hand-edited files) is dropped
        # rather than guessed.
        country_code=country if len(country) == 2 and country.isalpha() else None,
        province_code=row.get(f"{prefix} Province") or None,
        city=row.get(f"{prefix} City") or None,
        zip=_unquote(row.get(f"{prefix} Zip")) or None,
    )
    return address if address != Address() else None


def _person(row: Row, country: str | None) -> Person | None:
    email = row.get("Email")
    # The webhook adapter's order: the order's phone, then the shipping, then billing address.
    phone_raw = next(
        (
            _unquote(row.get(column))
            for column in ("Phone", "Shipping Phone", "Billing Phone")
            if _unquote(row.get(column))
        ),
        "",
    )
    if not (email or phone_raw):
        return None
    accepts = row.get("Accepts Marketing").lower()
    return Person(
        email=email or None,
        phone=to_e164(phone_raw, country),
        accepts_marketing={"yes": True, "no": False}.get(accepts),
    )


def _line_items(
    rows: Sequence[Row], external_id: str, currency: str, problems: Problems
) -> tuple[LineItem, ...]:
    items = []
    for index, row in enumerate(rows, start=1):
        quantity = problems.quantity(row, "Lineitem quantity")
        unit = problems.amount(row, "Lineitem price", currency)
        discount = problems.amount(row, "Lineitem discount", currency)
        items.append(
            LineItem(
                line_id=f"{external_id}:{index}",
                sku=row.get("Lineitem sku") or None,
                title=row.get("Lineitem name"),
                quantity=quantity,
                unit_price=unit,
                # As the webhook adapter computes it: price times quantity less the line's discount.
                total=money.quantize(unit * quantity - discount, currency),
            )
        )
    return tuple(items)


def build_order(rows: Sequence[Row], context: ImportContext, problems: Problems) -> Order | None:
    first = rows[0]
    name = first.get("Name")
    if not (first.get("Financial Status") or first.get("Total") or first.get("Id")):
        # A continuation row without its order's first row (the export was re-sorted, or the
        # first row lies outside the remembered window): there are no totals to import.
        for row in rows:
            problems.add(
                row,
                "order_first_row_missing",
                Text("history.order_first_row_missing", order=name),
            )
        return None
    # An export without an Id column falls back to Name: see the module docstring (such orders
    # won't merge with webhooks).
    external_id = problems.required(first, "Id") if first.has("Id") else name

    raw_currency = first.get("Currency") or context.store_currency or ""
    currency = raw_currency.upper()
    if not money.is_currency(currency):
        problems.add(
            first,
            "invalid_currency",
            Text("history.invalid_currency", column="Currency", value=repr(raw_currency)),
        )
        currency = "XXX"  # keeps reading the rows, so every other problem is reported too

    financial = first.get("Financial Status").lower()
    if financial and financial not in FINANCIAL_STATUSES:
        problems.add(
            first,
            "unknown_status",
            Text("history.unknown_status", column="Financial Status", value=repr(financial)),
        )
    fulfillment = first.get("Fulfillment Status").lower()
    if fulfillment and fulfillment not in FULFILLMENT_STATUSES:
        problems.add(
            first,
            "unknown_status",
            Text("history.unknown_status", column="Fulfillment Status", value=repr(fulfillment)),
        )

    created_at = problems.time(first, "Created at", parse_time, required=True)
    paid_at = problems.time(first, "Paid at", parse_time)
    fulfilled_at = problems.time(first, "Fulfilled at", parse_time)
    cancelled_at = problems.time(first, "Cancelled at", parse_time)

    subtotal = problems.amount(first, "Subtotal", currency)
    shipping = problems.amount(first, "Shipping", currency)
    tax = problems.amount(first, "Taxes", currency)
    total = problems.amount(first, "Total", currency)
    discounts = problems.amount(first, "Discount Amount", currency)
    line_items = _line_items(rows, external_id, currency, problems)
    if problems or created_at is None:
        return None

    shipping_address = _address(first, "Shipping")
    billing_address = _address(first, "Billing")
    country = next(
        (a.country_code for a in (shipping_address, billing_address) if a and a.country_code),
        None,
    )
    updated_at = max(t for t in (created_at, paid_at, fulfilled_at, cancelled_at) if t)
    return Order(
        platform=Platform.SHOPIFY,
        external_id=external_id,
        name=name or None,
        status=shopify_status(financial or None, fulfillment or None, cancelled_at is not None),
        # The webhook adapter's wording, so an imported order and a webhook of the same state
        # compare equal.
        platform_status=f"{financial or 'unknown'}/{fulfillment or 'unfulfilled'}"
        + ("/cancelled" if cancelled_at else ""),
        currency=currency,
        subtotal=subtotal,
        total=total,
        tax=tax,
        shipping=shipping,
        discounts=discounts,
        line_items=line_items,
        customer=_person(first, country or context.store_market),
        shipping_address=shipping_address,
        billing_address=billing_address,
        created_at=created_at,
        updated_at=updated_at,
        paid=financial in SHOPIFY_PAID_STATES,
        fully_fulfilled=fulfillment == "fulfilled",
        cancelled_at=cancelled_at,
        source_name=first.get("Source") or None,
        from_export=True,
    )


FORMAT = OrderFormat(
    kind=SHOPIFY_ORDERS_CSV,
    delimiter=",",
    quoting=csv.QUOTE_MINIMAL,
    key_column="Name",
    required_columns=REQUIRED_COLUMNS,
    build=build_order,
)
