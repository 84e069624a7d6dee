"""The canonical model, one for every platform.

Adapters (``linkstar.platforms.*``) turn a platform payload into one of the ``*Snapshot`` /
``*Added`` changes below; ``linkstar.orders.merge`` folds a change into the stored state. Money is
``Decimal`` in the entity's ``currency``; times are aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Platform(StrEnum):
    SHOPIFY = "shopify"
    TIKTOK_SHOP = "tiktok_shop"
    SHOPEE = "shopee"
    LAZADA = "lazada"
    AMAZON = "amazon"


class OrderStatus(StrEnum):
    """The canonical lifecycle (see ``linkstar.orders.lifecycle`` for each platform's mapping)."""

    PENDING = "pending"  # placed, not yet paid (or payment only authorised)
    PAID = "paid"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"  # shipped
    DELIVERED = "delivered"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime: platform times must carry an offset")
    return value.astimezone(UTC)


class Address(_Model):
    country_code: str | None = None
    province_code: str | None = None
    city: str | None = None
    zip: str | None = None


class Person(_Model):
    """Who bought: enough to find or create the tenant's customer."""

    platform_customer_id: str | None = None
    email: str | None = None
    phone: str | None = None  # E.164
    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = None
    accepts_marketing: bool | None = None


class LineItem(_Model):
    line_id: str
    sku: str | None = None
    title: str
    quantity: int = Field(ge=0)
    unit_price: Decimal
    total: Decimal
    product_id: str | None = None
    variant_id: str | None = None


class Refund(_Model):
    refund_id: str
    amount: Decimal
    currency: str | None = None  # None when the platform omits it: the order's currency applies
    created_at: datetime
    reason: str | None = None
    line_items: tuple[tuple[str, int], ...] = ()  # (line_id, quantity)

    _utc_created = field_validator("created_at")(_utc)


class Fulfillment(_Model):
    fulfillment_id: str
    status: str
    created_at: datetime
    tracking_company: str | None = None
    tracking_numbers: tuple[str, ...] = ()
    tracking_urls: tuple[str, ...] = ()
    line_ids: tuple[str, ...] = ()
    shipment_status: str | None = None  # e.g. "delivered" when the carrier confirms it

    _utc_created = field_validator("created_at")(_utc)


class Order(_Model):
    """An order as the platform last described it (one snapshot)."""

    platform: Platform
    external_id: str
    name: str | None = None
    status: OrderStatus
    platform_status: str  # the platform's own words, e.g. "paid/fulfilled" for Shopify
    currency: str
    subtotal: Decimal
    total: Decimal
    tax: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    discounts: Decimal = Decimal(0)
    line_items: tuple[LineItem, ...] = ()
    customer: Person | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    created_at: datetime
    updated_at: datetime
    paid: bool = False
    fully_fulfilled: bool = False  # the platform says every item has shipped
    cancelled_at: datetime | None = None
    cancel_reason: str | None = None
    refunds: tuple[Refund, ...] = ()
    fulfillments: tuple[Fulfillment, ...] = ()
    source_name: str | None = None
    checkout_token: str | None = None
    # The marketplace's country (Amazon MarketplaceId, Lazada site): used when no address is known.
    market: str | None = None
    # True while only a notification has been seen (marketplaces push ids and statuses, not
    # amounts): totals are zero placeholders until enrichment fetches the order.
    amounts_pending: bool = False
    # Rebuilt from an export file (history import): fewer ids than the platform's own record,
    # so at the same timestamp the platform's own snapshot wins.
    from_export: bool = False
    # The page the buyer's session started on, as the platform reports it (Shopify's
    # ``landing_site``: a path and query, or a full URL). Its UTM parameters say which campaign
    # link brought the buyer: see ``utm``. None where the platform doesn't say.
    landing_site: str | None = None

    _utc_times = field_validator("created_at", "updated_at", "cancelled_at")(_utc)

    @property
    def utm(self) -> dict[str, str]:
        """The landing page's UTM parameters (``utm_source``, ``utm_content``, ...)."""
        return utm_parameters(self.landing_site)

    @property
    def units(self) -> int:
        return sum(item.quantity for item in self.line_items)

    @property
    def destination_country(self) -> str | None:
        for address in (self.shipping_address, self.billing_address):
            if address and address.country_code:
                return address.country_code.upper()
        return self.market.upper() if self.market else None


UTM_PARAMETERS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "utm_id")
_UTM_VALUE_MAX = 200  # the landing URL is the buyer's to write: keep what it carries bounded


def utm_parameters(url: str | None) -> dict[str, str]:
    """The UTM parameters in a URL or a path with a query ("/p/x?utm_source=a"); the first value
    of each, blank ones left out."""
    if not url:
        return {}
    try:
        query = urlsplit(url.strip()).query
    except ValueError:  # e.g. an unbalanced "[" in the host part
        return {}
    found: dict[str, str] = {}
    for name, value in parse_qsl(query):
        key = name.lower()
        if key in UTM_PARAMETERS and key not in found and value.strip():
            found[key] = value.strip()[:_UTM_VALUE_MAX]
    return found


# What a status-only notification may change on an order whose details are already known.
STATUS_FIELDS = (
    "status",
    "platform_status",
    "updated_at",
    "paid",
    "fully_fulfilled",
    "cancelled_at",
    "cancel_reason",
)


class Checkout(_Model):
    platform: Platform
    external_id: str  # the platform's checkout token
    email: str | None = None
    customer: Person | None = None
    currency: str
    total: Decimal
    line_items: tuple[LineItem, ...] = ()
    recovery_url: str | None = None
    country_code: str | None = None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None = None

    _utc_times = field_validator("created_at", "updated_at", "completed_at")(_utc)


class CustomerProfile(_Model):
    """A platform's customer record (customers/create, customers/update)."""

    platform: Platform
    person: Person
    country_code: str | None = None
    created_at: datetime
    updated_at: datetime

    _utc_times = field_validator("created_at", "updated_at")(_utc)


# ------------------------------------------------------------------ changes from one delivery


class OrderSnapshot(_Model):
    kind: Literal["order"] = "order"
    order: Order


class RefundAdded(_Model):
    kind: Literal["refund"] = "refund"
    order_external_id: str
    refund: Refund


class FulfillmentAdded(_Model):
    kind: Literal["fulfillment"] = "fulfillment"
    order_external_id: str
    fulfillment: Fulfillment


class CheckoutSnapshot(_Model):
    kind: Literal["checkout"] = "checkout"
    checkout: Checkout


class CustomerSnapshot(_Model):
    kind: Literal["customer"] = "customer"
    profile: CustomerProfile


class InventoryLevel(_Model):
    """Stock of one SKU in one market (Amazon FBA_INVENTORY_AVAILABILITY_CHANGES)."""

    sku: str
    market: str  # ISO country of the marketplace
    marketplace_id: str | None = None
    product_id: str | None = None  # ASIN
    fnsku: str | None = None
    title: str | None = None
    fulfillable: int = 0
    unfulfillable: int = 0
    inbound: int = 0
    reserved: int = 0
    researching: int = 0
    updated_at: datetime

    _utc_updated = field_validator("updated_at")(_utc)


class InventorySnapshot(_Model):
    kind: Literal["inventory"] = "inventory"
    levels: tuple[InventoryLevel, ...]


Change = (
    OrderSnapshot
    | RefundAdded
    | FulfillmentAdded
    | CheckoutSnapshot
    | CustomerSnapshot
    | InventorySnapshot
)


def utcnow() -> datetime:
    """The one clock (``linkstar.clock``): the local stack can move it forward."""
    from linkstar import clock

    return clock.now()
