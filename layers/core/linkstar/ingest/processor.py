"""Process one delivery: dedupe → normalise (platform adapter) → apply in one transaction.

Exactly-once effects come from two layers:
1. Powertools idempotency on the platform's event id: a redelivery costs one failed conditional
   write plus the store's duplicate counter; concurrent copies of one delivery can't both run.
2. Merge rules plus optimistic locking (``linkstar.orders.state``): even a delivery the first
   layer no longer remembers, or the same state under a new event id, changes nothing, and an
   older snapshot never overwrites a newer one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from linkstar import aws, ids
from linkstar.costs import ledger as cost_ledger
from linkstar.customers import models as customers
from linkstar.errors import ConcurrentUpdate, IgnoredEvent, PermanentError
from linkstar.ingest.envelope import DeliveryMeta, body_digest
from linkstar.observability import logger
from linkstar.orders import state as order_state
from linkstar.orders.models import (
    Change,
    CheckoutSnapshot,
    CustomerSnapshot,
    FulfillmentAdded,
    InventorySnapshot,
    Order,
    OrderSnapshot,
    OrderStatus,
    Platform,
    RefundAdded,
    utcnow,
)
from linkstar.orders.state import AggregateKey, DomainEvent
from linkstar.platforms import amazon, lazada, shopee, shopify, tiktok_shop
from linkstar.settings import get_settings
from linkstar.store import aggregates, checkouts, dynamo, inventory, outbox
from linkstar.store import cohorts as cohort_repo
from linkstar.store import customers as customer_repo
from linkstar.store import orders as order_repo
from linkstar.store import stores as store_repo
from linkstar.stores.models import Store

MAX_ATTEMPTS = 8
# A delivery whose body is already a canonical Order (JSON): what enrichment and history
# imports feed through this same path, so they dedupe and merge exactly like webhooks.
CANONICAL_ORDER_TOPIC = "linkstar/order"
MARKETPLACES = frozenset({Platform.AMAZON, Platform.TIKTOK_SHOP, Platform.SHOPEE, Platform.LAZADA})
# Statuses whose amounts may differ from what enrichment last fetched (refunds, cancellations).
_REFETCH_ON = frozenset(
    {OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.PARTIALLY_REFUNDED}
)
ADAPTERS: dict[str, Callable[[str, Any, Store | None], Change]] = {
    "shopify": shopify.normalise,
    "tiktok_shop": tiktok_shop.normalise,
    "shopee": shopee.normalise,
    "lazada": lazada.normalise,
    "amazon": amazon.normalise,
}
IDEMPOTENCY_SECONDS = 7 * 24 * 3600  # platforms retry for up to two days; keep a margin


def read_body(meta: DeliveryMeta, message_body: str) -> bytes:
    if meta.body_s3_key:
        answer = aws.client("s3").get_object(
            Bucket=get_settings().raw_bucket_name, Key=meta.body_s3_key
        )
        return answer["Body"].read()
    return message_body.encode("utf-8")


def process_delivery(meta: DeliveryMeta, body: bytes) -> str:
    """Apply a delivery once. Returns the outcome (applied, stale, unchanged, duplicate)."""
    delivery = {"dedupe_key": meta.dedupe_key, "meta": meta.__dict__, "body": body.decode()}
    return str(_idempotent()(delivery=delivery)["outcome"])


def process_order(store: Store, order: Order, source: str, key: str | None = None) -> str:
    """Apply a canonical order (fetched by enrichment, read from an imported file) through the
    same dedupe and merge as a webhook. Its event id is ``source:key``, the key defaulting to
    the order's digest: the same answer twice is one delivery, a changed answer a new one."""
    body = order.model_dump_json().encode()
    meta = DeliveryMeta(
        delivery_id=ids.new_delivery_id(),
        platform=store.platform.value,
        tenant_id=store.tenant_id,
        store_id=store.store_id,
        topic=CANONICAL_ORDER_TOPIC,
        received_at=utcnow().isoformat(),
        event_id=f"{source}:{key or body_digest(body)}",
    )
    return process_delivery(meta, body)


def register_context(context: Any) -> None:
    """Let Powertools size the in-progress lock by the invocation's remaining time."""
    _idempotent().config.register_lambda_context(context)


