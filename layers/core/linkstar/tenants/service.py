"""Tenant and key logic: create a tenant with its owner key, mint and revoke keys, authenticate."""

from __future__ import annotations

import hmac

from linkstar import ids
from linkstar.errors import Forbidden, NotFound, Unauthorized
from linkstar.orders.models import utcnow
from linkstar.store import tenants as repo
from linkstar.tenants import keys
from linkstar.tenants.models import ApiKey, ApiKeyCreate, Principal, Role, Tenant, TenantCreate
from linkstar.text import Text


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
        raise Forbidden(Text("tenant.create_keys_forbidden"), code="role_forbidden")
    if request.role.rank > principal.role.rank:
        raise Forbidden(Text("tenant.grant_escalation"), code="role_escalation")
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
        raise Forbidden(Text("tenant.revoke_keys_forbidden"), code="role_forbidden")
    key = repo.find_key_by_id(principal.tenant_id, key_id)
    if key is None:
        raise NotFound(Text("tenant.api_key_not_found"), code="api_key_not_found")
    if key.role.rank > principal.role.rank:
        raise Forbidden(Text("tenant.revoke_escalation"), code="role_escalation")
    return repo.revoke_key(principal.tenant_id, key_id)


def authenticate(authorization: str | None) -> Principal:
    token = _bearer(authorization)
    tenant_id = keys.parse(token)
    if tenant_id is None:
        raise Unauthorized(Text("tenant.malformed_api_key"), code="invalid_api_key")
    key = repo.find_key(tenant_id, keys.digest(token))
    if key is None or key.revoked:
        raise Unauthorized(Text("tenant.revoked_api_key"), code="invalid_api_key")
    return Principal(tenant_id=key.tenant_id, key_id=key.key_id, role=key.role, owner=key.owner)


def whoami(principal: Principal) -> dict[str, str | None]:
    """The calling key as it may see itself: its tenant (name and reporting currency), key id,
    role and KPI owner. Never the key or its hash."""
    tenant = repo.load_tenant(principal.tenant_id)
    if tenant is None:
        raise NotFound(Text("tenant.not_found"), code="tenant_not_found")
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
        raise Unauthorized(Text("tenant.admin_token_required"), code="invalid_admin_token")


def require(principal: Principal, role: Role) -> None:
    if not principal.role.at_least(role):
        raise Forbidden(Text("tenant.role_required", role=role.value), code="role_forbidden")


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized(Text("tenant.missing_bearer"), code="missing_credentials")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(Text("tenant.malformed_bearer"), code="missing_credentials")
    return token.strip()
