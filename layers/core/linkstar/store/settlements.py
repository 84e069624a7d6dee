"""Imported Amazon settlement fees in DynamoDB: per settlement, per order, summed per order.

An order can be named by several settlements (settled in one, refunded in the next), so each
settlement keeps its own contribution to each order it names, and an order's actual fees are
the sum over its settlements. Re-importing a settlement replaces its contributions (and drops
those of orders the new file no longer names), so importing the same file twice changes
nothing.

Keys (``<sid>`` is the settlement-id; the rows belong in the table of :mod:`linkstar.store`):

- settlement summary: pk ``T#<tid>#STORE#<store_id>``, sk ``SETTLEMENT#<sid>``;
- an order's fees in one settlement: pk ``T#<tid>#SETTLE#<store_id>#<sid>``, sk
  ``ORDER#<order_id>``, gsi1pk ``T#<tid>#ORDERFEES#<order_id>``, gsi1sk ``<store_id>#<sid>``;
  ``fees`` maps each component to its cost in ``currency`` (a decimal string, positive: paid).

The settlement's own partition is read strongly consistently, so a re-import sees every
contribution it replaces and :func:`orders_of` every order a settlement names; an order's fees
are read through gsi1 (:func:`linkstar.store.cost_actuals.actual_costs_for`, with any other
source's actual costs), where a just-imported settlement shows within about a
second. The writes are not one transaction (a settlement can name thousands of orders): a
failed import leaves part of it written, and importing the file again completes it.

Amazon order ids become LinkStar's the way ingest makes them (``ids.order_id(store_id,
AmazonOrderId)``). Fees of an order LinkStar doesn't know yet are kept too, so an order imported
later (a history backfill) gets them; the import reports such orders as unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from linkstar import ids
from linkstar.costs.settlement import Settlement
from linkstar.store import dynamo, keys
from linkstar.store.cost_actuals import replace_batch
from linkstar.stores.models import Store


@dataclass(frozen=True)
class ImportOutcome:
    matched: list[str]  # LinkStar order ids the settlement names that exist
    unknown: list[str]  # AmazonOrderIds it names that LinkStar has no order for (yet)
    touched: list[str]  # LinkStar order ids whose actual fees this import may have changed
    replaced: bool  # the settlement had been imported before


def replace(store: Store, report: Settlement, now: datetime) -> ImportOutcome:
    """Store ``report`` as the settlement's contribution to each order's fees, replacing any
    earlier import of the same settlement into ``store``."""
    tid, sid = store.tenant_id, report.settlement_id
    ours = {amazon_id: ids.order_id(store.store_id, amazon_id) for amazon_id in report.orders}
    done = replace_batch(
        tid,
        summary_key=keys.settlement(tid, store.store_id, sid),
        partition=keys.settlement_fees_partition(tid, store.store_id, sid),
        named=list(ours.values()),
        items=[
            _fees_item(store, report, amazon_id, order_id, now)
            for amazon_id, order_id in ours.items()
            if report.orders[amazon_id]
        ],
        summary=_summary_item(store, report, now),
    )
    return ImportOutcome(
        matched=sorted(order_id for order_id in ours.values() if order_id in done.known),
        unknown=sorted(
            amazon_id for amazon_id, order_id in ours.items() if order_id not in done.known
        ),
        touched=done.touched,
        replaced=done.replaced,
    )


def orders_of(tenant_id: str, store_id: str, settlement_id: str) -> list[str]:
    """The LinkStar order ids the settlement, as last imported, holds fees for: the orders whose
    costs to recompute after it changed."""
    partition = keys.settlement_fees_partition(tenant_id, store_id, settlement_id)
    return sorted(item["order_id"] for item in dynamo.query_all("pk", partition, consistent=True))


def _fees_item(
    store: Store, report: Settlement, amazon_id: str, order_id: str, now: datetime
) -> dict[str, Any]:
    return {
        **keys.settlement_fees(store.tenant_id, store.store_id, report.settlement_id, order_id),
        "gsi1pk": keys.order_fees_index(store.tenant_id, order_id),
        "gsi1sk": f"{store.store_id}#{report.settlement_id}",
        "type": "settlement_fees",
        "tenant_id": store.tenant_id,
        "store_id": store.store_id,
        "settlement_id": report.settlement_id,
        "order_id": order_id,
        "amazon_order_id": amazon_id,
        "currency": report.currency,
        "fees": {component: str(amount) for component, amount in report.orders[amazon_id].items()},
        "imported_at": now.isoformat(),
    }


def _summary_item(store: Store, report: Settlement, now: datetime) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "type": "settlement",
        "tenant_id": store.tenant_id,
        "store_id": store.store_id,
        "settlement_id": report.settlement_id,
        "currency": report.currency,
        "start": iso(report.start),
        "end": iso(report.end),
        "deposit_date": iso(report.deposit_date),
        "total_amount": str(report.total_amount),
        "orders": len(report.orders),
        "totals": {component: str(amount) for component, amount in report.totals().items()},
        "unmapped": report.unmapped,
        "imported_at": now.isoformat(),
    }
