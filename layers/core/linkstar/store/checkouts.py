"""Checkouts in DynamoDB (the newest platform ``updated_at`` wins)."""

from __future__ import annotations

from typing import Any

from linkstar.orders.models import Checkout
from linkstar.store import dynamo, keys


def load(tenant_id: str, store_id: str, token: str) -> tuple[Checkout, int] | None:
    item = dynamo.get(keys.checkout(tenant_id, store_id, token), consistent=True)
    if not item:
        return None
    return Checkout.model_validate_json(item["doc"]), int(item["version"])


def put_op(tenant_id: str, store_id: str, checkout: Checkout, expected_version: int) -> dynamo.Op:
    item: dict[str, Any] = {
        **keys.checkout(tenant_id, store_id, checkout.external_id),
        "type": "checkout",
        "tenant_id": tenant_id,
        "store_id": store_id,
        "email": checkout.email,
        "completed": checkout.completed_at is not None,
        "updated_at": checkout.updated_at.isoformat(),
        "version": expected_version + 1,
        "doc": checkout.model_dump_json(),
    }
    return dynamo.versioned_put_op(item, expected_version)
