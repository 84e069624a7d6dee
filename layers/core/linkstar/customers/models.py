"""The customer entity and the pure rules that keep its totals exact.

Totals (``orders_count``, ``spent``) only ever change by the delta between an order's new and old
contribution, so a redelivered or re-ordered event changes nothing. ``first_order`` remembers
where the customer's earliest known order was counted as "new", so that when an even earlier
order arrives late the daily aggregates can move the "new customer" mark to it.

``purchase_days`` and ``cohort`` keep what the repeat stages and cohorts need
(:mod:`linkstar.funnel.contribution`): the days the customer bought on, cancelled orders aside,
and the cohort contribution last added to the aggregates, so that any change to the history adds
its exact difference.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from linkstar.contacts import timezone_for
from linkstar.funnel.contribution import AppliedCohort, PurchaseDay, fold
from linkstar.orders.models import CustomerProfile, Person
from linkstar.orders.state import AggregateKey, OrderState


class FirstOrder(BaseModel):
    model_config = ConfigDict(frozen=True)
    order_id: str
    created_at: datetime
    day: str
    store_id: str
    market: str


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    tenant_id: str
    customer_id: str
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    country: str | None = None
    locale: str | None = None
    timezone: str | None = None
    timezone_source: str | None = None
    accepts_marketing: bool | None = None
    platform_ids: dict[str, str] = {}
    orders_count: int = 0
    spent: dict[str, Decimal] = {}
    first_order: FirstOrder | None = None
    last_order_at: datetime | None = None
    purchase_days: dict[str, PurchaseDay] = {}  # by UTC day (YYYY-MM-DD)
    cohort: AppliedCohort | None = None
    created_at: datetime
    profile_updated_at: datetime | None = None
    version: int = 0


def _fill(customer: Customer, person: Person | None, country: str | None, store_id: str) -> dict:
    """Contact fields an order or profile can supply; existing values win for orders."""
    if person is None:
        return {}
    update: dict = {}
    for name in ("email", "phone", "first_name", "last_name", "locale", "accepts_marketing"):
        value = getattr(person, name)
        if value is not None and getattr(customer, name) is None:
            update[name] = value
    if country and customer.country is None:
        update["country"] = country
    if person.platform_customer_id and store_id not in customer.platform_ids:
        update["platform_ids"] = {**customer.platform_ids, store_id: person.platform_customer_id}
    return update


def _with_timezone(customer: Customer) -> Customer:
    if customer.timezone_source in (None, "country", "phone"):
        zone, source = timezone_for(customer.phone, customer.country)
        if zone and (zone, source) != (customer.timezone, customer.timezone_source):
            return customer.model_copy(update={"timezone": zone, "timezone_source": source})
    return customer


def apply_order(
    customer: Customer,
    order: OrderState,
    delta: dict[str, Decimal],
    newly_placed: bool,
) -> tuple[Customer, dict[AggregateKey, dict[str, Decimal]]]:
    """Fold one order's change into its customer. Returns the customer and the aggregate
    deltas for new-vs-returning counts and for the repeat stages and cohorts (``delta`` carries
    the order's :func:`~linkstar.orders.state.purchase_contribution` change too)."""
    snap = order.snapshot
    update: dict = {}
    if snap is not None:
        update.update(_fill(customer, snap.customer, order.market, order.store_id))
    orders_count = customer.orders_count + int(delta.get("orders_count", 0))
    spent = dict(customer.spent)
    for name, value in delta.items():
        if name.startswith("spent#"):
            currency = name.split("#", 1)[1]
            spent[currency] = spent.get(currency, Decimal(0)) + value
    update.update(orders_count=orders_count, spent=spent)

    aggregates: dict[AggregateKey, dict[str, Decimal]] = {}
    if newly_placed and snap is not None:
        here = FirstOrder(
            order_id=order.order_id,
            created_at=snap.created_at,
            day=snap.created_at.date().isoformat(),
            store_id=order.store_id,
            market=order.market,
        )
        key = (here.day, here.store_id, here.market)
        first = customer.first_order
        if first is None or snap.created_at < first.created_at:
            aggregates[key] = {"new_customers": Decimal(1)}
            if first is not None:
                # A late-arriving earlier order: the old "first" becomes a returning purchase.
                old_key = (first.day, first.store_id, first.market)
                aggregates[old_key] = {
                    "new_customers": Decimal(-1),
                    "returning_customers": Decimal(1),
                }
            update["first_order"] = here
        else:
            aggregates[key] = {"returning_customers": Decimal(1)}
        if customer.last_order_at is None or snap.created_at > customer.last_order_at:
            update["last_order_at"] = snap.created_at

    history = fold(customer.purchase_days, customer.cohort, delta)
    update.update(purchase_days=history.days, cohort=history.applied)
    for key, fields in history.deltas.items():
        slot = aggregates.setdefault(key, {})
        for name, value in fields.items():
            slot[name] = slot.get(name, Decimal(0)) + value
    return _with_timezone(customer.model_copy(update=update)), aggregates


def apply_profile(customer: Customer, profile: CustomerProfile, store_id: str) -> Customer:
    """A platform customer record: newer profile data replaces contact fields."""
    if customer.profile_updated_at and profile.updated_at <= customer.profile_updated_at:
        return customer
    person = profile.person
    update: dict = {"profile_updated_at": profile.updated_at}
    for name in ("email", "phone", "first_name", "last_name", "locale", "accepts_marketing"):
        value = getattr(person, name)
        if value is not None:
            update[name] = value
    if profile.country_code:
        update["country"] = profile.country_code
    if person.platform_customer_id:
        update["platform_ids"] = {**customer.platform_ids, store_id: person.platform_customer_id}
    return _with_timezone(customer.model_copy(update=update))


def contact_changed(old: Customer, new: Customer) -> bool:
    return old.model_dump(exclude={"version"}) != new.model_dump(exclude={"version"})
