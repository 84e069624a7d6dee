"""Sending one message: the compliance gates, an exactly-once claim, the provider call.

Order of checks, each against the latest data (the flow may have queued the message hours ago):
its run exited → ``skipped``; no address, no consent, suppressed → ``suppressed``; marketing
email paused by the reputation breaker, quiet hours, frequency cap → ``held`` with a timer that
re-queues it when it may go. Transactional messages skip quiet hours and caps, never suppression.

Exactly once: the message moves ``queued|held → sending`` in a conditional transaction (with the
contact's cap counter for marketing) *before* the provider is called. A duplicate request finds
it no longer queued and stops. A provider throttle or 5xx puts it back to ``queued`` and the SQS
delivery is retried with backoff; a permanent refusal marks it ``failed`` with the reason. If a
worker dies during the provider call the message stays ``sending``: the next delivery, once the
claim is older than the queue's visibility timeout, marks it ``failed`` with "outcome unknown"
rather than risk sending it twice (no provider here takes an idempotency key).

Metering (``linkstar.billing``): the claim's transaction also writes the message's usage record
and counter increments, so a message is counted exactly when it may have reached the provider. A
refusal or a throttle takes the count back in the transaction that un-claims it; a message whose
outcome is unknown stays counted. Rich content is metered with it: an email's attachments and an
SMS's media (sent as MMS) add a surcharge unit to the same record. A send that can't be priced
(a surcharge the plan lacks included), or that a hard spending cap forbids, is held with the
reason instead, and re-queued when the plan changes.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from linkstar import clock, text
from linkstar.errors import ConcurrentUpdate, LinkStarError
from linkstar.outreach import compliance, policy
from linkstar.outreach import contacts as contact_service
from linkstar.outreach.models import Contact, Message, SendRequest, said
from linkstar.outreach.providers.errors import PermanentProviderError, RetryableProviderError
from linkstar.settings import get_settings
from linkstar.store import dynamo
from linkstar.store import outreach as repo
from linkstar.text import Text

if TYPE_CHECKING:
    from linkstar.outreach.providers.ses import EmailAttachment

CLAIM_TIMEOUT = timedelta(minutes=10)
PAUSE_RECHECK = timedelta(hours=1)


class MessageNotReady(LinkStarError):
    """The request arrived before the flow's transaction that writes the message (it is queued
    first on purpose); SQS redelivers it."""

    code = "message_not_ready"


class MessageInFlight(LinkStarError):
    """Another delivery claimed the message and may be inside the provider call. Acknowledging
    this copy would leave a worker that died there with nobody to settle its message, so SQS
    redelivers it once the claim has gone stale (``retry_after`` seconds)."""

    code = "message_in_flight"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class Outcome:
    state: str
    reason: str | None = None


def _transition(message: Message, now: datetime, **update: Any) -> Message:
    return message.model_copy(update={**update, "updated_at": now, "version": message.version + 1})


def _save(message: Message, new: Message, ops: list[dynamo.Op] | None = None) -> bool:
    try:
        dynamo.transact([repo.message_op(new, message.version), *(ops or [])])
    except ConcurrentUpdate:
        return False
    return True


def _stats(message: Message, counters: dict[str, Decimal | int]) -> list[dynamo.Op]:
    return [repo.stats_op(message.tenant_id, message.flow_id, counters)] if message.flow_id else []


def _hold(
    message: Message,
    until: datetime,
    reason: Text,
    now: datetime,
    extra: list[dynamo.Op] | None = None,
) -> Outcome:
    held = _transition(message, now, state="held", hold_until=until, **said(reason))
    body = {
        "tenant_id": message.tenant_id,
        "message_id": message.message_id,
        "channel": message.channel,
    }
    ops = [
        repo.timer_op(
            until, message.tenant_id, "MSG", f"{message.message_id}#{until.isoformat()}", body
        )
    ]
    ops += extra or []
    first_hold = message.state != "held"
    if _save(message, held, ops + (_stats(message, {"held": 1}) if first_hold else [])):
        return Outcome("held", held.reason)
    return Outcome("raced")


def _stop(
    message: Message,
    state: str,
    reason: Text,
    now: datetime,
    extra: list[dynamo.Op] | None = None,
    **update: Any,
) -> Outcome:
    stopped = _transition(message, now, state=state, hold_until=None, **said(reason), **update)
    if _save(message, stopped, _stats(message, {state: 1}) + (extra or [])):
        return Outcome(state, stopped.reason)
    return Outcome("raced")


def _gate(message: Message, contact: Contact | None, now: datetime) -> Outcome | None:
    """Why this message may not go now (None: it may)."""
    if message.run_id:
        run = repo.load_run(message.tenant_id, message.run_id)
        if run is not None and run.state == "exited":
            why = text.load(run.exit_reason_message) or run.exit_reason
            return _stop(message, "skipped", Text("outreach.flow_exited", why=why), now)
    if contact is None:
        return _stop(message, "suppressed", Text("outreach.contact_deleted"), now)
    why = contact_service.reachability(contact, message.channel, message.purpose)
    if why is not None:
        return _stop(message, "suppressed", why, now)
    if message.purpose != "marketing":
        return None
    settings = policy.load(message.tenant_id)
    if message.channel == "email" and settings.marketing_email_paused is not None:
        pause = settings.marketing_email_paused
        paused = Text("outreach.marketing_email_paused", why=pause.reason_for_people)
        return _hold(message, now + PAUSE_RECHECK, paused, now)
    try:
        allowed = contact_service.next_lawful_moment(
            contact, message.channel, message.purpose, now, settings.quiet_hours
        )
    except compliance.NoSendWindow as exc:
        # No lawful hour can be worked out (no zone, no country): hold and look again daily,
        # so fixing the contact lets it go.
        return _hold(message, now + timedelta(days=1), Text("outreach.held", why=exc.said), now)
    if allowed > now:
        return _hold(message, allowed, compliance.quiet_hours_hold(allowed, contact.time_zone), now)
    return None


def _caps(
    message: Message, contact: Contact, now: datetime
) -> tuple[list[dynamo.Op], datetime | None]:
    """The cap counter update that goes with the claim, or when the cap lets it go."""
    if message.purpose != "marketing":
        return [], None
    settings = policy.load(message.tenant_id)
    configured = settings.frequency_caps
    caps = compliance.caps_for(
        message.channel,
        message.purpose,
        compliance.DEFAULT_CAPS if configured is None else configured,
    )
    if not caps:
        return [], None
    recent, version = repo.cap_state(message.tenant_id, contact.contact_id, message.channel)
    for cap in caps:
        release = compliance.cap_release(recent, cap, now)
        if release is not None:
            return [], release
    kept = compliance.trim_recent_sends([*recent, now], caps, now)
    return [
        repo.cap_op(message.tenant_id, contact.contact_id, message.channel, kept, version)
    ], None


def _uncount(message: Message, contact: Contact, at: datetime) -> None:
    """Take back the cap count of a send the provider didn't take: a throttled retry (or a
    refused message) must not hold the contact's next message for a day."""
    for _ in range(3):
        recent, version = repo.cap_state(message.tenant_id, contact.contact_id, message.channel)
        if at not in recent:
            return
        kept = list(recent)
        kept.remove(at)
        op = repo.cap_op(message.tenant_id, contact.contact_id, message.channel, kept, version)
        try:
            dynamo.transact([op])
        except ConcurrentUpdate:
            continue
        return


