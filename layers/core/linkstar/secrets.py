"""Secrets Manager values the functions read often (the admin token, the unsubscribe signing
key, the WhatsApp token and app secret), cached per process for a few minutes: a rotated value
is honoured within ``TTL_SECONDS`` without a Secrets Manager call on every request."""

from __future__ import annotations

import threading
import time

from linkstar import aws

TTL_SECONDS = 300
_cache: dict[str, tuple[str, float]] = {}
_lock = threading.Lock()


def secret_value(arn: str) -> str:
    with _lock:
        cached = _cache.get(arn)
        if cached and cached[1] > time.monotonic():
            return cached[0]
    value = str(aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])
    with _lock:
        _cache[arn] = (value, time.monotonic() + TTL_SECONDS)
    return value


def forget() -> None:
    with _lock:
        _cache.clear()
