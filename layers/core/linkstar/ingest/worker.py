"""The ingest function's per-record logic (the handler in functions/ingest is a thin shell)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from linkstar.errors import PermanentError
from linkstar.ingest import amazon_sqs
from linkstar.ingest.deadletter import dead_letter, settle
from linkstar.ingest.envelope import DeliveryMeta, meta_from_record
from linkstar.ingest.processor import process_delivery, read_body
from linkstar.platforms import amazon
from linkstar.store import stores as store_repo


def _meta(record: dict[str, Any]) -> DeliveryMeta:
    try:
        return meta_from_record(record)
    except ValueError:
        if amazon_sqs.is_notification(record.get("body") or ""):
            return amazon_sqs.meta_for(record["body"])
        # A message nobody we know wrote has no envelope to dead-letter with a reason: the
        # ValueError fails the record and the queue's redrive moves it to the DLQ as it is.
        raise


def _route_amazon(meta: DeliveryMeta) -> DeliveryMeta:
    """Fill in tenant and store from the SellerId (also on replay of an unrouted letter)."""
    store = store_repo.find_amazon_seller(meta.shop_domain) if meta.shop_domain else None
    if store is None:
        raise PermanentError(
            f"no connected Amazon store has SellerId {meta.shop_domain!r}", code="unknown_seller"
        )
    return replace(meta, tenant_id=store.tenant_id, store_id=store.store_id)


def handle_record(record: dict[str, Any]) -> str:
    """Process one SQS record. Returns the outcome; raises to have the record retried."""
    meta = _meta(record)

    def work() -> str:
        nonlocal meta
        if meta.platform == "amazon" and not meta.store_id:
            meta = _route_amazon(meta)
            if meta.topic not in amazon.TOPICS:
                store_repo.count(meta.tenant_id, meta.store_id, f"ignored#{meta.topic}")
                return "ignored"
        return process_delivery(meta, read_body(meta, record["body"]))

    def park(code: str, reason: str, attempts: int) -> None:
        dead_letter(meta, record["body"], code, reason, attempts)

    return settle(record, work, park)
