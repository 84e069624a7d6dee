"""KPI formulas: a small arithmetic language over daily metric facts, parsed once and evaluated
per period. Python's ``eval``/``compile``/``ast`` are never used: a tokenizer and a
recursive-descent parser build an immutable tree of the six node types below, and only that tree
is ever evaluated, so a formula can name metrics and call the functions listed here and nothing
else.

Grammar (whitespace is ignored)::

    formula   := expr END
    expr      := term (("+" | "-") term)*
    term      := unary (("*" | "/") unary)*
    unary     := "-" unary | primary
    primary   := NUMBER | "days" | METRIC | AGGREGATE "(" METRIC ")"
               | SHIFT "(" expr ")" | "(" expr ")"
    NUMBER    := 100 | 0.28 | .5 | 1e3 | 2.5E-2        (a decimal literal, |exponent| <= 30)
    METRIC    := [a-z][a-z0-9_]*                       (at most 64 characters, not reserved)
    AGGREGATE := sum | avg | min | max | last | count
    SHIFT     := prev | prev_year

Meaning, over one *window* (a date range and, per metric, its daily values):

==================  ==============================================================================
``sum(x)``          the total of ``x``'s values in the window
``x``               a bare metric name is ``sum(x)``
``avg(x)``          the mean of the daily values present (days without a value are not zeros)
``min(x)``          the smallest daily value; ``max(x)`` the largest
``last(x)``         the value on the latest day that has one (levels: stock, account-health rates)
``count(x)``        the number of days that have a value
``days``            the window's calendar days, ``start`` to ``end`` inclusive
``prev(e)``         ``e`` over the previous period (growth: ``(gmv - prev(gmv)) / prev(gmv)``)
``prev_year(e)``    ``e`` over the same period a year earlier (``(gmv - prev_year(gmv)) / ...``)
==================  ==============================================================================

Decisions a reader should know:

- **One metric per aggregate.** An aggregate takes exactly one metric name: ``sum(sum(x))``,
  ``sum(prev(x))`` and ``sum(a + b)`` are syntax errors; write ``sum(a) + sum(b)``. ``prev`` and
  ``prev_year`` take any expression but cannot be nested in each other (there is no window two
  periods back). The function names and ``days`` are reserved and cannot name metrics.
- **Daily values.** A window holds, per metric, ``(date, Decimal)`` pairs already filtered to the
  KPI's scope by the caller. Values of the same date are added together first (right for flows
  such as ``ad_spend`` and for stock such as ``inventory_on_hand`` across stores); a rate such as
  ``odr`` must reach the window as one series — the caller picks or weights several stores' rates,
  which a formula cannot know how to do. Values dated outside ``start..end`` are ignored.
- **``days`` is calendar days, not days with data**: a day without a sale is still a day of
  inventory cover. For a period in progress the caller passes a window ending today, so ``days``
  counts the elapsed days (see :func:`linkstar.kpis.scoring.data_ranges`).
- **No data is not zero.** An aggregate over a metric with no value at all in its window (the
  metric is missing, or ``prev``/``prev_year`` has no window) makes the result ``None`` with the
  reason ``"no data: ad_spend"`` (every missing metric, in order of appearance, the shifted ones
  marked ``"gmv (previous period)"`` / ``"gmv (previous year)"``). ``count`` follows the same rule,
  so a formula never shows a number built on an import that never arrived. Reasons and syntax
  errors are messages (:class:`linkstar.text.Text`, codes ``kpi.*``), shown in the reader's
  language; the English is quoted here.
- **Division by zero** gives ``None`` with the reason ``"division by zero: clicks"`` (the
  denominator as written), never an exception or an infinity. Arithmetic is ``Decimal`` with 28
  significant digits, rounded half-even; results are not quantized here.
- **Additive formulas.** :attr:`Formula.additive` is true for a sum of one metric and for sums and
  differences of those, optionally scaled by constants (``gmv``, ``gmv - refund_amount``,
  ``0.05 * gmv``): such a value grows with the days of the period, so scoring prorates its target
  and extrapolates it to period end. Anything with a ratio of metrics, an average, a level, a
  ``prev`` or a free constant (``gmv + 100``) is not.

Entry points: :func:`parse` (raises :class:`FormulaError` with a 0-based ``position``),
:func:`validate` (problems against a metric catalogue, for the save endpoint) and
:func:`evaluate` (an :class:`Outcome`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import (
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Annotated, Any, Literal, TypeAlias, cast

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from linkstar.sentence import Sentence
from linkstar.text import Text

AggregateName = Literal["sum", "avg", "min", "max", "last", "count"]
ShiftName = Literal["prev", "prev_year"]
Operator = Literal["+", "-", "*", "/"]
TokenKind = Literal["number", "name", "op", "lparen", "rparen", "comma", "end"]

AGGREGATES: tuple[AggregateName, ...] = ("sum", "avg", "min", "max", "last", "count")
SHIFTS: tuple[ShiftName, ...] = ("prev", "prev_year")
VARIABLES: tuple[str, ...] = ("days",)
RESERVED: frozenset[str] = frozenset((*AGGREGATES, *SHIFTS, *VARIABLES))
"""Names a metric cannot have: the functions and the built-in variable."""

MAX_LENGTH = 500
MAX_DEPTH = 32
MAX_NAME_LENGTH = 64
MAX_EXPONENT = 30

_NUMBER = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_METRIC = re.compile(r"[a-z][a-z0-9_]*")
_SINGLE: dict[str, TokenKind] = {
    "+": "op",
    "-": "op",
    "*": "op",
    "/": "op",
    "(": "lparen",
    ")": "rparen",
    ",": "comma",
}
_CONTEXT = Context(prec=28, traps=[DivisionByZero, InvalidOperation, Overflow])
# How a value read from an earlier window is named in a reason: "gmv (previous period)".
_WINDOW_NAMES: dict[str, str | None] = {
    "current": None,
    "prev": "kpi.formula.previous_period",
    "prev_year": "kpi.formula.previous_year",
}


def _in_window(what: str, which: str) -> str | Text:
    code = _WINDOW_NAMES[which]
    return what if code is None else Text(code, what=what)


class FormulaError(ValueError):
    """A formula that does not parse; ``position`` is the 0-based index of the offending text.
    ``message`` says what is wrong, ``text`` that and where; ``str()`` is ``text`` in English."""

    def __init__(self, message: Text, position: int) -> None:
        self.message = message
        self.position = position
        self.text = Text("kpi.formula.at_position", error=message, position=position)
        super().__init__(self.text.render("en"))


# --- the tree -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Number:
    value: Decimal
    text: str  # as written, for rendering (``1e3`` stays ``1e3``)


@dataclass(frozen=True, slots=True)
class Aggregate:
    func: AggregateName
    metric: str
    implicit: bool = False  # a bare metric name, read as sum(metric)


@dataclass(frozen=True, slots=True)
class Variable:
    name: str  # "days"


@dataclass(frozen=True, slots=True)
class Negate:
    operand: Node


@dataclass(frozen=True, slots=True)
class BinaryOp:
    op: Operator
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Shift:
    kind: ShiftName
    operand: Node


Node: TypeAlias = Number | Aggregate | Variable | Negate | BinaryOp | Shift


@dataclass(frozen=True)
class Formula:
    """A parsed formula: ``text`` as given, ``root`` of its immutable tree, and what it needs."""

    text: str
    root: Node
    metrics: frozenset[str] = field(init=False)
    """Every metric name referenced, shifted or not: check these against the catalogue."""

    def __post_init__(self) -> None:
        names = {node.metric for node in _walk(self.root) if isinstance(node, Aggregate)}
        object.__setattr__(self, "metrics", frozenset(names))

    @property
    def additive(self) -> bool:
        """True when the value grows with the period's days (see the module docstring)."""
        return _additive(self.root)

    @property
    def needs_previous(self) -> bool:
        """True when the formula uses ``prev(...)``: the caller loads the previous window."""
        return any(isinstance(n, Shift) and n.kind == "prev" for n in _walk(self.root))

    @property
    def needs_previous_year(self) -> bool:
        """True when the formula uses ``prev_year(...)``."""
        return any(isinstance(n, Shift) and n.kind == "prev_year" for n in _walk(self.root))

    def nodes(self) -> Iterator[Node]:
        """Every node of the tree, depth first, parents before children."""
        return _walk(self.root)

    def __str__(self) -> str:
        """The canonical text: single spaces around operators, only the parentheses needed."""
        return render(self.root)


