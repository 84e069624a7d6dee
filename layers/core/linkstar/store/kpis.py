"""KPI items: imported metric facts and their sources' freshness, KPI definitions (audited),
owners, agency contracts and the alert state per KPI and period (key layout in
``linkstar.store``)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from linkstar.errors import Conflict
from linkstar.store import dynamo, keys

# ---------------------------------------------------------------- facts


def fact_items(
    tenant_id: str, facts: Iterable[Mapping[str, Any]], source: str
) -> list[dict[str, Any]]:
    """Each fact (``date``, ``metric``, ``value``, ``key`` and its dimensions) as an item."""
    items = []
    for fact in facts:
        day = str(fact["date"])
        items.append(
            {
                **keys.metric_fact(tenant_id, fact["metric"], day, fact["key"]),
                "type": "metric_fact",
                "date": day,
                "metric": fact["metric"],
                "value": Decimal(str(fact["value"])),
                "source": source,
                **{k: v for k, v in fact.items() if k not in ("date", "metric", "value", "key")},
            }
        )
    return items


def put_facts(tenant_id: str, facts: Sequence[Mapping[str, Any]], source: str, at: datetime) -> int:
    """Write the facts (each replaces the fact with its key) and note each metric's and the
    source's freshness. Returns the DynamoDB calls made."""
    calls = dynamo.batch_put(fact_items(tenant_id, facts, source))
    latest: dict[str, str] = {}
    for fact in facts:
        day = str(fact["date"])
        latest[fact["metric"]] = max(latest.get(fact["metric"], day), day)
    for name, last in sorted(latest.items()):
        _fresh(tenant_id, f"METRIC#{name}", last, at, source)
        calls += 2
    if latest:
        _fresh(tenant_id, f"SOURCE#{source}", max(latest.values()), at, source)
        calls += 2
    return calls


def _fresh(tenant_id: str, sk: str, last_fact_date: str, at: datetime, source: str) -> None:
    key = keys.metric_source(tenant_id, sk)
    dynamo.update(
        key,
        "SET last_import_at = :at, #type = :type, last_source = :src",
        names={"#type": "type"},
        values={":at": at.isoformat(), ":type": "metric_source", ":src": source},
    )
    # Only ever forward: an import of old facts doesn't make the metric look older.
    with contextlib.suppress(Conflict):
        dynamo.update(
            key,
            "SET last_fact_date = :d",
            condition="attribute_not_exists(last_fact_date) OR last_fact_date < :d",
            values={":d": last_fact_date},
        )


def facts(tenant_id: str, metric: str, day_from: date, day_to: date) -> list[dict[str, Any]]:
    """A metric's facts from ``day_from`` to ``day_to`` inclusive: one query per month."""
    out: list[dict[str, Any]] = []
    month = date(day_from.year, day_from.month, 1)
    while month <= day_to:
        out.extend(
            dynamo.query_all(
                "pk",
                keys.metric_month(tenant_id, metric, month.strftime("%Y-%m")),
                sk_between=(day_from.isoformat(), f"{day_to.isoformat()}~"),
            )
        )
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return out


def sources(tenant_id: str) -> list[dict[str, Any]]:
    return list(dynamo.query_all("pk", keys.metric_sources(tenant_id)))


# ---------------------------------------------------------------- definitions and audit


def _audit_op(
    tenant_id: str,
    entity: str,
    entity_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    actor: Mapping[str, Any],
    at: datetime,
) -> dynamo.Op:
    text = json.dumps([entity, entity_id, before, after], sort_keys=True, default=str)
    digest = hashlib.sha256(f"{text}{at.isoformat()}".encode()).hexdigest()[:16]
    return dynamo.put_op(
        {
            **keys.kpi_audit(tenant_id, at.isoformat(), digest),
            "type": "kpi_audit",
            "at": at.isoformat(),
            "entity": entity,
            "entity_id": entity_id,
            "actor": dict(actor),
            "before": json.dumps(before, sort_keys=True, default=str) if before else None,
            "after": json.dumps(after, sort_keys=True, default=str) if after else None,
        }
    )


def save(
    tenant_id: str,
    entity: str,
    key: dict[str, str],
    entity_id: str,
    doc: Mapping[str, Any],
    before: Mapping[str, Any] | None,
    version: int,
    actor: Mapping[str, Any],
    at: datetime,
) -> None:
    """A KPI, owner or contract (optimistically locked on ``version``) and its audit entry."""
    item = {
        **key,
        "type": entity,
        "version": version + 1,
        "doc": json.dumps(doc, sort_keys=True, default=str),
    }
    dynamo.transact(
        [
            dynamo.versioned_put_op(item, version),
            _audit_op(tenant_id, entity, entity_id, before, doc, actor, at),
        ]
    )


def load(key: dict[str, str]) -> tuple[dict[str, Any] | None, int]:
    item = dynamo.get(key, consistent=True)
    if not item:
        return None, 0
    return json.loads(item["doc"]), int(item["version"])


def list_docs(tenant_id: str, prefix: str) -> list[dict[str, Any]]:
    items = dynamo.query_all("pk", keys.kpis(tenant_id), sk_prefix=prefix, consistent=True)
    return [json.loads(item["doc"]) for item in items]


def audit(tenant_id: str, limit: int = 100) -> list[dict[str, Any]]:
    page = dynamo.query("pk", keys.kpi_audits(tenant_id), limit=limit, forward=False)
    return [
        {
            "at": item["at"],
            "entity": item["entity"],
            "entity_id": item["entity_id"],
            "actor": item.get("actor") or {},
            "before": json.loads(item["before"]) if item.get("before") else None,
            "after": json.loads(item["after"]) if item.get("after") else None,
        }
        for item in page.items
    ]


# ---------------------------------------------------------------- alert state


def last_status(tenant_id: str, kpi_id: str, period: str) -> tuple[str | None, int]:
    item = dynamo.get(keys.kpi_status(tenant_id, kpi_id, period), consistent=True)
    if not item:
        return None, 0
    return str(item["status"]), int(item["version"])


def status_changed(
    tenant_id: str, kpi_id: str, period: str, status: str, version: int, at: datetime
) -> bool:
    """Record the status the owner is told of; False when another run recorded it first."""
    from linkstar.errors import ConcurrentUpdate

    item = {
        **keys.kpi_status(tenant_id, kpi_id, period),
        "type": "kpi_status",
        "status": status,
        "at": at.isoformat(),
        "version": version + 1,
    }
    try:
        dynamo.transact([dynamo.versioned_put_op(item, version)])
    except ConcurrentUpdate:
        return False
    return True
