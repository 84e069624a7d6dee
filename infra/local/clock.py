"""The local stack's notion of "now": every schedule reads the time through ``now()``.

One function on purpose, so the operator can later be given a way to move time forward (to see
a daily report or a month close without waiting) by changing this module alone.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)
