"""Billing as the rest of LinkStar uses it: plans per tenant, metering a send, live usage,
alerts, holds, the month close and its reconciliation.

Exactly once: the sender calls :func:`meter` before it claims a message and writes
:meth:`Metered.record_ops` in the claim's own transaction, which is conditional on the message's
version; the usage record is keyed by the message id and only written if absent. A duplicate
request, a redelivered batch or a retry finds the message already claimed and writes nothing; a
provider refusal removes the record in the transaction that un-claims the message. Counters are
sharded (``keys.USAGE_SHARDS``) by a hash of the message id.

Alerts are state, not edges: after each send (and on the daily schedule) the month's counters
are priced and every threshold the month has crossed is fired unless it already was, with a
conditional write per threshold and month. A missed check is made good by the next one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from linkstar import clock
from linkstar.billing import metering, plans
from linkstar.billing.metering import month_of
from linkstar.errors import BadRequest, ConcurrentUpdate, LinkStarError
from linkstar.outreach.models import Contact, Message
from linkstar.store import billing as store
from linkstar.store import dynamo
from linkstar.store import tenants as tenant_repo
from linkstar.text import DEFAULT as DEFAULT_LOCALE
from linkstar.text import STORED, Text

logger = logging.getLogger(__name__)

CACHE_SECONDS = 30
HOLD_RECHECK = timedelta(hours=6)  # a held send looks again on its own, plan change or not

_plans: dict[str, tuple[list[plans.Plan], float]] = {}


# ---------------------------------------------------------------- plans


def plan_versions(tenant_id: str) -> list[plans.Plan]:
    cached = _plans.get(tenant_id)
    if cached and cached[1] > time.monotonic():
        return cached[0]
    versions = [plans.Plan.model_validate(doc) for doc in store.plan_docs(tenant_id)]
    _plans[tenant_id] = (versions, time.monotonic() + CACHE_SECONDS)
    return versions


def plan_for(tenant_id: str, month: str) -> plans.Plan:
    """The version pricing ``month``; a tenant that never chose one is on the starter plan."""
    return plans.plan_for_month(plan_versions(tenant_id), month) or plans.default_plan()


def forget() -> None:
    _plans.clear()


# ---------------------------------------------------------------- metering a send


@dataclass
class BillingHold:
    said: Text  # why, as the seller reads it
    recheck: timedelta = HOLD_RECHECK

    @property
    def reason(self) -> str:
        """In English: what the hold item records (the operator reads it)."""
        return self.said.render(DEFAULT_LOCALE)


@dataclass
class Metered:
    month: str
    lines: list[dict[str, Any]]

    @property
    def stamp(self) -> dict[str, Any]:
        return {"month": self.month, "lines": self.lines}

    def record_ops(self, message: Message) -> list[dynamo.Op]:
        at = message.updated_at
        return store.record_ops(message.tenant_id, self.month, message.message_id, self.lines, at)


def meter(
    message: Message, contact: Contact, now: datetime, fresh: bool = False
) -> Metered | BillingHold:
    """What ``message`` will be billed, or why it may not go now. ``fresh`` reads the plan
    from the table, not the cache: a hold released by a plan change must see that change."""
    from linkstar.billing import pricing

    if fresh:
        _plans.pop(message.tenant_id, None)
    month = month_of(now)
    plan = plan_for(message.tenant_id, month)
    units = metering.units_for(message, contact)
    for unit in units:
        why = pricing.priceable(
            plan, unit.channel, unit.country, unit.category, features=unit.features
        )
        if why is not None:
            return BillingHold(Text("billing.hold_unpriced", code=why))
    if plan.hard_cap and plan.spend_limit is not None:
        state = store.read_month(message.tenant_id, month)
        if pricing.spend(plan, _usages(state.units, units)) > plan.spend_limit:
            return BillingHold(
                Text(
                    "billing.hold_spend_limit", limit=str(plan.spend_limit), currency=plan.currency
                )
            )
    return Metered(month, [unit.as_dict() for unit in units])


def unrecord_ops(message: Message) -> list[dynamo.Op]:
    if not message.billing:
        return []
    stamp = message.billing
    return store.unrecord_ops(message.tenant_id, stamp["month"], message.message_id, stamp["lines"])


def hold_op(message: Message, reason: str) -> dynamo.Op:
    return store.hold_op(message.tenant_id, message.message_id, message.channel, reason)


def _usages(
    counted: dict[tuple[str, str, str, str], int], extra: list[metering.Units] | None = None
) -> list[Any]:
    from linkstar.billing import pricing

    totals = dict(counted)
    for unit in extra or []:
        line = (unit.channel, unit.country, unit.category, unit.kind)
        totals[line] = totals.get(line, 0) + unit.units
    return [
        pricing.Usage.model_validate(
            {"channel": ch, "country": country, "category": category, "kind": kind, "units": n}
        )
        for (ch, country, category, kind), n in sorted(totals.items())
        if n > 0
    ]


def release_holds(tenant_id: str) -> int:
    """Re-queue every message billing held (the plan changed: a cap lifted, a rate added); the
    sender decides again, and holds again if it still must."""
    from linkstar.outreach import queues
    from linkstar.outreach.models import SendRequest

    holds = store.billing_holds(tenant_id)
    requests = [
        SendRequest.model_validate(
            {
                "tenant_id": tenant_id,
                "message_id": item["sk"],
                "channel": item["channel"],
                "recheck": True,
            }
        )
        for item in holds
    ]
    if requests:
        queues.enqueue_sends(requests)
    for item in holds:
        store.drop_hold(tenant_id, item["sk"])
    return len(requests)


# ---------------------------------------------------------------- live usage and alerts


def usage(tenant_id: str, month: str, now: datetime | None = None) -> dict[str, Any]:
    from linkstar.billing import pricing

    now = now or clock.now()
    plan = plan_for(tenant_id, month)
    state = store.read_month(tenant_id, month)
    return with_notes(pricing.usage_report(plan, _usages(state.units), month, now))


def with_notes(doc: dict[str, Any]) -> dict[str, Any]:
    """A usage view or invoice with each unpriced line's reason code also said as a sentence
    (``unpriced_note``, in the reader's language)."""
    from linkstar.billing import pricing

    for line in doc.get("lines", []):
        if line.get("unpriced_reason"):
            line["unpriced_note"] = pricing.unpriced_note(line["unpriced_reason"])
    return doc


def usage_alerts(tenant_id: str, months: list[str]) -> list[dict[str, Any]]:
    """The usage alerts ``months`` fired, newest first."""
    from linkstar.billing import alerts

    fired = [
        alerts.view(alert) for month in months for alert in store.fired_alerts(tenant_id, month)
    ]
    return sorted(fired, key=lambda alert: (alert["fired_at"], alert["key"]), reverse=True)


def after_send(tenant_id: str, now: datetime) -> None:
    """Alerts after a send; a failure here must not undo or retry the send (the next send or
    the daily check fires what this one missed)."""
    try:
        check_alerts(tenant_id, month_of(now), now)
    except Exception:  # the message is sent; the alert check is best effort
        logger.exception("usage alert check failed", extra={"tenant_id": tenant_id})


def check_alerts(tenant_id: str, month: str, now: datetime) -> list[dict[str, Any]]:
    """Fire every threshold ``month`` has crossed and not fired yet; returns those fired now."""
    from linkstar.billing import alerts, pricing

    plan = plan_for(tenant_id, month)
    state = store.read_month(tenant_id, month)
    crossed = pricing.thresholds_crossed(plan, _usages(state.units), month)
    fired: list[dict[str, Any]] = []
    for threshold in crossed:
        if threshold.key in state.alerts:
            continue
        detail = alerts.detail(tenant_id, month, plan, threshold, now)
        if store.fire_alert(tenant_id, month, threshold.key, detail, alerts.crossed(threshold)):
            alerts.deliver(tenant_id, plan, detail, now, said=threshold.message_text)
            fired.append(detail)
    return fired


# ---------------------------------------------------------------- month close


def previous_month(now: datetime) -> str:
    first = now.date().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def close_month(tenant_id: str, month: str, now: datetime) -> dict[str, Any]:
    """Freeze ``month`` into an invoice (once: a second close returns the first invoice)."""
    existing = store.load_invoice(tenant_id, month)
    if existing is not None:
        return existing
    _, last = plans.month_bounds(month)
    if now.date() <= last:
        raise BadRequest(Text("billing.month_open", month=month), code="month_open")
    invoice, version = _invoice(tenant_id, month)
    if invoice.unpriced:
        # Sends are held when they can't be priced, so this means a plan changed under usage
        # already counted: an operator decides, the invoice isn't issued at 0.
        raise BadRequest(
            Text("billing.unpriced_usage", month=month, codes=invoice.unpriced),
            code="unpriced_usage",
        )
    doc = invoice_doc(tenant_id, month, invoice, now)
    try:
        dynamo.transact(
            store.close_ops(tenant_id, month, doc, invoice.credit_balances_after, version)
        )
    except ConcurrentUpdate:
        again = store.load_invoice(tenant_id, month)
        if again is not None:
            return again
        raise
    return store.readable_invoice(doc)


def invoice_doc(tenant_id: str, month: str, invoice: Any, now: datetime) -> dict[str, Any]:
    """The invoice as it is frozen: each line's description kept as its message, so that the
    invoice is read later in its reader's language (whoever's request closed the month)."""
    doc = invoice.model_dump(mode="json", context=STORED)
    doc.update(
        invoice_id=invoice_id(tenant_id, month),
        tenant_id=tenant_id,
        month=month,
        closed_at=now.isoformat(),
    )
    return doc


def invoice_id(tenant_id: str, month: str) -> str:
    return f"INV-{month.replace('-', '')}-{tenant_id}"


def close_many(month: str, now: datetime, tenant_id: str | None = None) -> dict[str, Any]:
    """Close ``month`` for one tenant or every tenant; a tenant that fails doesn't stop the
    others, and is reported (re-running closes what is left and changes nothing else)."""
    targets = [tenant_id] if tenant_id else tenant_repo.all_tenant_ids()
    closed: list[str] = []
    failed: dict[str, str] = {}
    for tid in targets:
        try:
            closed.append(close_month(tid, month, now)["invoice_id"])
        except LinkStarError as exc:
            failed[tid] = f"{exc.code}: {exc.message}"
    return {"month": month, "closed": closed, "failed": failed}


def close_all(now: datetime) -> dict[str, Any]:
    """The month-close schedule: every tenant's previous month."""
    result = close_many(previous_month(now), now)
    for tid, why in result["failed"].items():
        logger.error("month close failed", extra={"tenant_id": tid, "reason": why})
    return result


def _invoice(tenant_id: str, month: str) -> tuple[Any, int]:
    """The month's invoice as its counters and credit balances stand now, and the balances'
    version (the close writes the balances the invoice leaves against it)."""
    from linkstar.billing import pricing

    plan = plan_for(tenant_id, month)
    state = store.read_month(tenant_id, month)
    balances, version = store.credit_balances(tenant_id)
    return pricing.invoice(plan, _usages(state.units), month, credits_balance=balances), version


def invoice_preview(tenant_id: str, month: str) -> dict[str, Any]:
    invoice, _ = _invoice(tenant_id, month)
    doc = invoice.model_dump(mode="json")
    doc.update(month=month, preview=True, csv=invoice.to_csv())
    return with_notes(doc)


def invoice_csv(doc: dict[str, Any]) -> str:
    from linkstar.billing import pricing

    fields = set(pricing.Invoice.model_fields)
    return pricing.Invoice.model_validate({k: v for k, v in doc.items() if k in fields}).to_csv()


# ---------------------------------------------------------------- plan changes


def plan_view(tenant_id: str, month: str) -> dict[str, Any]:
    versions = plan_versions(tenant_id)
    plan = plans.plan_for_month(versions, month) or plans.default_plan()
    return {
        "month": month,
        "plan": plan.model_dump(mode="json"),
        "is_default": not versions,
        "versions": [
            {"effective_from": v.effective_from.isoformat(), "plan_id": v.plan_id}
            for v in sorted(versions, key=lambda v: v.effective_from)
        ],
    }


def _check_start(start: date, now: datetime) -> None:
    if start.day != 1:
        raise BadRequest(
            Text("billing.effective_from_not_month_start", start=start.isoformat()),
            code="effective_from_not_month_start",
        )
    if start < now.date().replace(day=1):
        raise BadRequest(
            Text("billing.effective_from_in_the_past", start=start.isoformat()),
            code="effective_from_in_the_past",
        )


def change_plan(who: Any, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A new plan version from ``effective_from`` (required), audited; holds it may free are
    re-queued."""
    if "effective_from" not in body:
        raise BadRequest(Text("billing.effective_from_required"), code="effective_from_required")
    plan = plans.Plan.model_validate(body)
    _check_start(plan.effective_from, now)
    return _save_version(who, plan, now)


def change_rate_card(
    who: Any, channel: str, rows: list[Any], start: date, now: datetime
) -> dict[str, Any]:
    """The plan in force at ``start`` with ``channel``'s rates replaced, as a new version."""
    if channel not in plans.RATE_CARD_CHANNELS:
        raise BadRequest(
            Text(
                "billing.no_rate_card_channel",
                channel=repr(channel),
                channels=sorted(plans.RATE_CARD_CHANNELS),
            ),
            code="no_rate_card_channel",
        )
    _check_start(start, now)
    base = plan_for(who.tenant_id, start.strftime("%Y-%m"))
    doc = base.model_dump(mode="json")
    rates = [row.model_dump(mode="json") if hasattr(row, "model_dump") else row for row in rows]
    channel_doc = doc["channels"].get(channel) or {"included_units": 0, "model": "rate_card"}
    channel_doc["rates"] = rates
    doc["channels"][channel] = channel_doc
    doc["effective_from"] = start.isoformat()
    plan = plans.Plan.model_validate(doc)
    return _save_version(who, plan, now)


def _save_version(who: Any, plan: plans.Plan, now: datetime) -> dict[str, Any]:
    start = plan.effective_from
    before = plans.plan_for_month(plan_versions(who.tenant_id), start.strftime("%Y-%m"))
    actor = {"key_id": who.key_id, "role": str(who.role)}
    store.save_plan_doc(
        who.tenant_id,
        start.isoformat(),
        plan.model_dump(mode="json"),
        before.model_dump(mode="json") if before else None,
        actor,
        now,
    )
    _plans.pop(who.tenant_id, None)
    released = release_holds(who.tenant_id)
    return {
        "plan": plan.model_dump(mode="json"),
        "effective_from": start.isoformat(),
        "released_holds": released,
    }


# ---------------------------------------------------------------- export and margin


def usage_events(tenant_id: str, month: str) -> list[dict[str, Any]]:
    """CloudEvents 1.0, one per billable line of each message (OpenMeter takes the tenant as
    ``subject``; Lago maps ``data`` to its event properties)."""
    events: list[dict[str, Any]] = []
    for record in sorted(store.usage_records(tenant_id, month), key=lambda r: r["at"]):
        for index, line in enumerate(record["lines"]):
            events.append(
                {
                    "specversion": "1.0",
                    "type": "com.linkstar.usage",
                    "source": f"linkstar/{tenant_id}",
                    "id": f"{record['message_id']}#{index}",
                    "time": record["at"],
                    "subject": tenant_id,
                    "datacontenttype": "application/json",
                    "data": dict(
                        zip(
                            ("channel", "country", "category", "kind"),
                            store.line_key(line),
                            strict=True,
                        ),
                        message_id=record["message_id"],
                        units=int(line["units"]),
                    ),
                }
            )
    return events


def margin_report(month: str) -> dict[str, Any]:
    """The operator's view: per tenant, provider cost against the price charged."""
    from linkstar.billing import pricing

    tenants = []
    for tenant_id in tenant_repo.all_tenant_ids():
        state = store.read_month(tenant_id, month)
        if not state.units:
            continue
        plan = plan_for(tenant_id, month)
        lines = pricing.margin(plan, _usages(state.units))
        tenants.append(
            {
                "tenant_id": tenant_id,
                "currency": plan.currency,
                "lines": [line.model_dump(mode="json") for line in lines],
            }
        )
    return {"month": month, "tenants": tenants}


# ---------------------------------------------------------------- reconciliation


def reconcile(tenant_id: str, month: str) -> dict[str, Any]:
    """Recount ``month`` two ways, from the usage records and from the message log (each
    message carries what it was billed), and compare both with the counters. Any difference is
    listed, with the messages that have one account and not the other; there should be none."""
    from linkstar.store import outreach as repo

    state = store.read_month(tenant_id, month)
    from_records: dict[tuple[str, str, str, str], int] = {}
    from_messages: dict[tuple[str, str, str, str], int] = {}
    records = store.usage_records(tenant_id, month)
    for record in records:
        _add(from_records, record["lines"])
    flow_ids = [flow["flow_id"] for flow in repo.list_flows(tenant_id)]
    billed = {m.message_id: m for m in store.billed_messages(tenant_id, flow_ids, month)}
    for message in billed.values():
        _add(from_messages, (message.billing or {})["lines"])
    recorded = {record["message_id"] for record in records}
    lines = sorted(set(state.units) | set(from_records) | set(from_messages))
    differences = []
    for line in lines:
        counts = {
            "counters": state.units.get(line, 0),
            "records": from_records.get(line, 0),
            "messages": from_messages.get(line, 0),
        }
        if len(set(counts.values())) > 1:
            differences.append(
                {"channel": line[0], "country": line[1], "category": line[2], "kind": line[3]}
                | counts
            )
    return {
        "tenant_id": tenant_id,
        "month": month,
        "records": len(records),
        "messages": len(billed),
        "units": sum(state.units.values()),
        "differences": differences,
        "recorded_but_not_billed": sorted(recorded - set(billed)),
        "billed_but_not_recorded": sorted(set(billed) - recorded),
        "ok": not differences and recorded == set(billed),
    }


def reconcile_all(month: str) -> dict[str, Any]:
    """Every tenant's month (the tenants with no usage are counted and skipped)."""
    checked = [reconcile(tid, month) for tid in tenant_repo.all_tenant_ids()]
    with_usage = [c for c in checked if c["records"] or c["units"] or c["messages"]]
    return {
        "month": month,
        "tenants": len(checked),
        "tenants_with_usage": with_usage,
        "ok": all(c["ok"] for c in checked),
    }


def _add(totals: dict[tuple[str, str, str, str], int], lines: list[dict[str, Any]]) -> None:
    for line in lines:
        key = store.line_key(line)
        totals[key] = totals.get(key, 0) + int(line["units"])
