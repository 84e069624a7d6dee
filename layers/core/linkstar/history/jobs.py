"""Queue an import: park the file in S3, record the job, and hand it to the import function."""

from __future__ import annotations

import json

from linkstar import aws, ids
from linkstar.history.models import ImportJob
from linkstar.orders.models import utcnow
from linkstar.platforms.imports import MEDIA_TYPE_OF
from linkstar.settings import get_settings, require
from linkstar.store import imports as job_repo
from linkstar.stores.models import Store


def queue(store: Store, kind: str, body: bytes) -> ImportJob:
    settings = get_settings()
    job_id = ids.new_job_id()
    key = f"imports/{store.tenant_id}/{store.store_id}/{job_id}"
    aws.client("s3").put_object(
        Bucket=require(settings.raw_bucket_name, "RAW_BUCKET_NAME"),
        Key=key,
        Body=body,
        ContentType=MEDIA_TYPE_OF[kind],
    )
    now = utcnow()
    job = ImportJob(
        job_id=job_id,
        tenant_id=store.tenant_id,
        store_id=store.store_id,
        format=kind,
        file_bytes=len(body),
        s3_key=key,
        created_at=now,
        updated_at=now,
    )
    job_repo.put(job)
    aws.client("sqs").send_message(
        QueueUrl=require(settings.import_queue_url, "IMPORT_QUEUE_URL"),
        MessageBody=json.dumps(
            {"tenant_id": store.tenant_id, "store_id": store.store_id, "job_id": job_id}
        ),
    )
    return job
