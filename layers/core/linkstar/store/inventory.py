"""Inventory levels per store, SKU and market (the newest report wins)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from linkstar.orders.models import InventoryLevel
from linkstar.store import dynamo, keys


@dataclass(frozen=True)
class Known:
    level: InventoryLevel
    version: int


def load(tenant_id: str, store_id: str, sku: str, market: str) -> Known | None:
    item = dynamo.get(keys.inventory(tenant_id, store_id, sku, market), consistent=True)
    if not item:
        return None
    return Known(InventoryLevel.model_validate_json(item["doc"]), int(item["version"]))


def put_op(tenant_id: str, store_id: str, level: InventoryLevel, known: Known | None) -> dynamo.Op:
    version = known.version if known else 0
    item: dict[str, Any] = {
        **keys.inventory(tenant_id, store_id, level.sku, level.market),
        "type": "inventory",
        "tenant_id": tenant_id,
        "store_id": store_id,
        "sku": level.sku,
        "market": level.market,
        "fulfillable": level.fulfillable,
        "updated_at": level.updated_at.isoformat(),
        "version": version + 1,
        "doc": level.model_dump_json(),
    }
    return dynamo.versioned_put_op(item, version)
