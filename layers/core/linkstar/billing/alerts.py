"""Usage alerts: a bus event for the tenant's own systems, and an email to its billing contacts
sent through LinkStar's own outreach (``linkstar.notices``: one message per tenant, month,
threshold and address, however often the alert is re-fired)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from linkstar import ids, notices, text
from linkstar.billing import plans
from linkstar.orders.state import DomainEvent
from linkstar.store import dynamo, outbox
from linkstar.text import Text

EVENT_TYPE = "billing.usage_alert"


def detail(
    tenant_id: str, month: str, plan: plans.Plan, threshold: Any, now: datetime
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "month": month,
        "key": threshold.key,
        "message": threshold.message,
        "currency": plan.currency,
        "fired_at": now.isoformat(),
    }


def crossed(threshold: Any) -> dict[str, Any]:
    """What the seller is shown of a fired alert (``GET /usage/alerts``) beside its event."""
    return {
        "kind": threshold.kind,
        "channel": threshold.channel,
        "percent": threshold.percent,
        "used": str(threshold.used),
        "limit": str(threshold.limit),
        "blocks_sending": threshold.blocks_sending,
        "message": threshold.message_text,
    }


def view(alert: dict[str, Any]) -> dict[str, Any]:
    """A fired alert as ``GET /usage/alerts`` shows it. One fired before ``crossed`` was kept
    has its threshold read from its key ("quota:sms:80", "spend:100") and its English message."""
    crossed = alert.get("crossed") or {}
    kind, _, rest = str(alert["key"]).partition(":")
    channel, _, percent = rest.rpartition(":")
    return {
        "month": alert["month"],
        "key": alert["key"],
        "kind": crossed.get("kind", kind),
        "channel": crossed.get("channel", channel or None),
        "percent": int(crossed.get("percent", percent)),
        "used": crossed.get("used"),
        "limit": crossed.get("limit"),
        "currency": alert.get("currency"),
        "blocks_sending": bool(crossed.get("blocks_sending", False)),
        "message": text.load(crossed.get("message") or alert.get("message")),
        "fired_at": alert["fired_at"],
    }


def deliver(
    tenant_id: str, plan: plans.Plan, alert: dict[str, Any], now: datetime, said: Any = None
) -> None:
    """The bus event (its ``message`` English, for machines) and an email to each billing
    contact in the plan's ``alert_locale``; ``said`` is the alert's message (a ``Text.dump()``)."""
    event = DomainEvent(
        ids.event_id(tenant_id, "usage_alert", f"{alert['month']}#{alert['key']}"),
        EVENT_TYPE,
        alert,
    )
    dynamo.transact(outbox.event_ops(tenant_id, [event], now.isoformat()))
    sentence = text.load(said) or alert["message"]
    for address in plan.alert_emails:
        _email(tenant_id, address, alert, sentence, plan.alert_locale, now)


def _email(
    tenant_id: str,
    address: str,
    alert: dict[str, Any],
    said: text.Text | str,
    locale: str,
    now: datetime,
) -> None:
    # The billing contacts read the plan's alert language, whoever's request fired the alert.
    with text.use_locale(locale):
        subject = str(Text("billing.alert_email.subject", month=alert["month"], key=alert["key"]))
        body = str(
            Text("billing.alert_email.body", message=said, tenant=tenant_id, month=alert["month"])
        )
    notices.send_email(
        address,
        f"usage|{tenant_id}|{alert['month']}|{alert['key']}",
        subject,
        body,
        "billing_contact",
        now,
    )
