"""What the KPI modules need to carry a sentence for people (:mod:`linkstar.text`) through their
pydantic models and their validators.

- :data:`Sentence` is a model field holding a :class:`~linkstar.text.Text` (or a plain string: an
  older value, or another module's reason). ``model_dump(mode="json")`` renders it in the locale
  in use — inside a request, the one the request asked for — and the JSON schema says ``string``,
  which is what a client receives.
- :class:`Refusal` is a ``ValueError`` that carries its message: validators raise it so that the
  row or fact problems built from the error say the reason in the reader's language, while
  ``str()`` (pydantic's ``msg``, a log line) stays English.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

from linkstar import text
from linkstar.text import Text


def _sentence(value: Any) -> Text | str:
    loaded = text.load(value)
    if loaded is None:
        raise ValueError("a sentence is required")
    return loaded


def _render(value: Text | str) -> str:
    return str(value)


Sentence = Annotated[
    Text | str,
    PlainValidator(_sentence),
    PlainSerializer(_render, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string"}),
]
"""A sentence on a model: a :class:`Text`, rendered when the model is dumped as JSON."""


class Refusal(ValueError):
    """A value refused, and why, as a message; ``str()`` is the English sentence."""

    def __init__(self, reason: Text) -> None:
        super().__init__(reason.render("en"))
        self.reason = reason


def reason_of(error: BaseException) -> Text:
    """The message of ``error``: a :class:`Refusal`'s own, else a generic one quoting it."""
    if isinstance(error, Refusal):
        return error.reason
    return Text("kpi.invalid_value", detail=str(error))
