"""The cost ledger: each order's profit before ads, summed per day x store x market and per
day x SKU as it is ingested, so ``GET /costs`` reads days, never orders.

Each order's entry (``T#tid#ORDER#<id>`` / ``COST``) keeps the contribution it last added to
the sums, the cost-model version and why it is not costed when it is not. A change is applied
as ``new - applied`` ADDs in one transaction with the entry's conditional put (an optimistic lock
on its ``version``), so duplicates, retries, out-of-order events and recosting change nothing
twice. Ingest does it in the order's own transaction (:func:`ingest_ops`); a new cost model,
new FX rates or an imported settlement recost the orders they touch through the costs queue
(:func:`recost_order`).

Amounts are :func:`linkstar.costs.profit.profit`'s rounded ones in the order's result currency
(the reporting currency, or the order's own when it has no rate), so the sums add up to the sum
of ``GET /orders/{id}/profit`` to the cent. Ads are left out here: spend is imported after
the orders it paid for, so ``GET /costs`` allocates it when it reads (:mod:`.report`), and
``estimated`` counts the orders with another component missing.

Not costed, and counted apart as ``uncosted#<reason>`` (orders whose costs nobody knows are
never shown as zero costs): ``no_cost_model`` (none saved yet), ``amounts_pending`` (a
marketplace order awaiting its amounts), ``error`` (the engine refused the order; logged with
its id). Cancelled orders contribute nothing, as they add no GMV to the daily aggregates.

Items: per day x store x market (order level), per day x SKU x store x market, and per day x
campaign x store x market for orders with a ``utm_campaign``. Sum fields, each per result
currency: ``orders#<CUR>``, ``estimated#<CUR>``,
``missing#<component>#<CUR>`` (counts), ``revenue#<CUR>``, ``<component>#<CUR>``, ``cm1#<CUR>``,
``cm2#<CUR>``, ``tax_collected#<CUR>``; and ``uncosted#<reason>`` (counts).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from linkstar.costs.model import COMPONENTS, Component, CostModel
from linkstar.errors import ConcurrentUpdate
from linkstar.observability import logger
from linkstar.orders.models import OrderStatus
from linkstar.store import dynamo, keys

# (day, store_id, market, part): part None is the order-level sum, a SKU its per-SKU part, and
# CAMPAIGN + the order's utm_campaign its campaign's sum (ads allocated within campaigns).
Key = tuple[str, str, str, str | None]
CAMPAIGN = "\u241ecampaign:"  # no SKU starts with a record-separator symbol
Contribution = dict[Key, dict[str, Decimal]]

LEDGER_COMPONENTS: tuple[Component, ...] = tuple(c for c in COMPONENTS if c != "ads")
# A transaction holds 100 items; past this many SKUs an order's remaining parts are summed
# under OTHER_SKUS rather than failing the order's write.
MAX_SKU_PARTS = 30
OTHER_SKUS = "(other skus)"
UNCOSTED_REASONS = ("no_cost_model", "amounts_pending", "error")


@dataclass(frozen=True)
class Entry:
    """What an order last added to the sums."""

    version: int
    applied: Contribution
    status: str  # "costed", "cancelled" or an uncosted reason


# --- pure ---------------------------------------------------------------------------------


def contribution(result: Any, campaign: str | None = None) -> Contribution:
    """An :class:`~linkstar.costs.profit.OrderProfit`'s sums, order level, per SKU and, for an
    order with a ``utm_campaign``, per campaign."""
    from linkstar.costs import profit

    store = result.store_id or profit.NO_STORE
    day = result.date.isoformat()
    out: Contribution = {(day, store, result.market, None): _fields(result)}
    if campaign:
        out[(day, store, result.market, CAMPAIGN + campaign[:200])] = _fields(result)
    parts = profit.split_by_sku(result)
    for i, part in enumerate(parts):
        sku = part.sku if i < MAX_SKU_PARTS else OTHER_SKUS
        key = (day, store, result.market, sku)
        into = out.setdefault(key, {})
        for name, value in _fields(part).items():
            into[name] = into.get(name, Decimal(0)) + value
    return out


def _fields(result: Any) -> dict[str, Decimal]:
    cur = result.currency
    estimated = any(result.components[c] is None for c in LEDGER_COMPONENTS)
    fields = {
        f"orders#{cur}": Decimal(1),
        f"estimated#{cur}": Decimal(1 if estimated else 0),
        f"revenue#{cur}": result.revenue,
        f"cm1#{cur}": result.cm1,
        # cm2 from the rounded parts, as profit() does; ads are subtracted when read.
        f"cm2#{cur}": result.cm2,
        # Beside revenue, so what buyers paid (revenue + tax) can be told apart from it.
        f"tax_collected#{cur}": result.tax_collected or Decimal(0),
    }
    for name in LEDGER_COMPONENTS:
        value = result.components[name]
        if value is None:
            fields[f"missing#{name}#{cur}"] = Decimal(1)
        else:
            fields[f"{name}#{cur}"] = value
    return fields


def uncosted(day: str, store_id: str, market: str, reason: str) -> Contribution:
    return {(day, store_id, market, None): {f"uncosted#{reason}": Decimal(1)}}


def diff(new: Contribution, old: Contribution) -> Contribution:
    out: Contribution = {}
    for key in set(new) | set(old):
        a, b = new.get(key, {}), old.get(key, {})
        delta = {n: a.get(n, Decimal(0)) - b.get(n, Decimal(0)) for n in set(a) | set(b)}
        delta = {n: v for n, v in delta.items() if v}
        if delta:
            out[key] = delta
    return out


def encode(contrib: Contribution) -> str:
    return json.dumps(
        {
            "|".join([*key[:3], key[3] or ""]): {n: str(v) for n, v in sorted(fields.items())}
            for key, fields in sorted(contrib.items(), key=lambda kv: (kv[0][:3], kv[0][3] or ""))
        },
        separators=(",", ":"),
    )


def decode(text: str) -> Contribution:
    out: Contribution = {}
    for joined, fields in json.loads(text).items():
        day, store, market, sku = joined.split("|", 3)
        out[(day, store, market, sku or None)] = {n: Decimal(v) for n, v in fields.items()}
    return out


# --- computing an order's contribution ------------------------------------------------------


@dataclass
class Inputs:
    """The cost model costing an order reads besides the order (once per SQS batch)."""

    model: CostModel | None
    model_version: int


def load_inputs(tenant_id: str) -> Inputs:
    from linkstar import memo

    return memo.get(("cost_model", tenant_id), lambda: _load_inputs(tenant_id))


def _load_inputs(tenant_id: str) -> Inputs:
    from linkstar.costs import service

    return Inputs(*service.load_model_version(tenant_id))


def compute(tenant_id: str, state: Any, inputs: Inputs) -> tuple[Contribution, str]:
    """The order's contribution now and its status (see the module docstring)."""
    from linkstar import memo
    from linkstar.costs import profit, service

    snap = state.snapshot
    if snap is None:
        return {}, "no_snapshot"
    if state.status is OrderStatus.CANCELLED:
        return {}, "cancelled"
    day = snap.created_at.date().isoformat()
    if snap.amounts_pending:
        return uncosted(day, state.store_id, state.market, "amounts_pending"), "amounts_pending"
    if inputs.model is None:
        return uncosted(day, state.store_id, state.market, "no_cost_model"), "no_cost_model"
    try:
        facts = service.order_facts(state, None, actuals=_actuals(tenant_id, state))
        table = memo.get(
            ("fx", tenant_id, facts.date), lambda: service.rates_around(tenant_id, facts.date)
        )
        result = profit.profit(facts, inputs.model, table)
    except (ValueError, ArithmeticError) as exc:
        # A malformed order must not block its own ingest: it is counted as not costed and
        # logged so someone can fix the data or the engine, then recost.
        logger.warning(
            "order not costed",
            extra={"tenant_id": tenant_id, "order_id": state.order_id, "error": repr(exc)},
        )
        return uncosted(day, state.store_id, state.market, "error"), "error"
    return contribution(result, facts.campaign), "costed"


