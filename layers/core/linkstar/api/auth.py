"""Who is calling: seller API keys and the operator's admin token."""

from __future__ import annotations

import threading
import time

from chalice import Blueprint

from linkstar import aws
from linkstar.settings import get_settings
from linkstar.tenants import service
from linkstar.tenants.models import Principal, Role

_admin_cache: dict[str, tuple[str, float]] = {}
_lock = threading.Lock()
ADMIN_TOKEN_TTL = 300  # seconds; a rotated token is honoured within five minutes


def principal(bp: Blueprint, role: Role = Role.VIEWER) -> Principal:
    who = service.authenticate(bp.current_request.headers.get("authorization"))
    service.require(who, role)
    return who


def _admin_token() -> str:
    arn = get_settings().admin_token_secret_arn or ""
    with _lock:
        cached = _admin_cache.get(arn)
        if cached and cached[1] > time.monotonic():
            return cached[0]
    value = aws.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    with _lock:
        _admin_cache[arn] = (value, time.monotonic() + ADMIN_TOKEN_TTL)
    return value


def require_admin(bp: Blueprint) -> None:
    service.check_admin_token(bp.current_request.headers.get("authorization"), _admin_token())
