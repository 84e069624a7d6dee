"""Order-history files a seller uploads when connecting a store, streamed into canonical orders.

Two formats, told apart by their header line (:func:`detect`):

- ``shopify_orders_csv``: Shopify's admin "Export orders" CSV, one row per line item
  (:mod:`.shopify_csv`);
- ``amazon_all_orders``: Amazon's "All Orders" report, tab-separated, one row per item
  (GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL / _BY_LAST_UPDATE_GENERAL;
  :mod:`.amazon_orders`).

:func:`parse` yields an :class:`ImportedOrder` for each order whose rows all read cleanly, and a
:class:`RowError` for each row that didn't (the whole order is then left out: a partial order
would store wrong totals). An imported order carries the same ``external_id`` the webhook path
uses, so the import and later webhooks for the same order merge into one.

Streaming: the file is never held in memory. ``lines`` is any iterator of text lines *with*
their line endings (an open file, ``io.TextIOWrapper`` over an S3 streaming body, or
``codecs.iterdecode(body.iter_lines(keepends=True), "utf-8")``): ``csv.reader`` pulls one line
at a time, and a quoted field that spans lines is read whole. Rows are grouped while they
share an order key and each order is yielded as soon as the next order's first row appears. The
only memory kept is the current order's rows (at most :data:`MAX_ROWS_PER_ORDER`) and the keys
of the last :data:`RECENT_ORDER_KEYS` finished orders.

Row numbers are 1-based data rows, the header not counted (so data row *n* is spreadsheet row
*n + 1*); a quoted field spanning lines is still one row. ``RowError.row == 0`` is the header.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from linkstar import money
from linkstar.errors import BadRequest
from linkstar.orders.models import Platform
from linkstar.text import Text

if TYPE_CHECKING:
    from linkstar.orders.models import Order

SHOPIFY_ORDERS_CSV = "shopify_orders_csv"
AMAZON_ALL_ORDERS = "amazon_all_orders"
KINDS = (SHOPIFY_ORDERS_CSV, AMAZON_ALL_ORDERS)
# Which store a file belongs in, and what it is as a stored object.
PLATFORM_OF = {SHOPIFY_ORDERS_CSV: Platform.SHOPIFY, AMAZON_ALL_ORDERS: Platform.AMAZON}
MEDIA_TYPE_OF = {SHOPIFY_ORDERS_CSV: "text/csv", AMAZON_ALL_ORDERS: "text/tab-separated-values"}

# Enough to catch the realistic case (an export sorted by something other than the order, so an
# order's rows come back a little later) while keeping memory flat for any file size.
RECENT_ORDER_KEYS = 10_000
# No real order has this many lines; past it the rows are refused rather than held in memory.
MAX_ROWS_PER_ORDER = 5_000


@dataclass(frozen=True)
class ImportedOrder:
    order: Order
    rows: tuple[int, ...]  # the data rows that made it
    # sha256 of those rows' text (line endings normalised): re-importing an unchanged order gives
    # the same digest, so the caller can skip it without touching the store.
    digest: str


@dataclass(frozen=True)
class RowError:
    row: int
    code: str  # machine-readable: missing_column, invalid_amount, invalid_date, unknown_status, …
    reason: Text  # for the seller, in their language when shown (linkstar.text)
    order_ref: str | None = None  # the order as the file names it (Shopify Name, Amazon order id)


@dataclass(frozen=True)
class ImportContext:
    store_market: str  # ISO country of the store: phone region and currency fallback
    store_currency: str | None


@dataclass(frozen=True)
class Row:
    """One data row, read by column name (a short row reads as empty trailing columns)."""

    number: int
    fields: Sequence[str]
    positions: Mapping[str, int]  # column name → index, shared by every row of the file

    def get(self, column: str) -> str:
        index = self.positions.get(column)
        if index is None or index >= len(self.fields):
            return ""
        return self.fields[index].strip()

    def has(self, column: str) -> bool:
        return column in self.positions


class Problems:
    """What is wrong with an order's rows, collected so the seller sees every problem at once
    rather than one per upload. The readers return a harmless placeholder after recording."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str, Text]] = []

    def __bool__(self) -> bool:
        return bool(self.found)

    def add(self, row: Row, code: str, reason: Text) -> None:
        self.found.append((row.number, code, reason))

    def required(self, row: Row, column: str) -> str:
        value = row.get(column)
        if not value:
            self.add(row, "missing_value", Text("history.missing_value", column=column))
        return value

    def amount(self, row: Row, column: str, currency: str) -> Decimal:
        try:
            return money.parse_amount(row.get(column), currency)
        except ValueError:
            self.add(
                row,
                "invalid_amount",
                Text("history.invalid_amount", column=column, value=repr(row.get(column))),
            )
            return Decimal(0)

    def quantity(self, row: Row, column: str) -> int:
        text = row.get(column)
        if not text:
            return 0
        try:
            value = int(text)
        except ValueError:
            value = -1
        if value < 0:
            self.add(
                row,
                "invalid_quantity",
                Text("history.invalid_quantity", column=column, value=repr(text)),
            )
            return 0
        return value

    def time(
        self, row: Row, column: str, parse: Callable[[str], datetime], *, required: bool = False
    ) -> datetime | None:
        text = row.get(column)
        if not text:
            if required:
                self.add(row, "missing_value", Text("history.missing_value", column=column))
            return None
        try:
            value = parse(text)
        except ValueError:
            value = None
        if value is None or value.tzinfo is None:
            self.add(
                row, "invalid_date", Text("history.invalid_date", column=column, value=repr(text))
            )
            return None
        return value.astimezone(UTC)


