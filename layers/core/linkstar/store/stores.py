"""Stores and their ingest counters in DynamoDB."""

from __future__ import annotations

import threading
import time
from typing import Any

from linkstar.errors import ConcurrentUpdate, Conflict
from linkstar.orders.models import Platform
from linkstar.store import dynamo, keys
from linkstar.stores.models import IngestStats, Store
from linkstar.text import Text


def _item(store: Store) -> dict[str, Any]:
    return {
        **keys.store(store.tenant_id, store.store_id),
        "gsi1pk": keys.stores_index(store.tenant_id),
        "gsi1sk": store.store_id,
        "type": "store",
        "tenant_id": store.tenant_id,
        "store_id": store.store_id,
        "platform": store.platform.value,
        "external_id": store.external_id,
        "market": store.market,
        "currency": store.currency,
        "name": store.name,
        "webhook_secrets": list(store.webhook_secrets),
        "created_at": store.created_at.isoformat(),
        "app_key": store.app_key,
        "webhook_url": store.webhook_url,
    }


def _store(item: dict[str, Any]) -> Store:
    return Store.model_validate({k: item[k] for k in Store.model_fields if k in item})


def create(store: Store) -> None:
    # A guard item makes (platform, external id) unique within the tenant.
    guard = {
        "pk": f"T#{store.tenant_id}#STOREEXT#{store.platform.value}#{store.external_id}",
        "sk": "STOREEXT",
        "store_id": store.store_id,
    }
    ops = [
        dynamo.put_op(guard, condition="attribute_not_exists(pk)", guard=True),
        dynamo.put_op(_item(store), condition="attribute_not_exists(pk)", guard=True),
    ]
    if store.platform is Platform.AMAZON:
        # Amazon's queue carries no store id: the SellerId routes it, so it is claimed once.
        route = {
            **keys.amazon_seller(store.external_id),
            "tenant_id": store.tenant_id,
            "store_id": store.store_id,
        }
        ops.append(dynamo.put_op(route, condition="attribute_not_exists(pk)", guard=True))
    try:
        dynamo.transact(ops)
    except ConcurrentUpdate as exc:
        raise Conflict(
            Text(
                "store.already_connected",
                platform=store.platform.value,
                external_id=store.external_id,
            ),
            code="store_exists",
        ) from exc


def find_amazon_seller(seller_id: str) -> Store | None:
    """The store an SP-API notification is for (cached like ``get_cached``)."""
    item = dynamo.get(keys.amazon_seller(seller_id))
    if not item:
        return None
    return get_cached(item["tenant_id"], item["store_id"])


def get(tenant_id: str, store_id: str) -> Store | None:
    item = dynamo.get(keys.store(tenant_id, store_id))
    return _store(item) if item else None


CACHE_SECONDS = 60.0
_cache: dict[tuple[str, str], tuple[Store | None, float]] = {}
_cache_lock = threading.Lock()


def get_cached(tenant_id: str, store_id: str) -> Store | None:
    """``get`` with a one-minute in-process cache: the webhook and ingest paths look a store up
    on every delivery, and stores change rarely (a rotated secret is seen at once by the process
    that rotated it, and within a minute elsewhere — older secrets stay valid meanwhile)."""
    key = (tenant_id, store_id)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit and hit[1] > now:
            return hit[0]
    found = get(tenant_id, store_id)
    with _cache_lock:
        _cache[key] = (found, now + CACHE_SECONDS)
    return found


def forget_cached(tenant_id: str, store_id: str) -> None:
    with _cache_lock:
        _cache.pop((tenant_id, store_id), None)


def list_all(tenant_id: str) -> list[Store]:
    return [
        _store(i) for i in dynamo.query_all("gsi1pk", keys.stores_index(tenant_id), index="gsi1")
    ]


def set_secrets(tenant_id: str, store_id: str, secrets: list[str]) -> None:
    dynamo.update(
        keys.store(tenant_id, store_id),
        "SET webhook_secrets = :s",
        condition="attribute_exists(pk)",
        values={":s": secrets},
    )


def stats(tenant_id: str, store_id: str) -> IngestStats:
    item = dynamo.get(keys.store_stats(tenant_id, store_id)) or {}
    ignored = {
        name.split("#", 1)[1]: int(value)
        for name, value in item.items()
        if name.startswith("ignored#")
    }
    return IngestStats(
        deliveries_processed=int(item.get("deliveries_processed", 0)),
        duplicates=int(item.get("duplicates", 0)),
        stale_ignored=int(item.get("stale_ignored", 0)),
        ignored_topics=ignored,
        dead_lettered=int(item.get("dead_lettered", 0)),
        last_event_at=item.get("last_event_at"),
    )


def count(tenant_id: str, store_id: str, counter: str, *, at: str | None = None) -> None:
    """Add one to an ingest counter (``duplicates``, ``ignored#<topic>``, ...)."""
    expression = "ADD #c :one"
    values: dict[str, Any] = {":one": 1}
    if at:
        expression += " SET last_event_at = :at"
        values[":at"] = at
    dynamo.update(
        keys.store_stats(tenant_id, store_id), expression, names={"#c": counter}, values=values
    )


def stats_op(tenant_id: str, store_id: str, at: str) -> dynamo.Op:
    """The counter update that rides in an ingest transaction."""
    return dynamo.update_op(
        keys.store_stats(tenant_id, store_id),
        "ADD deliveries_processed :one SET last_event_at = :at",
        values={":one": 1, ":at": at},
    )
