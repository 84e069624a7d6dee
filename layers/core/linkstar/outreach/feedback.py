"""Applying provider feedback: message state, suppression, flow stats, reputation, opt-outs.

Each event finds its message through the routing item the sender wrote for the provider's
message id (or SES's message tags). State only moves forward (``feedback_events.advances``), and
the move, the stat it counts and the suppression it causes are one conditional transaction: a
redelivered or reordered event changes nothing. A hard bounce or a complaint suppresses the
address for the tenant; a bounce also sends the flow step's fallback channel. The tenant's
trailing email bounce and complaint rates feed the reputation breaker. An SES list-management
unsubscribe (``Subscription``) withdraws the contact's email marketing consent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from linkstar import clock
from linkstar.errors import ConcurrentUpdate
from linkstar.observability import logger
from linkstar.orders.state import DomainEvent
from linkstar.outreach import compliance, policy, queues
from linkstar.outreach import contacts as contact_service
from linkstar.outreach.feedback_events import (
    FeedbackEvent,
    advances,
    opt_in_keyword,
    opt_out_keyword,
)
from linkstar.outreach.models import STATE_RANK, Message, said
from linkstar.store import dynamo, outbox
from linkstar.store import outreach as repo

# Every milestone a jump passes is counted, so a click that arrives before its open still
# counts the open (the stats mean "messages that reached at least this state").
_MILESTONES = ("delivered", "opened", "clicked")
REPUTATION_DAYS = 7


def apply(events: list[FeedbackEvent], now: datetime | None = None) -> list[str]:
    now = now or clock.now()
    return [apply_one(event, now) for event in events]


def apply_one(event: FeedbackEvent, now: datetime) -> str:
    if event.kind == "inbound":
        return _inbound(event, now)
    found = _find(event)
    if found is None:
        logger.info(
            "feedback for an unknown message",
            extra={"provider": event.provider, "kind": event.kind},
        )
        return "unknown_message"
    if event.kind == "unsubscribed":
        return _list_unsubscribe(*found, event, now)
    for _ in range(3):
        message = repo.load_message(*found)
        if message is None:
            return "unknown_message"
        try:
            return _apply_to(message, event, now)
        except ConcurrentUpdate:
            continue
    raise ConcurrentUpdate("message kept changing")


def _find(event: FeedbackEvent) -> tuple[str, str] | None:
    tags = event.tags or {}
    if tags.get("tenant_id") and tags.get("message_id"):
        return tags["tenant_id"], tags["message_id"]
    if event.provider_message_id:
        return repo.provider_route(event.provider, event.provider_message_id)
    return None


def _apply_to(message: Message, event: FeedbackEvent, now: datetime) -> str:
    if not advances(message.state, event.kind):
        return "unchanged"
    new_state = {"opened": "opened", "clicked": "clicked", "delivered": "delivered"}.get(
        event.kind, event.kind
    )
    if event.kind in ("rejected", "failed"):
        new_state = "failed"
    if event.kind in ("sent", "delayed"):
        return "unchanged"
    history = [*message.events, {"kind": event.kind, "at": event.occurred_at.isoformat()}][-20:]
    updated = message.model_copy(
        update={
            "state": new_state,
            # A bounce's or complaint's reason is the receiving server's own words.
            **(
                said(event.reason)
                if new_state in ("bounced", "complained", "failed")
                else {"reason": message.reason, "reason_message": message.reason_message}
            ),
            "events": history,
            "updated_at": now,
            "version": message.version + 1,
        }
    )
    counters: dict[str, Decimal | int] = {}
    old_rank = STATE_RANK.get(message.state, 0)
    for milestone in _MILESTONES:
        if (
            STATE_RANK[milestone] > old_rank
            and STATE_RANK.get(new_state, -1) >= STATE_RANK[milestone]
        ):
            counters[milestone] = 1
    if new_state in ("bounced", "complained", "failed"):
        counters[new_state] = 1
    ops = [repo.message_op(updated, message.version)]
    if counters and message.flow_id:
        ops.append(repo.stats_op(message.tenant_id, message.flow_id, counters))
    address = message.to
    hard = new_state == "complained" or (new_state == "bounced" and event.permanent is not False)
    if hard and address:
        reason = "complaint" if new_state == "complained" else "hard bounce"
        ops.append(
            repo.suppress_op(
                message.tenant_id, message.channel, address, reason, event.provider, now
            )
        )
    if message.channel == "email" and new_state in ("bounced", "complained"):
        ops.append(repo.reputation_op(message.tenant_id, now.date().isoformat(), {new_state: 1}))
    if new_state in ("opened", "clicked") and message.sent_at is not None and message.flow_id:
        ops.append(repo.engagement_op(message, new_state))
    dynamo.transact(ops)
    if new_state == "complained" and address:
        contact_service.set_consent(
            message.tenant_id,
            message.contact_id,
            "email",
            "marketing",
            "unsubscribed",
            "complaint",
            {"provider": event.provider, "feedback": event.reason},
            now,
        )
    if new_state == "bounced" and message.run_id and message.step_id:
        queues.enqueue_flow_work(
            [
                {
                    "kind": "fallback",
                    "tenant_id": message.tenant_id,
                    "run_id": message.run_id,
                    "step_id": message.step_id,
                }
            ]
        )
    if message.channel == "email" and new_state in ("bounced", "complained"):
        check_reputation(message.tenant_id, now)
    return new_state


def _list_unsubscribe(tenant_id: str, message_id: str, event: FeedbackEvent, now: datetime) -> str:
    """SES list management (the recipient used the List-Unsubscribe header or SES's preference
    page): withdraw the contact's email marketing consent, with the list and topics as proof,
    and count the flow's unsubscribe in the same write. A redelivery changes nothing; an
    opt-out older than a later re-subscription doesn't undo it."""
    message = repo.load_message(tenant_id, message_id)
    if message is None:
        return "unknown_message"
    contact = repo.load_contact(tenant_id, message.contact_id)
    if contact is None:
        return "unknown_contact"
    current = contact.consent_for("email", "marketing")
    if current is not None and current.status == "subscribed" and current.at > event.occurred_at:
        return "stale"
    proof = {
        "provider": event.provider,
        "message_id": message.message_id,
        "provider_message_id": event.provider_message_id,
        "address": message.to,
        "contact_list": event.contact_list,
        "topics": list(event.topics),  # none named: every topic (SES "unsubscribeAll")
        "all_topics": not event.topics,
        "reason": event.reason,
        "at": event.occurred_at.isoformat(),
    }
    stat = (
        [repo.stats_op(tenant_id, message.flow_id, {"unsubscribed": 1})] if message.flow_id else []
    )
    before = current.status if current is not None else None
    contact_service.set_consent(
        tenant_id,
        message.contact_id,
        "email",
        "marketing",
        "unsubscribed",
        "ses_subscription",
        proof,
        now,
        with_change=stat,
    )
    return "unchanged" if before == "unsubscribed" else "unsubscribed"


