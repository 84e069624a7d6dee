"""Each platform's status vocabulary mapped onto the canonical lifecycle.

| canonical             | Shopify (financial_status / fulfillment_status / cancelled_at)         |
|-----------------------|------------------------------------------------------------------------|
| pending               | financial pending, authorized, partially_paid, unpaid; not fulfilled   |
| paid                  | financial paid; not fulfilled                                          |
| partially_fulfilled   | fulfillment partial                                                    |
| fulfilled             | fulfillment fulfilled (shipped)                                        |
| delivered             | a fulfillment whose shipment_status is delivered                      |
| partially_refunded    | financial partially_refunded, or refunds short of the total           |
| refunded              | financial refunded, or refunds covering the total                     |
| cancelled             | cancelled_at set (any financial status, incl. voided)                 |

The platform's own words are always kept beside the canonical status (``platform_status``).
Later platforms add their columns here.
"""

from __future__ import annotations

from linkstar.orders.models import OrderStatus

SHOPIFY_PAID_STATES = frozenset({"paid", "partially_refunded", "refunded"})


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
