"""Reads shared by the records of one Lambda invocation (one SQS batch): the tenant's cost model
and FX rates, which every order of a batch would otherwise read again.

Only inside :func:`scope` (which :func:`linkstar.sqs_handler.sqs_handler` opens per invocation)
is anything kept; elsewhere — the API, a test calling a service — :func:`get` loads every time.
What a batch sees is at most one batch old, the same staleness a read made at the start of the
batch would have; a cost model or rate change is followed by a recost, which reads afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

_active: dict[Hashable, Any] | None = None


@contextmanager
def scope() -> Iterator[None]:
    global _active
    outer, _active = _active, {}
    try:
        yield
    finally:
        _active = outer


def get(key: Hashable, load: Callable[[], T]) -> T:
    if _active is None:
        return load()
    if key not in _active:
        _active[key] = load()
    return _active[key]  # type: ignore[no-any-return]