def check_reputation(tenant_id: str, now: datetime) -> str | None:
    """Pause the tenant's marketing email when its trailing bounce or complaint rate is too
    high, and tell it (a bus event, and the reason on every held message)."""
    settings = policy.load(tenant_id)
    if settings.marketing_email_paused is not None:
        return None
    days = [(now - timedelta(days=n)).date().isoformat() for n in range(REPUTATION_DAYS)]
    months = sorted({d[:7] for d in days})
    counts = repo.reputation_days(tenant_id, months)
    sent = sum(counts.get(d, {}).get("sent", 0) for d in days)
    bounced = sum(counts.get(d, {}).get("bounced", 0) for d in days)
    complained = sum(counts.get(d, {}).get("complained", 0) for d in days)
    verdict = compliance.reputation_status(sent, bounced, complained)
    if not verdict.paused:
        return None
    reason = str(verdict.reason)
    paused = settings.model_copy(
        update={
            "marketing_email_paused": policy.ReputationPause(
                at=now, reason=reason, reason_message=verdict.reason_message
            )
        }
    )
    policy.save(tenant_id, paused)
    detail: dict[str, Any] = {
        "tenant_id": tenant_id,
        "reason": reason,
        "sent": sent,
        "bounced": bounced,
        "complained": complained,
        "window_days": REPUTATION_DAYS,
    }
    from linkstar import ids

    event = DomainEvent(
        ids.event_id(tenant_id, "reputation_paused", now.isoformat()),
        "outreach.marketing_email_paused",
        detail,
    )
    dynamo.transact(outbox.event_ops(tenant_id, [event], now.isoformat()))
    logger.warning("marketing email paused", extra={"tenant_id": tenant_id, "reason": reason})
    return reason


def _inbound(event: FeedbackEvent, now: datetime) -> str:
    """STOP / 退订 from a phone opts it out of SMS (or WhatsApp) marketing for every tenant that
    messaged it; START opts it back in, with the message as proof."""
    sender = event.recipients[0] if event.recipients else None
    text = event.text or ""
    if not sender:
        return "ignored"
    channel = "whatsapp" if event.provider == "whatsapp" else "sms"
    if opt_out_keyword(text):
        status = "unsubscribed"
    elif opt_in_keyword(text):
        status = "subscribed"
    else:
        return "not_a_keyword"
    changed = 0
    for tenant_id, contact_id in repo.inbound_contacts(channel, sender):
        result = contact_service.set_consent(
            tenant_id,
            contact_id,
            channel,
            "marketing",
            status,  # type: ignore[arg-type]
            f"{channel}_keyword",
            {
                "text": text[:160],
                "from": sender,
                "to": event.destination,
                "at": event.occurred_at.isoformat(),
            },
            now,
        )
        changed += result is not None
    return f"{status}:{changed}"