@dataclass(frozen=True)
class OrderFormat:
    """How one file format is read; ``build`` turns an order's rows into an Order or returns
    None after recording what is wrong in ``problems``."""

    kind: str
    delimiter: str
    quoting: Literal[0, 1, 2, 3]  # a csv.QUOTE_* constant
    key_column: str  # the column that repeats on every row of an order
    required_columns: tuple[str, ...]
    build: Callable[[Sequence[Row], ImportContext, Problems], Order | None]


# ------------------------------------------------------------------ public API


def detect(header_line: str) -> str:
    """The kind of file whose first line is ``header_line``; BadRequest when it is neither."""
    line = header_line.removeprefix("\ufeff").rstrip("\r\n")
    if "\t" in line:
        columns = {c.strip() for c in line.split("\t")}
        if {"amazon-order-id", "order-status", "item-price"} <= columns:
            return AMAZON_ALL_ORDERS
    else:
        columns = {c.strip() for c in next(csv.reader([line]), [])}
        if {"Name", "Financial Status", "Lineitem quantity"} <= columns:
            return SHOPIFY_ORDERS_CSV
    raise BadRequest(
        Text("history.unknown_format"),
        code="unknown_import_format",
        expected=list(KINDS),
    )


def parse(
    kind: str, lines: Iterable[str], store_market: str, store_currency: str | None
) -> Iterator[ImportedOrder | RowError]:
    """Stream ``lines`` (the whole file, header first) as orders and row errors."""
    fmt = _format(kind)
    context = ImportContext(store_market=store_market.upper(), store_currency=store_currency)
    return _stream(fmt, lines, context)


def parse_any(
    lines: Iterable[str], store_market: str, store_currency: str | None
) -> tuple[str, Iterator[ImportedOrder | RowError]]:
    """Detect the kind from the first line, then :func:`parse`; the kind is returned for the
    caller's report. An empty file is an unknown format."""
    iterator = iter(lines)
    first = next(iterator, "")
    kind = detect(first)
    return kind, parse(kind, itertools.chain([first], iterator), store_market, store_currency)


# ------------------------------------------------------------------ the streaming engine


def _format(kind: str) -> OrderFormat:
    # Imported here, not at the top: the format modules import this package's helpers.
    if kind == SHOPIFY_ORDERS_CSV:
        from linkstar.platforms.imports import shopify_csv

        return shopify_csv.FORMAT
    if kind == AMAZON_ALL_ORDERS:
        from linkstar.platforms.imports import amazon_orders

        return amazon_orders.FORMAT
    raise BadRequest(
        Text("history.unknown_kind", kind=repr(kind)),
        code="unknown_import_format",
        expected=list(KINDS),
    )


class _LineTap:
    """Hands lines to ``csv.reader`` and remembers them, so each row's raw text is known.

    ``csv.reader`` asks for the next line only while a record is incomplete, so after each row
    the tap holds exactly that row's lines."""

    def __init__(self, lines: Iterable[str]) -> None:
        self._lines = iter(lines)
        self._taken: list[str] = []
        self._first = True

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        if self._first:
            # Excel and Shopify write a UTF-8 byte-order mark; it would stick to the first name.
            self._first = False
            line = line.removeprefix("\ufeff")
        self._taken.append(line)
        return line

    def take(self) -> str:
        text = "".join(self._taken)
        self._taken.clear()
        return text


class _RecentKeys:
    """The last ``size`` finished order keys: a set for lookup, a deque for eviction order."""

    def __init__(self, size: int) -> None:
        self._order: deque[str] = deque()
        self._keys: set[str] = set()
        self._size = size

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        if key in self._keys:
            return
        if len(self._order) >= self._size:
            self._keys.discard(self._order.popleft())
        self._order.append(key)
        self._keys.add(key)


@dataclass
class _Group:
    key: str
    refused: str | None = None  # why the rows are refused as they arrive (nothing is kept)
    rows: list[Row] = field(default_factory=list)
    digest: Any = field(default_factory=hashlib.sha256)  # hashlib's type is private


