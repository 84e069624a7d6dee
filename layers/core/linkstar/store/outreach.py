"""Outreach items in DynamoDB: contacts, consent history, suppression, templates, flows, runs,
messages, timers and the routing items feedback needs (keys in ``linkstar.store.keys``).

Entities are stored as a JSON ``doc`` plus the few attributes conditions and indexes need.
Every state change that must happen once (a run entering, a message being claimed, a stat
being counted) is a conditional write, so a duplicate delivery or a retry changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from linkstar.outreach.models import Consent, Contact, FlowRun, Message
from linkstar.store import dynamo, keys


def iso(moment: datetime) -> str:
    """Sortable UTC timestamp used in sort keys (fixed width, microseconds)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def digest(value: str) -> str:
    """Keys hold a digest, not the raw email or phone, of personal data used for matching."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()[:24]


# ---------------------------------------------------------------- contacts


def load_contact(tenant_id: str, contact_id: str) -> Contact | None:
    item = dynamo.get(keys.contact(tenant_id, contact_id), consistent=True)
    return Contact.model_validate_json(item["doc"]) if item else None


def contact_ops(
    contact: Contact, expected_version: int, changes: list[tuple[str, str, Consent]]
) -> list[dynamo.Op]:
    """The contact (optimistically locked) and one history item per consent change.

    A history item's key is its time and the contact version that made the change: two
    changes to one channel and purpose in the same microsecond (an import and an immediate
    STOP, a pinned clock) are two items, in the order they were made, not one overwriting
    the other. Sorted by key, the history stays chronological."""
    item = {
        **keys.contact(contact.tenant_id, contact.contact_id),
        "gsi1pk": keys.contacts_index(contact.tenant_id),
        "gsi1sk": contact.contact_id,
        "type": "contact",
        "tenant_id": contact.tenant_id,
        "contact_id": contact.contact_id,
        "version": contact.version,
        "doc": contact.model_dump_json(),
    }
    ops = [dynamo.versioned_put_op(item, expected_version)]
    for channel, purpose, consent in changes:
        ops.append(
            dynamo.put_op(
                {
                    **keys.consent_record(
                        contact.tenant_id,
                        contact.contact_id,
                        f"{iso(consent.at)}#{contact.version:010d}",
                        channel,
                        purpose,
                    ),
                    "type": "consent",
                    "channel": channel,
                    "purpose": purpose,
                    "doc": consent.model_dump_json(),
                }
            )
        )
    return ops


def consent_history(tenant_id: str, contact_id: str) -> list[dict[str, Any]]:
    items = dynamo.query_all("pk", keys.contact(tenant_id, contact_id)["pk"], sk_prefix="CONSENT#")
    return [
        {"channel": i["channel"], "purpose": i["purpose"], **json.loads(i["doc"])} for i in items
    ]


def list_contacts(
    tenant_id: str, limit: int, next_token: str | None
) -> tuple[list[Contact], str | None]:
    page = dynamo.query(
        "gsi1pk",
        keys.contacts_index(tenant_id),
        index="gsi1",
        limit=limit,
        next_token=next_token,
    )
    return [Contact.model_validate_json(i["doc"]) for i in page.items], page.next_token


# ---------------------------------------------------------------- suppression


def suppression_reason(tenant_id: str, channel: str, address: str | None) -> str | None:
    if not address:
        return None
    item = dynamo.get(keys.suppression(tenant_id, channel, digest(address)), consistent=True)
    return str(item["reason"]) if item else None


def suppress_op(
    tenant_id: str, channel: str, address: str, reason: str, source: str, at: datetime
) -> dynamo.Op:
    return dynamo.put_op(
        {
            **keys.suppression(tenant_id, channel, digest(address)),
            "gsi1pk": keys.suppressions_index(tenant_id),
            "gsi1sk": f"{channel}#{iso(at)}",
            "type": "suppression",
            "channel": channel,
            "address": address,
            "reason": reason,
            "source": source,
            "at": iso(at),
        }
    )


def list_suppressions(tenant_id: str, limit: int = 200) -> list[dict[str, Any]]:
    page = dynamo.query("gsi1pk", keys.suppressions_index(tenant_id), index="gsi1", limit=limit)
    return [{k: i[k] for k in ("channel", "address", "reason", "source", "at")} for i in page.items]


# ---------------------------------------------------------------- templates


def put_template(tenant_id: str, template_id: str, locale: str, doc: str) -> None:
    dynamo.put(
        {
            "pk": keys.template(tenant_id, template_id),
            "sk": locale,
            "gsi1pk": keys.templates_index(tenant_id),
            "gsi1sk": f"{template_id}#{locale}",
            "type": "template",
            "doc": doc,
        }
    )


def template_docs(tenant_id: str, template_id: str) -> list[str]:
    return [i["doc"] for i in dynamo.query_all("pk", keys.template(tenant_id, template_id))]


def all_template_docs(tenant_id: str) -> list[str]:
    return [
        i["doc"] for i in dynamo.query_all("gsi1pk", keys.templates_index(tenant_id), index="gsi1")
    ]


# ---------------------------------------------------------------- flows


def put_flow(tenant_id: str, flow_id: str, record: dict[str, Any], expected_version: int) -> None:
    item = {
        **keys.flow(tenant_id, flow_id),
        "type": "flow",
        "version": record["version"],
        "doc": json.dumps(record, sort_keys=True, default=str),
    }
    ops = [dynamo.versioned_put_op(item, expected_version)]
    registry = keys.segment_flow(tenant_id, flow_id)
    segment = record["definition"]["trigger"].get("segment")
    if segment and record.get("enabled"):
        ops.append(dynamo.put_op({**registry, "tenant_id": tenant_id, "flow_id": flow_id}))
    else:
        ops.append(dynamo.delete_op(registry))
    dynamo.transact(ops)


def load_flow(tenant_id: str, flow_id: str) -> dict[str, Any] | None:
    item = dynamo.get(keys.flow(tenant_id, flow_id), consistent=True)
    return json.loads(item["doc"]) if item else None


def list_flows(tenant_id: str) -> list[dict[str, Any]]:
    return [
        json.loads(i["doc"])
        for i in dynamo.query_all(
            "pk", keys.flows_partition(tenant_id), sk_prefix="FLOW#", consistent=True
        )
    ]


def segment_flows() -> Iterator[tuple[str, str]]:
    for item in dynamo.query_all("pk", "SEGFLOWS"):
        yield str(item["tenant_id"]), str(item["flow_id"])


def flow_stats(tenant_id: str, flow_id: str) -> dict[str, Any]:
    item = dynamo.get(keys.flow_stats(tenant_id, flow_id), consistent=True) or {}
    return {k: v for k, v in item.items() if k not in ("pk", "sk", "type")}


def _add_op(key: dict[str, str], counters: Mapping[str, Decimal | int], kind: str) -> dynamo.Op:
    """Atomic counter increments (ADD) on one item, which is created on first use."""
    names = {f"#c{i}": name for i, name in enumerate(counters)}
    values = {f":c{i}": Decimal(value) for i, value in enumerate(counters.values())}
    adds = ", ".join(f"#c{i} :c{i}" for i in range(len(counters)))
    return dynamo.update_op(
        key,
        f"ADD {adds} SET #t = :t",
        names={**names, "#t": "type"},
        values={**values, ":t": kind},
    )


def stats_op(tenant_id: str, flow_id: str, counters: Mapping[str, Decimal | int]) -> dynamo.Op:
    return _add_op(keys.flow_stats(tenant_id, flow_id), counters, "flow_stats")


# ---------------------------------------------------------------- runs


def load_run(tenant_id: str, run_id: str) -> FlowRun | None:
    item = dynamo.get(keys.run(tenant_id, run_id), consistent=True)
    return FlowRun.model_validate_json(item["doc"]) if item else None


def run_op(run: FlowRun, expected_version: int) -> dynamo.Op:
    item = {
        **keys.run(run.tenant_id, run.run_id),
        "type": "run",
        "flow_id": run.flow_id,
        "contact_id": run.contact_id,
        "state": run.state,
        "version": run.version,
        "doc": run.model_dump_json(),
    }
    return dynamo.versioned_put_op(item, expected_version)


def entry_guard_op(
    tenant_id: str, flow_id: str, contact_id: str, at: datetime, cooldown: int | None
) -> dynamo.Op:
    """Re-entry policy "once" (no cooldown) or "cooldown": the contact may enter again only
    after ``cooldown`` seconds. A failed guard means the contact may not enter now."""
    item = {**keys.flow_entry(tenant_id, flow_id, contact_id), "entered_at": iso(at)}
    if cooldown is None:
        return dynamo.put_op(item, condition="attribute_not_exists(pk)", guard=True)
    from datetime import timedelta

    return dynamo.put_op(
        item,
        condition="attribute_not_exists(pk) OR entered_at <= :cutoff",
        values={":cutoff": iso(at - timedelta(seconds=cooldown))},
        guard=True,
    )


def watch_op(tenant_id: str, event_type: str, match: str, value: str, run_id: str) -> dynamo.Op:
    return dynamo.put_op(
        {
            **keys.exit_watch(tenant_id, event_type, match, digest(value), run_id),
            "run_id": run_id,
        }
    )


def watching_runs(tenant_id: str, event_type: str, match: str, value: str) -> list[str]:
    partition = keys.exit_watch_partition(tenant_id, event_type, match, digest(value))
    return [str(i["run_id"]) for i in dynamo.query_all("pk", partition)]


# ---------------------------------------------------------------- messages


def message_item(message: Message) -> dict[str, Any]:
    stamp = f"{iso(message.created_at)}#{message.message_id}"
    return {
        **keys.message(message.tenant_id, message.message_id),
        "gsi1pk": keys.contact_messages_index(message.tenant_id, message.contact_id),
        "gsi1sk": stamp,
        "gsi2pk": keys.flow_messages_index(message.tenant_id, message.flow_id or "direct"),
        "gsi2sk": stamp,
        "type": "message",
        "state": message.state,
        "version": message.version,
        # Defaults (empty fields) are left out: reading fills them back in, and a message is
        # written three times, so its size is paid three times (an SMS crossed 1 KB with them).
        "doc": message.model_dump_json(exclude_defaults=True),
    }


def new_message_op(message: Message) -> dynamo.Op:
    """Written once: the message id is derived from the run and step, so a re-run of the step
    finds it already there (the caller treats that as done)."""
    return dynamo.put_op(message_item(message), condition="attribute_not_exists(pk)", guard=True)


def message_op(message: Message, expected_version: int) -> dynamo.Op:
    return dynamo.versioned_put_op(message_item(message), expected_version)


def load_message(tenant_id: str, message_id: str) -> Message | None:
    item = dynamo.get(keys.message(tenant_id, message_id), consistent=True)
    return Message.model_validate_json(item["doc"]) if item else None


def messages_of_contact(tenant_id: str, contact_id: str, limit: int = 100) -> list[Message]:
    page = dynamo.query(
        "gsi1pk",
        keys.contact_messages_index(tenant_id, contact_id),
        index="gsi1",
        limit=limit,
        forward=False,
    )
    return [Message.model_validate_json(i["doc"]) for i in page.items]


def messages_of_flow(
    tenant_id: str, flow_id: str, limit: int = 100, next_token: str | None = None
) -> tuple[list[Message], str | None]:
    page = dynamo.query(
        "gsi2pk",
        keys.flow_messages_index(tenant_id, flow_id),
        index="gsi2",
        limit=limit,
        next_token=next_token,
        forward=False,
    )
    return [Message.model_validate_json(i["doc"]) for i in page.items], page.next_token


def inbox_op(message: Message, title: str | None, text: str, at: datetime) -> dynamo.Op:
    return dynamo.put_op(
        {
            "pk": keys.inbox(message.tenant_id, message.contact_id),
            "sk": f"{iso(at)}#{message.message_id}",
            "type": "inbox",
            "message_id": message.message_id,
            "title": title,
            "text": text,
            "at": iso(at),
        },
        condition="attribute_not_exists(pk)",
        guard=True,
    )


def inbox(tenant_id: str, contact_id: str, limit: int = 50) -> list[dict[str, Any]]:
    page = dynamo.query("pk", keys.inbox(tenant_id, contact_id), limit=limit, forward=False)
    return [{k: i.get(k) for k in ("message_id", "title", "text", "at")} for i in page.items]


ENGAGEMENT_RETENTION = timedelta(days=30)


def engagement_op(message: Message, state: str) -> dynamo.Op:
    """The contact's record of a message it opened or clicked, kept (TTL) long enough for any
    attribution window: an order then finds it with one query of the contact's partition."""
    assert message.sent_at is not None
    sent = iso(message.sent_at)
    return dynamo.put_op(
        {
            **keys.engagement(message.tenant_id, message.contact_id, sent, message.message_id),
            "type": "engagement",
            "message_id": message.message_id,
            "channel": message.channel,
            "state": state,
            "sent_at": sent,
            "expires_at": int((message.sent_at + ENGAGEMENT_RETENTION).timestamp()),
        }
    )


