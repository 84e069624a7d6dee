"""Rate cards as CSV: how an operator imports a provider's price list into a plan, and exports it.

The format is one header line and one row per destination::

    country,category,unit_price,provider_cost
    US,,0.0079,0.0059
    *,marketing,0.0725,0.0604

- ``country`` and ``unit_price`` are required columns; ``category`` and ``provider_cost`` may be
  left out of the header. Columns may come in any order; header names are case-insensitive.
- A byte-order mark (as spreadsheet exports write) is ignored, and so are blank lines.
- Money is parsed as ``Decimal`` straight from the text, never through a float; ``1e-3`` is
  accepted (it is a number), ``$0.01`` and ``NaN`` are not.
- Every problem in the file is reported, not only the first: :class:`RateCardError` carries a
  list of ``{"line", "column", "reason"}`` (1-based physical line numbers, the header is line
  1; ``column`` is ``""`` when the whole line is wrong; ``reason`` is a
  :class:`~linkstar.text.Text`, answered in the reader's language). Two rows for the same
  ``(country, category)`` are an error, reported on the second with the line of the first.
- Given the ``channel`` the card is for, its rules are checked here too, with line numbers:
  SMS rows have no category, WhatsApp rows each name one (see :mod:`linkstar.billing.plans`).

Pure: no I/O; the caller reads the upload and stores the resulting plan version.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from typing import TypedDict

from linkstar.billing.plans import (
    WHATSAPP_CATEGORIES,
    RateRow,
    normalise_category,
    normalise_country,
)
from linkstar.text import DEFAULT, Text, reason_of

COLUMNS: tuple[str, ...] = ("country", "category", "unit_price", "provider_cost")
REQUIRED_COLUMNS: frozenset[str] = frozenset({"country", "unit_price"})


class RateCardProblem(TypedDict):
    line: int
    column: str
    reason: Text | str


class RateCardError(ValueError):
    """A rate card that can't be imported, with every problem found in it."""

    def __init__(self, problems: list[RateCardProblem]) -> None:
        self.problems = problems
        # In English: this summary is for logs; the API answers with the problems themselves.
        listed = "; ".join(
            f"line {p['line']}"
            + (f" {p['column']}" if p["column"] else "")
            + f": {_english(p['reason'])}"
            for p in problems
        )
        super().__init__(f"rate card has {len(problems)} problem(s): {listed}")


def parse_rate_card_csv(text: str, channel: str | None = None) -> list[RateRow]:
    """The rows of a rate card CSV, in file order; raises :class:`RateCardError`."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    problems: list[RateCardProblem] = []
    header: list[str] | None = None
    for cells in reader:
        if any(cell.strip() for cell in cells):
            header = [cell.strip().lower() for cell in cells]
            break
    if header is None:
        raise RateCardError([_problem(1, "", Text("billing.rate_card.empty"))])
    header_line = reader.line_num
    problems += _header_problems(header, header_line)
    if problems:
        raise RateCardError(problems)

    rows: list[RateRow] = []
    first_seen: dict[tuple[str, str], int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            problems.append(
                _problem(
                    line,
                    "",
                    Text("billing.rate_card.field_count", expected=len(header), found=len(cells)),
                )
            )
            continue
        row_problems: list[RateCardProblem] = []
        values = dict(zip(header, (cell.strip() for cell in cells), strict=True))
        country = _country(values["country"], line, row_problems)
        category = _category(values.get("category", ""), channel, line, row_problems)
        unit_price = _amount(values["unit_price"], "unit_price", line, row_problems)
        if not values["unit_price"]:
            row_problems.append(_problem(line, "unit_price", Text("billing.rate_card.required")))
        provider_cost = None
        if values.get("provider_cost"):
            provider_cost = _amount(values["provider_cost"], "provider_cost", line, row_problems)
        problems += row_problems
        if row_problems or country is None or unit_price is None:
            continue
        key = (country, category)
        if key in first_seen:
            problems.append(
                _problem(
                    line,
                    "country",
                    Text(
                        "billing.rate_card.duplicate",
                        first=first_seen[key],
                        country=repr(country),
                        category=repr(category),
                    ),
                )
            )
            continue
        first_seen[key] = line
        rows.append(
            RateRow(
                country=country,
                category=category,
                unit_price=unit_price,
                provider_cost=provider_cost,
            )
        )
    if problems:
        raise RateCardError(problems)
    return rows


def rate_card_csv(rows: list[RateRow]) -> str:
    """``rows`` as rate card CSV, in their order, all four columns, ``\\n`` line endings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        cost = "" if row.provider_cost is None else str(row.provider_cost)
        writer.writerow([row.country, row.category, str(row.unit_price), cost])
    return out.getvalue()


def _problem(line: int, column: str, reason: Text | str) -> RateCardProblem:
    return {"line": line, "column": column, "reason": reason}


def _english(reason: Text | str) -> str:
    return reason.render(DEFAULT) if isinstance(reason, Text) else reason


def _refused(exc: ValueError) -> Text | str:
    return reason_of(exc) or str(exc)


def _header_problems(header: list[str], line: int) -> list[RateCardProblem]:
    problems: list[RateCardProblem] = []
    seen: set[str] = set()
    for name in header:
        if name not in COLUMNS:
            problems.append(
                _problem(
                    line, name, Text("billing.rate_card.unknown_column", columns=list(COLUMNS))
                )
            )
        elif name in seen:
            problems.append(_problem(line, name, Text("billing.rate_card.column_twice")))
        seen.add(name)
    for name in COLUMNS:
        if name in REQUIRED_COLUMNS and name not in seen:
            problems.append(_problem(line, name, Text("billing.rate_card.column_missing")))
    return problems


def _country(value: str, line: int, problems: list[RateCardProblem]) -> str | None:
    if not value:
        problems.append(_problem(line, "country", Text("billing.rate_card.required")))
        return None
    try:
        return normalise_country(value)
    except ValueError as exc:
        problems.append(_problem(line, "country", _refused(exc)))
        return None


def _category(value: str, channel: str | None, line: int, problems: list[RateCardProblem]) -> str:
    try:
        category = normalise_category(value)
    except ValueError as exc:
        problems.append(_problem(line, "category", _refused(exc)))
        return ""
    if channel == "sms" and category:
        problems.append(
            _problem(line, "category", Text("billing.rate_card.sms_category", value=repr(value)))
        )
    elif channel == "whatsapp" and category not in WHATSAPP_CATEGORIES:
        problems.append(
            _problem(
                line,
                "category",
                Text(
                    "billing.rate_card.whatsapp_category",
                    categories=list(WHATSAPP_CATEGORIES),
                    value=repr(value),
                ),
            )
        )
    return category


def _amount(value: str, column: str, line: int, problems: list[RateCardProblem]) -> Decimal | None:
    if not value:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        problems.append(
            _problem(line, column, Text("billing.rate_card.not_a_number", value=repr(value)))
        )
        return None
    if not amount.is_finite():
        problems.append(
            _problem(line, column, Text("billing.rate_card.not_finite", value=repr(value)))
        )
        return None
    if amount < 0:
        problems.append(_problem(line, column, Text("billing.rate_card.negative", value=value)))
        return None
    return amount
