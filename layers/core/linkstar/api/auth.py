"""Who is calling: seller API keys and the operator's admin token."""

from __future__ import annotations

from chalice import Blueprint

from linkstar.secrets import secret_value
from linkstar.settings import get_settings
from linkstar.tenants import service
from linkstar.tenants.models import Principal, Role


def principal(bp: Blueprint, role: Role = Role.VIEWER) -> Principal:
    who = service.authenticate(bp.current_request.headers.get("authorization"))
    service.require(who, role)
    return who


def _admin_token() -> str:
    # Cached for a few minutes (linkstar.secrets): a rotated token is honoured within five.
    return secret_value(get_settings().admin_token_secret_arn or "")


def require_admin(bp: Blueprint) -> None:
    service.check_admin_token(bp.current_request.headers.get("authorization"), _admin_token())