def _stream(
    fmt: OrderFormat, lines: Iterable[str], context: ImportContext
) -> Iterator[ImportedOrder | RowError]:
    tap = _LineTap(lines)
    reader = csv.reader(tap, delimiter=fmt.delimiter, quoting=fmt.quoting)
    try:
        header_fields = next(reader, None)
    except csv.Error as exc:
        yield RowError(0, "malformed_row", Text("history.header_unreadable", detail=str(exc)))
        return
    if header_fields is None:
        return
    tap.take()
    header = [name.strip() for name in header_fields]
    missing = [name for name in fmt.required_columns if name not in header]
    if missing:
        yield RowError(
            0,
            "missing_column",
            Text(
                "history.missing_columns",
                missing=missing,
                kind=fmt.kind,
                required=list(fmt.required_columns),
            ),
        )
        return
    positions: dict[str, int] = {}
    for index, name in enumerate(header):
        positions.setdefault(name, index)  # a repeated column name: the first one counts
    key_position = positions[fmt.key_column]

    recent = _RecentKeys(RECENT_ORDER_KEYS)
    group: _Group | None = None
    number = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            # The parser's position is unknown after this (e.g. an unclosed quote ran past the
            # field size limit): stop, and say which order could not be finished.
            number += 1
            yield RowError(number, "malformed_row", Text("history.row_unreadable", detail=str(exc)))
            if group is not None and group.rows:
                yield from _refuse_rows(group, "order_incomplete", Text("history.file_broke_off"))
            return
        number += 1
        raw = tap.take()
        if not any(value.strip() for value in fields):
            continue  # a blank line between rows is not data
        key = fields[key_position].strip() if key_position < len(fields) else ""
        if not key:
            yield RowError(
                number, "missing_value", Text("history.missing_value", column=fmt.key_column)
            )
            if group is not None:
                # Most likely a broken line of the current order: refuse the order whole
                # rather than import it a line short.
                group.refused = group.refused or "order_incomplete"
            continue

        if group is None or key != group.key:
            if group is not None:
                yield from _finish(fmt, group, context)
                recent.add(group.key)
            group = _Group(key=key)
            if key in recent:
                group.refused = "order_rows_not_contiguous"

        if group.refused == "order_rows_not_contiguous":
            # The first part of this order was already yielded: a second, partial snapshot would
            # overwrite it, so these rows are refused as they come (nothing kept).
            yield RowError(
                number,
                "order_rows_not_contiguous",
                Text("history.order_rows_not_contiguous", order=key),
                key,
            )
            continue
        if len(fields) > len(header):
            yield RowError(
                number,
                "malformed_row",
                Text("history.columns_shifted", fields=len(fields), columns=len(header)),
                key,
            )
            group.refused = group.refused or "order_incomplete"
            continue
        if group.refused == "order_too_large":
            yield RowError(number, "order_too_large", _too_large(key), key)
            continue
        if len(group.rows) >= MAX_ROWS_PER_ORDER:
            group.refused = "order_too_large"
            yield from _refuse_rows(group, "order_too_large", _too_large(key))
            yield RowError(number, "order_too_large", _too_large(key), key)
            continue
        group.rows.append(Row(number=number, fields=fields, positions=positions))
        group.digest.update(raw.replace("\r\n", "\n").encode())

    if group is not None:
        yield from _finish(fmt, group, context)


def _too_large(key: str) -> Text:
    return Text("history.order_too_large", order=key, max_rows=MAX_ROWS_PER_ORDER)


def _refuse_rows(group: _Group, code: str, reason: Text) -> Iterator[RowError]:
    for row in group.rows:
        yield RowError(row.number, code, reason, group.key)
    group.rows.clear()


def _finish(
    fmt: OrderFormat, group: _Group, context: ImportContext
) -> Iterator[ImportedOrder | RowError]:
    if not group.rows:
        return  # refused as it was read
    if group.refused:
        yield from _refuse_rows(
            group, group.refused, Text("history.order_missing_row", order=group.key)
        )
        return
    problems = Problems()
    order: Order | None
    try:
        order = fmt.build(group.rows, context, problems)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        # Pydantic's own wording of the broken rule, under the field it names.
        problems.add(
            group.rows[0],
            "invalid_order",
            Text("history.invalid_order_field", field=where, detail=first["msg"]),
        )
        order = None
    if order is None and not problems:
        problems.add(
            group.rows[0], "invalid_order", Text("history.order_unreadable", order=group.key)
        )
    if problems or order is None:
        # Sorted as the English reads, so the order of a row's problems never depends on the
        # language anyone reads them in.
        found = sorted(problems.found, key=lambda p: (p[0], p[1], p[2].render("en")))
        for row_number, code, reason in found:
            yield RowError(row_number, code, reason, group.key)
        return
    yield ImportedOrder(
        order=order,
        rows=tuple(row.number for row in group.rows),
        digest=group.digest.hexdigest(),
    )