def send(request: SendRequest, provider: Any, now: datetime | None = None) -> Outcome:
    """Send one message through ``provider`` (a callable ``(message, contact) -> provider id``
    raising the provider errors). Returns what happened to it."""
    now = now or clock.now()
    message = repo.load_message(request.tenant_id, request.message_id)
    if message is None:
        raise MessageNotReady(f"message {request.message_id} is not written yet")
    if message.state == "sending":
        if now - message.updated_at < CLAIM_TIMEOUT:
            left = CLAIM_TIMEOUT - (now - message.updated_at)
            raise MessageInFlight(
                f"message {message.message_id} is being sent", left.total_seconds() + 1
            )
        # Metered at the claim and kept: the provider may well have sent it (and billed us).
        return _stop(message, "failed", Text("outreach.outcome_unknown"), now)
    if message.state not in ("queued", "held"):
        return Outcome("duplicate")
    early = message.hold_until is not None and message.hold_until > now
    if message.state == "held" and early and not request.recheck:
        return Outcome("held_early")  # a stale timer copy; the real one re-queues it later
    contact = repo.load_contact(message.tenant_id, message.contact_id)
    stopped = _gate(message, contact, now)
    if stopped is not None:
        return stopped
    assert contact is not None
    cap_ops, release = _caps(message, contact, now)
    if release is not None:
        until = release.isoformat(timespec="minutes")
        return _hold(message, release, Text("outreach.frequency_cap_until", until=until), now)
    from linkstar.billing import service as billing

    metered = billing.meter(message, contact, now, fresh=request.recheck)
    if isinstance(metered, billing.BillingHold):
        return _hold(
            message,
            now + metered.recheck,
            metered.said,
            now,
            [billing.hold_op(message, metered.reason)],
        )
    claimed = _transition(
        message,
        now,
        state="sending",
        **said(None),
        hold_until=None,
        attempts=message.attempts + 1,
        billing=metered.stamp,
    )
    try:
        dynamo.transact(
            [repo.message_op(claimed, message.version), *cap_ops, *metered.record_ops(claimed)]
        )
    except ConcurrentUpdate:
        current = repo.load_message(message.tenant_id, message.message_id)
        if current is not None and current.state in ("queued", "held"):
            raise  # the contact's cap counter moved (another send to them): SQS retries
        return Outcome("raced")  # another worker claimed it
    try:
        provider_id = provider(claimed, contact)
    except RetryableProviderError as exc:
        retrying = Text("outreach.retrying", why=exc.message)
        back = _transition(claimed, now, state="queued", billing=None, **said(retrying))
        _save(claimed, back, billing.unrecord_ops(claimed))
        if cap_ops:
            _uncount(claimed, contact, now)
        raise
    except PermanentProviderError as exc:
        if cap_ops:
            _uncount(claimed, contact, now)
        return _stop(
            claimed,
            "failed",
            Text("outreach.provider_refused", code=exc.code, why=exc.message),
            now,
            billing.unrecord_ops(claimed),
            billing=None,
        )
    sent = _transition(
        claimed, now, state="sent", provider_message_id=provider_id, sent_at=now, **said(None)
    )
    ops = _stats(claimed, {"sent": 1})
    if provider_id:
        ops.append(repo.provider_route_op(_provider_name(claimed), provider_id, claimed))
    if claimed.channel in ("sms", "whatsapp") and claimed.to:
        ops.append(
            repo.inbound_route_op(
                claimed.channel, claimed.to, claimed.tenant_id, claimed.contact_id
            )
        )
    if claimed.channel == "email":
        ops.append(repo.reputation_op(claimed.tenant_id, now.date().isoformat(), {"sent": 1}))
    if not _save(claimed, sent, ops):
        raise ConcurrentUpdate("message changed while sending")
    billing.after_send(claimed.tenant_id, now)
    return Outcome("sent")


