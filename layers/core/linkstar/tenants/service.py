"""Tenant and key logic: create a tenant with its owner key, mint and revoke keys, authenticate."""

from __future__ import annotations

import hmac

from linkstar import ids
from linkstar.errors import Forbidden, NotFound, Unauthorized
from linkstar.orders.models import utcnow
from linkstar.store import tenants as repo
from linkstar.tenants import keys
from linkstar.tenants.models import ApiKey, ApiKeyCreate, Principal, Role, Tenant, TenantCreate


def create_tenant(request: TenantCreate) -> tuple[Tenant, str]:
    """A new tenant and its first key (role owner). The plaintext key is returned once."""
    now = utcnow()
    tenant = Tenant(
        tenant_id=ids.new_tenant_id(),
        name=request.name,
        reporting_currency=request.reporting_currency,
        created_at=now,
    )
    plaintext = keys.mint(tenant.tenant_id)
    key = ApiKey(
        tenant_id=tenant.tenant_id,
        key_id=ids.new_key_id(),
        role=Role.OWNER,
        name="owner (created with the tenant)",
        created_at=now,
    )
    repo.create_tenant(tenant, key, keys.digest(plaintext))
    return tenant, plaintext


def mint_key(principal: Principal, request: ApiKeyCreate) -> tuple[ApiKey, str]:
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only an owner or admin may create API keys", code="role_forbidden")
    if request.role.rank > principal.role.rank:
        raise Forbidden("a key cannot grant more than its creator has", code="role_escalation")
    plaintext = keys.mint(principal.tenant_id)
    key = ApiKey(
        tenant_id=principal.tenant_id,
        key_id=ids.new_key_id(),
        role=request.role,
        name=request.name,
        owner=request.owner,
        created_at=utcnow(),
        created_by=principal.key_id,
    )
    repo.put_key(key, keys.digest(plaintext))
    return key, plaintext


def revoke_key(principal: Principal, key_id: str) -> ApiKey:
    if not principal.role.at_least(Role.ADMIN):
        raise Forbidden("only an owner or admin may revoke API keys", code="role_forbidden")
    key = repo.find_key_by_id(principal.tenant_id, key_id)
    if key is None:
        raise NotFound("no such API key", code="api_key_not_found")
    if key.role.rank > principal.role.rank:
        raise Forbidden("cannot revoke a key with more rights than yours", code="role_escalation")
    return repo.revoke_key(principal.tenant_id, key_id)


def authenticate(authorization: str | None) -> Principal:
    token = _bearer(authorization)
    tenant_id = keys.parse(token)
    if tenant_id is None:
        raise Unauthorized("unknown or malformed API key", code="invalid_api_key")
    key = repo.find_key(tenant_id, keys.digest(token))
    if key is None or key.revoked:
        raise Unauthorized("unknown or revoked API key", code="invalid_api_key")
    return Principal(tenant_id=key.tenant_id, key_id=key.key_id, role=key.role, owner=key.owner)


def whoami(principal: Principal) -> dict[str, str | None]:
    """The calling key as it may see itself: its tenant (name and reporting currency), key id,
    role and KPI owner. Never the key or its hash."""
    tenant = repo.load_tenant(principal.tenant_id)
    if tenant is None:
        raise NotFound("no such tenant", code="tenant_not_found")
    return {
        "tenant_id": tenant.tenant_id,
        "tenant_name": tenant.name,
        "key_id": principal.key_id,
        "role": principal.role.value,
        "owner": principal.owner,
        "reporting_currency": tenant.reporting_currency,
    }


def check_admin_token(authorization: str | None, expected: str) -> None:
    token = _bearer(authorization)
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Unauthorized(
            "this route needs the operator's admin token", code="invalid_admin_token"
        )


def require(principal: Principal, role: Role) -> None:
    if not principal.role.at_least(role):
        raise Forbidden(f"this needs role {role.value} or higher", code="role_forbidden")


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("missing Authorization: Bearer <key>", code="missing_credentials")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("expected Authorization: Bearer <key>", code="missing_credentials")
    return token.strip()
