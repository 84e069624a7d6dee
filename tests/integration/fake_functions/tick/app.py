"""Scheduled handler: observes each event and the context it ran with."""

from typing import Any

from fakelib import observe


def handler(event: dict[str, Any], context: Any) -> None:
    observe(
        "schedule",
        {
            "event": event,
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "invoked_function_arn": context.invoked_function_arn,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
    )