def engagements(
    tenant_id: str, contact_id: str, since: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Messages the contact engaged with that were sent in [since, until], newest first."""
    page = dynamo.query(
        "pk",
        keys.contact(tenant_id, contact_id)["pk"],
        sk_between=(f"ENGAGED#{iso(since)}", f"ENGAGED#{iso(until)}~"),
        forward=False,
        limit=50,
        consistent=True,
    )
    return page.items


def cap_state(tenant_id: str, contact_id: str, channel: str) -> tuple[list[datetime], int]:
    item = dynamo.get(keys.contact_cap(tenant_id, contact_id, channel), consistent=True)
    if not item:
        return [], 0
    return [datetime.fromisoformat(s) for s in json.loads(item["recent"])], int(item["version"])


def cap_op(
    tenant_id: str, contact_id: str, channel: str, recent: list[datetime], expected_version: int
) -> dynamo.Op:
    item = {
        **keys.contact_cap(tenant_id, contact_id, channel),
        "type": "cap",
        "recent": json.dumps([r.isoformat() for r in recent]),
        "version": expected_version + 1,
    }
    return dynamo.versioned_put_op(item, expected_version)


def provider_route_op(provider: str, provider_message_id: str, message: Message) -> dynamo.Op:
    return dynamo.put_op(
        {
            **keys.provider_message(provider, provider_message_id),
            "tenant_id": message.tenant_id,
            "message_id": message.message_id,
        }
    )


def provider_route(provider: str, provider_message_id: str) -> tuple[str, str] | None:
    item = dynamo.get(keys.provider_message(provider, provider_message_id))
    return (str(item["tenant_id"]), str(item["message_id"])) if item else None


def inbound_route_op(channel: str, recipient: str, tenant_id: str, contact_id: str) -> dynamo.Op:
    return dynamo.put_op(
        {**keys.inbound_route(channel, recipient, tenant_id), "t": tenant_id, "c": contact_id}
    )


def inbound_contacts(channel: str, recipient: str) -> list[tuple[str, str]]:
    """(tenant, contact) pairs that messaged this phone on this channel."""
    items = dynamo.query_all("pk", keys.inbound_routes(channel, recipient))
    return [(str(i["t"]), str(i["c"])) for i in items]


# ---------------------------------------------------------------- timers


def timer_op(due: datetime, tenant_id: str, kind: str, ref: str, body: dict) -> dynamo.Op:
    shard = int(hashlib.sha256(ref.encode()).hexdigest(), 16) % keys.TIMER_SHARDS
    return dynamo.put_op(
        {
            **keys.timer(shard, iso(due), tenant_id, kind, ref),
            "type": "timer",
            "body": json.dumps(body, sort_keys=True, default=str),
        }
    )


def due_timers(now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for shard in range(keys.TIMER_SHARDS):
        page = dynamo.query(
            "pk", keys.timer_partition(shard), sk_between=("0", iso(now) + "~"), limit=limit
        )
        found.extend(page.items)
    return found


def delete_timer(item: dict[str, Any]) -> None:
    dynamo.delete({"pk": item["pk"], "sk": item["sk"]})


# ---------------------------------------------------------------- attribution, reputation


def attribution_op(tenant_id: str, order_id: str, message: Message, revenue: str) -> dynamo.Op:
    return dynamo.put_op(
        {
            **keys.attribution(tenant_id, order_id),
            "message_id": message.message_id,
            "flow_id": message.flow_id,
            "revenue": revenue,
        },
        condition="attribute_not_exists(pk)",
        guard=True,
    )


def attributed(tenant_id: str, order_id: str) -> bool:
    """Whether the order has been credited to a message already."""
    return dynamo.get(keys.attribution(tenant_id, order_id), consistent=True) is not None


def reputation_op(tenant_id: str, day: str, counters: Mapping[str, int]) -> dynamo.Op:
    return _add_op(keys.reputation(tenant_id, day), counters, "reputation")


def reputation_days(tenant_id: str, months: list[str]) -> dict[str, dict[str, int]]:
    days: dict[str, dict[str, int]] = {}
    for month in months:
        for item in dynamo.query_all("pk", keys.reputation_month(tenant_id, month)):
            days[item["sk"]] = {
                k: int(v) for k, v in item.items() if k in ("sent", "bounced", "complained")
            }
    return days


# ---------------------------------------------------------------- tenant outreach settings


def load_settings_doc(tenant_id: str) -> dict[str, Any] | None:
    item = dynamo.get(keys.outreach_settings(tenant_id), consistent=True)
    return json.loads(item["doc"]) if item else None


def put_settings_doc(tenant_id: str, doc: dict[str, Any]) -> None:
    dynamo.put(
        {
            **keys.outreach_settings(tenant_id),
            "type": "outreach_settings",
            "doc": json.dumps(doc, sort_keys=True, default=str),
        }
    )
