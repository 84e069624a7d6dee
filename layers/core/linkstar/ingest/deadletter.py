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
    store_repo.count(meta.tenant_id, meta.store_id, "dead_lettered")


def _describe(message: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = meta_from_record(message)
    except ValueError:
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


def peek(limit: int = 50) -> list[dict[str, Any]]:
    """Look at dead letters without consuming them (visibility 0 leaves them in place)."""
    sqs = aws.client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(max(1, limit // 10) + 2):
        answer = sqs.receive_message(
            QueueUrl=get_settings().ingest_dlq_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages = answer.get("Messages", [])
        if not messages:
            break
        for message in messages:
            seen.setdefault(message["MessageId"], _describe(message))
        if len(seen) >= limit:
            break
    return list(seen.values())[:limit]


def replay(limit: int = 100, tenant_id: str | None = None) -> dict[str, int]:
    """Move up to ``limit`` dead letters back to the ingest queue (optionally one tenant's)."""
    settings = get_settings()
    sqs = aws.client("sqs")
    replayed = skipped = 0
    while replayed < limit:
        answer = sqs.receive_message(
            QueueUrl=settings.ingest_dlq_url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=30,
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages = answer.get("Messages", [])
        if not messages:
            break
        for message in messages:
            try:
                meta = meta_from_record(message)
            except ValueError:
                skipped += 1
                continue
            if tenant_id and meta.tenant_id != tenant_id:
                # Not ours to move: make it visible again at once for whoever asks.
                sqs.change_message_visibility(
                    QueueUrl=settings.ingest_dlq_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )
                skipped += 1
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
        if skipped and not replayed:
            break
    return {"replayed": replayed, "skipped": skipped}
