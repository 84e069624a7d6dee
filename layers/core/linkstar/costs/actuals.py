"""Actual per-order costs from any source, read: a carrier's invoice (``logistics``,
``returns``), a 3PL's bill, a payment gateway's payout report (``payment_fees``), a customs
broker's (``duties``) — whatever the platform. Each batch is named by its ``source``
(``dhl-invoice-2026-10``), and posting the same source again replaces the batch
(:mod:`linkstar.store.cost_actuals`).

Two shapes, one row per amount:

- CSV with a header: ``order_id,component,amount,currency[,source_ref]``, or ``store_id`` and
  ``external_id`` (the platform's own order id) in place of ``order_id``. Columns are found by
  name (case and surrounding spaces ignored), so their order and any extra ones don't matter;
  blank lines are skipped.
- JSON: ``{"source": "...", "rows": [{"order_id" | "store_id" + "external_id", "component",
  "amount", "currency", "source_ref"?}]}``; a row naming another field is refused (a typo must
  not pass silently).

Rules, checked for every row and reported all at once (:class:`ActualsError`, code
``invalid_rows``, at most :data:`MAX_PROBLEMS`, 1-based data row numbers, the header not
counted), so a batch is stored whole or not at all:

- ``order_id`` is LinkStar's (``ids.order_id(store_id, external_id)``: the store's suffix, a
  dash, the platform's id); with ``store_id`` + ``external_id`` instead, the store must be the
  caller's tenant's and exist. A row giving both must agree.
- ``component`` is one of :data:`ACCEPTED` — :data:`linkstar.costs.model.COMPONENTS` but
  ``ads`` and ``fx`` (:data:`REFUSED` says why).
- ``amount`` is a non-negative decimal with a decimal point and at most the currency's minor
  units (:func:`linkstar.money.minor_units`: ``1234.50`` USD, ``980`` JPY; no thousands
  separators, no exponent); ``currency`` an ISO 4217 code.

An order's amount of a component in one batch and currency is the sum of its rows (an invoice's
freight and fuel surcharge lines both count as ``logistics``).

Pure: no I/O (whether a store exists is asked of the caller's ``store_exists``).
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from linkstar import ids, money
from linkstar.costs.model import COMPONENTS, Component, currency_code
from linkstar.errors import BadRequest

REFUSED: Mapping[str, str] = {
    "ads": (
        "ad spend has no per-order actual: import it as the ad_spend metric (POST /metrics), "
        "and the cost model's ads rule spreads it over the month's orders by revenue when "
        "GET /costs reads"
    ),
    "fx": (
        "the payout conversion cost is worked out from the FX rates (POST /fx-rates) and the "
        "cost model's spread: a bank charges it per payout, not per order"
    ),
}
"""Components a batch may not carry, and why (the reason is the row's error)."""

ACCEPTED: tuple[Component, ...] = tuple(c for c in COMPONENTS if c not in REFUSED)
FIELDS = ("order_id", "store_id", "external_id", "component", "amount", "currency", "source_ref")
MAX_PROBLEMS = 100
MAX_ROWS = 100_000

_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# ids.order_id: the store id's suffix (s + 8), a dash, the platform's order id.
_ORDER_ID = re.compile(r"^s[a-z0-9]{8}-\S{1,200}$")
_EXTERNAL_ID = re.compile(r"^\S{1,200}$")
_AMOUNT = re.compile(r"^\d{1,15}(?:\.(\d+))?$")
_SOURCE_REF_MAX = 200


class ActualsError(BadRequest):
    """A batch that can't be stored as it is; ``code`` says why, ``details`` what."""


@dataclass(frozen=True)
class ActualRow:
    """One amount: the order's (LinkStar's id) actual cost of ``component`` in ``currency``,
    quantized to the currency's minor units."""

    row: int
    order_id: str
    component: Component
    amount: Decimal
    currency: str
    source_ref: str | None = None


@dataclass(frozen=True)
class ActualsBatch:
    """A batch, read: ``source`` names it, ``rows`` in the order given."""

    source: str
    rows: tuple[ActualRow, ...]

    def by_order(self) -> dict[str, dict[str, dict[Component, Decimal]]]:
        """order id → currency → component → the sum of its rows."""
        out: dict[str, dict[str, dict[Component, Decimal]]] = {}
        for row in self.rows:
            costs = out.setdefault(row.order_id, {}).setdefault(row.currency, {})
            costs[row.component] = costs.get(row.component, Decimal(0)) + row.amount
        return out

    def refs(self) -> dict[str, list[str]]:
        """order id → the ``source_ref`` of its rows (invoice lines, tracking numbers)."""
        out: dict[str, set[str]] = defaultdict(set)
        for row in self.rows:
            if row.source_ref:
                out[row.order_id].add(row.source_ref)
        return {order_id: sorted(found) for order_id, found in out.items()}

    def totals(self) -> dict[Component, dict[str, Decimal]]:
        """component → currency → the batch's sum, components in the breakdown's order."""
        sums: dict[Component, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for row in self.rows:
            sums[row.component][row.currency] += row.amount
        return {c: dict(sorted(sums[c].items())) for c in COMPONENTS if c in sums}


def source_name(value: object) -> str:
    """``value`` as a batch's source: 1 to 100 letters, digits, ``.``, ``_`` or ``-``."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ActualsError(
            "name the batch: source=dhl-invoice-2026-10 (a query parameter for CSV, a field for "
            "JSON); posting the same source again replaces the batch",
            code="source_required",
        )
    if not _SOURCE.match(text):
        raise ActualsError(
            f"source must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter "
            f"or digit: {text[:120]!r}",
            code="invalid_source",
        )
    return text


def parse_csv(
    text: str, *, source: str, tenant_id: str, store_exists: Callable[[str], bool]
) -> ActualsBatch:
    """Read a CSV batch (the whole file, header first)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header: dict[str, int] | None = None
    width = number = 0
    raw: list[tuple[int, dict[str, str]]] = []
    problems = _Problems()
    try:
        for fields in reader:
            if not any(field.strip() for field in fields):
                continue
            if header is None:
                header, width = _header(fields), len(fields)
                continue
            number += 1
            _not_too_many(number)
            if any(field.strip() for field in fields[width:]):
                # 1,234.50 unquoted is two values: the columns after it are shifted, so the
                # row is not read further.
                problems.add(
                    number,
                    f"{len(fields)} values where the header names {width} columns: quote a "
                    "value holding a comma, and write amounts without thousands separators",
                )
                continue
            values = {name: fields[i].strip() for name, i in header.items() if i < len(fields)}
            raw.append((number, values))
    except csv.Error as exc:
        raise ActualsError(
            f"the CSV can't be read past data row {number}: {exc}", code="invalid_csv"
        ) from exc
    if header is None:
        raise ActualsError("the CSV is empty: it needs a header and rows", code="empty_batch")
    return _read(source, raw, tenant_id, store_exists, problems)


def parse_json(
    body: Mapping[str, Any],
    *,
    source: str | None,
    tenant_id: str,
    store_exists: Callable[[str], bool],
) -> ActualsBatch:
    """Read ``{"source", "rows": [...]}`` (``source``: the query parameter, if any; the two must
    agree). Amounts may be strings or JSON numbers read exactly (``json.loads(...,
    parse_float=Decimal)``)."""
    named = body.get("source")
    if source is not None and named is not None and named != source:
        raise ActualsError(
            f"the body's source {named!r} is not the query's {source!r}: give one",
            code="invalid_source",
        )
    name = source_name(named if named is not None else source)
    unknown = sorted(set(body) - {"source", "rows"})
    if unknown:
        raise ActualsError(
            "a batch holds source and rows only: " + ", ".join(map(repr, unknown[:10])),
            code="invalid_batch",
        )
    rows = body.get("rows")
    if not isinstance(rows, list):
        raise ActualsError("rows must be a list of objects", code="invalid_batch")
    _not_too_many(len(rows))
    raw: list[tuple[int, dict[str, str]]] = []
    problems = _Problems()
    for number, given in enumerate(rows, start=1):
        if not isinstance(given, dict):
            problems.add(number, "a row must be an object")
            continue
        extra = sorted(str(key) for key in set(given) - set(FIELDS))
        if extra:
            problems.add(number, "unknown field " + ", ".join(map(repr, extra[:5])))
            continue
        raw.append((number, {k: _text(v) for k, v in given.items() if v is not None}))
    return _read(name, raw, tenant_id, store_exists, problems)


def _text(value: Any) -> str:
    if isinstance(value, bool):  # a JSON true is not an amount or an id
        return repr(value)
    if isinstance(value, float):  # the API reads numbers as Decimal; a float shows as typed
        return repr(value)
    return str(value).strip()


def _not_too_many(count: int) -> None:
    if count > MAX_ROWS:
        raise ActualsError(
            f"a batch holds at most {MAX_ROWS} rows: split it into several sources",
            code="too_many_rows",
        )


def _header(fields: Sequence[str]) -> dict[str, int]:
    positions: dict[str, int] = {}
    for i, name in enumerate(fields):
        key = name.strip().lower()
        if key and key not in positions:
            positions[key] = i
    missing = [name for name in ("component", "amount", "currency") if name not in positions]
    by_order = "order_id" in positions
    by_store = "store_id" in positions and "external_id" in positions
    if not by_order and not by_store:
        missing.insert(0, "order_id (or store_id and external_id)")
    if missing:
        raise ActualsError(
            "the CSV's header lacks " + ", ".join(missing) + ": it names the columns "
            "order_id,component,amount,currency[,source_ref] (or store_id,external_id in place "
            "of order_id)",
            code="invalid_header",
            missing_columns=missing,
        )
    return {name: i for name, i in positions.items() if name in FIELDS}


class _Problems:
    def __init__(self) -> None:
        self.found: list[dict[str, Any]] = []

    @property
    def count(self) -> int:
        return len(self.found)

    def add(self, row: int, reason: str) -> None:
        self.found.append({"row": row, "reason": reason})

    def raise_if_any(self) -> None:
        if self.found:
            rows = len({problem["row"] for problem in self.found})
            raise ActualsError(
                f"{rows} row(s) can't be read; nothing was stored",
                code="invalid_rows",
                problems=sorted(self.found, key=lambda p: p["row"])[:MAX_PROBLEMS],
                rows_invalid=rows,
            )


def _read(
    source: str,
    raw: Sequence[tuple[int, Mapping[str, str]]],
    tenant_id: str,
    store_exists: Callable[[str], bool],
    problems: _Problems,
) -> ActualsBatch:
    if not raw and not problems.count:
        raise ActualsError(
            "the batch has no rows (to correct a batch, post it again with its rows)",
            code="empty_batch",
        )
    stores: dict[str, bool] = {}
    rows: list[ActualRow] = []
    for number, values in raw:
        reasons: list[str] = []
        order_id = _order_id(values, tenant_id, store_exists, stores, reasons)
        component = _component(values.get("component", ""), reasons)
        currency = _currency(values.get("currency", ""), reasons)
        amount = _amount(values.get("amount", ""), currency, reasons)
        ref = values.get("source_ref") or None
        if ref is not None and len(ref) > _SOURCE_REF_MAX:
            reasons.append(f"source_ref is longer than {_SOURCE_REF_MAX} characters")
        for reason in reasons:
            problems.add(number, reason)
        # Each None came with a reason; the checks are for the type checker.
        if reasons or order_id is None or component is None or currency is None or amount is None:
            continue
        rows.append(ActualRow(number, order_id, component, amount, currency, ref))
    problems.raise_if_any()
    return ActualsBatch(source=source, rows=tuple(rows))


def _order_id(
    values: Mapping[str, str],
    tenant_id: str,
    store_exists: Callable[[str], bool],
    stores: dict[str, bool],
    reasons: list[str],
) -> str | None:
    given = values.get("order_id", "")
    store_id, external_id = values.get("store_id", ""), values.get("external_id", "")
    if given and not _ORDER_ID.match(given):
        reasons.append(
            f"order_id is not a LinkStar order id (the store's suffix, a dash, the platform's "
            f"id, as GET /orders shows it): {given[:120]!r}; or give store_id and external_id"
        )
        return None
    if not store_id and not external_id:
        if not given:
            reasons.append("no order: give order_id, or store_id and external_id")
        return given or None
    if not store_id or not external_id:
        reasons.append("give store_id and external_id together")
        return None
    if ids.tenant_of_store(store_id) != tenant_id:
        reasons.append(f"no such store: {store_id[:120]!r}")
        return None
    if store_id not in stores:
        stores[store_id] = store_exists(store_id)
    if not stores[store_id]:
        reasons.append(f"no such store: {store_id!r}")
        return None
    if not _EXTERNAL_ID.match(external_id):
        reasons.append(f"external_id is not an order id: {external_id[:120]!r}")
        return None
    ours = ids.order_id(store_id, external_id)
    if given and given != ours:
        reasons.append(f"order_id {given!r} is not store_id + external_id's {ours!r}")
        return None
    return ours


def _component(given: str, reasons: list[str]) -> Component | None:
    name = given.strip().lower()
    if name in REFUSED:
        reasons.append(f"component {name} can't be given per order: {REFUSED[name]}")
        return None
    for component in ACCEPTED:
        if component == name:
            return component
    shown = repr(given) if given else "empty"
    reasons.append(f"component is not one of {', '.join(ACCEPTED)}: {shown}")
    return None


def _currency(given: str, reasons: list[str]) -> str | None:
    try:
        return currency_code(given)
    except ValueError:
        shown = repr(given) if given else "empty"
        reasons.append(f"currency is not an ISO 4217 code such as USD: {shown}")
        return None


def _amount(given: str, currency: str | None, reasons: list[str]) -> Decimal | None:
    match = _AMOUNT.match(given)
    if match is None:
        if given.startswith("-"):
            reasons.append(
                f"amount is negative ({given}): an actual cost is what was paid, so net a "
                "credit against its charge"
            )
        else:
            shown = repr(given) if given else "empty"
            reasons.append(
                f"amount is not a decimal such as 12.50 (a decimal point, no thousands "
                f"separators): {shown}"
            )
        return None
    if currency is None:
        return None
    places = money.minor_units(currency)
    decimals = match.group(1)
    if decimals is not None and len(decimals) > places:
        unit = "no minor units" if places == 0 else f"{places} decimal places"
        reasons.append(f"amount {given} has more decimals than {currency} has ({unit})")
        return None
    return money.quantize(Decimal(given), currency)