@lru_cache(maxsize=1)
def _idempotent() -> Any:
    """Built on first use: Powertools creates its DynamoDB client at construction time."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    settings = get_settings()
    persistence = DynamoDBPersistenceLayer(
        table_name=settings.idempotency_table_name or "", boto3_client=aws.client("dynamodb")
    )
    config = IdempotencyConfig(
        event_key_jmespath="dedupe_key",
        expires_after_seconds=IDEMPOTENCY_SECONDS,
        response_hook=_on_duplicate,
    )

    @idempotent_function(
        data_keyword_argument="delivery", persistence_store=persistence, config=config
    )
    def apply_delivery(delivery: dict[str, Any]) -> dict[str, Any]:
        meta = DeliveryMeta(**delivery["meta"])
        outcome = _apply(meta, delivery["body"].encode("utf-8"))
        # Saved by Powertools and handed back on a redelivery (see _on_duplicate).
        return {"outcome": outcome, "tenant_id": meta.tenant_id, "store_id": meta.store_id}

    apply_delivery.config = config  # type: ignore[attr-defined]
    return apply_delivery


def _on_duplicate(response: Any, idempotent_data: Any) -> Any:
    """Powertools calls this only when it answers from a stored record: a redelivery."""
    store_repo.count(response["tenant_id"], response["store_id"], "duplicates")
    return {**response, "outcome": "duplicate"}


def _apply(meta: DeliveryMeta, body: bytes) -> str:
    normalise = ADAPTERS.get(meta.platform)
    if normalise is None:
        raise PermanentError(f"no adapter for platform {meta.platform!r}", code="unknown_platform")
    store = store_repo.get_cached(meta.tenant_id, meta.store_id)
    if store is None:
        raise PermanentError("the store no longer exists", code="store_not_found")
    try:
        change = _change(meta, body, store, normalise)
    except IgnoredEvent as exc:
        store_repo.count(store.tenant_id, store.store_id, f"ignored#{meta.topic}")
        logger.info("event ignored", extra={"reason": exc.message, "topic": meta.topic})
        return "ignored"
    for _attempt in range(MAX_ATTEMPTS):
        try:
            outcome = _apply_change(store, change, meta)
        except ConcurrentUpdate:
            continue
        if outcome in ("stale", "unchanged"):
            counter = "stale_ignored" if outcome == "stale" else "unchanged"
            store_repo.count(store.tenant_id, store.store_id, counter)
        logger.info(
            "delivery applied",
            extra={"outcome": outcome, "topic": meta.topic, "delivery_id": meta.delivery_id},
        )
        return outcome
    raise ConcurrentUpdate(f"gave up after {MAX_ATTEMPTS} optimistic-lock races")


def _change(
    meta: DeliveryMeta,
    body: bytes,
    store: Store,
    normalise: Callable[[str, Any, Store | None], Change],
) -> Change:
    if meta.topic == CANONICAL_ORDER_TOPIC:
        try:
            order = Order.model_validate_json(body)
        except ValidationError as exc:
            raise PermanentError(f"not a canonical order: {exc}", code="invalid_payload") from exc
        if order.platform is not store.platform:
            raise PermanentError("order is for another platform", code="platform_mismatch")
        return OrderSnapshot(order=order)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        raise PermanentError(f"body is not JSON: {exc}", code="invalid_json") from exc
    return normalise(meta.topic, payload, store)


def _apply_change(store: Store, change: Change, meta: DeliveryMeta) -> str:
    if isinstance(change, OrderSnapshot | RefundAdded | FulfillmentAdded):
        return _apply_order(store, change, meta)
    if isinstance(change, CheckoutSnapshot):
        return _apply_checkout(store, change, meta)
    if isinstance(change, CustomerSnapshot):
        return _apply_profile(store, change, meta)
    if isinstance(change, InventorySnapshot):
        return _apply_inventory(store, change, meta)
    raise PermanentError(f"unhandled change {type(change).__name__}", code="unsupported_change")


def _add(into: dict[AggregateKey, dict[str, Decimal]], more: dict) -> None:
    for key, fields in more.items():
        slot = into.setdefault(key, {})
        for name, value in fields.items():
            slot[name] = slot.get(name, Decimal(0)) + value


def _new_customer(tenant_id: str, customer_id: str) -> customers.Customer:
    return customers.Customer(tenant_id=tenant_id, customer_id=customer_id, created_at=utcnow())


def _customer_event(customer: customers.Customer, kind: str, store: Store) -> DomainEvent:
    detail = {
        "tenant_id": customer.tenant_id,
        # The store (and its platform) whose data this is: a consent read from its marketing
        # flag is recorded as that platform's, with the store as proof.
        "store_id": store.store_id,
        "platform": store.platform.value,
        "customer_id": customer.customer_id,
        "email": customer.email,
        "phone": customer.phone,
        "country": customer.country,
        "locale": customer.locale,
        "timezone": customer.timezone,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        # Outreach reads the platform's email marketing flag as (email-only) consent.
        "accepts_marketing": customer.accepts_marketing,
    }
    event_key = "created" if kind == "customer.created" else str(customer.version)
    return DomainEvent(
        ids.event_id(customer.tenant_id, customer.customer_id, event_key), kind, detail
    )


def _commit(
    store: Store,
    meta: DeliveryMeta,
    ops: list[dynamo.Op],
    events: list[DomainEvent],
    agg: dict[AggregateKey, dict[str, Decimal]] | None = None,
) -> None:
    occurred = meta.triggered_at or meta.received_at
    ops = list(ops)
    if agg:
        ops += aggregates.delta_ops(store.tenant_id, {k: v for k, v in agg.items() if v})
    ops += outbox.event_ops(store.tenant_id, events, occurred)
    ops.append(store_repo.stats_op(store.tenant_id, store.store_id, meta.received_at))
    dynamo.transact(ops)


def _apply_order(
    store: Store, change: OrderSnapshot | RefundAdded | FulfillmentAdded, meta: DeliveryMeta
) -> str:
    external_id = (
        change.order.external_id if isinstance(change, OrderSnapshot) else change.order_external_id
    )
    oid = ids.order_id(store.store_id, external_id)
    current = order_repo.load(store.tenant_id, oid) or order_state.empty_state(
        store.tenant_id, store.store_id, store.platform, external_id, store.market
    )
    result = order_state.merge(current, change)
    if result.outcome != "applied":
        return result.outcome
    new = result.state
    agg = order_state.diff(order_state.contribution(new), order_state.contribution(current))
    customer_deltas = order_state.diff(
        order_state.customer_contribution(new), order_state.customer_contribution(current)
    )
    # Repeat stages and cohorts: the order's change to its customers' purchase days rides along
    # with their totals; customers.apply_order turns it into cohort deltas in ``agg``.
    for customer_id, purchases in order_state.diff(
        order_state.purchase_contribution(new), order_state.purchase_contribution(current)
    ).items():
        customer_deltas.setdefault(customer_id, {}).update(purchases)
    newly_placed = "placed" in new.milestones and "placed" not in current.milestones
    # A marketplace order is placed by its first notification, which names no buyer; the buyer
    # arrives with enrichment, and only then is the order that customer's new order.
    newly_for_customer = bool(new.customer_key) and (
        newly_placed or new.customer_key != current.customer_key
    )
    affected = set(customer_deltas)
    if newly_for_customer and new.customer_key:
        affected.add(new.customer_key)
    ops = [order_repo.put_op(new, expected_version=current.version)]
    events = list(result.events)
    if _needs_enrichment(store, change, current, new):
        events.append(_enrichment_request(new))
    for customer_id in sorted(affected):
        existing = customer_repo.load(store.tenant_id, str(customer_id))
        before = existing or _new_customer(store.tenant_id, str(customer_id))
        after, extra = customers.apply_order(
            before,
            new,
            customer_deltas.get(customer_id, {}),
            newly_for_customer and customer_id == new.customer_key,
        )
        _add(agg, extra)
        after = after.model_copy(update={"version": before.version + 1})
        ops.append(customer_repo.put_op(after, expected_version=before.version))
        if existing is None:
            events.insert(0, _customer_event(after, "customer.created", store))
    # The order's costs change in the same transaction as the order (linkstar.costs.ledger).
    ops += cost_ledger.ingest_ops(store.tenant_id, new)
    ops += cohort_repo.delta_ops(store.tenant_id, agg)  # the cohort months' share of ``agg``
    _commit(store, meta, ops, events, agg)
    return "applied"


def _needs_enrichment(
    store: Store,
    change: OrderSnapshot | RefundAdded | FulfillmentAdded,
    before: order_state.OrderState,
    after: order_state.OrderState,
) -> bool:
    """Fetch a marketplace order when a notification told us something its stored details may
    not reflect: it is new (amounts pending) or it was cancelled or refunded since."""
    if store.platform not in MARKETPLACES or not get_settings().enrichment_enabled:
        return False
    if not isinstance(change, OrderSnapshot) or not change.order.amounts_pending:
        return False
    # A snapshot change always leaves a snapshot behind.
    if after.snapshot is not None and after.snapshot.amounts_pending:
        return True
    return after.status in _REFETCH_ON and after.status != before.status


def _enrichment_request(state: order_state.OrderState) -> DomainEvent:
    snap = state.snapshot
    assert snap is not None
    detail = {
        "tenant_id": state.tenant_id,
        "store_id": state.store_id,
        "order_id": state.order_id,
        "platform": state.platform.value,
        "external_id": state.external_id,
        "hints": {"market": state.market, "platform_status": snap.platform_status},
        # "pending": fetch only if still needed when the request is served; "refetch": the
        # order was cancelled or refunded after its amounts were known, so fetch regardless.
        "reason": "pending" if snap.amounts_pending else "refetch",
    }
    key = ("enrich", snap.platform_status, snap.updated_at.isoformat())
    return DomainEvent(
        ids.event_id(state.tenant_id, state.order_id, *key), "order.enrichment_requested", detail
    )


def _apply_inventory(store: Store, change: InventorySnapshot, meta: DeliveryMeta) -> str:
    ops: list[dynamo.Op] = []
    events: list[DomainEvent] = []
    stale = 0
    for level in change.levels:
        known = inventory.load(store.tenant_id, store.store_id, level.sku, level.market)
        if known is not None and level.updated_at <= known.level.updated_at:
            stale += level.updated_at < known.level.updated_at
            continue
        ops.append(inventory.put_op(store.tenant_id, store.store_id, level, known))
        detail = {
            "tenant_id": store.tenant_id,
            "store_id": store.store_id,
            **level.model_dump(mode="json"),
        }
        key = (store.tenant_id, store.store_id, level.sku, level.market)
        events.append(
            DomainEvent(
                ids.event_id(*key, level.updated_at.isoformat()), "inventory.changed", detail
            )
        )
    if not ops:
        return "stale" if stale else "unchanged"
    _commit(store, meta, ops, events)
    return "applied"


def _apply_checkout(store: Store, change: CheckoutSnapshot, meta: DeliveryMeta) -> str:
    incoming = change.checkout
    found = checkouts.load(store.tenant_id, store.store_id, incoming.external_id)
    current, version = found if found else (None, 0)
    if current is not None and incoming.updated_at <= current.updated_at:
        return "stale" if incoming.updated_at < current.updated_at else "unchanged"
    detail = {
        "tenant_id": store.tenant_id,
        "store_id": store.store_id,
        "platform": store.platform.value,
        "checkout_id": incoming.external_id,
        "email": incoming.email,
        "phone": incoming.customer.phone if incoming.customer else None,
        "currency": incoming.currency,
        "total": str(incoming.total),
        "recovery_url": incoming.recovery_url,
        "country": incoming.country_code,
        "completed": incoming.completed_at is not None,
    }
    base = (store.tenant_id, store.store_id, incoming.external_id)
    events = []
    if current is None:
        events.append(DomainEvent(ids.event_id(*base, "started"), "checkout.started", detail))
    if incoming.completed_at and (current is None or current.completed_at is None):
        events.append(DomainEvent(ids.event_id(*base, "completed"), "checkout.completed", detail))
    if current is not None and not events:
        stamp = incoming.updated_at.isoformat()
        events.append(DomainEvent(ids.event_id(*base, stamp), "checkout.updated", detail))
    # The funnel's checkout stage: counted once, when the checkout is first seen, on the day it
    # was created, in its destination's market (the store's when it has none).
    agg: dict[AggregateKey, dict[str, Decimal]] = {}
    if current is None:
        day = incoming.created_at.date().isoformat()
        market = (incoming.country_code or store.market).upper()
        agg[(day, store.store_id, market)] = {"checkouts": Decimal(1)}
    _commit(
        store,
        meta,
        [checkouts.put_op(store.tenant_id, store.store_id, incoming, version)],
        events,
        agg,
    )
    return "applied"


def _apply_profile(store: Store, change: CustomerSnapshot, meta: DeliveryMeta) -> str:
    person = change.profile.person
    customer_id = ids.customer_id_for(
        store.tenant_id, store.store_id, person.email, person.platform_customer_id
    )
    if customer_id is None:
        raise PermanentError("customer has neither email nor id", code="invalid_payload")
    existing = customer_repo.load(store.tenant_id, customer_id)
    before = existing or _new_customer(store.tenant_id, customer_id)
    after = customers.apply_profile(before, change.profile, store.store_id)
    if existing is not None and not customers.contact_changed(before, after):
        incoming = change.profile.updated_at
        known = before.profile_updated_at
        return "stale" if known and incoming < known else "unchanged"
    after = after.model_copy(update={"version": before.version + 1})
    kind = "customer.created" if existing is None else "customer.updated"
    _commit(
        store,
        meta,
        [customer_repo.put_op(after, expected_version=before.version)],
        [_customer_event(after, kind, store)],
    )
    return "applied"
