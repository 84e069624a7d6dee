"""Enqueue a verified delivery (the only work the webhook route does after verifying)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from linkstar import aws, ids
from linkstar.ingest.envelope import INLINE_LIMIT, PARKED_BODY, DeliveryMeta, body_digest
from linkstar.platforms.edge import DeliveryHeaders
from linkstar.settings import get_settings


def enqueue(
    platform: str,
    tenant_id: str,
    store_id: str,
    headers: DeliveryHeaders,
    body: bytes,
    text: str,
) -> DeliveryMeta:
    """``text`` is ``body`` decoded as UTF-8 (the caller has already checked it is)."""
    settings = get_settings()
    meta = DeliveryMeta(
        delivery_id=ids.new_delivery_id(),
        platform=platform,
        tenant_id=tenant_id,
        store_id=store_id,
        topic=headers.topic or "",
        received_at=datetime.now(UTC).isoformat(),
        event_id=headers.event_id,
        webhook_id=headers.webhook_id,
        triggered_at=headers.triggered_at,
        api_version=headers.api_version,
        shop_domain=headers.shop_domain,
        body_sha256=None if headers.event_id else body_digest(body),
    )
    message_body = text
    if len(body) > INLINE_LIMIT:
        key = f"{tenant_id}/{store_id}/{meta.delivery_id}.json"
        aws.client("s3").put_object(
            Bucket=settings.raw_bucket_name, Key=key, Body=body, ContentType="application/json"
        )
        meta = replace(meta, body_s3_key=key)
        message_body = PARKED_BODY
    aws.client("sqs").send_message(
        QueueUrl=settings.ingest_queue_url,
        MessageBody=message_body,
        MessageAttributes=meta.to_attribute(),
    )
    return meta
