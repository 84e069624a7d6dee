"""Order-history files (Shopify orders export, Amazon All Orders report) → canonical orders.

The samples live in tests/fixtures/imports (headers copied from real files: see SOURCES.md).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from linkstar.errors import BadRequest
from linkstar.orders import state as S
from linkstar.orders.models import Order, OrderSnapshot, OrderStatus, Platform
from linkstar.platforms import imports, shopify
from linkstar.platforms.clients import amazon as amazon_client
from linkstar.platforms.imports import ImportedOrder, RowError, amazon_orders

from tests.support import REPO, fixture_json

TENANT, STORE = "tabcdefghijk", "tabcdefghijk-s23456789"
SAMPLES = REPO / "tests/fixtures/imports"
SHOPIFY_CSV = SAMPLES / "shopify_orders_export.csv"
AMAZON_TSV = SAMPLES / "amazon_all_orders.tsv"
SHOPIFY_BAD = SAMPLES / "shopify_orders_export.malformed.csv"
AMAZON_BAD = SAMPLES / "amazon_all_orders.malformed.tsv"


def _lines(path: Path) -> Iterator[str]:
    # newline="" keeps each line's own ending, as a streaming body would deliver it.
    with path.open(encoding="utf-8", newline="") as handle:
        yield from handle


def _run(
    kind: str, lines: Iterator[str] | list[str], market: str = "US", currency: str = "USD"
) -> tuple[list[ImportedOrder], list[RowError]]:
    orders: list[ImportedOrder] = []
    errors: list[RowError] = []
    for item in imports.parse(kind, lines, market, currency):
        (orders if isinstance(item, ImportedOrder) else errors).append(item)
    return orders, errors


def _by_id(orders: list[ImportedOrder]) -> dict[str, ImportedOrder]:
    return {imported.order.external_id: imported for imported in orders}


# ------------------------------------------------------------------ detect


def test_detect_knows_both_headers_with_or_without_bom_and_crlf() -> None:
    # Given the first line of each sample, as uploaded and as Excel re-saves it
    shopify_header = SHOPIFY_CSV.read_text(encoding="utf-8").splitlines()[0]
    amazon_header = AMAZON_TSV.read_text(encoding="utf-8").splitlines()[0]

    # When / Then
    assert imports.detect(shopify_header) == imports.SHOPIFY_ORDERS_CSV
    assert imports.detect("\ufeff" + shopify_header + "\r\n") == imports.SHOPIFY_ORDERS_CSV
    assert imports.detect(amazon_header + "\n") == imports.AMAZON_ALL_ORDERS
    assert imports.detect("\ufeff" + amazon_header + "\r\n") == imports.AMAZON_ALL_ORDERS


@pytest.mark.parametrize(
    "header",
    [
        "Handle,Title,Body (HTML),Vendor,Type,Tags,Published",  # a Shopify products export
        "settlement-id\tsettlement-start-date\tsettlement-end-date",  # an Amazon settlement
        "order-id\torder-item-id\tpurchase-date\tpayments-date",  # Amazon's shipping report
        "",
    ],
)
def test_detect_refuses_other_files_saying_what_it_expects(header: str) -> None:
    # When
    with pytest.raises(BadRequest) as caught:
        imports.detect(header)

    # Then
    assert caught.value.code == "unknown_import_format"
    assert "Shopify orders export" in str(caught.value.message)
    assert "Amazon All Orders" in str(caught.value.message)
    assert caught.value.details["expected"] == list(imports.KINDS)


def test_unknown_kind_is_refused_before_reading() -> None:
    with pytest.raises(BadRequest) as caught:
        imports.parse("woocommerce", iter(()), "US", "USD")
    assert caught.value.code == "unknown_import_format"


def test_parse_any_detects_then_parses() -> None:
    kind, items = imports.parse_any(_lines(AMAZON_TSV), "US", "USD")
    assert kind == imports.AMAZON_ALL_ORDERS
    assert sum(isinstance(item, ImportedOrder) for item in items) == 6


# ------------------------------------------------------------------ Shopify


def test_shopify_sample_orders_totals_and_statuses() -> None:
    # When
    orders, errors = _run(imports.SHOPIFY_ORDERS_CSV, _lines(SHOPIFY_CSV))

    # Then every order of the sample is read, each from its own rows
    assert errors == []
    by_id = _by_id(orders)
    assert [(o.order.name, o.rows) for o in orders] == [
        ("#1001", (1, 2, 3)),
        ("#1002", (4, 5)),
        ("#1003", (6,)),
        ("#1004", (7,)),
        ("#1005", (8, 9)),
        ("#1006", (10, 11)),
        ("#1007", (12,)),
    ]
    assert {o.order.external_id: (o.order.status, o.order.platform_status) for o in orders} == {
        "450789469": (OrderStatus.PENDING, "authorized/unfulfilled"),
        "5523101900847": (OrderStatus.FULFILLED, "paid/fulfilled"),
        "5523101933615": (OrderStatus.CANCELLED, "voided/unfulfilled/cancelled"),
        "5523101966383": (OrderStatus.REFUNDED, "refunded/fulfilled"),
        "5523101999151": (OrderStatus.PARTIALLY_REFUNDED, "partially_refunded/fulfilled"),
        "5523102031919": (OrderStatus.PARTIALLY_FULFILLED, "paid/partial"),
        "5523102064687": (OrderStatus.PENDING, "pending/unfulfilled"),
    }

    gbp = by_id["5523101900847"].order
    assert (gbp.currency, gbp.subtotal, gbp.shipping, gbp.tax, gbp.discounts, gbp.total) == (
        "GBP",
        Decimal("76.50"),
        Decimal("4.95"),
        Decimal("13.58"),
        Decimal("8.50"),
        Decimal("81.45"),
    )
    assert gbp.paid and gbp.fully_fulfilled
    assert [(li.title, li.quantity, li.unit_price, li.total) for li in gbp.line_items] == [
        ("Linen Tea Towel - Sage", 2, Decimal("12.50"), Decimal("25.00")),
        ("Stoneware Mug, Speckled", 1, Decimal("60.00"), Decimal("60.00")),  # a quoted comma
    ]
    assert gbp.customer is not None
    assert (gbp.customer.email, gbp.customer.phone, gbp.customer.accepts_marketing) == (
        "chidi.okafor@example.co.uk",
        "+442079460018",
        True,
    )
    # updated_at is the latest time the export knows (here: fulfilled at)
    assert gbp.updated_at == datetime(2024, 3, 5, 14, 20, 11, tzinfo=UTC)

    cancelled = by_id["5523101933615"].order
    assert cancelled.cancelled_at == datetime(2024, 3, 6, 16, 1, 44, tzinfo=UTC)
    assert cancelled.updated_at == cancelled.cancelled_at
    assert not cancelled.paid

    refunded = by_id["5523101966383"].order
    # the status carries the refund; no Refund is invented (a refunds/create webhook brings it)
    assert refunded.paid and refunded.refunds == ()
    assert refunded.customer is not None and refunded.customer.phone == "+14158675309"

    eur = by_id["5523101999151"].order
    assert [li.title for li in eur.line_items] == [
        "Crème-brûlée-Tasse \u2013 Größe L",
        "抹茶 Matcha-Dose 100 g",
    ]
    assert eur.shipping_address is not None
    assert (eur.shipping_address.country_code, eur.shipping_address.zip) == ("DE", "11011")

    jpy = by_id["5523102031919"].order
    assert (jpy.subtotal, jpy.total, jpy.line_items[1].total) == (
        Decimal("5400"),
        Decimal("6000"),
        Decimal("2400"),
    )

    draft = by_id["5523102064687"].order
    assert draft.source_name == "shopify_draft_order"
    assert draft.line_items[0].total == Decimal("90.00")  # 4 x 25.00 less the line discount
    assert [li.line_id for li in by_id["450789469"].order.line_items] == [
        "450789469:1",
        "450789469:2",
        "450789469:3",
    ]


def test_shopify_import_is_the_same_order_as_the_webhook() -> None:
    # Given the webhook adapter's reading of Shopify's orders/create fixture
    webhook = shopify.parse_order(fixture_json("shopify/orders_create.json"))

    # When the export row for that order is imported
    orders, _ = _run(imports.SHOPIFY_ORDERS_CSV, _lines(SHOPIFY_CSV))
    imported = _by_id(orders)["450789469"].order

    # Then it is the same order, equal field for field where the export has the field
    assert imported.external_id == webhook.external_id
    # ids the export doesn't carry (nor the landing page), and where the snapshot came from
    unknowable = {"line_items", "customer", "fulfillments", "from_export", "landing_site"}
    assert imported.from_export and not webhook.from_export
    assert imported.model_dump(exclude=unknowable) == webhook.model_dump(exclude=unknowable)

    def lines(order: Order) -> list[tuple[object, ...]]:
        return [(li.sku, li.title, li.quantity, li.unit_price, li.total) for li in order.line_items]

    assert lines(imported) == lines(webhook)
    assert imported.customer is not None and webhook.customer is not None
    assert (imported.customer.email, imported.customer.accepts_marketing) == (
        webhook.customer.email,
        webhook.customer.accepts_marketing,
    )


def test_a_later_webhook_replaces_the_imported_snapshot() -> None:
    # Given the imported order stored first
    orders, _ = _run(imports.SHOPIFY_ORDERS_CSV, _lines(SHOPIFY_CSV))
    imported = _by_id(orders)["450789469"].order
    state = S.empty_state(
        "tabcdefghijk", "tabcdefghijk-s23456789", Platform.SHOPIFY, "450789469", "US"
    )
    state = S.merge(state, OrderSnapshot(order=imported)).state

    # When the order is paid later and its webhook arrives
    payload = fixture_json("shopify/orders_create.json")
    payload.update(financial_status="paid", updated_at="2008-01-10T12:00:00-05:00")
    result = S.merge(state, OrderSnapshot(order=shopify.parse_order(payload)))

    # Then it is one order, now as the webhook describes it
    assert result.outcome == "applied"
    assert result.state.snapshot is not None
    assert result.state.snapshot.status is OrderStatus.PAID
    assert result.state.snapshot.line_items[0].line_id == "466157049"


def test_an_export_without_an_id_column_falls_back_to_the_name() -> None:
    # Given an old export (before Shopify added the Id column)
    rows = list(csv.reader(_lines(SHOPIFY_CSV)))
    id_column = rows[0].index("Id")
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [r[:id_column] + r[id_column + 1 :] for r in rows]
    )

    # When
    orders, errors = _run(imports.SHOPIFY_ORDERS_CSV, out.getvalue().splitlines(keepends=True))

    # Then the orders are read, named by Name (they can't merge with webhooks: documented)
    assert errors == []
    assert orders[0].order.external_id == "#1001"
    assert orders[0].order.line_items[0].line_id == "#1001:1"


# ------------------------------------------------------------------ Amazon


def test_amazon_sample_orders_totals_and_statuses() -> None:
    # When
    orders, errors = _run(imports.AMAZON_ALL_ORDERS, _lines(AMAZON_TSV))

    # Then
    by_id = _by_id(orders)
    assert [(o.order.external_id, o.rows) for o in orders] == [
        ("113-4825910-2218650", (1, 2)),
        ("114-7730215-9981024", (3,)),
        ("112-5560931-4472266", (4,)),
        ("028-1139472-8265943", (5, 6)),
        ("250-3340983-1127456", (7,)),
        ("205-6617283-4401934", (8,)),
    ]
    assert {o.order.external_id: o.order.status for o in orders} == {
        "113-4825910-2218650": OrderStatus.FULFILLED,
        "114-7730215-9981024": OrderStatus.PENDING,
        "112-5560931-4472266": OrderStatus.CANCELLED,
        "028-1139472-8265943": OrderStatus.FULFILLED,
        "250-3340983-1127456": OrderStatus.DELIVERED,  # "Shipped - Delivered to Buyer"
        "205-6617283-4401934": OrderStatus.PAID,  # "Shipping": being packed
    }

    us = by_id["113-4825910-2218650"].order
    assert (us.platform, us.market, us.currency) == (Platform.AMAZON, "US", "USD")
    # item-price is the row's total: 2 rulers for 15.98 are 7.99 each
    assert [(li.sku, li.quantity, li.unit_price, li.total) for li in us.line_items] == [
        ("BCB-3", 1, Decimal("34.99"), Decimal("34.99")),
        ("RUL-12", 2, Decimal("7.99"), Decimal("15.98")),
    ]
    assert (us.name, us.source_name) == ("113-4825910-2218650", "Amazon.com")
    assert us.line_items[1].title == 'Steel Ruler 12" (30 cm), metric/imperial'
    assert (us.subtotal, us.shipping, us.tax, us.discounts, us.total) == (
        Decimal("50.97"),  # the SP-API client's subtotal: items before promotions
        Decimal("5.99"),
        Decimal("5.84"),
        Decimal("7.99"),  # 2.00 off the rulers, 5.99 off the shipping
        Decimal("54.81"),
    )
    assert us.paid and us.fully_fulfilled and us.customer is None and not us.amounts_pending
    assert us.updated_at == datetime(2024, 2, 12, 9, 3, 11, tzinfo=UTC)

    pending = by_id["114-7730215-9981024"].order
    assert pending.amounts_pending and pending.total == Decimal("0.00")
    assert not pending.paid and pending.currency == "USD"  # from the marketplace

    cancelled = by_id["112-5560931-4472266"].order
    assert cancelled.platform_status == "Cancelled"
    assert cancelled.cancelled_at == cancelled.updated_at
    assert not cancelled.paid

    de = by_id["028-1139472-8265943"].order
    assert (de.market, de.currency, de.total) == ("DE", "EUR", Decimal("49.80"))
    # the same SKU twice (a split shipment) stays two lines, told apart by position
    assert [(li.line_id, li.sku) for li in de.line_items] == [
        ("028-1139472-8265943:1", "MUG-L2"),
        ("028-1139472-8265943:2", "MUG-L2"),
    ]
    assert de.line_items[0].title == "Kaffeebecher aus Steingut \u2013 Größe L, 2er-Set"
    assert de.shipping_address is not None and de.shipping_address.city == "München"

    jp = by_id["250-3340983-1127456"].order
    assert (jp.market, jp.currency, jp.total) == ("JP", "JPY", Decimal("2705"))
    assert jp.platform_status == "Shipped - Delivered to Buyer"

    uk = by_id["205-6617283-4401934"].order
    # gift wrap is charged: in the total, not the subtotal
    assert (uk.market, uk.subtotal, uk.total) == ("GB", Decimal("25.00"), Decimal("31.48"))

    # the Multi-Channel Fulfillment order belongs to another store
    assert [(e.row, e.code, e.order_ref) for e in errors] == [
        (9, "not_an_amazon_order", "S01-4410925-0012290")
    ]


def test_amazon_import_is_the_same_order_as_the_sp_api_enrichment() -> None:
    # Given the first sample order as SP-API getOrder / getOrderItems describe it
    def usd(amount: str) -> dict[str, str]:
        return {"CurrencyCode": "USD", "Amount": amount}

    order = {
        "AmazonOrderId": "113-4825910-2218650",
        "OrderStatus": "Shipped",
        "MarketplaceId": "ATVPDKIKX0DER",
        "OrderTotal": usd("54.81"),
        "PurchaseDate": "2024-02-10T18:22:41Z",
        "LastUpdateDate": "2024-02-12T09:03:11Z",
        "SalesChannel": "Amazon.com",
        "ShippingAddress": {
            "City": "SEATTLE",
            "StateOrRegion": "WA",
            "PostalCode": "98109-5210",
            "CountryCode": "US",
        },
    }
    items = [
        {
            "OrderItemId": "31490611174290",
            "SellerSKU": "BCB-3",
            "ASIN": "B0CX1TEST1",
            "Title": "Bamboo Cutting Board Set, 3 Pieces",
            "QuantityOrdered": 1,
            "ItemPrice": usd("34.99"),
            "ItemTax": usd("3.59"),
            "ShippingPrice": usd("5.99"),
            "ShippingTax": usd("0.61"),
            "PromotionDiscount": usd("0.00"),
            "ShippingDiscount": usd("5.99"),
        },
        {
            "OrderItemId": "31490611174291",
            "SellerSKU": "RUL-12",
            "ASIN": "B0CX1TEST2",
            "Title": 'Steel Ruler 12" (30 cm), metric/imperial',
            "QuantityOrdered": 2,
            "ItemPrice": usd("15.98"),
            "ItemTax": usd("1.64"),
            "ShippingPrice": usd("0.00"),
            "ShippingTax": usd("0.00"),
            "PromotionDiscount": usd("2.00"),
            "ShippingDiscount": usd("0.00"),
        },
    ]
    enriched = amazon_client.to_order(order, items)

    # When the report's rows for it are imported
    orders, _ = _run(imports.AMAZON_ALL_ORDERS, _lines(AMAZON_TSV))
    imported = _by_id(orders)["113-4825910-2218650"].order

    # Then the two agree on everything but the line ids the report doesn't carry (and where
    # each came from)
    assert imported.from_export and not enriched.from_export
    assert imported.model_dump(exclude={"line_items", "from_export"}) == enriched.model_dump(
        exclude={"line_items", "from_export"}
    )
    assert [li.model_dump(exclude={"line_id"}) for li in imported.line_items] == [
        li.model_dump(exclude={"line_id"}) for li in enriched.line_items
    ]


def test_amazon_columns_are_found_by_name_in_other_header_layouts() -> None:
    # Given the MWS-era layout (with "url") and the columns in another order
    rows = [line.rstrip("\r\n").split("\t") for line in _lines(AMAZON_TSV)]
    header = rows[0]
    reordered = [*reversed(header), "url"]
    lines = ["\t".join(reordered) + "\n"]
    for row in rows[1:]:
        values = dict(zip(header, row, strict=True))
        lines.append(
            "\t".join(values.get(name, "https://example.com") for name in reordered) + "\n"
        )

    # When
    original, _ = _run(imports.AMAZON_ALL_ORDERS, _lines(AMAZON_TSV))
    moved, errors = _run(imports.AMAZON_ALL_ORDERS, lines)

    # Then the same orders come out
    assert [o.order for o in moved] == [o.order for o in original]
    assert [e.code for e in errors] == ["not_an_amazon_order"]


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("Pending", OrderStatus.PENDING),
        ("PendingAvailability", OrderStatus.PENDING),
        ("Unshipped", OrderStatus.PAID),
        ("Shipping", OrderStatus.PAID),
        ("Pending - Waiting for Pick Up", OrderStatus.PAID),
        ("PartiallyShipped", OrderStatus.PARTIALLY_FULFILLED),
        ("Shipped", OrderStatus.FULFILLED),
        ("Shipped - Delivered to Buyer", OrderStatus.DELIVERED),
        ("Shipped - Returned to Seller", OrderStatus.FULFILLED),
        ("Shipped  -  Lost in Transit", OrderStatus.FULFILLED),
        ("Cancelled", OrderStatus.CANCELLED),
        ("Canceled", OrderStatus.CANCELLED),
        ("Unfulfillable", OrderStatus.CANCELLED),
    ],
)
def test_amazon_report_status_words(word: str, status: OrderStatus) -> None:
    assert amazon_orders.report_status(word) is status


# ------------------------------------------------------------------ both formats


@pytest.mark.parametrize(
    ("kind", "path"),
    [(imports.SHOPIFY_ORDERS_CSV, SHOPIFY_CSV), (imports.AMAZON_ALL_ORDERS, AMAZON_TSV)],
)
def test_parsing_twice_gives_the_same_orders_and_digests(kind: str, path: Path) -> None:
    # When
    first, _ = _run(kind, _lines(path))
    second, _ = _run(kind, _lines(path))

    # Then
    assert first == second
    digests = [o.digest for o in first]
    assert len(set(digests)) == len(digests)  # one digest per order
    assert all(len(d) == 64 for d in digests)


@pytest.mark.parametrize(
    ("kind", "path"),
    [(imports.SHOPIFY_ORDERS_CSV, SHOPIFY_CSV), (imports.AMAZON_ALL_ORDERS, AMAZON_TSV)],
)
def test_bom_and_line_endings_do_not_change_orders_or_digests(kind: str, path: Path) -> None:
    # Given the file with a UTF-8 BOM and LF and CRLF line endings
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    lf = ("\ufeff" + text).splitlines(keepends=True)
    crlf = ("\ufeff" + text.replace("\n", "\r\n")).splitlines(keepends=True)

    # When
    as_stored = _run(kind, _lines(path))

    # Then
    assert as_stored[0], "the sample must yield orders for the comparison to mean anything"
    assert _run(kind, lf) == _run(kind, crlf) == as_stored


def test_a_changed_order_gets_a_new_digest() -> None:
    text = SHOPIFY_CSV.read_text(encoding="utf-8")
    before = _by_id(_run(imports.SHOPIFY_ORDERS_CSV, text.splitlines(keepends=True))[0])
    changed = text.replace("authorized,,unfulfilled", "paid,2008-01-10 11:30:00 -0500,unfulfilled")
    after = _by_id(_run(imports.SHOPIFY_ORDERS_CSV, changed.splitlines(keepends=True))[0])
    assert after["450789469"].digest != before["450789469"].digest
    assert after["5523101900847"].digest == before["5523101900847"].digest


def test_shopify_row_errors_name_the_row_and_the_problem() -> None:
    # When
    orders, errors = _run(imports.SHOPIFY_ORDERS_CSV, _lines(SHOPIFY_BAD))

    # Then the good orders import and every bad row is named
    assert [(o.order.external_id, o.rows) for o in orders] == [
        ("7000000001", (1, 2)),
        ("7000000003", (5,)),
    ]
    assert sorted((e.row, e.code, e.order_ref) for e in errors) == [
        (3, "invalid_amount", "#2002"),
        (3, "invalid_date", "#2002"),
        (3, "unknown_status", "#2002"),
        (4, "order_rows_not_contiguous", "#2001"),
        (6, "order_incomplete", "#2004"),
        (7, "malformed_row", "#2004"),
        (8, "invalid_quantity", "#2005"),
        (9, "invalid_currency", "#2006"),
    ]
    reasons = {(e.row, e.code): str(e.reason) for e in errors}
    assert "'12,50'" in reasons[(3, "invalid_amount")]
    assert "kinda_paid" in reasons[(3, "unknown_status")]
    assert "'Dollars'" in reasons[(9, "invalid_currency")]


def test_amazon_row_errors_name_the_row_and_the_problem() -> None:
    # When
    orders, errors = _run(imports.AMAZON_ALL_ORDERS, _lines(AMAZON_BAD))

    # Then
    assert [(o.order.external_id, o.rows) for o in orders] == [("111-0000001-0000001", (1,))]
    assert sorted((e.row, e.code, e.order_ref) for e in errors) == [
        (2, "invalid_amount", "111-0000002-0000002"),
        (2, "invalid_date", "111-0000002-0000002"),
        (3, "unknown_status", "111-0000003-0000003"),
        (4, "order_rows_not_contiguous", "111-0000001-0000001"),
        (5, "malformed_row", "111-0000004-0000004"),
        (6, "invalid_date", "111-0000005-0000005"),  # no UTC offset
        (7, "invalid_quantity", "111-0000006-0000006"),
    ]


@pytest.mark.parametrize(
    ("kind", "path", "column"),
    [
        (imports.SHOPIFY_ORDERS_CSV, SHOPIFY_CSV, "Financial Status"),
        (imports.AMAZON_ALL_ORDERS, AMAZON_TSV, "order-status"),
    ],
)
def test_a_missing_required_column_is_one_header_error(kind: str, path: Path, column: str) -> None:
    # Given the header with the column renamed
    lines = list(_lines(path))
    lines[0] = lines[0].replace(column, column.upper())

    # When
    orders, errors = _run(kind, lines)

    # Then nothing is guessed: one error on row 0 (the header)
    assert orders == []
    assert [(e.row, e.code) for e in errors] == [(0, "missing_column")]
    assert column in str(errors[0].reason)


def test_an_empty_file_yields_nothing() -> None:
    assert _run(imports.SHOPIFY_ORDERS_CSV, []) == ([], [])


def test_an_unclosed_quote_stops_the_file_and_refuses_the_open_order() -> None:
    # Given #1001, #1003, then a row whose quote never closes (csv's field size limit ends it;
    # lowered here to keep the file small)
    lines = list(_lines(SHOPIFY_CSV))
    broken = '#1004,x@example.com,,,,,,,,,,,,,,"' + "never closed\n" * 500
    previous = csv.field_size_limit(2_000)
    try:
        # When
        orders, errors = _run(imports.SHOPIFY_ORDERS_CSV, [*lines[:4], lines[7], broken])
    finally:
        csv.field_size_limit(previous)

    # Then #1001 is imported; #1003, still open when the file broke (the broken row might be
    # one of its lines), is refused; nothing after the break is read
    assert [o.order.name for o in orders] == ["#1001"]
    assert [(e.row, e.code, e.order_ref) for e in errors] == [
        (5, "malformed_row", None),
        (4, "order_incomplete", "#1003"),
    ]


# ------------------------------------------------------------------ streaming


def _synthetic_shopify(
    count: int, pulled: list[int], strays: tuple[int, ...] = ()
) -> Iterator[str]:
    """A Shopify export of ``count`` two-line orders, made lazily; ``pulled[0]`` counts lines.
    ``strays``: orders whose second row comes again after the last order."""
    header = next(csv.reader(_lines(SHOPIFY_CSV)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    created = "2024-01-05 10:12:33 -0500"

    def emit(values: dict[str, str]) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow([values.get(name, "") for name in header])
        pulled[0] += 1
        return out.getvalue()

    def second_row(n: int) -> str:
        return emit(
            {
                "Name": f"#{n}",
                "Email": f"buyer{n}@example.com",
                "Created at": created,
                "Lineitem quantity": "2",
                "Lineitem name": "Tea Scoop",
                "Lineitem price": "10.00",
            }
        )

    yield emit({name: name for name in header})
    for n in range(count):
        yield emit(
            {
                "Name": f"#{n}",
                "Email": f"buyer{n}@example.com",
                "Financial Status": "paid",
                "Fulfillment Status": "unfulfilled",
                "Currency": "USD",
                "Subtotal": "30.00",
                "Shipping": "0.00",
                "Taxes": "0.00",
                "Total": "30.00",
                "Created at": created,
                "Lineitem quantity": "1",
                "Lineitem name": "Tea Tin",
                "Lineitem price": "10.00",
                "Id": str(9_000_000 + n),
            }
        )
        yield second_row(n)
    for n in strays:
        yield second_row(n)


def test_a_large_file_streams_order_by_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given more two-line orders than the remembered window holds (shrunk from 10,000 to 100:
    # sliding it is the same code at any size, and each order costs a validated Order), produced
    # only as the parser asks for them; at the end, a stray row of the first order (long since
    # forgotten) and of a recent one (still remembered)
    monkeypatch.setattr(imports, "RECENT_ORDER_KEYS", 100)
    count = 3 * imports.RECENT_ORDER_KEYS + 50
    recent = count - imports.RECENT_ORDER_KEYS // 2
    pulled = [0]
    lines = _synthetic_shopify(count, pulled, strays=(0, recent))
    items = imports.parse(imports.SHOPIFY_ORDERS_CSV, lines, "US", "USD")

    # When the first order is taken
    first = next(items)

    # Then it came out after reading just past its own rows, not the whole file
    assert isinstance(first, ImportedOrder)
    assert (first.order.external_id, first.rows) == ("9000000", (1, 2))
    assert pulled[0] == 4  # header, the order's two rows, the next order's first row

    # And the rest stream the same way (counted, not kept): each order is out as soon as the
    # line after it is read
    imported = 1
    errors = []
    for item in items:
        if isinstance(item, RowError):
            errors.append((item.row, item.code, item.order_ref))
            continue
        imported += 1
        assert pulled[0] == 2 + 2 * imported
    assert imported == count

    # And only the window is remembered: the first order's key is gone (its stray row reads as
    # an order of its own, refused), the recent one's is still there
    end = 2 * count
    assert errors == [
        (end + 1, "order_first_row_missing", "#0"),
        (end + 2, "order_rows_not_contiguous", f"#{recent}"),
    ]


def test_the_remembered_window_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a window of two finished orders
    monkeypatch.setattr(imports, "RECENT_ORDER_KEYS", 2)
    lines = list(_lines(SHOPIFY_CSV))
    header, rows = lines[0], lines[1:]
    # #1001's last row after three other orders (#1002 spans three lines: a two-line note)
    late = [header, *rows[0:2], *rows[3:8], rows[2]]

    # When
    orders, errors = _run(imports.SHOPIFY_ORDERS_CSV, late)

    # Then #1001 fell out of the window (the documented limit of bounded memory): its stray row
    # reads as an order of its own, refused for lacking the order's first row
    assert [o.order.name for o in orders] == ["#1001", "#1002", "#1003", "#1004"]
    assert [(e.row, e.code) for e in errors] == [(7, "order_first_row_missing")]


def test_non_contiguous_rows_are_caught_within_the_remembered_window() -> None:
    # Given an order whose last row comes back after two other orders (#1002's note spans
    # two lines, so lines and rows differ)
    lines = list(_lines(SHOPIFY_CSV))
    header, rows = lines[0], lines[1:]
    shuffled = [header, *rows[0:2], *rows[3:7], rows[2], *rows[7:]]

    # When
    orders, errors = _run(imports.SHOPIFY_ORDERS_CSV, shuffled)

    # Then the first part was imported, the stray row refused (no second, partial snapshot)
    assert [o.order.external_id for o in orders].count("450789469") == 1
    first = _by_id(orders)["450789469"]
    assert first.rows == (1, 2) and len(first.order.line_items) == 2
    assert [(e.row, e.code, e.order_ref) for e in errors] == [
        (6, "order_rows_not_contiguous", "#1001")
    ]