def _walk(node: Node) -> Iterator[Node]:
    yield node
    if isinstance(node, Negate | Shift):
        yield from _walk(node.operand)
    elif isinstance(node, BinaryOp):
        yield from _walk(node.left)
        yield from _walk(node.right)


def _additive(node: Node) -> bool:
    if isinstance(node, Aggregate):
        return node.func == "sum"
    if isinstance(node, Negate):
        return _additive(node.operand)
    if isinstance(node, BinaryOp):
        if node.op in "+-":
            return _additive(node.left) and _additive(node.right)
        if node.op == "*":
            return (isinstance(node.left, Number) and _additive(node.right)) or (
                isinstance(node.right, Number) and _additive(node.left)
            )
        return isinstance(node.right, Number) and _additive(node.left)
    return False


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def render(node: Node) -> str:
    """``node`` as formula text that parses back to the same tree."""
    if isinstance(node, Number):
        return node.text
    if isinstance(node, Aggregate):
        return node.metric if node.implicit else f"{node.func}({node.metric})"
    if isinstance(node, Variable):
        return node.name
    if isinstance(node, Shift):
        return f"{node.kind}({render(node.operand)})"
    if isinstance(node, Negate):
        inner = render(node.operand)
        return f"-({inner})" if isinstance(node.operand, BinaryOp) else f"-{inner}"
    precedence = _PRECEDENCE[node.op]
    left = render(node.left)
    if isinstance(node.left, BinaryOp) and _PRECEDENCE[node.left.op] < precedence:
        left = f"({left})"
    right = render(node.right)
    # Operators are left-associative: a right operand of equal precedence needs parentheses.
    if isinstance(node.right, BinaryOp) and _PRECEDENCE[node.right.op] <= precedence:
        right = f"({right})"
    return f"{left} {node.op} {right}"


