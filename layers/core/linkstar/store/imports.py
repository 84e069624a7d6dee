"""Import jobs in DynamoDB (one item per job, under the store's partition). The job is kept as
its JSON document, its sentences as catalogue messages (``text.STORED``)."""

from __future__ import annotations

from typing import Any

from linkstar.history.models import ImportJob
from linkstar.store import dynamo, keys
from linkstar.text import STORED


def _item(job: ImportJob) -> dict[str, Any]:
    return {
        **keys.import_job(job.tenant_id, job.store_id, job.job_id),
        "type": "import_job",
        "tenant_id": job.tenant_id,
        "store_id": job.store_id,
        "status": job.status,
        "doc": job.model_dump_json(context=STORED),
    }


def put(job: ImportJob) -> None:
    dynamo.put(_item(job))


def get(tenant_id: str, store_id: str, job_id: str) -> ImportJob | None:
    item = dynamo.get(keys.import_job(tenant_id, store_id, job_id), consistent=True)
    return ImportJob.model_validate_json(item["doc"]) if item else None


def list_for_store(tenant_id: str, store_id: str, limit: int = 50) -> list[ImportJob]:
    page = dynamo.query(
        "pk",
        keys.store(tenant_id, store_id)["pk"],
        sk_prefix="IMPORT#",
        limit=limit,
        forward=False,
    )
    return [ImportJob.model_validate_json(i["doc"]) for i in page.items]
