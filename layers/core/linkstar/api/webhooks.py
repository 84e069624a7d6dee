"""``POST /webhooks/{platform}/{store_id}``: verify, then enqueue — nothing more.

Order of checks: unknown platform or store → 404; body over 1 MiB → 413; signature (over the raw
bytes, before any parsing) → 401 with nothing stored; body not JSON → 400; no topic → 400; a
marketplace body naming another shop than the store's → 400 ``shop_mismatch``; a topic LinkStar
doesn't ingest → 200, counted and dropped; else enqueued → 200. The store lookup is cached
in-process for a minute (``stores.get_cached``) so a warm webhook costs one AWS call.
"""

from __future__ import annotations

import json

from chalice import Blueprint, Response

from linkstar import ids
from linkstar.api.http import Auth, Content, json_response, route
from linkstar.errors import BadRequest, NotFound, PayloadTooLarge, Unauthorized
from linkstar.ingest.edge import enqueue
from linkstar.platforms.edge import MAX_BODY_BYTES, SCHEMES
from linkstar.store import stores as store_repo

bp = Blueprint(__name__)
DELIVERY_TYPES = ("application/json", "application/x-www-form-urlencoded", "text/plain")


@route(
    bp,
    "/webhooks/{platform}/{store_id}",
    methods=["POST"],
    content_types=list(DELIVERY_TYPES),
    request=tuple(Content(t, "the platform's delivery, as it sent it") for t in DELIVERY_TYPES),
    response="WebhookAnswer",
    auth=Auth.PLATFORM_SIGNATURE,
    tags=["webhooks"],
)
def platform_webhook(platform: str, store_id: str) -> Response:
    """A platform's push delivery for a store: verified over its raw bytes, then queued."""
    scheme = SCHEMES.get(platform)
    tenant_id = ids.tenant_of_store(store_id)
    if scheme is None or tenant_id is None:
        raise NotFound("no such webhook endpoint", code="unknown_endpoint")
    store = store_repo.get_cached(tenant_id, store_id)
    if store is None or store.platform.value != platform:
        raise NotFound("no such store", code="store_not_found")
    request = bp.current_request
    raw = request.raw_body or b""
    body = raw if isinstance(raw, bytes) else raw.encode()
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge("webhook bodies are limited to 1 MiB", code="payload_too_large")
    headers = request.headers
    if not scheme.verify(store.webhook_secrets, store, body, headers):
        raise Unauthorized("signature does not match", code="invalid_signature")
    try:
        # Platforms send UTF-8; the queue carries text, so decode once here and reject the rest.
        text = body.decode("utf-8")
        payload = json.loads(text)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        raise BadRequest("verified body is not UTF-8 JSON", code="invalid_json") from exc
    described = scheme.describe(headers, payload)
    delivery = described.headers
    if not delivery.topic:
        raise BadRequest("the delivery names no topic", code="missing_topic")
    if scheme.check_shop and described.shop_id != store.external_id:
        raise BadRequest(
            f"delivery is for shop {described.shop_id!r}, not this store's shop",
            code="shop_mismatch",
        )
    if delivery.topic not in scheme.handled_topics:
        store_repo.count(tenant_id, store_id, f"ignored#{delivery.topic}")
        return json_response({"status": "ignored", "topic": delivery.topic})
    meta = enqueue(platform, tenant_id, store_id, delivery, body, text)
    return json_response({"status": "accepted", "delivery_id": meta.delivery_id})