def _actuals(tenant_id: str, state: Any) -> dict[Component, Any]:
    """What the order actually paid, whatever its platform: an imported settlement's fees and
    any posted batch's costs (a carrier's invoice), in one query."""
    from linkstar import memo
    from linkstar.store import cost_actuals

    # One read per batch says whether the tenant has imported any; most never do.
    if not memo.get(
        ("has_actual_costs", tenant_id), lambda: cost_actuals.has_actual_costs(tenant_id)
    ):
        return {}
    return dict(cost_actuals.actual_costs_for(tenant_id, state.order_id))


# --- storage -------------------------------------------------------------------------------


def load_entry(tenant_id: str, order_id: str) -> Entry | None:
    item = dynamo.get(keys.order_cost(tenant_id, order_id), consistent=True)
    if not item:
        return None
    return Entry(
        version=int(item["version"]),
        applied=decode(item["applied"]),
        status=str(item.get("status", "")),
    )


def write_ops(
    tenant_id: str,
    order_id: str,
    before: Entry | None,
    new: Contribution,
    status: str,
    model_version: int,
) -> list[dynamo.Op]:
    """The entry's conditional put and the sums' ADDs; nothing when nothing changed."""
    old = before.applied if before else {}
    delta = diff(new, old)
    if not delta and before is not None and before.status == status:
        return []
    version = before.version if before else 0
    item = {
        **keys.order_cost(tenant_id, order_id),
        "type": "order_cost",
        "tenant_id": tenant_id,
        "order_id": order_id,
        "version": version + 1,
        "applied": encode(new),
        "model_version": model_version,
        "status": status,
    }
    ops = [dynamo.versioned_put_op(item, version)]
    for key, fields in sorted(delta.items(), key=lambda kv: (kv[0][:3], kv[0][3] or "")):
        ops.append(_add_op(tenant_id, key, fields))
    return ops


