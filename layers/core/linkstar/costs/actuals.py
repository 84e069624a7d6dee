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
from linkstar.text import Text

REFUSED: Mapping[str, str] = {
    "ads": "cost.actuals.refused_ads",
    "fx": "cost.actuals.refused_fx",
}
"""Components a batch may not carry, and the message saying why (the reason is the row's
error)."""

ACCEPTED: tuple[Component, ...] = tuple(c for c in COMPONENTS if c not in REFUSED)
FIELDS = ("order_id", "store_id", "external_id", "component", "amount", "currency", "source_ref")
MAX_PROBLEMS = 100
# How a header lacking the order's columns is named in ``missing_columns`` (its message says it
# in the reader's language).
ORDER_COLUMNS = "order_id (or store_id and external_id)"
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
        raise ActualsError(Text("cost.actuals.source_required"), code="source_required")
    if not _SOURCE.match(text):
        raise ActualsError(
            Text("cost.actuals.invalid_source", source=repr(text[:120])), code="invalid_source"
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
                    Text("cost.actuals.too_many_values", values=len(fields), columns=width),
                )
                continue
            values = {name: fields[i].strip() for name, i in header.items() if i < len(fields)}
            raw.append((number, values))
    except csv.Error as exc:
        raise ActualsError(
            Text("cost.actuals.invalid_csv", row=number, error=str(exc)), code="invalid_csv"
        ) from exc
    if header is None:
        raise ActualsError(Text("cost.actuals.empty_csv"), code="empty_batch")
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
            Text("cost.actuals.two_sources", body=repr(named), query=repr(source)),
            code="invalid_source",
        )
    name = source_name(named if named is not None else source)
    unknown = sorted(set(body) - {"source", "rows"})
    if unknown:
        raise ActualsError(
            Text("cost.actuals.unknown_batch_fields", fields=", ".join(map(repr, unknown[:10]))),
            code="invalid_batch",
        )
    rows = body.get("rows")
    if not isinstance(rows, list):
        raise ActualsError(Text("cost.actuals.rows_not_a_list"), code="invalid_batch")
    _not_too_many(len(rows))
    raw: list[tuple[int, dict[str, str]]] = []
    problems = _Problems()
    for number, given in enumerate(rows, start=1):
        if not isinstance(given, dict):
            problems.add(number, Text("cost.actuals.row_not_an_object"))
            continue
        extra = sorted(str(key) for key in set(given) - set(FIELDS))
        if extra:
            problems.add(
                number, Text("cost.actuals.unknown_field", fields=", ".join(map(repr, extra[:5])))
            )
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
        raise ActualsError(Text("cost.actuals.too_many_rows", max=MAX_ROWS), code="too_many_rows")


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
        missing.insert(0, ORDER_COLUMNS)
    if missing:
        lacking = [
            Text("cost.actuals.order_columns") if name == ORDER_COLUMNS else name
            for name in missing
        ]
        raise ActualsError(
            Text("cost.actuals.invalid_header", columns=lacking),
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

    def add(self, row: int, reason: Text) -> None:
        # Rendered now: the batch is read while its request is answered.
        self.found.append({"row": row, "reason": str(reason)})

    def raise_if_any(self) -> None:
        if self.found:
            rows = len({problem["row"] for problem in self.found})
            raise ActualsError(
                Text("cost.actuals.invalid_rows", rows=rows),
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
        raise ActualsError(Text("cost.actuals.no_rows"), code="empty_batch")
    stores: dict[str, bool] = {}
    rows: list[ActualRow] = []
    for number, values in raw:
        reasons: list[Text] = []
        order_id = _order_id(values, tenant_id, store_exists, stores, reasons)
        component = _component(values.get("component", ""), reasons)
        currency = _currency(values.get("currency", ""), reasons)
        amount = _amount(values.get("amount", ""), currency, reasons)
        ref = values.get("source_ref") or None
        if ref is not None and len(ref) > _SOURCE_REF_MAX:
            reasons.append(Text("cost.actuals.source_ref_too_long", max=_SOURCE_REF_MAX))
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
    reasons: list[Text],
) -> str | None:
    given = values.get("order_id", "")
    store_id, external_id = values.get("store_id", ""), values.get("external_id", "")
    if given and not _ORDER_ID.match(given):
        reasons.append(Text("cost.actuals.invalid_order_id", order_id=repr(given[:120])))
        return None
    if not store_id and not external_id:
        if not given:
            reasons.append(Text("cost.actuals.no_order"))
        return given or None
    if not store_id or not external_id:
        reasons.append(Text("cost.actuals.store_and_external_id"))
        return None
    if ids.tenant_of_store(store_id) != tenant_id:
        reasons.append(Text("cost.actuals.no_such_store", store_id=repr(store_id[:120])))
        return None
    if store_id not in stores:
        stores[store_id] = store_exists(store_id)
    if not stores[store_id]:
        reasons.append(Text("cost.actuals.no_such_store", store_id=repr(store_id)))
        return None
    if not _EXTERNAL_ID.match(external_id):
        reasons.append(
            Text("cost.actuals.invalid_external_id", external_id=repr(external_id[:120]))
        )
        return None
    ours = ids.order_id(store_id, external_id)
    if given and given != ours:
        reasons.append(
            Text("cost.actuals.order_id_mismatch", order_id=repr(given), expected=repr(ours))
        )
        return None
    return ours


def _component(given: str, reasons: list[Text]) -> Component | None:
    name = given.strip().lower()
    if name in REFUSED:
        reasons.append(
            Text("cost.actuals.refused_component", component=name, why=Text(REFUSED[name]))
        )
        return None
    for component in ACCEPTED:
        if component == name:
            return component
    reasons.append(
        Text("cost.actuals.unknown_component", accepted=", ".join(ACCEPTED), given=_shown(given))
    )
    return None


def _shown(given: str) -> Text | str:
    """A value as a problem quotes it, or the word for nothing."""
    return repr(given) if given else Text("cost.word.empty")


def _currency(given: str, reasons: list[Text]) -> str | None:
    try:
        return currency_code(given)
    except ValueError:
        reasons.append(Text("cost.actuals.invalid_currency", given=_shown(given)))
        return None


def _amount(given: str, currency: str | None, reasons: list[Text]) -> Decimal | None:
    match = _AMOUNT.match(given)
    if match is None:
        if given.startswith("-"):
            reasons.append(Text("cost.actuals.negative_amount", amount=given))
        else:
            reasons.append(Text("cost.actuals.invalid_amount", given=_shown(given)))
        return None
    if currency is None:
        return None
    places = money.minor_units(currency)
    decimals = match.group(1)
    if decimals is not None and len(decimals) > places:
        unit = (
            Text("cost.actuals.no_minor_units")
            if places == 0
            else Text("cost.actuals.decimal_places", places=places)
        )
        reasons.append(
            Text("cost.actuals.too_many_decimals", amount=given, currency=currency, unit=unit)
        )
        return None
    return money.quantize(Decimal(given), currency)
