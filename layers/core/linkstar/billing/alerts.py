"""Usage alerts: a bus event for the tenant's own systems, and an email to its billing contacts
sent through LinkStar's own outreach.

The email is a transactional message of the operator's tenant (``SYSTEM_TENANT``), not of the
seller's: it goes through the same queue, sender, suppression list and SES configuration set as
any other message, is metered to the operator, and never counts against the seller's quota or
frequency caps. Its id is a hash of (tenant, month, threshold, address), so an alert re-fired by a
retry is the same message and is sent once.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime
from typing import Any

from linkstar import ids
from linkstar.billing import plans
from linkstar.orders.state import DomainEvent
from linkstar.outreach.models import Contact, Message, SendRequest
from linkstar.store import dynamo, outbox

SYSTEM_TENANT = "linkstar"
"""The operator's own tenant: it sends LinkStar's notices to sellers."""

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


def deliver(tenant_id: str, plan: plans.Plan, alert: dict[str, Any], now: datetime) -> None:
    event = DomainEvent(
        ids.event_id(tenant_id, "usage_alert", f"{alert['month']}#{alert['key']}"),
        EVENT_TYPE,
        alert,
    )
    dynamo.transact(outbox.event_ops(tenant_id, [event], now.isoformat()))
    for address in plan.alert_emails:
        _email(tenant_id, address, alert, now)


def _email(tenant_id: str, address: str, alert: dict[str, Any], now: datetime) -> None:
    from linkstar.errors import ConcurrentUpdate
    from linkstar.outreach import queues
    from linkstar.outreach.contacts import contact_id_for
    from linkstar.store import outreach as repo

    contact_id = contact_id_for(SYSTEM_TENANT, address, None)
    if repo.load_contact(SYSTEM_TENANT, contact_id) is None:
        # A billing contact: transactional notices need no consent record, only an address
        # that isn't suppressed (the sender checks).
        contact = Contact(
            tenant_id=SYSTEM_TENANT,
            contact_id=contact_id,
            email=address,
            source="billing_contact",
            created_at=now,
            updated_at=now,
            version=1,
        )
        with contextlib.suppress(ConcurrentUpdate):  # another alert created it first
            dynamo.transact(repo.contact_ops(contact, 0, []))
    digest = hashlib.sha256(
        f"{tenant_id}|{alert['month']}|{alert['key']}|{address}".encode()
    ).hexdigest()[:24]
    message = Message(
        tenant_id=SYSTEM_TENANT,
        message_id=f"alert{digest}",
        contact_id=contact_id,
        channel="email",
        purpose="transactional",
        to=address,
        subject=f"LinkStar usage alert for {alert['month']}: {alert['key']}",
        text=(
            f"{alert['message']}\n\n"
            f"Tenant: {tenant_id}\nMonth: {alert['month']}\n"
            "See GET /usage for the lines and the forecast to month end.\n"
        ),
        created_at=now,
        updated_at=now,
        version=1,
    )
    # An earlier try may have written it and died before queueing: queue it either way (the
    # sender sends a message once, however often it is asked).
    with contextlib.suppress(ConcurrentUpdate):
        dynamo.transact([repo.new_message_op(message)])
    queues.enqueue_sends(
        [SendRequest(tenant_id=SYSTEM_TENANT, message_id=message.message_id, channel="email")]
    )
