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
    costs_queue_url: str | None = None
    enrich_queue_url: str | None = None
    enrich_dlq_url: str | None = None
    # Marketplace orders get their amounts from the platform API unless this is off.
    enrichment_enabled: bool = True
    # Must equal the function's SQS source's maxReceiveCount (a template test checks each): on
    # the last attempt the worker parks the message itself, so the DLQ gets a reason.
    max_receive_count: int = 5
    stage: str = "dev"
    # Outreach: the flow queue, one send queue per channel, feedback, and the providers.
    flow_queue_url: str | None = None
    email_queue_url: str | None = None
    sms_queue_url: str | None = None
    whatsapp_queue_url: str | None = None
    in_app_queue_url: str | None = None
    feedback_queue_url: str | None = None
    flow_dlq_url: str | None = None
    email_dlq_url: str | None = None
    sms_dlq_url: str | None = None
    whatsapp_dlq_url: str | None = None
    in_app_dlq_url: str | None = None
    feedback_dlq_url: str | None = None
    unsubscribe_secret_arn: str | None = None
    public_base_url: str = ""
    ses_configuration_set: str | None = None
    email_from: str = "noreply@example.com"
    sms_origination_numbers: str = "{}"  # JSON {"US": "+1…", "default": "+1…"}
    whatsapp_api_base: str = "https://graph.facebook.com"
    whatsapp_phone_number_id: str = ""
    whatsapp_token_secret_arn: str | None = None
    whatsapp_app_secret_arn: str | None = None
    # Tenants' email attachments and MMS media, one folder per tenant.
    media_bucket_name: str | None = None


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
        costs_queue_url=env.get("COSTS_QUEUE_URL"),
        enrich_queue_url=env.get("ENRICH_QUEUE_URL"),
        enrich_dlq_url=env.get("ENRICH_DLQ_URL"),
        enrichment_enabled=env.get("ENRICHMENT_ENABLED", "true").lower() != "false",
        max_receive_count=int(env.get("MAX_RECEIVE_COUNT", "5")),
        stage=env.get("STAGE", "dev"),
        flow_queue_url=env.get("FLOW_QUEUE_URL"),
        email_queue_url=env.get("EMAIL_QUEUE_URL"),
        sms_queue_url=env.get("SMS_QUEUE_URL"),
        whatsapp_queue_url=env.get("WHATSAPP_QUEUE_URL"),
        in_app_queue_url=env.get("IN_APP_QUEUE_URL"),
        feedback_queue_url=env.get("FEEDBACK_QUEUE_URL"),
        flow_dlq_url=env.get("FLOW_DLQ_URL"),
        email_dlq_url=env.get("EMAIL_DLQ_URL"),
        sms_dlq_url=env.get("SMS_DLQ_URL"),
        whatsapp_dlq_url=env.get("WHATSAPP_DLQ_URL"),
        in_app_dlq_url=env.get("IN_APP_DLQ_URL"),
        feedback_dlq_url=env.get("FEEDBACK_DLQ_URL"),
        unsubscribe_secret_arn=env.get("UNSUBSCRIBE_SECRET_ARN"),
        public_base_url=env.get("PUBLIC_BASE_URL", "").rstrip("/"),
        ses_configuration_set=env.get("SES_CONFIGURATION_SET") or None,
        email_from=env.get("EMAIL_FROM", "noreply@example.com"),
        sms_origination_numbers=env.get("SMS_ORIGINATION_NUMBERS", "{}") or "{}",
        whatsapp_api_base=env.get("WHATSAPP_API_BASE", "https://graph.facebook.com"),
        whatsapp_phone_number_id=env.get("WHATSAPP_PHONE_NUMBER_ID", ""),
        whatsapp_token_secret_arn=env.get("WHATSAPP_TOKEN_SECRET_ARN"),
        whatsapp_app_secret_arn=env.get("WHATSAPP_APP_SECRET_ARN"),
        media_bucket_name=env.get("MEDIA_BUCKET_NAME"),
    )


def reset_settings() -> None:
    """Forget cached settings and clients (tests that switch environments call this)."""
    get_settings.cache_clear()
    from linkstar import aws

    aws.reset_clients()
