"""Each platform's status vocabulary mapped onto the canonical lifecycle.

Canonical status ← each platform's words (Shopify: financial / fulfillment status):

pending
    Shopify pending, authorized, partially_paid, unpaid · Amazon PendingAvailability, Pending ·
    TikTok UNPAID, ON_HOLD · Shopee UNPAID, INVOICE_PENDING, PENDING · Lazada unpaid, pending
    (Amazon also UpComing)
paid
    Shopify paid (not fulfilled) · Amazon Unshipped · TikTok AWAITING_SHIPMENT ·
    Shopee READY_TO_SHIP, PROCESSED, RETRY_SHIP, IN_CANCEL (a request the seller may reject) ·
    Lazada confirmed, topack, packed, repacked, toship, ready_to_ship, ready_to_ship_pending
partially_fulfilled
    Shopify fulfillment partial · Amazon PartiallyShipped · TikTok PARTIALLY_SHIPPING
fulfilled (shipped)
    Shopify fulfillment fulfilled · Amazon Shipped, InvoiceUnconfirmed ·
    TikTok AWAITING_COLLECTION, IN_TRANSIT · Shopee SHIPPED, TO_CONFIRM_RECEIVE, TO_RETURN ·
    Lazada shipped, failed_delivery
delivered
    Shopify: a fulfillment whose shipment_status is delivered · TikTok DELIVERED, COMPLETED ·
    Shopee COMPLETED · Lazada delivered
partially_refunded
    Shopify partially_refunded, or refunds short of the total
refunded
    Shopify refunded, or refunds covering the total · Lazada returned, shipped_back_success,
    package_returned, refund_success (marketplace reverse events map here too)
cancelled
    Shopify cancelled_at set · Amazon Canceled, Unfulfillable · TikTok CANCEL, CANCELLED ·
    Shopee CANCELLED · Lazada canceled, lost_by_3pl, damaged_by_3pl, shipped_back,
    shipped_back_failed

The platform's own words are always kept beside the canonical status (``platform_status``).
A status missing from these tables is not guessed: :func:`canonical_status` raises, the delivery
goes to the DLQ with reason ``unknown_status``, and it can be replayed once the table is extended.
"""

from __future__ import annotations

from linkstar.errors import PermanentError
from linkstar.orders.models import OrderStatus, Platform

SHOPIFY_PAID_STATES = frozenset({"paid", "partially_refunded", "refunded"})

_S = OrderStatus
STATUS_TABLES: dict[Platform, dict[str, OrderStatus]] = {
    Platform.AMAZON: {
        "pendingavailability": _S.PENDING,
        "pending": _S.PENDING,
        "upcoming": _S.PENDING,  # ORDER_STATUS_CHANGE's schema lists UpComing
        "unshipped": _S.PAID,
        "partiallyshipped": _S.PARTIALLY_FULFILLED,
        "shipped": _S.FULFILLED,
        "invoiceunconfirmed": _S.FULFILLED,
        "canceled": _S.CANCELLED,
        "unfulfillable": _S.CANCELLED,
        # The All Orders report's own word for a carrier-confirmed delivery.
        "shipped___delivered_to_buyer": _S.DELIVERED,
    },
    Platform.TIKTOK_SHOP: {
        "unpaid": _S.PENDING,
        "on_hold": _S.PENDING,
        "awaiting_shipment": _S.PAID,
        "partially_shipping": _S.PARTIALLY_FULFILLED,
        "awaiting_collection": _S.FULFILLED,
        "in_transit": _S.FULFILLED,
        "delivered": _S.DELIVERED,
        "completed": _S.DELIVERED,
        "cancelled": _S.CANCELLED,  # the 202309 order API's word
        "cancel": _S.CANCELLED,  # the type 1 push's documented word
    },
    Platform.SHOPEE: {
        "unpaid": _S.PENDING,
        "pending": _S.PENDING,  # get_order_detail: SYSTEM_PENDING / KYC_PENDING
        "invoice_pending": _S.PENDING,
        "ready_to_ship": _S.PAID,
        "processed": _S.PAID,
        "retry_ship": _S.PAID,
        "shipped": _S.FULFILLED,
        "to_confirm_receive": _S.FULFILLED,
        # A return request doesn't undo the shipment; the refund, if any, arrives separately.
        "to_return": _S.FULFILLED,
        # A buyer's cancellation request the seller may still reject: not cancelled yet.
        "in_cancel": _S.PAID,
        "cancelled": _S.CANCELLED,
        "completed": _S.DELIVERED,
    },
    Platform.LAZADA: {
        "unpaid": _S.PENDING,
        "pending": _S.PENDING,
        "confirmed": _S.PAID,
        "topack": _S.PAID,
        "packed": _S.PAID,
        "repacked": _S.PAID,
        "toship": _S.PAID,
        "ready_to_ship": _S.PAID,
        "ready_to_ship_pending": _S.PAID,
        "shipped": _S.FULFILLED,
        "failed_delivery": _S.FULFILLED,
        "delivered": _S.DELIVERED,
        "returned": _S.REFUNDED,
        "shipped_back_success": _S.REFUNDED,
        "package_returned": _S.REFUNDED,
        "refund_success": _S.REFUNDED,
        "canceled": _S.CANCELLED,
        "cancelled": _S.CANCELLED,
        "lost_by_3pl": _S.CANCELLED,
        "damaged_by_3pl": _S.CANCELLED,
        "shipped_back": _S.CANCELLED,
        "shipped_back_failed": _S.CANCELLED,
    },
}

