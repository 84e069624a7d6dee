"""Run one import job: stream the uploaded file from S3, row by row, into canonical orders.

Each order goes through the ingest processor as a canonical-order delivery whose event id is
the digest of the rows that made it, so importing the same file twice (or retrying a job that
died half-way) changes nothing, and a webhook for the same order merges with it.
Progress is saved every ``CHECKPOINT_EVERY`` orders; a retried job skips the rows already done.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from linkstar import aws
from linkstar.errors import PermanentError
from linkstar.history.models import MAX_KEPT_ERRORS, ImportJob, RowProblem
from linkstar.ingest.deadletter import settle
from linkstar.ingest.processor import process_order
from linkstar.observability import logger
from linkstar.platforms import imports as parsers
from linkstar.settings import get_settings
from linkstar.store import imports as job_repo
from linkstar.store import stores as store_repo
from linkstar.text import Text

CHECKPOINT_EVERY = 200


def _lines(s3_key: str) -> Iterator[str]:
    body = aws.client("s3").get_object(Bucket=get_settings().raw_bucket_name, Key=s3_key)["Body"]
    # Decoded incrementally, line ends kept: csv needs them inside quoted multi-line fields.
    reader = codecs.getreader("utf-8-sig")(body)
    yield from reader


def _now() -> datetime:
    return datetime.now(UTC)


def _save(job: ImportJob, **changes: Any) -> ImportJob:
    job = job.model_copy(update={**changes, "updated_at": _now()})
    job_repo.put(job)
    return job


def run(tenant_id: str, store_id: str, job_id: str) -> ImportJob:
    job = job_repo.get(tenant_id, store_id, job_id)
    if job is None:
        raise PermanentError("no such import job", code="job_not_found")
    if job.status in ("done", "failed"):
        return job
    store = store_repo.get_cached(tenant_id, store_id)
    if store is None:
        return _save(job, status="failed", failure=Text("history.store_gone"), finished_at=_now())
    done_rows = job.rows_read  # a retried job resumes after its last checkpoint
    job = _save(job, status="running")
    counts = {
        "orders_accepted": job.orders_accepted,
        "orders_applied": job.orders_applied,
        "orders_unchanged": job.orders_unchanged,
        "rows_rejected": job.rows_rejected,
    }
    errors = list(job.errors)
    rows_read = done_rows
    since_checkpoint = 0
    results = parsers.parse(job.format, _lines(job.s3_key), store.market, store.currency)
    for result in results:
        if isinstance(result, parsers.RowError):
            if 0 < result.row <= done_rows:
                continue
            counts["rows_rejected"] += 1
            rows_read = max(rows_read, result.row)
            if len(errors) < MAX_KEPT_ERRORS:
                errors.append(
                    RowProblem(
                        row=result.row,
                        code=result.code,
                        reason=result.reason,
                        order_ref=result.order_ref,
                    )
                )
            continue
        if result.rows and max(result.rows) <= done_rows:
            continue
        outcome = process_order(store, result.order, "import", result.digest)
        counts["orders_accepted"] += 1
        counts["orders_applied" if outcome == "applied" else "orders_unchanged"] += 1
        rows_read = max(rows_read, *result.rows) if result.rows else rows_read
        since_checkpoint += 1
        if since_checkpoint >= CHECKPOINT_EVERY:
            job = _save(job, rows_read=rows_read, errors=errors, **counts)
            since_checkpoint = 0
    job = _save(
        job, status="done", finished_at=_now(), rows_read=rows_read, errors=errors, **counts
    )
    logger.info("import finished", extra={"job_id": job_id, **counts})
    return job


def handle_record(record: dict[str, Any]) -> str:
    message = json.loads(record["body"])
    tenant_id, store_id, job_id = message["tenant_id"], message["store_id"], message["job_id"]

    def work() -> str:
        return run(tenant_id, store_id, job_id).status

    def park(code: str, reason: Text | str, attempts: int) -> None:
        # The file stays in S3 and every order already applied stays applied: uploading it
        # again resumes cheaply (each order it holds is a duplicate delivery).
        job = job_repo.get(tenant_id, store_id, job_id)
        if job is not None:
            # The code and the error as they are (technical), under a sentence the seller reads.
            failure = Text("history.job_failed", code=code, detail=reason)
            _save(job, status="failed", failure=failure, finished_at=_now())

    return settle(record, work, park)
