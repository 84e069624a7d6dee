"""Store models: API input, the stored entity, and the API view (secrets never leave)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from linkstar import money
from linkstar.orders.models import Platform


class StoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: Platform
    external_id: str = Field(min_length=1, max_length=200, description="e.g. acme.myshopify.com")
    market: str = Field(description="ISO 3166-1 alpha-2 country the store mainly sells to")
    webhook_secret: str = Field(min_length=8, max_length=512)
    currency: str | None = None
    name: str | None = Field(default=None, max_length=200)

    @field_validator("market")
    @classmethod
    def _market(cls, value: str) -> str:
        value = value.upper()
        if len(value) != 2 or not value.isalpha():
            raise ValueError("must be an ISO 3166-1 alpha-2 code such as US or DE")
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.upper()
        if not money.is_currency(value):
            raise ValueError("must be an ISO 4217 code")
        return value


class SecretRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    webhook_secret: str = Field(min_length=8, max_length=512)
    retire_previous: bool = Field(
        default=False,
        description="drop the older secrets now (else they keep verifying until retired)",
    )


class Store(BaseModel):
    tenant_id: str
    store_id: str
    platform: Platform
    external_id: str
    market: str
    currency: str | None = None
    name: str | None = None
    webhook_secrets: tuple[str, ...]
    created_at: datetime


class IngestStats(BaseModel):
    deliveries_processed: int = 0
    duplicates: int = 0
    stale_ignored: int = 0
    ignored_topics: dict[str, int] = {}
    dead_lettered: int = 0
    last_event_at: str | None = None


class StoreView(BaseModel):
    store_id: str
    platform: Platform
    external_id: str
    market: str
    currency: str | None
    name: str | None
    webhook_url: str
    webhook_secrets_active: int
    created_at: datetime
    ingest: IngestStats | None = None
