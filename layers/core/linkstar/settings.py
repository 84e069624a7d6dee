"""Runtime configuration: the environment variables template.yaml declares, validated once."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel


class Settings(BaseModel):
    """Each function gets only the variables its template entry declares; a missing one is
    reported where it is needed (``require``), not at startup of a function that never uses it."""

    table_name: str | None = None
    idempotency_table_name: str | None = None
    ingest_queue_url: str | None = None
    ingest_dlq_url: str | None = None
    raw_bucket_name: str | None = None
    admin_token_secret_arn: str | None = None
    event_bus_name: str | None = None
    amazon_queue_arn: str | None = None
    import_queue_url: str | None = None
    enrich_queue_url: str | None = None
    enrich_dlq_url: str | None = None
    # Marketplace orders get their amounts from the platform API unless this is off.
    enrichment_enabled: bool = True
    # Must equal the function's SQS source's maxReceiveCount (a template test checks each): on
    # the last attempt the worker parks the message itself, so the DLQ gets a reason.
    max_receive_count: int = 5
    stage: str = "dev"


def require(value: str | None, name: str) -> str:
    if not value:
        raise RuntimeError(f"{name} is not set: is it declared for this function in template.yaml?")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ
    return Settings(
        table_name=env.get("TABLE_NAME"),
        idempotency_table_name=env.get("IDEMPOTENCY_TABLE_NAME"),
        ingest_queue_url=env.get("INGEST_QUEUE_URL"),
        ingest_dlq_url=env.get("INGEST_DLQ_URL"),
        raw_bucket_name=env.get("RAW_BUCKET_NAME"),
        admin_token_secret_arn=env.get("ADMIN_TOKEN_SECRET_ARN"),
        event_bus_name=env.get("EVENT_BUS_NAME"),
        amazon_queue_arn=env.get("AMAZON_NOTIFICATIONS_QUEUE_ARN"),
        import_queue_url=env.get("IMPORT_QUEUE_URL"),
        enrich_queue_url=env.get("ENRICH_QUEUE_URL"),
        enrich_dlq_url=env.get("ENRICH_DLQ_URL"),
        enrichment_enabled=env.get("ENRICHMENT_ENABLED", "true").lower() != "false",
        max_receive_count=int(env.get("MAX_RECEIVE_COUNT", "5")),
        stage=env.get("STAGE", "dev"),
    )


def reset_settings() -> None:
    """Forget cached settings and clients (tests that switch environments call this)."""
    get_settings.cache_clear()
    from linkstar import aws

    aws.reset_clients()