# --- tokenizer ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: TokenKind
    text: str
    position: int


def _describe(token: _Token) -> str | Text:
    if token.kind == "end":
        return Text("kpi.formula.token_end")
    if token.kind == "number":
        return Text("kpi.formula.token_number", number=repr(token.text))
    if token.kind == "name":
        return Text("kpi.formula.token_name", name=repr(token.text))
    return repr(token.text)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char in _SINGLE:
            tokens.append(_Token(_SINGLE[char], char, i))
            i += 1
            continue
        number = _NUMBER.match(text, i)
        if number:
            tokens.append(_Token("number", number.group(), i))
            i = number.end()
            continue
        word = _WORD.match(text, i)
        if word:
            name = word.group()
            if not _METRIC.fullmatch(name):
                raise FormulaError(Text("kpi.formula.invalid_name", name=repr(name)), i)
            if len(name) > MAX_NAME_LENGTH:
                raise FormulaError(Text("kpi.formula.name_too_long", limit=MAX_NAME_LENGTH), i)
            tokens.append(_Token("name", name, i))
            i = word.end()
            continue
        raise FormulaError(Text("kpi.formula.unexpected_character", char=repr(char)), i)
    tokens.append(_Token("end", "", len(text)))
    return tokens


# --- parser -------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.in_shift = False

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.peek()
        self.index += 1
        return token

    def nest(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise FormulaError(Text("kpi.formula.too_deep", limit=MAX_DEPTH), token.position)

    def formula(self) -> Node:
        if self.peek().kind == "end":
            raise FormulaError(Text("kpi.formula.empty"), 0)
        node = self.expr()
        token = self.peek()
        if token.kind != "end":
            raise FormulaError(
                Text("kpi.formula.expected_operator", found=_describe(token)), token.position
            )
        return node

    def expr(self) -> Node:
        node = self.term()
        while self.peek().kind == "op" and self.peek().text in "+-":
            op = cast(Operator, self.advance().text)
            node = BinaryOp(op, node, self.term())
        return node

    def term(self) -> Node:
        node = self.unary()
        while self.peek().kind == "op" and self.peek().text in "*/":
            op = cast(Operator, self.advance().text)
            node = BinaryOp(op, node, self.unary())
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.text == "-":
            self.advance()
            self.nest(token)
            operand = self.unary()
            self.depth -= 1
            return Negate(operand)
        return self.primary()

    def primary(self) -> Node:
        token = self.advance()
        if token.kind == "number":
            return _number(token)
        if token.kind == "lparen":
            self.nest(token)
            node = self.expr()
            self.close(token, "'('")
            self.depth -= 1
            return node
        if token.kind == "name":
            if self.peek().kind == "lparen":
                return self.call(token)
            if token.text in VARIABLES:
                return Variable(token.text)
            if token.text in RESERVED:
                raise FormulaError(
                    Text("kpi.formula.is_a_function", name=token.text), token.position
                )
            return Aggregate("sum", token.text, implicit=True)
        raise FormulaError(
            Text("kpi.formula.expected_operand", found=_describe(token)), token.position
        )

    def close(self, opening: _Token, what: str) -> None:
        token = self.peek()
        if token.kind != "rparen":
            raise FormulaError(
                Text(
                    "kpi.formula.unclosed",
                    what=what,
                    position=opening.position,
                    found=_describe(token),
                ),
                token.position,
            )
        self.advance()

    def call(self, name: _Token) -> Node:
        func = name.text
        if func in VARIABLES:
            raise FormulaError(Text("kpi.formula.not_a_function", name=func), name.position)
        if func not in RESERVED:
            raise FormulaError(
                Text(
                    "kpi.formula.unknown_function",
                    name=repr(func),
                    functions=sorted((*AGGREGATES, *SHIFTS)),
                ),
                name.position,
            )
        opening = self.advance()
        self.nest(opening)
        if func in SHIFTS:
            if self.in_shift:
                raise FormulaError(Text("kpi.formula.nested_shift", name=func), name.position)
            self.in_shift = True
            operand = self.expr()
            self.in_shift = False
            self.close(opening, f"{func}(")
            self.depth -= 1
            return Shift(cast(ShiftName, func), operand)
        node = Aggregate(cast(AggregateName, func), self.metric_argument(func))
        self.close(opening, f"{func}(")
        self.depth -= 1
        return node

    def metric_argument(self, func: str) -> str:
        token = self.peek()
        if token.kind == "name" and self.peek(1).kind == "lparen":
            raise FormulaError(Text("kpi.formula.nested_aggregate", name=func), token.position)
        if token.kind != "name" or token.text in RESERVED:
            raise FormulaError(
                Text("kpi.formula.metric_expected", name=func, found=_describe(token)),
                token.position,
            )
        self.advance()
        following = self.peek()
        if following.kind == "comma":
            raise FormulaError(Text("kpi.formula.one_metric", name=func), following.position)
        if following.kind == "op":
            raise FormulaError(Text("kpi.formula.not_an_expression", name=func), following.position)
        return token.text


def _number(token: _Token) -> Number:
    value = Decimal(token.text)
    if value and not -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT:
        raise FormulaError(
            Text("kpi.formula.number_out_of_range", number=repr(token.text)), token.position
        )
    return Number(value, token.text)


def parse(text: str) -> Formula:
    """Parse ``text`` into a :class:`Formula`; raise :class:`FormulaError` on any syntax error."""
    if len(text) > MAX_LENGTH:
        raise FormulaError(Text("kpi.formula.too_long", limit=MAX_LENGTH), MAX_LENGTH)
    return Formula(text, _Parser(text).formula())


def validate(formula: Formula | str, known_metrics: Iterable[str]) -> list[Text]:
    """Problems that should stop a formula being saved, empty when there are none: a syntax error
    (when given text), each metric not in ``known_metrics`` (with the closest known name as a
    hint), and a formula that uses no metric at all."""
    if isinstance(formula, str):
        try:
            formula = parse(formula)
        except FormulaError as exc:
            return [exc.text]
    known = sorted(set(known_metrics))
    problems: list[Text] = []
    for name in sorted(formula.metrics - set(known)):
        hint = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        problems.append(
            Text("kpi.formula.unknown_metric_hint", name=repr(name), hint=repr(hint[0]))
            if hint
            else Text("kpi.formula.unknown_metric", name=repr(name))
        )
    if not formula.metrics:
        problems.append(Text("kpi.formula.no_metric"))
    return problems


# --- data and evaluation ------------------------------------------------------------------------

FiniteDecimal = Annotated[Decimal, Field(allow_inf_nan=False)]


class Window(BaseModel):
    """One period's data: ``start``..``end`` inclusive and, per metric, ``(date, value)`` pairs.

    Several pairs with the same date are added together; pairs outside the range are ignored
    (see the module docstring). ``daily(metric)`` is the resulting series, oldest first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: date
    end: date
    values: dict[str, list[tuple[date, FiniteDecimal]]] = Field(default_factory=dict)

    _daily: dict[str, tuple[tuple[date, Decimal], ...]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError(f"end: {self.end} is before start {self.start}")
        return self

    def model_post_init(self, context: Any, /) -> None:
        for metric, pairs in self.values.items():
            by_day: dict[date, Decimal] = {}
            for day, value in pairs:
                if self.start <= day <= self.end:
                    by_day[day] = by_day.get(day, Decimal(0)) + value
            if by_day:
                self._daily[metric] = tuple(sorted(by_day.items()))

    @property
    def days(self) -> int:
        """Calendar days from ``start`` to ``end``, both included."""
        return (self.end - self.start).days + 1

    def daily(self, metric: str) -> tuple[tuple[date, Decimal], ...]:
        return self._daily.get(metric, ())


class PeriodData(BaseModel):
    """What :func:`evaluate` reads: the current window and, when the formula uses ``prev`` or
    ``prev_year``, the previous period's and the previous year's (``None``: not loaded or no
    such period, which reads as no data)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    current: Window
    previous: Window | None = None
    previous_year: Window | None = None


class Outcome(BaseModel):
    """A KPI value, or ``None`` with the reason there is none (``"no data: ad_spend"``,
    ``"division by zero: clicks"``). Exactly one of the two is set."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: FiniteDecimal | None
    reason: Sentence | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Outcome:
        if (self.value is None) == (self.reason is None):
            raise ValueError("an outcome has either a value or a reason, not both or neither")
        return self

    @classmethod
    def of(cls, value: Decimal) -> Outcome:
        return cls(value=value)

    @classmethod
    def missing(cls, reason: Text | str) -> Outcome:
        return cls(value=None, reason=reason)


class _Undefined(Exception):
    """The value is undefined (a zero denominator); ``reason`` is the outcome's."""

    def __init__(self, reason: Text) -> None:
        super().__init__(reason.render("en"))
        self.reason = reason


def _window(data: PeriodData, which: str) -> Window | None:
    if which == "prev":
        return data.previous
    if which == "prev_year":
        return data.previous_year
    return data.current


def _missing(node: Node, data: PeriodData, which: str, found: list[str | Text]) -> None:
    if isinstance(node, Aggregate):
        window = _window(data, which)
        if window is None or not window.daily(node.metric):
            label = _in_window(node.metric, which)
            if label not in found:
                found.append(label)
    elif isinstance(node, Shift):
        _missing(node.operand, data, node.kind, found)
    elif isinstance(node, Negate):
        _missing(node.operand, data, which, found)
    elif isinstance(node, BinaryOp):
        _missing(node.left, data, which, found)
        _missing(node.right, data, which, found)


def _aggregate(func: AggregateName, series: tuple[tuple[date, Decimal], ...]) -> Decimal:
    values = [value for _, value in series]
    if func == "sum":
        return sum(values, Decimal(0))
    if func == "avg":
        return sum(values, Decimal(0)) / len(values)
    if func == "min":
        return min(values)
    if func == "max":
        return max(values)
    if func == "last":
        return values[-1]
    return Decimal(len(values))


def _eval(node: Node, data: PeriodData, which: str) -> Decimal:
    if isinstance(node, Number):
        return node.value
    if isinstance(node, Shift):
        return _eval(node.operand, data, node.kind)
    if isinstance(node, Negate):
        return -_eval(node.operand, data, which)
    window = _window(data, which)
    if isinstance(node, Variable | Aggregate):
        if window is None:
            raise _Undefined(Text("kpi.no_data", metrics=[_in_window(render(node), which)]))
        if isinstance(node, Variable):
            return Decimal(window.days)
        return _aggregate(node.func, window.daily(node.metric))
    left = _eval(node.left, data, which)
    right = _eval(node.right, data, which)
    if node.op == "+":
        return left + right
    if node.op == "-":
        return left - right
    if node.op == "*":
        return left * right
    if right == 0:
        raise _Undefined(
            Text("kpi.division_by_zero", denominator=_in_window(render(node.right), which))
        )
    return left / right


def evaluate(formula: Formula, data: PeriodData) -> Outcome:
    """The formula's value over ``data``, or ``None`` with the reason (see the module docstring).
    Never raises for missing data, a zero denominator or an overflow."""
    missing: list[str | Text] = []
    _missing(formula.root, data, "current", missing)
    if missing:
        return Outcome.missing(Text("kpi.no_data", metrics=missing))
    try:
        with localcontext(_CONTEXT):
            value = _eval(formula.root, data, "current")
    except _Undefined as exc:
        return Outcome.missing(exc.reason)
    except DecimalException:
        return Outcome.missing(Text("kpi.arithmetic_overflow"))
    # -0 (from negating a zero) reads as 0.
    return Outcome.of(value if value else Decimal(0))
