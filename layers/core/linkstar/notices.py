"""LinkStar's own notices to a seller's people (billing contacts, KPI owners): emails and SMS
sent through LinkStar's outreach pipeline as transactional messages of the operator's tenant.

A notice is a message of ``SYSTEM_TENANT``, not of the seller: it goes through the same queue,
sender, suppression list and SES configuration set (or SNS) as any other message, is metered to
the operator, and never counts against the seller's quota or frequency caps. Its id is a hash of
the caller's ``key``, the channel and the address, so a notice re-sent by a retry is the same
message and goes once.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime
from typing import Literal

from linkstar.store import dynamo

SYSTEM_TENANT = "linkstar"
"""The operator's own tenant: it sends LinkStar's notices to sellers."""


def send_email(address: str, key: str, subject: str, text: str, source: str, now: datetime) -> str:
    """Queue one email notice to ``address``; returns its message id."""
    return send("email", address, key, subject, text, source, now)


def send_sms(phone: str, key: str, text: str, source: str, now: datetime) -> str:
    """Queue one SMS notice to ``phone`` (E.164); returns its message id."""
    return send("sms", phone, key, None, text, source, now)


def send(
    channel: Literal["email", "sms"],
    address: str,
    key: str,
    subject: str | None,
    text: str,
    source: str,
    now: datetime,
) -> str:
    """Queue one notice on ``channel`` to ``address``; returns its message id."""
    from linkstar.errors import ConcurrentUpdate
    from linkstar.outreach import queues
    from linkstar.outreach.contacts import contact_id_for
    from linkstar.outreach.models import Contact, Message, SendRequest
    from linkstar.store import outreach as repo

    email, phone = (address, None) if channel == "email" else (None, address)
    contact_id = contact_id_for(SYSTEM_TENANT, email, phone)
    if repo.load_contact(SYSTEM_TENANT, contact_id) is None:
        # Transactional notices need no consent record, only an address that isn't suppressed
        # (the sender checks).
        contact = Contact(
            tenant_id=SYSTEM_TENANT,
            contact_id=contact_id,
            email=email,
            phone=phone,
            source=source,
            created_at=now,
            updated_at=now,
            version=1,
        )
        with contextlib.suppress(ConcurrentUpdate):  # another notice created it first
            dynamo.transact(repo.contact_ops(contact, 0, []))
    digest = hashlib.sha256(f"{key}|{channel}|{address}".encode()).hexdigest()[:24]
    message = Message(
        tenant_id=SYSTEM_TENANT,
        message_id=f"notice{digest}",
        contact_id=contact_id,
        channel=channel,
        purpose="transactional",
        to=address,
        subject=subject,
        text=text,
        created_at=now,
        updated_at=now,
        version=1,
    )
    # An earlier try may have written it and died before queueing: queue it either way (the
    # sender sends a message once, however often it is asked).
    with contextlib.suppress(ConcurrentUpdate):
        dynamo.transact([repo.new_message_op(message)])
    queues.enqueue_sends(
        [SendRequest(tenant_id=SYSTEM_TENANT, message_id=message.message_id, channel=channel)]
    )
    return message.message_id
