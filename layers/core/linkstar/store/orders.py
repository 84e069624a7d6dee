"""Orders in DynamoDB: the full state as a zlib-compressed JSON document (``docz``, binary)
plus the attributes the API filters on. Compression matters because DynamoDB bills writes per
KB: a typical Shopify order's state is 2.3 KB as JSON and 0.85 KB compressed, and every state
change rewrites it inside a transaction (two write units per KB)."""

from __future__ import annotations

import zlib
from typing import Any

from linkstar.orders.state import OrderState
from linkstar.store import dynamo, keys


def load(tenant_id: str, order_id: str) -> OrderState | None:
    item = dynamo.get(keys.order(tenant_id, order_id), consistent=True)
    return _state(item) if item else None


def load_many(tenant_id: str, order_ids: list[str]) -> list[OrderState]:
    """The orders of ``order_ids`` that exist, 100 to a call, in no particular order."""
    found = dynamo.batch_get([keys.order(tenant_id, oid) for oid in order_ids], consistent=True)
    return [_state(item) for item in found]


def _state(item: dict[str, Any]) -> OrderState:
    return OrderState.model_validate_json(zlib.decompress(bytes(item["docz"])))


def _item(state: OrderState) -> dict[str, Any]:
    snap = state.snapshot
    item: dict[str, Any] = {
        **keys.order(state.tenant_id, state.order_id),
        "type": "order",
        "tenant_id": state.tenant_id,
        "order_id": state.order_id,
        "store_id": state.store_id,
        "platform": state.platform.value,
        "external_id": state.external_id,
        "placed": state.placed,
        "market": state.market,
        "version": state.version,
        "docz": zlib.compress(state.model_dump_json().encode(), 6),
    }
    if snap is not None:
        item.update(
            gsi1pk=keys.orders_index(state.tenant_id),
            gsi1sk=f"{snap.created_at.isoformat()}#{state.order_id}",
            status=state.status.value if state.status else None,
            currency=snap.currency,
            total=snap.total,
            created_at=snap.created_at.isoformat(),
            customer_id=state.customer_key,
        )
    return item


def put_op(state: OrderState, expected_version: int) -> dynamo.Op:
    return dynamo.versioned_put_op(_item(state), expected_version)


def list_page(
    tenant_id: str,
    *,
    created_from: str | None,
    created_to: str | None,
    filters: dict[str, str],
    limit: int,
    next_token: str | None,
) -> tuple[list[OrderState], str | None]:
    """Newest first. ``filters`` are exact matches on store_id, status, market, customer_id."""
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    clauses = []
    for i, (name, value) in enumerate(sorted(filters.items())):
        names[f"#f{i}"] = name
        values[f":f{i}"] = value
        clauses.append(f"#f{i} = :f{i}")
    lo = created_from or "0000"
    hi = (created_to or "9999") + "\uffff"
    page = dynamo.query(
        "gsi1pk",
        keys.orders_index(tenant_id),
        index="gsi1",
        sk_name="gsi1sk",
        sk_between=(lo, hi),
        filter_expression=" AND ".join(clauses) or None,
        names=names,
        values=values,
        limit=limit,
        next_token=next_token,
        forward=False,
    )
    return [_state(i) for i in page.items], page.next_token
