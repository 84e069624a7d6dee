"""How the KPI modules say why a value was refused: the message an error carries
(:func:`linkstar.text.reason_of`), or the generic ``kpi.invalid_value`` quoting any other."""

from __future__ import annotations

from linkstar import text
from linkstar.text import Text


def reason_of(error: BaseException) -> Text:
    """The message of ``error``: the one it carries, else a generic one quoting it."""
    return text.reason_of(error) or Text("kpi.invalid_value", detail=str(error))