def _add_op(tenant_id: str, key: Key, fields: dict[str, Decimal]) -> dynamo.Op:
    day, store_id, market, part = key
    campaign = part[len(CAMPAIGN) :] if part and part.startswith(CAMPAIGN) else None
    sku = None if campaign else part
    names = {"#type": "type"}
    values: dict[str, Any] = {
        ":d": day,
        ":s": store_id,
        ":m": market,
        ":t": tenant_id,
        ":type": "cost_campaign" if campaign else "cost_sku" if sku else "cost",
    }
    sets = "SET #day = :d, store_id = :s, market = :m, tenant_id = :t, #type = :type"
    names["#day"] = "day"
    if sku:
        values[":k"] = sku
        sets += ", sku = :k"
    if campaign:
        values[":c"] = campaign
        sets += ", campaign = :c"
    adds = []
    for i, (name, value) in enumerate(sorted(fields.items())):
        names[f"#a{i}"] = name
        values[f":a{i}"] = value
        adds.append(f"#a{i} :a{i}")
    if campaign:
        item_key = keys.cost_campaign(tenant_id, day, campaign, store_id, market)
    elif sku:
        item_key = keys.cost_sku(tenant_id, day, sku, store_id, market)
    else:
        item_key = keys.cost_sum(tenant_id, day, store_id, market)
    return dynamo.update_op(item_key, f"{sets} ADD {', '.join(adds)}", names=names, values=values)


def ingest_ops(tenant_id: str, state: Any) -> list[dynamo.Op]:
    """The ops that bring an order's costs up to date, for the order's ingest transaction (the
    entry's conditional put keeps a concurrent recost from applying twice)."""
    if state.snapshot is None:
        return []
    inputs = load_inputs(tenant_id)
    new, status = compute(tenant_id, state, inputs)
    before = load_entry(tenant_id, state.order_id)
    return write_ops(tenant_id, state.order_id, before, new, status, inputs.model_version)


def recost_order(tenant_id: str, state: Any, inputs: Inputs) -> bool:
    """Bring one order's costs up to date on its own; True when anything changed. Losing the
    race to ingest or another recost re-reads and tries again."""
    from linkstar.store import orders

    for _ in range(5):
        new, status = compute(tenant_id, state, inputs)
        ops = write_ops(
            tenant_id, state.order_id, load_entry(tenant_id, state.order_id), new, status,
            inputs.model_version,
        )  # fmt: skip
        if not ops:
            return False
        try:
            dynamo.transact(ops)
            return True
        except ConcurrentUpdate:
            fresh = orders.load(tenant_id, state.order_id)
            if fresh is None:
                return False
            state = fresh
    raise ConcurrentUpdate(f"order {state.order_id} kept changing while recosting")


def read_month(tenant_id: str, month: str, *, part: str = "order") -> list[dict[str, Any]]:
    """Every sum item of ``month``: order level, per ``sku`` or per ``campaign``."""
    pk = {
        "order": keys.cost_month,
        "sku": keys.cost_sku_month,
        "campaign": keys.cost_campaign_month,
    }[part](tenant_id, month)
    return list(dynamo.query_all("pk", pk))
