"""The stored state of an order and the pure rules that fold a change into it.

Ingestion is order-independent because every rule here is a merge, not an overwrite:
- the order snapshot with the newest platform ``updated_at`` wins (an older one changes nothing);
- refunds and fulfillments are unions keyed by the platform's id;
- milestones (placed, paid, fulfilled, delivered, cancelled) only ever get added, and each
  milestone or new refund/fulfillment yields exactly one domain event with a deterministic id.
Aggregates and customer totals are *derived* from the state (``contribution``), and the
repository applies ``contribution(new) - contribution(old)``: re-applying a change is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from linkstar import ids
from linkstar.orders.lifecycle import RANK
from linkstar.orders.models import (
    STATUS_FIELDS,
    Fulfillment,
    FulfillmentAdded,
    Order,
    OrderSnapshot,
    OrderStatus,
    Platform,
    Refund,
    RefundAdded,
)

Outcome = Literal["applied", "stale", "unchanged"]
# Fulfillments in these states shipped nothing (Shopify keeps them in the order's history).
VOID_FULFILLMENT_STATES = frozenset({"cancelled", "error", "failure"})


class OrderState(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    store_id: str
    order_id: str
    platform: Platform
    external_id: str
    store_market: str
    snapshot: Order | None = None  # None while only a refund or fulfillment has arrived
    refunds: tuple[Refund, ...] = ()
    fulfillments: tuple[Fulfillment, ...] = ()
    milestones: frozenset[str] = frozenset()
    version: int = 0

    # ------------------------------------------------------------------ derived views
    @property
    def placed(self) -> bool:
        return self.snapshot is not None

    @property
    def refunded_amount(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal(0))

    @property
    def status(self) -> OrderStatus | None:
        snap = self.snapshot
        if snap is None:
            return None
        if snap.cancelled_at is not None or snap.status is OrderStatus.CANCELLED:
            return OrderStatus.CANCELLED
        refunded = self.refunded_amount
        if snap.status is OrderStatus.REFUNDED or (refunded > 0 and refunded >= snap.total):
            return OrderStatus.REFUNDED
        if snap.status is OrderStatus.PARTIALLY_REFUNDED or refunded > 0:
            return OrderStatus.PARTIALLY_REFUNDED
        if self.delivered:
            return OrderStatus.DELIVERED
        if snap.status in (OrderStatus.PENDING, OrderStatus.PAID) and self.shipped:
            if self._all_lines_fulfilled():
                return OrderStatus.FULFILLED
            return OrderStatus.PARTIALLY_FULFILLED
        return snap.status

    def _all_lines_fulfilled(self) -> bool:
        snap = self.snapshot
        if snap is None:
            return False
        covered = {line for f in self.shipped for line in f.line_ids}
        wanted = {item.line_id for item in snap.line_items}
        # A fulfillment that names no lines (some platforms send none) ships the whole order.
        return not wanted or not covered or wanted <= covered

    @property
    def shipped(self) -> tuple[Fulfillment, ...]:
        return tuple(f for f in self.fulfillments if f.status not in VOID_FULFILLMENT_STATES)

    @property
    def delivered(self) -> bool:
        return any(f.shipment_status == "delivered" for f in self.shipped)

    @property
    def market(self) -> str:
        """Destination country when known, else the store's market."""
        if self.snapshot and self.snapshot.destination_country:
            return self.snapshot.destination_country
        return self.store_market

    @property
    def customer_key(self) -> str | None:
        snap = self.snapshot
        if snap is None or snap.customer is None:
            return None
        person = snap.customer
        return ids.customer_id_for(
            self.tenant_id, self.store_id, person.email, person.platform_customer_id
        )

    def current_milestones(self) -> frozenset[str]:
        snap = self.snapshot
        if snap is None:
            return frozenset()
        # From the facts, not the headline status: a refund must not hide that it shipped.
        shipped_all = bool(self.shipped) and self._all_lines_fulfilled()
        facts = {
            "placed": True,
            "paid": snap.paid,
            "fulfilled": snap.fully_fulfilled
            or snap.status in (OrderStatus.FULFILLED, OrderStatus.DELIVERED)
            or self.delivered
            or shipped_all,
            "delivered": self.delivered,
            "cancelled": self.status is OrderStatus.CANCELLED,
        }
        return frozenset(name for name, holds in facts.items() if holds)


