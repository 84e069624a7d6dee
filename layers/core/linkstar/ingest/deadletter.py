"""Dead letters: work that verified but could not be done, kept with its reason, replayable.

Two queues hold them: ``ingest`` (webhook deliveries and Amazon notifications; the reason rides
in the delivery envelope) and ``enrich`` (order-fetch requests; the reason rides in a
``failure`` attribute). Each worker dead-letters a message itself (instead of leaving it to the
queue's redrive) whenever it knows why: at once for a permanent error, and on the last attempt
for a transient one (:func:`settle`). The queues' own redrive remains the backstop for crashes.
Replay sends a letter back to its work queue without its reason; idempotency makes a replay of
something that did get done harmless.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from linkstar import aws
from linkstar.errors import BadRequest, PermanentError
from linkstar.ingest.envelope import DeliveryMeta, meta_from_record
from linkstar.observability import logger
from linkstar.settings import Settings, get_settings, require
from linkstar.store import stores as store_repo

FAILURE_ATTRIBUTE = "failure"


def settle(record: dict[str, Any], work: Callable[[], str], park: Callable[..., None]) -> str:
    """Run one SQS record's work. A permanent error is parked at once; a transient one is
    raised for SQS to retry, and parked with its reason on the queue's last attempt."""
    attempts = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    try:
        return work()
    except PermanentError as exc:
        logger.warning("dead-lettered", extra={"code": exc.code})
        park(exc.code, exc.message, attempts)
        return "dead_lettered"
    except Exception as exc:
        if attempts >= get_settings().max_receive_count:
            logger.exception("failed on its last attempt: dead-lettered")
            park("retries_exhausted", repr(exc), attempts)
            return "dead_lettered"
        raise


def _now() -> str:
    return datetime.now(UTC).isoformat()


def dead_letter(
    meta: DeliveryMeta, message_body: str, code: str, reason: str, attempts: int
) -> None:
    parked = replace(
        meta, dlq_code=code, dlq_reason=reason[:2000], failed_at=_now(), attempts=attempts
    )
    aws.client("sqs").send_message(
        QueueUrl=get_settings().ingest_dlq_url,
        MessageBody=message_body,
        MessageAttributes=parked.to_attribute(),
    )
    if meta.store_id:  # an Amazon notification for an unknown SellerId has no store yet
        store_repo.count(meta.tenant_id, meta.store_id, "dead_lettered")


def dead_letter_request(message_body: str, code: str, reason: str, attempts: int) -> None:
    """An enrichment request (the EventBridge event, as the rule delivered it)."""
    why = {"code": code, "reason": reason[:2000], "attempts": attempts, "failed_at": _now()}
    aws.client("sqs").send_message(
        QueueUrl=get_settings().enrich_dlq_url,
        MessageBody=message_body,
        MessageAttributes={
            FAILURE_ATTRIBUTE: {"DataType": "String", "StringValue": json.dumps(why)}
        },
    )


# ------------------------------------------------------------------ reading and replaying


@dataclass(frozen=True)
class Letter:
    tenant_id: str | None
    view: dict[str, Any]
    replay_attributes: dict[str, Any]


