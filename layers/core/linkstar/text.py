"""Sentences LinkStar writes for people — a KPI's reason for having no value, why a message is
held, how a cost was worked out, what is wrong with an imported row, an API error's message — in
the reader's language.

Code never builds such a sentence as a string. It names a message in the catalogue
(``linkstar/messages/<locale>/<area>.json``) and gives its parameters::

    Text("kpi.no_data", metrics=["ad_spend"])

A :class:`Text` is rendered when it is shown: an API response renders it in the locale the
request asked for (``Accept-Language``, set by :func:`linkstar.api.http.route` through
:func:`use_locale`); anything else (a log line, ``str()`` outside a request) gets English. What
is stored for later (a held message's reason, an import job's row problems) is the message, not
its English: :meth:`Text.dump` gives a JSON/DynamoDB-safe mapping and :func:`load` turns it (or a
plain string written before messages existed) back into something to render.

Parameters are strings, numbers, other :class:`Text` (a component's or stage's name, rendered in
the same locale) or lists of those (joined the locale's way). A catalogue entry names its
parameters as ``{name}``; ``tests/unit/test_server_messages.py`` checks that both locales hold
every message the code names, with the same parameters, and that the Chinese is Chinese.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, Union

LOCALES = ("en", "zh-CN")
DEFAULT = "en"
CATALOGUE_DIR = Path(__file__).resolve().parent / "messages"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# How a list parameter is joined: Chinese enumerates with 、 ("广告费、佣金"). Clauses (whole
# reasons one after another, each of which may itself list with commas) take a semicolon.
_LIST_SEPARATOR = {"en": ", ", "zh-CN": "、"}
_CLAUSE_SEPARATOR = {"en": "; ", "zh-CN": "；"}

_locale: contextvars.ContextVar[str] = contextvars.ContextVar("linkstar_locale", default=DEFAULT)

Param = Union[str, int, float, Decimal, "Text", "Clauses", Sequence[Any], None]


@functools.cache
def catalogue(locale: str) -> dict[str, str]:
    """The messages of ``locale`` by code (read once per process, on first use): every file of
    ``messages/<locale>/``, one per area of the code (a code's first part names its file)."""
    merged: dict[str, str] = {}
    for path in sorted((CATALOGUE_DIR / locale).glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def current_locale() -> str:
    return _locale.get()


@contextlib.contextmanager
def use_locale(locale: str) -> Iterator[str]:
    """Render :class:`Text` in ``locale`` (one of :data:`LOCALES`) inside the block."""
    token = _locale.set(locale if locale in LOCALES else DEFAULT)
    try:
        yield _locale.get()
    finally:
        _locale.reset(token)


def negotiate(accept_language: str | None) -> str:
    """The locale an ``Accept-Language`` header asks for (RFC 9110 §12.5.4): the highest-weighted
    range we have, ``zh``/``zh-*`` meaning zh-CN; English when it names nothing we have or cannot
    be read (a header is the client's wish, never an error)."""
    best, best_q = DEFAULT, -1.0
    for part in (accept_language or "")[:1024].split(","):
        tag, _, rest = part.strip().partition(";")
        tag = tag.strip().lower()
        q = 1.0
        for option in rest.split(";"):
            name, _, value = option.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if not 0.0 < q <= 1.0:
            continue
        if tag == "zh" or tag.startswith("zh-"):
            found = "zh-CN"
        elif tag == "en" or tag.startswith("en-"):
            found = "en"
        else:
            continue
        # Equal weights: the first listed wins (a strict > keeps the earlier one).
        if q > best_q:
            best, best_q = found, q
    return best


class Text:
    """A message of the catalogue and its parameters, rendered in the current locale by ``str``."""

    __slots__ = ("code", "params")

    def __init__(self, code: str, /, **params: Param) -> None:
        self.code = code
        self.params = params

    def render(self, locale: str | None = None) -> str:
        locale = locale or current_locale()
        template = catalogue(locale).get(self.code) or catalogue(DEFAULT).get(self.code)
        if template is None:
            # A code the catalogue lacks is a bug the catalogue test catches; a reader still gets
            # the code and its values rather than an error.
            shown = ", ".join(f"{k}={_render(v, locale)}" for k, v in self.params.items())
            return f"{self.code}({shown})" if shown else self.code
        return _PLACEHOLDER.sub(
            lambda m: (
                _render(self.params[m.group(1)], locale)
                if m.group(1) in self.params
                else m.group(0)
            ),
            template,
        )

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Text({self.code!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Text) and other.code == self.code and other.params == self.params

    def __hash__(self) -> int:
        return hash(self.code)

    def dump(self) -> dict[str, Any]:
        """The message as a JSON- and DynamoDB-safe mapping (:func:`load` reads it back)."""
        return {"code": self.code, "params": {k: _dump(v) for k, v in self.params.items()}}


class Clauses(tuple[Any, ...]):
    """Sentences one after another ("no rule for DE; no rate for EUR"), separated the way the
    locale separates clauses when rendered: a parameter, or ``str()`` of it."""

    def __str__(self) -> str:
        return _render(self, current_locale())


def _render(value: Any, locale: str) -> str:
    if isinstance(value, Text):
        return value.render(locale)
    if isinstance(value, Clauses):
        return _CLAUSE_SEPARATOR.get(locale, "; ").join(_render(v, locale) for v in value)
    if isinstance(value, list | tuple):
        return _LIST_SEPARATOR.get(locale, ", ").join(_render(v, locale) for v in value)
    if value is None:
        return "—"
    return str(value)


def _dump(value: Any) -> Any:
    if isinstance(value, Text):
        return value.dump()
    if isinstance(value, Clauses):
        return {"clauses": [_dump(v) for v in value]}
    if isinstance(value, list | tuple):
        return [_dump(v) for v in value]
    if isinstance(value, float):
        return str(value)  # DynamoDB takes no float
    return value


def _load(value: Any) -> Any:
    if isinstance(value, Mapping) and "code" in value and "params" in value:
        return load(value)
    if isinstance(value, Mapping) and isinstance(value.get("clauses"), list):
        return Clauses(_load(v) for v in value["clauses"])
    if isinstance(value, list):
        return [_load(v) for v in value]
    return value


def load(stored: Any) -> Text | str | None:
    """A stored message (:meth:`Text.dump`) as a :class:`Text`; a plain string (stored before
    messages existed) or ``None`` as it is."""
    if isinstance(stored, Text) or stored is None or isinstance(stored, str):
        return stored
    if isinstance(stored, Mapping) and isinstance(stored.get("code"), str):
        params = stored.get("params") or {}
        return Text(stored["code"], **{str(k): _load(v) for k, v in params.items()})
    return str(stored)


def render(value: Any) -> Any:
    """``value`` with every :class:`Text` in it rendered in the current locale (dicts and lists
    walked): what a reader gets of a structure holding messages."""
    if isinstance(value, Text | Clauses):
        return str(value)
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v) for v in value]
    return value


# ---------------------------------------------------------------- stored and refused


# The serialisation context that keeps sentences as messages (``model_dump_json(context=STORED)``
# of a model with :data:`linkstar.sentence.Sentence` fields): what is written to a table item, so
# that it is rendered in its reader's language when read.
STORED = {"stored": True}


class Refusal(ValueError):
    """A value refused, and why, as a message: validators raise it so that the problem reaches
    its reader in their language, while ``str()`` (pydantic's ``msg`` outside a request, a log
    line) is the English sentence."""

    def __init__(self, reason: Text) -> None:
        super().__init__(reason.render(DEFAULT))
        self.reason = reason


def reason_of(error: BaseException) -> Text | None:
    """The message an error carries: a :class:`Refusal`'s, or a ``ValueError(Text(...))``'s
    argument; ``None`` for an error that carries none."""
    if isinstance(error, Refusal):
        return error.reason
    if error.args and isinstance(error.args[0], Text):
        return error.args[0]
    return None