@dataclass(frozen=True)
class DomainEvent:
    event_id: str
    detail_type: str
    detail: dict[str, Any]


@dataclass
class MergeResult:
    state: OrderState
    outcome: Outcome
    events: list[DomainEvent] = field(default_factory=list)


def _union(existing: tuple, incoming: tuple, key: str) -> tuple:
    """Union by platform id; an incoming entry replaces an equal-id one (it carries newer
    carrier data such as a delivered shipment status)."""
    merged = {getattr(item, key): item for item in existing}
    for item in incoming:
        merged[getattr(item, key)] = item
    return tuple(sorted(merged.values(), key=lambda i: (i.created_at, getattr(i, key))))


def empty_state(
    tenant_id: str, store_id: str, platform: Platform, external_id: str, store_market: str
) -> OrderState:
    return OrderState(
        tenant_id=tenant_id,
        store_id=store_id,
        order_id=ids.order_id(store_id, external_id),
        platform=platform,
        external_id=external_id,
        store_market=store_market,
    )


def _newer(incoming: Order, current: Order) -> bool:
    if incoming.updated_at != current.updated_at:
        return incoming.updated_at > current.updated_at
    # Two reports stamped the same second: the later lifecycle stage wins, never the earlier;
    # at the same stage the platform's own record beats one rebuilt from an export.
    if incoming.status != current.status:
        return RANK[incoming.status] > RANK[current.status]
    return current.from_export and not incoming.from_export


def combine(current: Order | None, incoming: Order) -> tuple[Order, bool]:
    """The snapshot to keep, and whether ``incoming`` was older than what is known.

    A marketplace notification (``amounts_pending``) knows the status, not the amounts; the
    order API's answer knows both but may lag the newest notification. So a newer status-only
    report moves the status of a known order without erasing its details, and an older full
    report still fills in the details of an order known only from notifications.
    """
    if current is None:
        return incoming, False
    if _newer(incoming, current):
        if not incoming.amounts_pending:
            return incoming, False
        if not current.amounts_pending:
            return current.model_copy(
                update={name: getattr(incoming, name) for name in STATUS_FIELDS}
            ), False
        return incoming.model_copy(
            update={
                "created_at": min(incoming.created_at, current.created_at),
                "line_items": incoming.line_items or current.line_items,
                "market": incoming.market or current.market,
            }
        ), False
    if current.amounts_pending and not incoming.amounts_pending:
        return incoming.model_copy(
            update={name: getattr(current, name) for name in STATUS_FIELDS}
        ), False
    if current.amounts_pending and incoming.amounts_pending:
        # An older notification still knows something the newer one may not: how early the
        # order existed (placeholder creation time), and its lines and market if missing.
        filled = current.model_copy(
            update={
                "created_at": min(incoming.created_at, current.created_at),
                "line_items": current.line_items or incoming.line_items,
                "market": current.market or incoming.market,
            }
        )
        if filled != current:
            return filled, False
    return current, incoming.updated_at < current.updated_at


def merge(state: OrderState, change: OrderSnapshot | RefundAdded | FulfillmentAdded) -> MergeResult:
    snapshot = state.snapshot
    refunds = state.refunds
    fulfillments = state.fulfillments
    stale = False
    if isinstance(change, OrderSnapshot):
        incoming = change.order
        snapshot, stale = combine(snapshot, incoming)
        # Refunds and fulfillments inside any snapshot (even an old one) are facts: keep them.
        refunds = _union(refunds, incoming.refunds, "refund_id")
        fulfillments = _union(fulfillments, incoming.fulfillments, "fulfillment_id")
    elif isinstance(change, RefundAdded):
        refunds = _union(refunds, (change.refund,), "refund_id")
    else:
        fulfillments = _union(fulfillments, (change.fulfillment,), "fulfillment_id")

    candidate = state.model_copy(
        update={"snapshot": snapshot, "refunds": refunds, "fulfillments": fulfillments}
    )
    milestones = state.milestones | candidate.current_milestones()
    candidate = candidate.model_copy(update={"milestones": milestones})
    if _same(candidate, state):
        return MergeResult(state=state, outcome="stale" if stale else "unchanged")
    candidate = candidate.model_copy(update={"version": state.version + 1})
    return MergeResult(state=candidate, outcome="applied", events=_events(state, candidate))


