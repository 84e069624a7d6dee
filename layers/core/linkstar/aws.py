"""Lazily created, process-wide boto3 clients.

Created on first use, never at import: importing boto3 costs ~0.4 s, which the webhook path
should pay only once per container and which unit tests should not pay at all.
"""

from __future__ import annotations

import threading
from typing import Any

_clients: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str) -> Any:
    found = _clients.get(service)
    if found is not None:
        return found
    with _lock:
        if service not in _clients:
            import boto3
            from botocore.config import Config

            # Standard retry mode adds jittered backoff for throttling; the webhook path keeps
            # timeouts short so a slow dependency can't push a reply past Shopify's 5 s limit.
            config = Config(
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=2,
                read_timeout=5,
            )
            _clients[service] = boto3.client(service, config=config)
        return _clients[service]


def reset_clients() -> None:
    with _lock:
        _clients.clear()
