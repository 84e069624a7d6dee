"""Import job: the stored entity, which is also the API view (no secrets, nothing derived).

The sentences on a job (a rejected row's reason, why the job failed) are catalogue messages
(:mod:`linkstar.text`): stored as the message (``model_dump_json(context=STORED)``), rendered in
the reader's language when the job is answered, and read back from jobs stored before messages
existed, which hold plain English.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from linkstar.sentence import Sentence

JobStatus = Literal["queued", "running", "done", "failed"]
MAX_KEPT_ERRORS = 200


class RowProblem(BaseModel):
    row: int = Field(description="1-based data row (the header is row 0)")
    code: str
    reason: Sentence
    order_ref: str | None = None


class ImportJob(BaseModel):
    job_id: str
    tenant_id: str
    store_id: str
    format: str = Field(description="shopify_orders_csv or amazon_all_orders")
    status: JobStatus = "queued"
    file_bytes: int
    s3_key: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    # Progress: rows of the file read so far, and what became of them.
    rows_read: int = 0
    orders_accepted: int = 0
    orders_applied: int = 0
    orders_unchanged: int = 0
    rows_rejected: int = 0
    errors: list[RowProblem] = Field(
        default_factory=list, description=f"the first {MAX_KEPT_ERRORS} rejected rows"
    )
    failure: Sentence | None = None