def _same(a: OrderState, b: OrderState) -> bool:
    return (
        a.snapshot == b.snapshot
        and a.refunds == b.refunds
        and a.fulfillments == b.fulfillments
        and a.milestones == b.milestones
    )


_MILESTONE_EVENTS = {
    "placed": "order.placed",
    "paid": "order.paid",
    "fulfilled": "order.fulfilled",
    "delivered": "order.delivered",
    "cancelled": "order.cancelled",
}


def order_summary(state: OrderState) -> dict[str, Any]:
    snap = state.snapshot
    summary: dict[str, Any] = {
        "tenant_id": state.tenant_id,
        "store_id": state.store_id,
        "order_id": state.order_id,
        "platform": state.platform.value,
        "external_id": state.external_id,
        "market": state.market,
    }
    if snap is not None:
        summary.update(
            status=state.status.value if state.status else None,
            currency=snap.currency,
            total=str(snap.total),
            amounts_pending=snap.amounts_pending,
            customer_id=state.customer_key,
            email=snap.customer.email if snap.customer else None,
            created_at=snap.created_at.isoformat(),
        )
        if snap.utm:  # which campaign link brought the buyer: outreach attributes by it
            summary["utm"] = snap.utm
    return summary


def _events(old: OrderState, new: OrderState) -> list[DomainEvent]:
    events: list[DomainEvent] = []
    summary = order_summary(new)
    base = (new.tenant_id, new.order_id)
    # "placed" first, so consumers that care about order see creation before payment.
    for milestone in ("placed", "paid", "fulfilled", "delivered", "cancelled"):
        if milestone in new.milestones and milestone not in old.milestones:
            events.append(
                DomainEvent(
                    ids.event_id(*base, milestone),
                    _MILESTONE_EVENTS[milestone],
                    dict(summary),
                )
            )
    known_refunds = {r.refund_id for r in old.refunds}
    for refund in new.refunds:
        if refund.refund_id not in known_refunds:
            detail = dict(summary)
            detail.update(
                refund_id=refund.refund_id,
                refund_amount=str(refund.amount),
                refund_currency=refund.currency,
                reason=refund.reason,
            )
            events.append(
                DomainEvent(
                    ids.event_id(*base, "refund", refund.refund_id), "order.refunded", detail
                )
            )
    known_fulfillments = {f.fulfillment_id for f in old.shipped}
    for fulfillment in new.shipped:
        if fulfillment.fulfillment_id not in known_fulfillments:
            detail = dict(summary)
            detail.update(
                fulfillment_id=fulfillment.fulfillment_id,
                tracking_company=fulfillment.tracking_company,
                tracking_numbers=list(fulfillment.tracking_numbers),
                tracking_urls=list(fulfillment.tracking_urls),
            )
            events.append(
                DomainEvent(
                    ids.event_id(*base, "fulfillment", fulfillment.fulfillment_id),
                    "fulfillment.created",
                    detail,
                )
            )
    return events


# ------------------------------------------------------------------ derived totals

AggregateKey = tuple[str, str, str]  # (UTC day, store_id, market)


