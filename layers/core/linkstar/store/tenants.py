"""Tenants and API keys in DynamoDB."""

from __future__ import annotations

from typing import Any

from linkstar.errors import ConcurrentUpdate, Conflict
from linkstar.store import dynamo, keys
from linkstar.tenants.models import ApiKey, Tenant
from linkstar.text import Text


def _key_item(key: ApiKey, digest: str) -> dict[str, Any]:
    return {
        **keys.api_key(key.tenant_id, digest),
        "gsi1pk": keys.api_keys_index(key.tenant_id),
        "gsi1sk": key.key_id,
        "type": "api_key",
        "tenant_id": key.tenant_id,
        "key_id": key.key_id,
        "role": key.role.value,
        "name": key.name,
        "owner": key.owner,
        "created_at": key.created_at.isoformat(),
        "created_by": key.created_by,
        "revoked": key.revoked,
    }


def _key(item: dict[str, Any]) -> ApiKey:
    return ApiKey.model_validate({k: item.get(k) for k in ApiKey.model_fields if k in item})


def create_tenant(tenant: Tenant, owner_key: ApiKey, digest: str) -> None:
    tenant_item = {
        **keys.tenant(tenant.tenant_id),
        "type": "tenant",
        "tenant_id": tenant.tenant_id,
        "name": tenant.name,
        "reporting_currency": tenant.reporting_currency,
        "created_at": tenant.created_at.isoformat(),
    }
    try:
        dynamo.transact(
            [
                dynamo.put_op(tenant_item, condition="attribute_not_exists(pk)", guard=True),
                dynamo.put_op(_key_item(owner_key, digest), condition="attribute_not_exists(pk)"),
                dynamo.put_op(
                    {
                        **keys.tenant_registry(tenant.tenant_id),
                        "type": "tenant_registry",
                        "tenant_id": tenant.tenant_id,
                    }
                ),
            ]
        )
    except ConcurrentUpdate as exc:  # an id collision in 32^11: unlikely, but say so
        raise Conflict(Text("tenant.id_collision"), code="tenant_exists") from exc


def put_key(key: ApiKey, digest: str) -> None:
    dynamo.put(_key_item(key, digest), condition="attribute_not_exists(pk)")


def find_key(tenant_id: str, digest: str) -> ApiKey | None:
    item = dynamo.get(keys.api_key(tenant_id, digest))
    return _key(item) if item else None


def _find_key_item(tenant_id: str, key_id: str) -> dict[str, Any] | None:
    page = dynamo.query(
        "gsi1pk",
        keys.api_keys_index(tenant_id),
        index="gsi1",
        sk_name="gsi1sk",
        sk_between=(key_id, key_id),
        limit=1,
    )
    return page.items[0] if page.items else None


def find_key_by_id(tenant_id: str, key_id: str) -> ApiKey | None:
    item = _find_key_item(tenant_id, key_id)
    return _key(item) if item else None


def list_keys(tenant_id: str) -> list[ApiKey]:
    return [
        _key(item)
        for item in dynamo.query_all("gsi1pk", keys.api_keys_index(tenant_id), index="gsi1")
    ]


def revoke_key(tenant_id: str, key_id: str) -> ApiKey:
    item = _find_key_item(tenant_id, key_id)
    if item is None:
        raise LookupError(key_id)
    updated = dynamo.update(
        {"pk": item["pk"], "sk": item["sk"]},
        "SET revoked = :t",
        values={":t": True},
        return_new=True,
    )
    assert updated is not None
    return _key(updated)


def load_tenant(tenant_id: str) -> Tenant | None:
    item = dynamo.get(keys.tenant(tenant_id))
    if not item:
        return None
    return Tenant(
        tenant_id=item["tenant_id"],
        name=item["name"],
        reporting_currency=item["reporting_currency"],
        created_at=item["created_at"],
    )


def all_tenant_ids() -> list[str]:
    """Every tenant, from the registry written with each tenant (for the jobs that visit all:
    the month close, the KPI alerts, the operator's margin and reconciliation views)."""
    return [item["tenant_id"] for item in dynamo.query_all("pk", keys.TENANT_REGISTRY)]
