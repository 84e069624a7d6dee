"""Billing items: plan versions and their audit, usage counters and records, alerts, holds,
invoices and credit balances (key layout in ``linkstar.store``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from linkstar.store import dynamo, keys
from linkstar.text import load as load_sentence

COUNTER_PREFIX = "u|"  # counter attributes: u|<channel>|<country>|<category>|<kind>


def counter_attribute(channel: str, country: str, category: str, kind: str) -> str:
    return f"{COUNTER_PREFIX}{channel}|{country}|{category}|{kind}"


def parse_counter_attribute(name: str) -> tuple[str, str, str, str]:
    channel, country, category, kind = name[len(COUNTER_PREFIX) :].split("|")
    return channel, country, category, kind


def shard_of(message_id: str) -> int:
    digest = hashlib.sha256(message_id.encode()).digest()
    return int.from_bytes(digest[:4], "big") % keys.USAGE_SHARDS


# ---------------------------------------------------------------- plans


def plan_docs(tenant_id: str) -> list[dict[str, Any]]:
    items = dynamo.query_all("pk", keys.plan_versions(tenant_id), sk_prefix="V#", consistent=True)
    return [json.loads(item["doc"]) for item in items]


def save_plan_doc(
    tenant_id: str,
    effective_from: str,
    doc: Mapping[str, Any],
    before: Mapping[str, Any] | None,
    actor: Mapping[str, str],
    at: datetime,
) -> None:
    """The version and its audit entry, together: no change without its record."""
    text = json.dumps(doc, sort_keys=True)
    digest = hashlib.sha256(f"{text}{at.isoformat()}".encode()).hexdigest()[:16]
    audit = {
        **keys.plan_audit(tenant_id, at.isoformat(), digest),
        "type": "plan_audit",
        "at": at.isoformat(),
        "effective_from": effective_from,
        "actor": dict(actor),
        "before": json.dumps(before, sort_keys=True) if before is not None else None,
        "after": text,
    }
    version = {
        **keys.plan_version(tenant_id, effective_from),
        "type": "plan",
        "effective_from": effective_from,
        "updated_at": at.isoformat(),
        "doc": text,
    }
    dynamo.transact([dynamo.put_op(version), dynamo.put_op(audit)])


def plan_audit(tenant_id: str, limit: int = 50) -> list[dict[str, Any]]:
    page = dynamo.query("pk", keys.plan_audits(tenant_id), limit=limit, forward=False)
    out = []
    for item in page.items:
        out.append(
            {
                "at": item["at"],
                "effective_from": item["effective_from"],
                "actor": item.get("actor") or {},
                "before": json.loads(item["before"]) if item.get("before") else None,
                "after": json.loads(item["after"]),
            }
        )
    return out


# ---------------------------------------------------------------- usage


@dataclass
class MonthState:
    """A month as the counters hold it: units per (channel, country, category, kind), and the
    alert thresholds already fired."""

    units: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    alerts: set[str] = field(default_factory=set)


def read_month(tenant_id: str, month: str) -> MonthState:
    """Every counter shard (one BatchGetItem) and fired alert (one query) of the month, read
    strongly consistent."""
    units: dict[tuple[str, str, str, str], int] = {}
    counter_keys = [keys.usage_counter(tenant_id, month, n) for n in range(keys.USAGE_SHARDS)]
    for item in dynamo.batch_get(counter_keys, consistent=True):
        for name, value in item.items():
            if name.startswith(COUNTER_PREFIX):
                line = parse_counter_attribute(name)
                units[line] = units.get(line, 0) + int(value)
    alerts = dynamo.query_all(
        "pk", keys.usage_month(tenant_id, month), sk_prefix="ALERT#", consistent=True
    )
    return MonthState(
        units={line: n for line, n in units.items() if n},  # a line sent and taken back is 0
        alerts={item["sk"].removeprefix("ALERT#") for item in alerts},
    )


def line_key(line: Mapping[str, Any]) -> tuple[str, str, str, str]:
    """A stamp's or record's line, whose defaults (no category, kind ``send``) are left out."""
    return (
        str(line["channel"]),
        str(line["country"]),
        str(line.get("category", "")),
        str(line.get("kind", "send")),
    )


def record_ops(
    tenant_id: str, month: str, message_id: str, lines: Iterable[Mapping[str, Any]], at: datetime
) -> list[dynamo.Op]:
    """The usage record (only if none exists for this message) and its counter increments."""
    lines = list(lines)
    shard = shard_of(message_id)
    record = {
        **keys.usage_record(tenant_id, month, shard, message_id),
        "type": "usage_record",
        "message_id": message_id,
        "at": at.isoformat(),
        "lines": json.dumps(lines, sort_keys=True),
    }
    return [
        dynamo.put_op(record, condition="attribute_not_exists(pk)", guard=True),
        _counter_op(tenant_id, month, shard, lines, 1),
    ]


def unrecord_ops(
    tenant_id: str, month: str, message_id: str, lines: Iterable[Mapping[str, Any]]
) -> list[dynamo.Op]:
    """Take a record back (the provider refused the message): only if it is still there."""
    shard = shard_of(message_id)
    record_key = keys.usage_record(tenant_id, month, shard, message_id)
    remove = dynamo.delete_op(record_key, condition="attribute_exists(pk)", guard=True)
    return [remove, _counter_op(tenant_id, month, shard, list(lines), -1)]


def _counter_op(
    tenant_id: str, month: str, shard: int, lines: list[Mapping[str, Any]], sign: int
) -> dynamo.Op:
    totals: dict[str, int] = {}
    for line in lines:
        name = counter_attribute(*line_key(line))
        totals[name] = totals.get(name, 0) + sign * int(line["units"])
    names = {f"#c{i}": name for i, name in enumerate(totals)}
    values: dict[str, Any] = {f":c{i}": Decimal(v) for i, v in enumerate(totals.values())}
    adds = ", ".join(f"#c{i} :c{i}" for i in range(len(totals)))
    return dynamo.update_op(
        keys.usage_counter(tenant_id, month, shard),
        f"ADD {adds} SET #t = :t",
        names={**names, "#t": "type"},
        values={**values, ":t": "usage_counter"},
    )


def usage_records(tenant_id: str, month: str) -> list[dict[str, Any]]:
    """Every usage record of the month, shard by shard (for reconciliation)."""
    out: list[dict[str, Any]] = []
    for shard in range(keys.USAGE_SHARDS):
        for item in dynamo.query_all("pk", keys.usage_records(tenant_id, month, shard)):
            out.append(
                {
                    "message_id": item["message_id"],
                    "at": item["at"],
                    "lines": json.loads(item["lines"]),
                }
            )
    return out


def fire_alert(
    tenant_id: str,
    month: str,
    key: str,
    detail: Mapping[str, Any],
    crossed: Mapping[str, Any] | None = None,
) -> bool:
    """Mark ``key`` fired for the month; False when it already was (it fires once). ``detail``
    is what the alert said (its event); ``crossed`` what the seller is shown of it: the
    message as a Text.dump(), what was used against which limit."""
    from linkstar.errors import Conflict

    item = {
        **keys.usage_alert(tenant_id, month, key),
        "type": "usage_alert",
        "detail": json.dumps(detail, sort_keys=True, default=str),
        **({"crossed": json.dumps(crossed, sort_keys=True, default=str)} if crossed else {}),
    }
    try:
        dynamo.put(item, condition="attribute_not_exists(pk)")
    except Conflict:
        return False
    return True


def fired_alerts(tenant_id: str, month: str) -> list[dict[str, Any]]:
    """The alerts ``month`` fired: each item's ``detail`` with its ``crossed`` (absent on
    alerts fired before it was kept) under that name."""
    items = dynamo.query_all("pk", keys.usage_month(tenant_id, month), sk_prefix="ALERT#")
    return [
        {
            **json.loads(item["detail"]),
            "crossed": json.loads(item["crossed"]) if item.get("crossed") else None,
        }
        for item in items
    ]


# ---------------------------------------------------------------- holds


def hold_op(tenant_id: str, message_id: str, channel: str, reason: str) -> dynamo.Op:
    item = {
        **keys.billing_hold(tenant_id, message_id),
        "type": "billing_hold",
        "channel": channel,
        "reason": reason,
    }
    return dynamo.put_op(item)


def billing_holds(tenant_id: str) -> list[dict[str, Any]]:
    return list(dynamo.query_all("pk", keys.billing_holds(tenant_id), consistent=True))


def drop_hold(tenant_id: str, message_id: str) -> None:
    dynamo.delete(keys.billing_hold(tenant_id, message_id))


# ---------------------------------------------------------------- invoices and credits


def load_invoice(tenant_id: str, month: str) -> dict[str, Any] | None:
    item = dynamo.get(keys.invoice(tenant_id, month), consistent=True)
    return readable_invoice(json.loads(item["doc"])) if item else None


def list_invoices(tenant_id: str) -> list[dict[str, Any]]:
    items = dynamo.query_all("pk", keys.invoices(tenant_id), forward=False)
    return [readable_invoice(json.loads(item["doc"])) for item in items]


def readable_invoice(doc: dict[str, Any]) -> dict[str, Any]:
    """A frozen invoice's document with each line's description back as a sentence to render:
    the stored message (``Text.dump()``), or the English of an invoice closed before lines were
    messages, as it is."""
    for line in doc.get("lines") or []:
        if "description" in line:
            line["description"] = load_sentence(line["description"])
    return doc


def credit_balances(tenant_id: str) -> tuple[dict[str, Decimal] | None, int]:
    item = dynamo.get(keys.credit_balance(tenant_id), consistent=True)
    if not item:
        return None, 0
    balances = {k: Decimal(v) for k, v in json.loads(item["doc"]).items()}
    return balances, int(item["version"])


def close_ops(
    tenant_id: str,
    month: str,
    invoice_doc: Mapping[str, Any],
    balances: Mapping[str, Decimal],
    balances_version: int,
) -> list[dynamo.Op]:
    """The frozen invoice and the credit balances it leaves, together and only once."""
    invoice_item = {
        **keys.invoice(tenant_id, month),
        "type": "invoice",
        "month": month,
        "doc": json.dumps(invoice_doc, sort_keys=True, default=str),
    }
    credits_item = {
        **keys.credit_balance(tenant_id),
        "type": "credit_balance",
        "version": balances_version + 1,
        "doc": json.dumps({k: str(v) for k, v in balances.items()}, sort_keys=True),
    }
    return [
        dynamo.put_op(invoice_item, condition="attribute_not_exists(pk)", guard=True),
        dynamo.versioned_put_op(credits_item, balances_version),
    ]


def billed_messages(tenant_id: str, flow_ids: Iterable[str], month: str) -> Iterable[Any]:
    """Messages (from each flow's message index, and ``direct`` ones) billed in ``month``: the
    message log's own account, independent of the usage records."""
    from datetime import date, timedelta

    from linkstar.outreach.models import Message

    year, number = (int(part) for part in month.split("-"))
    first = date(year, number, 1)
    # A message is billed when claimed, which may be weeks after it was created (a hold).
    low = (first - timedelta(days=62)).isoformat()
    high = f"{(first + timedelta(days=31)).replace(day=1).isoformat()}~"
    for flow_id in [*flow_ids, "direct"]:
        for item in dynamo.query_all(
            "gsi2pk",
            keys.flow_messages_index(tenant_id, flow_id),
            index="gsi2",
            sk_name="gsi2sk",
            sk_between=(low, high),
        ):
            message = Message.model_validate_json(item["doc"])
            if message.billing and message.billing.get("month") == month:
                yield message
