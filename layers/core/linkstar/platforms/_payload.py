"""Reading marketplace push bodies: the checks every adapter makes, in one place.

Each raises ``ValueError`` with the field's name; the adapter turns it into a
``PermanentError(code="invalid_payload")`` naming the topic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z


def obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{name} is not a JSON object")
    return value


def ident(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValueError(f"data.{key} is missing or not an id: {value!r}")
    return str(value)


def word(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"data.{key} is missing or not a string: {value!r}")
    return value


def epoch(value: Any, name: str) -> datetime:
    """Unix time in seconds (TikTok, Shopee) or milliseconds (Lazada uses both), told apart by
    size: 1e11 seconds would be the year 5138."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{name} is missing or not a Unix time: {value!r}")
    if isinstance(value, str):
        if not value.strip().isdigit():
            raise ValueError(f"{name} is not a Unix time: {value!r}")
        value = int(value)
    if not value > 0:
        raise ValueError(f"{name} is not a Unix time: {value!r}")
    if value > 1e11:
        if value > _MAX_SECONDS * 1000:
            raise ValueError(f"{name} is out of range: {value!r}")
        return _EPOCH + timedelta(milliseconds=value)
    return _EPOCH + timedelta(seconds=value)
