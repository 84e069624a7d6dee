"""API views of orders and customers (the stored entities mapped explicitly, never returned
as they are)."""

from __future__ import annotations

from typing import Any

from linkstar.customers.models import Customer
from linkstar.orders.state import OrderState


def order_view(state: OrderState, detail: bool = False) -> dict[str, Any]:
    snap = state.snapshot
    view: dict[str, Any] = {
        "order_id": state.order_id,
        "store_id": state.store_id,
        "platform": state.platform.value,
        "external_id": state.external_id,
        "market": state.market,
        "status": state.status.value if state.status else "unknown",
        "placed": state.placed,
    }
    if snap is not None:
        view.update(
            name=snap.name,
            platform_status=snap.platform_status,
            # Marketplace orders known only from a notification: totals are not known yet.
            amounts_pending=snap.amounts_pending,
            currency=snap.currency,
            total=str(snap.total),
            subtotal=str(snap.subtotal),
            tax=str(snap.tax),
            shipping=str(snap.shipping),
            discounts=str(snap.discounts),
            refunded=str(state.refunded_amount),
            units=snap.units,
            customer_id=state.customer_key,
            email=snap.customer.email if snap.customer else None,
            created_at=snap.created_at.isoformat(),
            updated_at=snap.updated_at.isoformat(),
            cancelled_at=snap.cancelled_at.isoformat() if snap.cancelled_at else None,
        )
    if detail:
        view["milestones"] = sorted(state.milestones)
        view["refunds"] = [r.model_dump(mode="json") for r in state.refunds]
        view["fulfillments"] = [f.model_dump(mode="json") for f in state.fulfillments]
        if snap is not None:
            view["line_items"] = [li.model_dump(mode="json") for li in snap.line_items]
            view["customer"] = snap.customer.model_dump(mode="json") if snap.customer else None
            view["shipping_address"] = (
                snap.shipping_address.model_dump(mode="json") if snap.shipping_address else None
            )
            view["cancel_reason"] = snap.cancel_reason
    return view


def customer_view(customer: Customer) -> dict[str, Any]:
    return {
        "customer_id": customer.customer_id,
        "email": customer.email,
        "phone": customer.phone,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "country": customer.country,
        "locale": customer.locale,
        "timezone": customer.timezone,
        "timezone_source": customer.timezone_source,
        "accepts_marketing": customer.accepts_marketing,
        "orders_count": customer.orders_count,
        "total_spent": {cur: str(amount) for cur, amount in sorted(customer.spent.items())},
        "first_order_at": customer.first_order.created_at.isoformat()
        if customer.first_order
        else None,
        "last_order_at": customer.last_order_at.isoformat() if customer.last_order_at else None,
        "stores": sorted(customer.platform_ids),
        "created_at": customer.created_at.isoformat(),
    }
