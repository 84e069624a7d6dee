"""Connected stores: create, list, inspect (with ingest counters), rotate webhook secrets."""

from __future__ import annotations

from chalice import Blueprint, Response

from linkstar import ids
from linkstar.api.auth import principal
from linkstar.api.http import (
    Auth,
    Content,
    json_object,
    json_response,
    parse_body,
    public_base_url,
    route,
)
from linkstar.errors import BadRequest, NotFound, PayloadTooLarge
from linkstar.orders.models import Platform, utcnow
from linkstar.settings import get_settings
from linkstar.store import stores as store_repo
from linkstar.stores.models import SecretRotation, Store, StoreCreate, StoreView
from linkstar.tenants.models import Role
from linkstar.text import Text

bp = Blueprint(__name__)
MAX_ACTIVE_SECRETS = 3


def _webhook_url(platform: Platform, store_id: str) -> str | None:
    if platform is Platform.AMAZON:
        return None
    return f"{public_base_url(bp)}/webhooks/{platform.value}/{store_id}"


def _view(store: Store, with_stats: bool = False) -> StoreView:
    amazon = store.platform is Platform.AMAZON
    return StoreView(
        store_id=store.store_id,
        platform=store.platform,
        external_id=store.external_id,
        market=store.market,
        currency=store.currency,
        name=store.name,
        webhook_url=store.webhook_url or _webhook_url(store.platform, store.store_id),
        amazon_notifications_queue_arn=get_settings().amazon_queue_arn if amazon else None,
        app_key=store.app_key,
        webhook_secrets_active=len(store.webhook_secrets),
        created_at=store.created_at,
        ingest=store_repo.stats(store.tenant_id, store.store_id) if with_stats else None,
    )


def _load(tenant_id: str, store_id: str) -> Store:
    store = store_repo.get(tenant_id, store_id) if ids.tenant_of_store(store_id) else None
    if store is None:
        raise NotFound(Text("store.not_found"), code="store_not_found")
    return store


@route(
    bp,
    "/stores",
    methods=["POST"],
    request=StoreCreate,
    response={201: StoreView},
    auth=Auth.API_KEY,
    tags=["stores"],
)
def create_store() -> Response:
    """Connect a store (admin): the answer holds the webhook URL to paste into the platform."""
    who = principal(bp, Role.ADMIN)
    request = parse_body(bp, StoreCreate)
    store_id = ids.new_store_id(who.tenant_id)
    store = Store(
        tenant_id=who.tenant_id,
        store_id=store_id,
        platform=request.platform,
        external_id=request.external_id,
        market=request.market,
        currency=request.currency,
        name=request.name,
        webhook_secrets=(request.webhook_secret,) if request.webhook_secret else (),
        created_at=utcnow(),
        app_key=request.app_key,
        webhook_url=request.callback_url or _webhook_url(request.platform, store_id),
    )
    store_repo.create(store)
    return json_response(_view(store), 201)


@route(bp, "/stores", methods=["GET"], response="StoreList", auth=Auth.API_KEY, tags=["stores"])
def list_stores() -> dict:
    """The tenant's connected stores."""
    who = principal(bp)
    stores = store_repo.list_all(who.tenant_id)
    return {"stores": [_view(s).model_dump(mode="json") for s in stores]}


@route(
    bp,
    "/stores/{store_id}",
    methods=["GET"],
    response=StoreView,
    auth=Auth.API_KEY,
    tags=["stores"],
)
def get_store(store_id: str) -> StoreView:
    """A store with its ingest counters (deliveries, duplicates, dead letters, last event)."""
    who = principal(bp)
    return _view(_load(who.tenant_id, store_id), with_stats=True)


@route(
    bp,
    "/stores/{store_id}/webhook-secrets",
    methods=["POST"],
    request=SecretRotation,
    response=StoreView,
    auth=Auth.API_KEY,
    tags=["stores"],
)
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


# ------------------------------------------------------------------ marketplace credentials


@route(
    bp,
    "/stores/{store_id}/credentials",
    methods=["PUT"],
    request="Credentials",
    response="CredentialsStatus",
    auth=Auth.API_KEY,
    tags=["stores"],
)
def put_credentials(store_id: str) -> dict:
    """Order-API credentials for enrichment, kept in Secrets Manager (never returned)."""
    from linkstar.platforms.clients import credentials

    who = principal(bp, Role.ADMIN)
    store = _load(who.tenant_id, store_id)
    credentials.save(store.tenant_id, store.store_id, store.platform, json_object(bp))
    return credentials.describe(store.tenant_id, store.store_id)


# ------------------------------------------------------------------ history imports

MAX_IMPORT_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload limit
IMPORT_TYPES = ("text/csv", "text/tab-separated-values", "text/plain", "application/octet-stream")


@route(
    bp,
    "/stores/{store_id}/import",
    methods=["POST"],
    content_types=list(IMPORT_TYPES),
    request=tuple(Content(t, "the platform's order export, as downloaded") for t in IMPORT_TYPES),
    response={202: "ImportJobView"},
    auth=Auth.API_KEY,
    tags=["stores"],
)
def import_history(store_id: str) -> Response:
    """Queue an order-history file (Shopify orders export CSV, Amazon All Orders report)."""
    # Imports load on use: they are not worth their import time on every cold start.
    from linkstar.history import jobs as history_jobs
    from linkstar.platforms import imports as parsers

    who = principal(bp, Role.ADMIN)
    store = _load(who.tenant_id, store_id)
    raw = bp.current_request.raw_body or b""
    body = raw if isinstance(raw, bytes) else raw.encode()
    if not body.strip():
        raise BadRequest(Text("history.empty_file"), code="empty_file")
    if len(body) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(
            Text("history.file_too_large", limit=f"{MAX_IMPORT_BYTES // 2**20} MiB"),
            code="payload_too_large",
        )
    header = body.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    kind = parsers.detect(header)
    if parsers.PLATFORM_OF[kind] is not store.platform:
        raise BadRequest(
            Text("history.format_platform_mismatch", kind=kind, platform=store.platform.value),
            code="format_platform_mismatch",
        )
    job = history_jobs.queue(store, kind, body)
    return json_response(job.model_dump(mode="json", exclude={"s3_key"}), 202)


@route(
    bp,
    "/stores/{store_id}/imports",
    methods=["GET"],
    response="ImportList",
    auth=Auth.API_KEY,
    tags=["stores"],
)
def list_imports(store_id: str) -> dict:
    """A store's history imports, with their progress and the rows they rejected."""
    from linkstar.store import imports as job_repo

    who = principal(bp)
    store = _load(who.tenant_id, store_id)
    jobs = job_repo.list_for_store(store.tenant_id, store.store_id)
    return {"imports": [j.model_dump(mode="json", exclude={"s3_key"}) for j in jobs]}


@route(
    bp,
    "/stores/{store_id}/imports/{job_id}",
    methods=["GET"],
    response="ImportJobView",
    auth=Auth.API_KEY,
    tags=["stores"],
)
def get_import(store_id: str, job_id: str) -> dict:
    """One history import: progress, counts and the first rejected rows."""
    from linkstar.store import imports as job_repo

    who = principal(bp)
    store = _load(who.tenant_id, store_id)
    job = job_repo.get(store.tenant_id, store.store_id, job_id)
    if job is None:
        raise NotFound(Text("history.import_not_found"), code="import_not_found")
    return job.model_dump(mode="json", exclude={"s3_key"})
