"""The ingest function's per-record logic (the handler in functions/ingest is a thin shell)."""

from __future__ import annotations

from typing import Any

from linkstar.errors import PermanentError
from linkstar.ingest.deadletter import dead_letter
from linkstar.ingest.envelope import meta_from_record
from linkstar.ingest.processor import process_delivery, read_body
from linkstar.observability import logger
from linkstar.settings import get_settings


def handle_record(record: dict[str, Any]) -> str:
    """Process one SQS record. Returns the outcome; raises to have the record retried."""
    # A message our edge didn't write has no envelope to dead-letter with a reason: the
    # ValueError fails the record and the queue's redrive moves it to the DLQ as it is.
    meta = meta_from_record(record)
    attempts = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    try:
        return process_delivery(meta, read_body(meta, record["body"]))
    except PermanentError as exc:
        logger.warning(
            "delivery dead-lettered", extra={"code": exc.code, "delivery_id": meta.delivery_id}
        )
        dead_letter(meta, record["body"], exc.code, exc.message, attempts)
        return "dead_lettered"
    except Exception as exc:
        if attempts >= get_settings().max_receive_count:
            logger.exception("delivery failed on its last attempt: dead-lettered")
            dead_letter(meta, record["body"], "retries_exhausted", repr(exc), attempts)
            return "dead_lettered"
        raise
