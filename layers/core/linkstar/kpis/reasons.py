"""How the KPI modules say why a value was refused: :class:`~linkstar.text.Refusal` carries a
message; any other error becomes the generic ``kpi.invalid_value`` quoting it."""

from __future__ import annotations

from linkstar import text
from linkstar.sentence import Sentence
from linkstar.text import Refusal, Text

__all__ = ["Refusal", "Sentence", "reason_of"]


def reason_of(error: BaseException) -> Text:
    """The message of ``error``: the one it carries, else a generic one quoting it."""
    return text.reason_of(error) or Text("kpi.invalid_value", detail=str(error))
