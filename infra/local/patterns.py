"""EventBridge event patterns, as Lambda applies them in event source ``FilterCriteria``.

Supported: exact values (strings, numbers compared numerically, booleans, null), nested objects,
arrays of matchers (OR; an array in the event matches when any element does), ``prefix``,
``suffix``, ``equals-ignore-case``, ``anything-but`` (a value, a list, or a prefix/suffix),
``exists``, ``numeric`` comparisons, ``wildcard`` and ``$or``. Unknown matchers raise, so a
filter the local stack would get wrong fails loudly instead of dropping records quietly.
"""

from __future__ import annotations

import fnmatch
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

_MISSING = object()

_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class PatternError(ValueError):
    """A filter pattern uses something this implementation does not understand."""


def matches_any(patterns: Iterable[Mapping[str, Any]], event: Mapping[str, Any]) -> bool:
    """Lambda's rule for FilterCriteria: no filters pass everything, several filters are OR."""
    patterns = list(patterns)
    return not patterns or any(matches(pattern, event) for pattern in patterns)


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    if not isinstance(pattern, Mapping):
        raise PatternError(f"a pattern is an object, got {pattern!r}")
    for key, expected in pattern.items():
        if key == "$or":
            if not any(matches(alternative, event) for alternative in expected):
                return False
            continue
        value = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(expected, Mapping):
            if not isinstance(value, Mapping) or not matches(expected, value):
                return False
        elif isinstance(expected, list):
            if not _field_matches(expected, value):
                return False
        else:
            raise PatternError(f"pattern values are arrays or objects, got {key}: {expected!r}")
    return True


def _field_matches(matchers: list[Any], value: Any) -> bool:
    candidates = value if isinstance(value, list) else [value]
    for matcher in matchers:
        if isinstance(matcher, Mapping) and "exists" in matcher:
            present = value is not _MISSING
            if present == bool(matcher["exists"]):
                return True
            continue
        if value is _MISSING:
            continue
        if any(_matches_one(matcher, candidate) for candidate in candidates):
            return True
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(expected: Any, value: Any) -> bool:
    if _is_number(expected) and _is_number(value):
        return float(expected) == float(value)
    if isinstance(expected, bool) or isinstance(value, bool):
        return type(expected) is type(value) and expected == value
    return bool(expected == value)


def _matches_one(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, Mapping):
        return _equal(matcher, value)
    if len(matcher) != 1:
        raise PatternError(f"a content filter has exactly one key, got {dict(matcher)!r}")
    kind, argument = next(iter(matcher.items()))
    if kind == "prefix":
        return _string_test(argument, value, str.startswith)
    if kind == "suffix":
        return _string_test(argument, value, str.endswith)
    if kind == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == str(argument).casefold()
    if kind == "wildcard":
        return isinstance(value, str) and fnmatch.fnmatchcase(value, str(argument))
    if kind == "anything-but":
        if isinstance(argument, Mapping):
            return not _matches_one(argument, value)
        excluded = argument if isinstance(argument, list) else [argument]
        return not any(_equal(item, value) for item in excluded)
    if kind == "numeric":
        if not _is_number(value):
            return False
        pairs = list(argument)
        return all(
            _NUMERIC[pairs[i]](float(value), float(pairs[i + 1])) for i in range(0, len(pairs), 2)
        )
    raise PatternError(f"unsupported content filter {kind!r}")


def _string_test(argument: Any, value: Any, test: Callable[[str, str], bool]) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(argument, Mapping) and "equals-ignore-case" in argument:
        return test(value.casefold(), str(argument["equals-ignore-case"]).casefold())
    return test(value, str(argument))