def _provider_name(message: Message) -> str:
    if message.channel == "sms" and message.media:
        return "sms_voice"  # an MMS: End User Messaging SMS, not SNS
    names = {"email": "ses", "sms": "sns_sms", "whatsapp": "whatsapp", "in_app": "in_app"}
    return names[message.channel]


# ---------------------------------------------------------------- the providers, per channel


def send_email(message: Message, contact: Contact) -> str:
    from linkstar.outreach.providers import ses

    settings = get_settings()
    tenant_settings = policy.load(message.tenant_id)
    sender = tenant_settings.sender_email or settings.email_from
    if tenant_settings.sender_name:
        sender = f"{tenant_settings.sender_name} <{sender}>"
    return ses.send_email(
        sender=sender,
        to=message.to or "",
        subject=message.subject or "",
        text=message.text,
        html=message.html,
        headers=message.headers,
        configuration_set=settings.ses_configuration_set,
        tags={"tenant_id": message.tenant_id, "message_id": message.message_id},
        attachments=_attachments(message),
    )


def _attachments(message: Message) -> list[EmailAttachment]:
    if not message.attachments:
        return []
    from linkstar.outreach.providers import media
    from linkstar.outreach.templates import Attachment

    files = [media.declared(Attachment, a) for a in message.attachments]
    return media.read_attachments(message.tenant_id, files)


def send_sms(message: Message, contact: Contact) -> str:
    """An SMS through SNS, or an MMS through End User Messaging SMS when it carries media; both
    from the origination number for the contact's country."""
    from linkstar.outreach.providers import sns_sms

    numbers = json.loads(get_settings().sms_origination_numbers or "{}")
    origination = sns_sms.origination_for(contact.country or "", numbers)
    if message.media:
        return _send_mms(message, origination)
    return sns_sms.send_sms(
        phone=message.to or "",
        text=message.text,
        transactional=message.purpose == "transactional",
        origination_number=origination,
        sender_id=None,
    )


def _send_mms(message: Message, origination: str | None) -> str:
    from linkstar.outreach.providers import media, mms
    from linkstar.outreach.templates import MmsMedia

    file = media.declared(MmsMedia, message.media[0])  # one: templates allow no more
    return mms.send_mms(
        phone=message.to or "",
        text=message.text,
        media_url=media.mms_media_url(message.tenant_id, file),
        origination_identity=origination,
        context={"tenant_id": message.tenant_id, "message_id": message.message_id},
    )


def send_whatsapp(message: Message, contact: Contact) -> str:
    from pydantic import SecretStr

    from linkstar.outreach.providers import whatsapp

    config = whatsapp.WhatsAppConfig(
        base_url=get_settings().whatsapp_api_base,
        phone_number_id=get_settings().whatsapp_phone_number_id or "0",
        access_token=SecretStr(_whatsapp_token()),
    )
    template = message.whatsapp_template
    if template:
        # Business-initiated messages outside the 24 h window must use an approved template;
        # the rendered text fills its single body parameter.
        return whatsapp.send_template(
            config,
            to=message.to or "",
            name=str(template["name"]),
            language=str(template["language"]),
            body_parameters=[message.text],
        )
    return whatsapp.send_text(config, to=message.to or "", body=message.text)


def _whatsapp_token() -> str:
    from linkstar.secrets import secret_value
    from linkstar.settings import require

    arn = require(get_settings().whatsapp_token_secret_arn, "WHATSAPP_TOKEN_SECRET_ARN")
    return secret_value(arn)


def send_in_app(message: Message, contact: Contact) -> str:
    at = clock.now()
    # A lost guard means it is already in the inbox (a retry after the inbox write).
    with contextlib.suppress(ConcurrentUpdate):
        dynamo.transact([repo.inbox_op(message, message.subject, message.text, at)])
    return ""


PROVIDERS = {"email": send_email, "sms": send_sms, "whatsapp": send_whatsapp, "in_app": send_in_app}