def contribution(state: OrderState) -> dict[AggregateKey, dict[str, Decimal]]:
    """What this order adds to the daily aggregates, by (day, store, market)."""
    snap = state.snapshot
    if snap is None:
        return {}
    cancelled = state.status is OrderStatus.CANCELLED
    values: dict[str, Decimal] = {
        "orders": Decimal(1),
        "units": Decimal(snap.units),
        "cancelled": Decimal(1 if cancelled else 0),
        "refunds": Decimal(len(state.refunds)),
        "refunded_orders": Decimal(1 if state.refunds else 0),  # the refund rate's numerator
        # Counted, but not as zero revenue: reports show how many orders await their amounts.
        "amounts_pending": Decimal(1 if snap.amounts_pending else 0),
        f"gmv#{snap.currency}": Decimal(0) if cancelled else snap.total,
    }
    # The funnel's order stages, counted on the day the order was placed (a cohort: of the
    # orders placed that day, how many were paid, shipped, delivered), from the facts.
    reached = state.current_milestones()
    for stage, milestone in (
        ("paid_orders", "paid"),
        ("fulfilled", "fulfilled"),
        ("delivered", "delivered"),
    ):
        values[stage] = Decimal(1 if milestone in reached else 0)
    for refund in state.refunds:
        name = f"refunded#{refund.currency or snap.currency}"
        values[name] = values.get(name, Decimal(0)) + refund.amount
    key = (snap.created_at.date().isoformat(), state.store_id, state.market)
    return {key: values}


def customer_contribution(state: OrderState) -> dict[str, dict[str, Decimal]]:
    """What this order adds to its customer's totals (orders_count, spent per currency)."""
    snap = state.snapshot
    customer = state.customer_key
    if snap is None or customer is None:
        return {}
    spent = Decimal(0)
    if state.status is not OrderStatus.CANCELLED:
        spent = snap.total - sum(
            (r.amount for r in state.refunds if (r.currency or snap.currency) == snap.currency),
            Decimal(0),
        )
    return {customer: {"orders_count": Decimal(1), f"spent#{snap.currency}": spent}}


K = TypeVar("K", AggregateKey, str)


def diff(
    new: dict[K, dict[str, Decimal]], old: dict[K, dict[str, Decimal]]
) -> dict[K, dict[str, Decimal]]:
    """new - old, per key and field, dropping zeros."""
    out: dict[K, dict[str, Decimal]] = {}
    for key in set(new) | set(old):
        fields = set(new.get(key, {})) | set(old.get(key, {}))
        delta = {
            name: new.get(key, {}).get(name, Decimal(0)) - old.get(key, {}).get(name, Decimal(0))
            for name in fields
        }
        delta = {name: value for name, value in delta.items() if value != 0}
        if delta:
            out[key] = delta
    return out


PURCHASES = "purchases#"
"""Purchase-history delta field ``purchases#<day>#<store_id>#<market>``: orders bought that day."""
PURCHASE_AMOUNT = "purchase_amount#"
"""Purchase-history delta field ``purchase_amount#<day>#<currency>``: their net amount."""


def purchase_contribution(state: OrderState) -> dict[str, dict[str, Decimal]]:
    """What this order adds to its customer's purchase history, the input of the repeat stages and
    cohorts (:mod:`linkstar.funnel.contribution`): one purchase on the order's day (UTC, as the
    aggregates count it) in its store and market, and its amount net of same-currency refunds.

    A cancelled order is no purchase. The amount is floored at 0: a refund larger than the order
    (shipping refunded on top) is not negative revenue in a cohort."""
    snap = state.snapshot
    customer = state.customer_key
    if snap is None or customer is None or state.status is OrderStatus.CANCELLED:
        return {}
    refunded = sum(
        (r.amount for r in state.refunds if (r.currency or snap.currency) == snap.currency),
        Decimal(0),
    )
    day = snap.created_at.date().isoformat()
    amount = max(snap.total - refunded, Decimal(0))
    return {customer: purchase_fields(day, state.store_id, state.market, snap.currency, amount)}


def purchase_fields(
    day: str, store_id: str, market: str, currency: str, amount: Decimal
) -> dict[str, Decimal]:
    """One purchase as purchase-history delta fields (see :func:`purchase_contribution`)."""
    return {
        f"{PURCHASES}{day}#{store_id}#{market}": Decimal(1),
        f"{PURCHASE_AMOUNT}{day}#{currency}": amount,
    }
