"""The one clock: every LinkStar module that needs "now" calls :func:`now`.

In AWS this is the system clock. The local stack sets ``LINKSTAR_CLOCK_FILE`` in every process it
starts; the file holds ``{"offset_seconds": <float>}`` and :func:`now` is the system time plus
that offset, so the operator can move the whole stack's time forward (``POST /_local/clock``)
and a daily report or a month close happens without waiting. A missing file means offset 0.

The file is checked on every call but read only when it changed (its inode, mtime and size are
compared): :func:`set_offset` replaces it atomically, so each write is a new inode even when two
writes land in the same filesystem-timestamp tick.

Tests pin the time in-process with :func:`override`.

Only the standard library is imported: Lambda handlers import this module on every cold start.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

CLOCK_FILE_ENV = "LINKSTAR_CLOCK_FILE"
"""Path of the offset file; only the local stack sets it."""


class ClockFileError(ValueError):
    """The clock file exists but does not hold ``{"offset_seconds": <number>}``."""


# (path, (st_ino, st_mtime_ns, st_size), offset): replaced as a whole, never mutated, so readers
# in other threads see either the old or the new entry without a lock.
_cache: tuple[str, tuple[int, int, int], float] | None = None


class PinnedClock:
    """The moment :func:`now` returns while an :func:`override` is active; tests move it."""

    def __init__(self, moment: datetime) -> None:
        self.moment = _aware_utc(moment)

    def set(self, moment: datetime) -> None:
        self.moment = _aware_utc(moment)

    def advance(self, seconds: float = 0, **delta: float) -> datetime:
        """Move forward by ``seconds`` plus any ``timedelta`` keywords; returns the new moment."""
        self.moment += timedelta(seconds=seconds, **delta)
        return self.moment


_pinned: PinnedClock | None = None
_pin_lock = threading.Lock()


def now() -> datetime:
    """The current time, timezone-aware, in UTC (the local stack's time when it runs locally)."""
    pinned = _pinned
    if pinned is not None:
        return pinned.moment
    return datetime.now(UTC) + timedelta(seconds=offset_seconds())


def offset_seconds(path: str | os.PathLike[str] | None = None) -> float:
    """Seconds the clock runs ahead of the system clock: 0 unless a clock file says otherwise.

    ``path`` defaults to ``$LINKSTAR_CLOCK_FILE``.
    """
    global _cache
    location = os.fspath(path) if path is not None else os.environ.get(CLOCK_FILE_ENV)
    if not location:
        return 0.0
    try:
        stat = os.stat(location)
    except FileNotFoundError:
        return 0.0
    signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
    cached = _cache
    if cached is not None and cached[0] == location and cached[1] == signature:
        return cached[2]
    offset = _read_offset(Path(location))
    _cache = (location, signature, offset)
    return offset


def set_offset(path: str | os.PathLike[str], seconds: float) -> None:
    """Write the clock file atomically, so no reader ever sees half of it."""
    if not math.isfinite(seconds):
        raise ValueError(f"offset must be a finite number of seconds, got {seconds!r}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # The temporary file must be on the same filesystem for os.replace to be atomic.
    handle, scratch = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump({"offset_seconds": float(seconds)}, file)
        os.replace(scratch, target)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise


@contextmanager
def override(moment: datetime) -> Iterator[PinnedClock]:
    """Pin :func:`now` to ``moment`` for the whole process until the block ends.

    Every thread sees the pinned time (a handler's worker threads included). Overrides nest and
    restore the previous one on exit; two threads entering overrides at the same time is not
    supported, since there is one clock. ``moment`` must be timezone-aware.
    """
    global _pinned
    pinned = PinnedClock(moment)
    with _pin_lock:
        previous, _pinned = _pinned, pinned
    try:
        yield pinned
    finally:
        with _pin_lock:
            _pinned = previous


def _read_offset(path: Path) -> float:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return 0.0
    except ValueError as exc:
        raise ClockFileError(f"{path} is not JSON") from exc
    offset = data.get("offset_seconds") if isinstance(data, dict) else None
    # bool is an int subclass; true is not a number of seconds.
    if isinstance(offset, bool) or not isinstance(offset, int | float) or not math.isfinite(offset):
        raise ClockFileError(f"{path} must hold {{'offset_seconds': <number>}}")
    return float(offset)


def _aware_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a clock time must be timezone-aware, got {moment!r}")
    return moment.astimezone(UTC)
