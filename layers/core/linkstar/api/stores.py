"""Connected stores: create, list, inspect (with ingest counters), rotate webhook secrets."""

from __future__ import annotations

import os

from chalice import Blueprint, Response

from linkstar import ids
from linkstar.api.auth import principal
from linkstar.api.http import json_response, parse_body, route
from linkstar.errors import NotFound
from linkstar.orders.models import utcnow
from linkstar.store import stores as store_repo
from linkstar.stores.models import SecretRotation, Store, StoreCreate, StoreView
from linkstar.tenants.models import Role

bp = Blueprint(__name__)
MAX_ACTIVE_SECRETS = 3


def _base_url() -> str:
    """Public base URL for webhook URLs: PUBLIC_BASE_URL if set, else derived from the request
    (API Gateway's execute-api host needs the stage in the path)."""
    configured = os.environ.get("PUBLIC_BASE_URL")
    if configured:
        return configured.rstrip("/")
    request = bp.current_request
    host = request.headers.get("host", "localhost")
    proto = request.headers.get("x-forwarded-proto", "https" if "amazonaws" in host else "http")
    stage = (request.context or {}).get("stage")
    prefix = f"/{stage}" if stage and "execute-api" in host else ""
    return f"{proto}://{host}{prefix}"


def _view(store: Store, with_stats: bool = False) -> StoreView:
    return StoreView(
        store_id=store.store_id,
        platform=store.platform,
        external_id=store.external_id,
        market=store.market,
        currency=store.currency,
        name=store.name,
        webhook_url=f"{_base_url()}/webhooks/{store.platform.value}/{store.store_id}",
        webhook_secrets_active=len(store.webhook_secrets),
        created_at=store.created_at,
        ingest=store_repo.stats(store.tenant_id, store.store_id) if with_stats else None,
    )


def _load(tenant_id: str, store_id: str) -> Store:
    store = store_repo.get(tenant_id, store_id) if ids.tenant_of_store(store_id) else None
    if store is None:
        raise NotFound("no such store", code="store_not_found")
    return store


@route(bp, "/stores", methods=["POST"])
def create_store() -> Response:
    who = principal(bp, Role.ADMIN)
    request = parse_body(bp, StoreCreate)
    store = Store(
        tenant_id=who.tenant_id,
        store_id=ids.new_store_id(who.tenant_id),
        platform=request.platform,
        external_id=request.external_id,
        market=request.market,
        currency=request.currency,
        name=request.name,
        webhook_secrets=(request.webhook_secret,),
        created_at=utcnow(),
    )
    store_repo.create(store)
    return json_response(_view(store), 201)


@route(bp, "/stores", methods=["GET"])
def list_stores() -> dict:
    who = principal(bp)
    stores = store_repo.list_all(who.tenant_id)
    return {"stores": [_view(s).model_dump(mode="json") for s in stores]}


@route(bp, "/stores/{store_id}", methods=["GET"])
def get_store(store_id: str) -> StoreView:
    who = principal(bp)
    return _view(_load(who.tenant_id, store_id), with_stats=True)


@route(bp, "/stores/{store_id}/webhook-secrets", methods=["POST"])
def rotate_webhook_secret(store_id: str) -> StoreView:
    """Add a new secret. Older ones keep verifying (rotation without lost deliveries) until
    ``retire_previous`` is sent; at most three stay active."""
    who = principal(bp, Role.ADMIN)
    request = parse_body(bp, SecretRotation)
    store = _load(who.tenant_id, store_id)
    kept = [] if request.retire_previous else list(store.webhook_secrets)
    secrets = [request.webhook_secret, *[s for s in kept if s != request.webhook_secret]]
    store_repo.set_secrets(who.tenant_id, store_id, secrets[:MAX_ACTIVE_SECRETS])
    store_repo.forget_cached(who.tenant_id, store_id)
    return _view(_load(who.tenant_id, store_id))