def _delivery_letter(message: dict[str, Any]) -> Letter | None:
    try:
        meta = meta_from_record(message)
    except ValueError:
        return None
    view = {
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
    return Letter(meta.tenant_id, view, meta.for_replay().to_attribute())


def _request_letter(message: dict[str, Any]) -> Letter | None:
    try:
        detail = json.loads(message["Body"])["detail"]
    except (ValueError, KeyError, TypeError):
        return None
    attribute = (message.get("MessageAttributes") or {}).get(FAILURE_ATTRIBUTE) or {}
    why = json.loads(attribute.get("StringValue") or "{}")
    view = {
        "tenant_id": detail.get("tenant_id"),
        "store_id": detail.get("store_id"),
        "platform": detail.get("platform"),
        "order_id": detail.get("order_id"),
        "code": why.get("code", "redriven"),
        "reason": why.get("reason", "exceeded the enrich queue's maxReceiveCount"),
        "failed_at": why.get("failed_at"),
        "attempts": why.get("attempts"),
    }
    return Letter(detail.get("tenant_id"), view, {})


def _work_letter(message: dict[str, Any]) -> Letter | None:
    """Outreach work (flow events and resumes, send requests, feedback): the tenant is in the
    body (or its EventBridge detail); the reason rides in the ``failure`` attribute."""
    try:
        body = json.loads(message["Body"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(body, dict):
        return None
    detail = body.get("detail")
    inner: dict[str, Any] = detail if isinstance(detail, dict) else body
    attribute = (message.get("MessageAttributes") or {}).get(FAILURE_ATTRIBUTE) or {}
    why = json.loads(attribute.get("StringValue") or "{}")
    view = {
        "tenant_id": inner.get("tenant_id"),
        "kind": body.get("detail-type")
        or body.get("kind")
        or body.get("channel")
        or body.get("Type"),
        "message_id": inner.get("message_id"),
        "run_id": inner.get("run_id"),
        "code": why.get("code", "redriven"),
        "reason": why.get("reason", "exceeded the queue's maxReceiveCount"),
        "failed_at": why.get("failed_at"),
        "attempts": why.get("attempts"),
    }
    return Letter(inner.get("tenant_id"), view, {})


def dead_letter_work(queue: str, message_body: str, code: str, reason: str, attempts: int) -> None:
    """Park outreach work in its queue's DLQ with the reason (see :data:`QUEUES`)."""
    why = {"code": code, "reason": reason[:2000], "attempts": attempts, "failed_at": _now()}
    url = require(QUEUES[queue].dlq_url(get_settings()), f"the {queue} DLQ URL")
    aws.client("sqs").send_message(
        QueueUrl=url,
        MessageBody=message_body,
        MessageAttributes={
            FAILURE_ATTRIBUTE: {"DataType": "String", "StringValue": json.dumps(why)}
        },
    )


@dataclass(frozen=True)
class LetterQueue:
    dlq_url: Callable[[Settings], str | None]
    work_url: Callable[[Settings], str | None]
    read: Callable[[dict[str, Any]], Letter | None]


QUEUES = {
    "ingest": LetterQueue(
        lambda s: s.ingest_dlq_url, lambda s: s.ingest_queue_url, _delivery_letter
    ),
    "enrich": LetterQueue(
        lambda s: s.enrich_dlq_url, lambda s: s.enrich_queue_url, _request_letter
    ),
    "flow": LetterQueue(lambda s: s.flow_dlq_url, lambda s: s.flow_queue_url, _work_letter),
    "email": LetterQueue(lambda s: s.email_dlq_url, lambda s: s.email_queue_url, _work_letter),
    "sms": LetterQueue(lambda s: s.sms_dlq_url, lambda s: s.sms_queue_url, _work_letter),
    "whatsapp": LetterQueue(
        lambda s: s.whatsapp_dlq_url, lambda s: s.whatsapp_queue_url, _work_letter
    ),
    "in_app": LetterQueue(lambda s: s.in_app_dlq_url, lambda s: s.in_app_queue_url, _work_letter),
    "feedback": LetterQueue(
        lambda s: s.feedback_dlq_url, lambda s: s.feedback_queue_url, _work_letter
    ),
}


def _queue(name: str) -> LetterQueue:
    found = QUEUES.get(name)
    if found is None:
        raise BadRequest(f"queue must be one of {sorted(QUEUES)}", code="invalid_query")
    return found


def _receive(sqs: Any, url: str, visibility: int) -> list[dict[str, Any]]:
    answer = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=10,
        VisibilityTimeout=visibility,
        MessageAttributeNames=["All"],
        WaitTimeSeconds=0,
    )
    return list(answer.get("Messages", []))


def peek(limit: int = 50, queue: str = "ingest") -> list[dict[str, Any]]:
    """Look at dead letters without consuming them (visibility 0 leaves them in place)."""
    spec = _queue(queue)
    url = require(spec.dlq_url(get_settings()), f"the {queue} DLQ URL")
    sqs = aws.client("sqs")
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(max(1, limit // 10) + 2):
        messages = _receive(sqs, url, visibility=0)
        if not messages:
            break
        for message in messages:
            letter = spec.read(message)
            view = letter.view if letter else {"reason": "unreadable message"}
            seen.setdefault(message["MessageId"], {"message_id": message["MessageId"], **view})
        if len(seen) >= limit:
            break
    return list(seen.values())[:limit]


def replay(limit: int = 100, tenant_id: str | None = None, queue: str = "ingest") -> dict[str, int]:
    """Move up to ``limit`` dead letters back to their work queue (optionally one tenant's).

    Every message received stays hidden until the call ends, so the loop sees each at most once
    and ends when the queue has nothing more to show; the ones left in place (another tenant's,
    or beyond the limit) are made visible again before returning.
    """
    spec = _queue(queue)
    settings = get_settings()
    dlq = require(spec.dlq_url(settings), f"the {queue} DLQ URL")
    target = require(spec.work_url(settings), f"the {queue} queue URL")
    sqs = aws.client("sqs")
    replayed = 0
    left: list[str] = []
    while messages := _receive(sqs, dlq, visibility=60):
        for message in messages:
            letter = spec.read(message)
            if letter is None or replayed >= limit or (tenant_id and letter.tenant_id != tenant_id):
                left.append(message["ReceiptHandle"])
                continue
            sqs.send_message(
                QueueUrl=target,
                MessageBody=message["Body"],
                MessageAttributes=letter.replay_attributes,
            )
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
            replayed += 1
    for receipt in left:
        sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=receipt, VisibilityTimeout=0)
    return {"replayed": replayed, "skipped": len(left)}
