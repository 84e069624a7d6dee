"""Store models: API input, the stored entity, and the API view (secrets never leave)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linkstar import money
from linkstar.orders.models import Platform
from linkstar.text import Text

# Platforms whose push signature covers the app key (it must be known to verify).
APP_KEY_PLATFORMS = frozenset({Platform.TIKTOK_SHOP, Platform.LAZADA})


class StoreCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    platform: Platform
    external_id: str = Field(
        min_length=1,
        max_length=200,
        description="the platform's id for the shop: Shopify domain (acme.myshopify.com), TikTok "
        "shop_id, Shopee shop_id, Lazada seller_id, Amazon SellerId (merchant token)",
    )
    market: str = Field(description="ISO 3166-1 alpha-2 country the store mainly sells to")
    webhook_secret: str | None = Field(
        default=None,
        min_length=8,
        max_length=512,
        description="Shopify app secret, TikTok/Lazada app_secret, Shopee partner_key; "
        "not used for Amazon (notifications arrive through SQS)",
    )
    app_key: str | None = Field(
        default=None, min_length=1, max_length=200, description="TikTok Shop / Lazada app key"
    )
    callback_url: str | None = Field(
        default=None,
        max_length=2000,
        description="Shopee: the push URL exactly as configured in Shopee's console, if it "
        "differs from the webhook URL LinkStar shows (a proxy or custom domain)",
    )
    currency: str | None = None
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _platform_needs(self) -> StoreCreate:
        if self.platform is not Platform.AMAZON and not self.webhook_secret:
            # A Text: pydantic renders the error when the API answers, in the reader's language.
            raise ValueError(Text("store.webhook_secret_required", platform=self.platform.value))
        if self.platform in APP_KEY_PLATFORMS and not self.app_key:
            raise ValueError(Text("store.app_key_required", platform=self.platform.value))
        return self

    @field_validator("market")
    @classmethod
    def _market(cls, value: str) -> str:
        value = value.upper()
        if len(value) != 2 or not value.isalpha():
            raise ValueError(Text("store.invalid_market"))
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.upper()
        if not money.is_currency(value):
            raise ValueError(Text("store.invalid_currency"))
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
    app_key: str | None = None
    # The push URL as the platform calls it, fixed when the store is connected (Shopee signs it).
    webhook_url: str | None = None


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
    webhook_url: str | None = Field(description="paste into the platform; none for Amazon")
    amazon_notifications_queue_arn: str | None = Field(
        default=None, description="Amazon: the SQS destination to create in SP-API Notifications"
    )
    app_key: str | None = None
    webhook_secrets_active: int
    created_at: datetime
    ingest: IngestStats | None = None
