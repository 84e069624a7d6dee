"""One enrichment request (an ``order.enrichment_requested`` event, delivered through SQS).

The fetched order is fed through the ingest processor as a canonical-order delivery, so it is
deduplicated and merged exactly like a webhook: a request repeated or replayed changes nothing,
and an answer older than what notifications have said since only fills in the amounts.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from linkstar import aws, ids
from linkstar.errors import PermanentError
from linkstar.ingest.envelope import DeliveryMeta
from linkstar.ingest.processor import CANONICAL_ORDER_TOPIC, process_delivery
from linkstar.observability import logger
from linkstar.settings import get_settings
from linkstar.store import orders as order_repo
from linkstar.store import stores as store_repo


def request_of(record: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge event the rule wrote into the queue → its detail."""
    try:
        event = json.loads(record["body"])
        detail = event["detail"]
        for name in ("tenant_id", "store_id", "external_id"):
            if not isinstance(detail.get(name), str):
                raise KeyError(name)
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentError(f"not an enrichment request: {exc!r}", code="invalid_request") from exc
    return dict(detail)


def enrich(detail: dict[str, Any]) -> str:
    from linkstar.platforms import clients  # the HTTP clients load only where they are used

    store = store_repo.get_cached(detail["tenant_id"], detail["store_id"])
    if store is None:
        raise PermanentError("the store no longer exists", code="store_not_found")
    if detail.get("reason", "pending") == "pending":
        # Several notifications can arrive before the first fetch lands; each asks for one.
        # Once an answer is stored, the rest have nothing to add.
        known = order_repo.load(
            store.tenant_id, ids.order_id(store.store_id, detail["external_id"])
        )
        if known is not None and known.snapshot is not None and not known.snapshot.amounts_pending:
            return "already_enriched"
    hints = {k: str(v) for k, v in (detail.get("hints") or {}).items() if v is not None}
    order = clients.fetch_order(store, detail["external_id"], hints)
    body = order.model_dump_json().encode()
    meta = DeliveryMeta(
        delivery_id=ids.new_delivery_id(),
        platform=store.platform.value,
        tenant_id=store.tenant_id,
        store_id=store.store_id,
        topic=CANONICAL_ORDER_TOPIC,
        received_at=datetime.now(UTC).isoformat(),
        # The same answer twice is one delivery; a changed answer is a new one.
        event_id="enrich:" + hashlib.sha256(body).hexdigest(),
    )
    return process_delivery(meta, body)


def handle_record(record: dict[str, Any]) -> str:
    from linkstar.platforms.clients import AmountsNotYetAvailable

    attempts = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    try:
        return enrich(request_of(record))
    except AmountsNotYetAvailable:
        # SP-API prices nothing while an order is Pending (Shopee: before payment). The order
        # stays "amounts pending"; its next status notification asks again.
        return "amounts_not_yet_available"
    except PermanentError as exc:
        _dead_letter(record, exc.code, exc.message, attempts)
        return "dead_lettered"
    except Exception as exc:
        if attempts >= get_settings().max_receive_count:
            logger.exception("enrichment failed on its last attempt: dead-lettered")
            _dead_letter(record, "retries_exhausted", repr(exc), attempts)
            return "dead_lettered"
        raise


def _dead_letter(record: dict[str, Any], code: str, reason: str, attempts: int) -> None:
    logger.warning("enrichment dead-lettered", extra={"code": code})
    why = {"code": code, "reason": reason[:2000], "attempts": attempts}
    why["failed_at"] = datetime.now(UTC).isoformat()
    aws.client("sqs").send_message(
        QueueUrl=get_settings().enrich_dlq_url,
        MessageBody=record["body"],
        MessageAttributes={"failure": {"DataType": "String", "StringValue": json.dumps(why)}},
    )