# Where each canonical status sits in the lifecycle: used only to break ties between two
# reports carrying the same platform timestamp (the later stage wins; nothing moves backwards).
RANK = {
    _S.PENDING: 0,
    _S.PAID: 1,
    _S.PARTIALLY_FULFILLED: 2,
    _S.FULFILLED: 3,
    _S.DELIVERED: 4,
    _S.PARTIALLY_REFUNDED: 5,
    _S.REFUNDED: 6,
    _S.CANCELLED: 7,
}

# A paid order has been paid at some point, even if it is now refunded or shipped.
_UNPAID = frozenset({_S.PENDING})


def _key(raw: str) -> str:
    return raw.strip().lower().replace(" ", "_").replace("-", "_")


def canonical_status(platform: Platform, raw: str | None) -> OrderStatus:
    """Map a marketplace's own status word; raise (→ DLQ, replayable) when it is unknown."""
    if not raw:
        raise PermanentError(f"{platform.value}: order has no status", code="unknown_status")
    table = STATUS_TABLES.get(platform)
    if table is None:
        raise PermanentError(f"no status table for {platform.value}", code="unknown_status")
    status = table.get(_key(raw))
    if status is None:
        raise PermanentError(
            f"{platform.value}: unknown order status {raw!r}", code="unknown_status"
        )
    return status


def is_known_status(platform: Platform, raw: str | None) -> bool:
    table = STATUS_TABLES.get(platform, {})
    return bool(raw) and _key(raw or "") in table


def implies_paid(status: OrderStatus) -> bool:
    """Marketplaces don't report payment separately: any stage past pending was paid, except
    a cancellation, whose payment (if any) the platform reverses itself."""
    return status not in _UNPAID and status is not _S.CANCELLED


def shopify_status(
    financial_status: str | None, fulfillment_status: str | None, cancelled: bool
) -> OrderStatus:
    financial = (financial_status or "pending").lower()
    fulfillment = (fulfillment_status or "").lower()
    if cancelled:
        return OrderStatus.CANCELLED
    if financial == "refunded":
        return OrderStatus.REFUNDED
    if financial == "partially_refunded":
        return OrderStatus.PARTIALLY_REFUNDED
    if fulfillment == "fulfilled":
        return OrderStatus.FULFILLED
    if fulfillment == "partial":
        return OrderStatus.PARTIALLY_FULFILLED
    if financial == "paid":
        return OrderStatus.PAID
    return OrderStatus.PENDING
