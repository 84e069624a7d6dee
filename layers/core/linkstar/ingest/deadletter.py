"""Dead letters: deliveries that verified but could not be processed, kept with their reason.

The ingest function dead-letters a delivery itself (instead of leaving it to the queue's
redrive) whenever it knows why: at once for a permanent error, and on the last attempt for a
transient one. The queue's own redrive (maxReceiveCount) remains the backstop for crashes.
Replay sends a dead letter back to the ingest queue without its reason; the idempotency layer
makes a replay of something that did get applied harmless.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from linkstar import aws
from linkstar.ingest.envelope import DeliveryMeta, meta_from_record
from linkstar.settings import get_settings
from linkstar.store import stores as store_repo


def dead_letter(
    meta: DeliveryMeta, message_body: str, code: str, reason: str, attempts: int
) -> None:
    parked = replace(
        meta,
        dlq_code=code,
        dlq_reason=reason[:2000],
        failed_at=datetime.now(UTC).isoformat(),
        attempts=attempts,
    )
    aws.client("sqs").send_message(
        QueueUrl=get_settings().ingest_dlq_url,
        MessageBody=message_body,
        MessageAttributes=parked.to_attribute(),
    )
    if meta.store_id:  # an Amazon notification for an unknown SellerId has no store yet
        store_repo.count(meta.tenant_id, meta.store_id, "dead_lettered")


def _describe(message: dict[str, Any]) -> dict[str, Any]:
    meta = _meta_or_none(message)
    if meta is None:
        return {"message_id": message["MessageId"], "reason": "no delivery envelope"}
    return {
        "message_id": message["MessageId"],
        "delivery_id": meta.delivery_id,
        "platform": meta.platform,
        "tenant_id": meta.tenant_id,
        "store_id": meta.store_id,
        "topic": meta.topic,
        "event_id": meta.event_id,
        "code": meta.dlq_code or "redriven",
        "reason": meta.dlq_reason or "exceeded the ingest queue's maxReceiveCount",
        "failed_at": meta.failed_at,
        "attempts": meta.attempts,
        "received_at": meta.received_at,
    }


def _receive(sqs: Any, visibility: int) -> list[dict[str, Any]]:
    answer = sqs.receive_message(
        QueueUrl=get_settings().ingest_dlq_url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=visibility,
        MessageAttributeNames=["All"],
        WaitTimeSeconds=0,
    )
    return list(answer.get("Messages", []))


def peek(limit: int = 50) -> list[dict[str, Any]]:
    """Look at dead letters without consuming them (visibility 0 leaves them in place)."""
    sqs = aws.client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(max(1, limit // 10) + 2):
        messages = _receive(sqs, visibility=0)
        if not messages:
            break
        for message in messages:
            seen.setdefault(message["MessageId"], _describe(message))
        if len(seen) >= limit:
            break
    return list(seen.values())[:limit]


def replay(limit: int = 100, tenant_id: str | None = None) -> dict[str, int]:
    """Move up to ``limit`` dead letters back to the ingest queue (optionally one tenant's).

    Every message received stays hidden until the call ends, so the loop sees each at most once
    and ends when the queue has nothing more to show; the ones left in place (another tenant's,
    or beyond the limit) are made visible again before returning.
    """
    settings = get_settings()
    sqs = aws.client("sqs")
    replayed = 0
    left: list[str] = []
    while messages := _receive(sqs, visibility=60):
        for message in messages:
            meta = _meta_or_none(message)
            if meta is None or replayed >= limit or (tenant_id and meta.tenant_id != tenant_id):
                left.append(message["ReceiptHandle"])
                continue
            sqs.send_message(
                QueueUrl=settings.ingest_queue_url,
                MessageBody=message["Body"],
                MessageAttributes=meta.for_replay().to_attribute(),
            )
            sqs.delete_message(
                QueueUrl=settings.ingest_dlq_url, ReceiptHandle=message["ReceiptHandle"]
            )
            replayed += 1
    for receipt in left:
        sqs.change_message_visibility(
            QueueUrl=settings.ingest_dlq_url, ReceiptHandle=receipt, VisibilityTimeout=0
        )
    return {"replayed": replayed, "skipped": len(left)}


def _meta_or_none(message: dict[str, Any]) -> DeliveryMeta | None:
    try:
        return meta_from_record(message)
    except ValueError:
        return None
