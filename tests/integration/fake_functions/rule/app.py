"""EventBridge rule target: observes the event it was given."""

from typing import Any

from fakelib import observe


def handler(event: dict[str, Any], context: Any) -> None:
    observe("rule", event)
