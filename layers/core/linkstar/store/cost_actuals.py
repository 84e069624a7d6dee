"""Actual per-order costs in DynamoDB, from any source: batches posted to ``POST /cost-actuals``
(a carrier's invoice, a 3PL's bill, a gateway's payout report, a customs broker's), kept beside
Amazon's settlement fees (:mod:`linkstar.store.settlements`), and an order's actuals read from
both at once (:func:`actual_costs_for`).

Stored as settlements are: each batch (named by its ``source``) keeps its own contribution to
each order it names, so an order's actual cost of a component is the sum over the batches and
settlements naming it. Re-posting a source replaces its contributions (and drops those of orders
the new batch no longer names), so posting the same file twice changes nothing and a corrected
file replaces the first.

Keys (the rows belong in the table of :mod:`linkstar.store`):

- batch summary: pk ``T#<tid>#ACTUALS``, sk ``<source>``;
- an order's costs in one currency from one batch: pk ``T#<tid>#ACTUALS#<source>``, sk
  ``ORDER#<order_id>#<currency>``, gsi1pk ``T#<tid>#ORDERFEES#<order_id>`` (the order's
  settlement fees' partition, :func:`keys.order_fees_index`), gsi1sk
  ``ACTUALS#<source>#<currency>``; ``fees`` maps each component to its cost in ``currency`` (a
  decimal string), named as settlement fee items name it so one reader serves both.

The batch's own partition is read strongly consistently, so a re-post sees every contribution
it replaces; an order's actuals are read through gsi1 (one query per order), where a batch just
posted shows within about a second. The writes are not one transaction (a batch can name
thousands of orders): a failed post leaves part of it written, and posting it again completes
it. Costs of an order LinkStar doesn't know yet are kept too, so an order imported later (a
history backfill) gets them; the post reports such orders as unknown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from linkstar.costs import profit
from linkstar.costs.actuals import ActualsBatch
from linkstar.costs.model import COMPONENTS, Component
from linkstar.observability import logger
from linkstar.store import dynamo, keys


@dataclass(frozen=True)
class PostOutcome:
    matched: list[str]  # order ids the batch names that LinkStar has
    unknown: list[str]  # order ids it names that LinkStar has no order for (yet)
    touched: list[str]  # order ids whose actual costs this post may have changed
    replaced: bool  # the source had been posted before


def replace(tenant_id: str, batch: ActualsBatch, now: datetime, posted_by: str) -> PostOutcome:
    """Store ``batch`` as its source's contribution to each order's actual costs, replacing any
    earlier post of the same source."""
    source = batch.source
    costs = batch.by_order()
    refs = batch.refs()
    done = replace_batch(
        tenant_id,
        summary_key=keys.cost_actuals_batch(tenant_id, source),
        partition=keys.cost_actuals_partition(tenant_id, source),
        named=list(costs),
        items=[
            _costs_item(tenant_id, source, order_id, currency, fees, refs.get(order_id, []), now)
            for order_id, by_currency in sorted(costs.items())
            for currency, fees in sorted(by_currency.items())
        ],
        summary={
            "type": "cost_actuals_batch",
            "tenant_id": tenant_id,
            "source": source,
            "rows": len(batch.rows),
            "orders": len(costs),
            "totals": {
                component: {currency: str(amount) for currency, amount in sums.items()}
                for component, sums in batch.totals().items()
            },
            "posted_by": posted_by,
            "posted_at": now.isoformat(),
        },
    )
    return PostOutcome(
        matched=sorted(order_id for order_id in costs if order_id in done.known),
        unknown=sorted(order_id for order_id in costs if order_id not in done.known),
        touched=done.touched,
        replaced=done.replaced,
    )


@dataclass(frozen=True)
class BatchReplaced:
    known: set[str]  # of the order ids the batch names, those LinkStar has an order for
    touched: list[str]  # order ids named before or now: whose actual costs may have changed
    replaced: bool  # the batch's summary was there before


def replace_batch(
    tenant_id: str,
    *,
    summary_key: Mapping[str, str],
    partition: str,
    named: Sequence[str],
    items: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
) -> BatchReplaced:
    """Replace a batch of per-order actual costs (a settlement, a posted source): ``items``, each
    an order's costs keyed in ``partition`` (with its ``order_id``), become the batch's whole
    contribution, its earlier items the new one lacks are deleted, and ``summary`` (with
    ``orders_matched``, how many of the ``named`` order ids LinkStar has) is put at
    ``summary_key``. The partition is read strongly consistently, so every earlier item is seen."""
    known = _existing_orders(tenant_id, named)
    replaced = dynamo.get(summary_key, consistent=True) is not None
    before = {
        item["sk"]: item["order_id"] for item in dynamo.query_all("pk", partition, consistent=True)
    }
    # Before the fees: an order costed between the two writes must find them, not skip the read.
    mark_actual_costs(tenant_id)
    dynamo.batch_put(items)
    now_named = {item["sk"]: item["order_id"] for item in items}
    for sk in sorted(before.keys() - now_named.keys()):
        dynamo.delete({"pk": partition, "sk": sk})
    dynamo.put({**summary_key, **summary, "orders_matched": len(known)})
    return BatchReplaced(
        known=known,
        touched=sorted({*before.values(), *now_named.values()}),
        replaced=replaced,
    )


def actual_costs_for(tenant_id: str, order_id: str) -> dict[Component, profit.Amount]:
    """The order's actual costs per component: its Amazon settlement fees and every batch's
    costs, summed per component, in one query. A component given in several currencies (two
    sources billing in different ones) can't be added without a rate for each bill's date: it is
    left to the cost model, and logged."""
    sums: dict[Component, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    sources: dict[Component, set[str]] = defaultdict(set)
    for item in dynamo.query_all(
        "gsi1pk", keys.order_fees_index(tenant_id, order_id), index="gsi1"
    ):
        fees = item.get("fees") or {}
        for component in COMPONENTS:
            if component in fees:
                sums[component][item["currency"]] += Decimal(fees[component])
                sources[component].add(str(item.get("gsi1sk", "")))
    actuals: dict[Component, profit.Amount] = {}
    for component, by_currency in sums.items():
        if len(by_currency) > 1:
            logger.warning(
                "actual costs in several currencies",
                extra={
                    "order_id": order_id,
                    "component": component,
                    "currencies": sorted(by_currency),
                    "sources": sorted(sources[component]),
                },
            )
            continue
        ((currency, amount),) = by_currency.items()
        actuals[component] = profit.Amount(amount=amount, currency=currency)
    return actuals


def _existing_orders(tenant_id: str, order_ids: Sequence[str]) -> set[str]:
    found = dynamo.batch_get([keys.order(tenant_id, order_id) for order_id in order_ids])
    return {item["order_id"] for item in found}


def _costs_item(
    tenant_id: str,
    source: str,
    order_id: str,
    currency: str,
    fees: dict[Component, Decimal],
    refs: list[str],
    now: datetime,
) -> dict[str, Any]:
    return {
        **keys.cost_actuals(tenant_id, source, order_id, currency),
        "gsi1pk": keys.order_fees_index(tenant_id, order_id),
        "gsi1sk": f"ACTUALS#{source}#{currency}",
        "type": "cost_actuals",
        "tenant_id": tenant_id,
        "source": source,
        "order_id": order_id,
        "currency": currency,
        "fees": {component: str(amount) for component, amount in fees.items()},
        "source_refs": refs[:50] or None,  # None: no attribute (dynamo.serialize drops it)
        "posted_at": now.isoformat(),
    }


def mark_actual_costs(tenant_id: str) -> None:
    """Say the tenant has actual costs, so costing an order reads them (:func:`has_actual_costs`);
    tenants that never import any spare every order that query."""
    dynamo.put({**keys.actual_costs_marker(tenant_id), "type": "actual_costs_marker"})


def has_actual_costs(tenant_id: str) -> bool:
    return dynamo.get(keys.actual_costs_marker(tenant_id), consistent=True) is not None
