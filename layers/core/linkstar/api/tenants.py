"""Tenants (operator only) and API keys (owner/admin)."""

from __future__ import annotations

from chalice import Blueprint, Response

from linkstar.api.auth import principal, require_admin
from linkstar.api.http import json_response, parse_body, route
from linkstar.errors import NotFound
from linkstar.store import tenants as tenant_repo
from linkstar.tenants import service
from linkstar.tenants.models import ApiKey, ApiKeyCreate, Role, TenantCreate

bp = Blueprint(__name__)


def _key_view(key: ApiKey) -> dict:
    return key.model_dump(mode="json", exclude={"tenant_id"})


@route(bp, "/health", methods=["GET"])
def health() -> dict:
    return {"status": "ok"}


@route(bp, "/tenants", methods=["POST"])
def create_tenant() -> Response:
    require_admin(bp)
    tenant, api_key = service.create_tenant(parse_body(bp, TenantCreate))
    body = {**tenant.model_dump(mode="json"), "api_key": api_key, "role": Role.OWNER.value}
    return json_response(body, 201)


@route(bp, "/api-keys", methods=["POST"])
def create_api_key() -> Response:
    who = principal(bp, Role.ADMIN)
    key, plaintext = service.mint_key(who, parse_body(bp, ApiKeyCreate))
    return json_response({**_key_view(key), "api_key": plaintext}, 201)


@route(bp, "/api-keys", methods=["GET"])
def list_api_keys() -> dict:
    who = principal(bp, Role.ADMIN)
    return {"api_keys": [_key_view(k) for k in tenant_repo.list_keys(who.tenant_id)]}


@route(bp, "/api-keys/{key_id}", methods=["DELETE"])
def revoke_api_key(key_id: str) -> dict:
    who = principal(bp, Role.ADMIN)
    try:
        key = service.revoke_key(who, key_id)
    except LookupError as exc:
        raise NotFound("no such API key", code="api_key_not_found") from exc
    return _key_view(key)
