"""Provider feedback → one normalised :class:`FeedbackEvent` (pure parsing: no AWS calls).

What arrives, and how:

==========================  ======================================  ==========================
provider feedback           delivered to LinkStar as                parsed by
==========================  ======================================  ==========================
SES event publishing        SNS → SQS (envelope or raw delivery)    :func:`from_sqs_body`
(``eventType``)
SES identity notifications  SNS → SQS                               :func:`from_sqs_body`
(``notificationType``)
SMS inbound (two-way,       SNS → SQS                               :func:`from_sqs_body`
AWS End User Messaging)
SNS SMS delivery status     CloudWatch Logs (the only place SNS     :func:`from_cloudwatch_logs`
                            writes it) → subscription filter        (and :func:`from_sqs_body`
                                                                    for a re-queued record)
WhatsApp Cloud API          HTTPS webhook, ``X-Hub-Signature-256``  :func:`from_whatsapp_webhook`
                                                                    (after
                                                                    ``verify_whatsapp_signature``)
==========================  ======================================  ==========================

Unknown shapes raise :class:`~linkstar.errors.PermanentError` with ``code="unknown_feedback"``
so the caller dead-letters them with the reason instead of retrying forever; messages that are
plumbing rather than feedback (SNS subscription confirmations, SES's topic-setup notices,
CloudWatch Logs control messages) return ``[]``.

Consumers order state changes with :func:`advances`: feedback arrives out of order (SNS and
SQS are best-effort ordered; WhatsApp may send "read" before, or instead of, "delivered"), and
a late event must never move a message backwards.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from email.utils import parseaddr
from functools import wraps
from typing import Any, Literal, ParamSpec, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from linkstar.contacts import to_e164
from linkstar.errors import PermanentError
from linkstar.outreach.models import NEGATIVE_STATES, UNSENT_STATES

Provider = Literal["ses", "sns_sms", "whatsapp"]
Kind = Literal[
    "sent",
    "delivered",
    "bounced",
    "complained",
    "opened",
    "clicked",
    "rejected",
    "delayed",
    "failed",
    "inbound",
    "unsubscribed",
]

UNKNOWN = "unknown_feedback"


class FeedbackEvent(BaseModel):
    """One thing a provider told us about one message (or one inbound message)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Provider
    kind: Kind
    provider_message_id: str | None = None  # SES messageId, SNS messageId, WhatsApp wamid
    recipients: tuple[str, ...] = ()  # emails lower-cased, phones E.164; the sender if inbound
    occurred_at: datetime  # aware, UTC
    permanent: bool | None = None  # bounces: SES Permanent (hard) → True, Transient (soft) → False
    reason: str | None = None
    link: str | None = None  # the clicked URL
    tags: dict[str, str] = Field(default_factory=dict)  # SES mail.tags, first value of each
    text: str | None = None  # inbound message body
    destination: str | None = None  # inbound: our number the contact wrote to (E.164)
    account: str | None = None  # SES sending identity / our SMS number / WhatsApp phone_number_id
    in_reply_to: str | None = None  # inbound: the provider id of our message it answers
    # SES list management (unsubscribed): the contact list, and the topics opted out of (empty
    # when the recipient left them all) - the proof an opt-out is recorded with.
    contact_list: str | None = None
    topics: tuple[str, ...] = ()
    raw_type: str  # the provider's own name for the event

    @field_validator("occurred_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("naive datetime: feedback times must carry an offset")
        return value.astimezone(UTC)


# --------------------------------------------------------------------------- message state order

# Positive engagement only moves forward. Everything else is kept out of this ladder on purpose:
# compare with advances(), not with these numbers, because the negative kinds have their own rules.
KIND_RANK: dict[str, int] = {"sent": 1, "delivered": 2, "opened": 3, "clicked": 4}
# A message that reached one of these states stays there.
NEGATIVE_KINDS = frozenset({"bounced", "complained", "rejected", "failed"})
# Kinds that describe the contact or a transient condition, never a message state: an inbound
# reply or an unsubscribe is applied to the contact; a delivery delay is history, not a state.
NON_STATE_KINDS = frozenset({"delayed", "inbound", "unsubscribed"})

# The message state a kind moves to (linkstar.outreach.models.MessageState has no "rejected":
# SES rejects a message it will never send, which is a failure for good).
STATE_FOR_KIND: dict[str, str] = {
    "sent": "sent",
    "delivered": "delivered",
    "opened": "opened",
    "clicked": "clicked",
    "bounced": "bounced",
    "complained": "complained",
    "rejected": "failed",
    "failed": "failed",
}


def advances(current_state: str, kind: str) -> bool:
    """Whether an event of ``kind`` moves a message in ``current_state`` forward.

    - sent < delivered < opened < clicked; a late "delivered" after "opened" changes nothing.
    - A complaint applies from any live state (it can only follow a delivery, whether or not
      that delivery was seen yet).
    - A bounce applies up to "delivered": SES may report an asynchronous bounce after the
      receiving server accepted the mail, but an open or a click proves it reached the reader.
    - "failed"/"rejected" apply only before "delivered" (WhatsApp may report a failure on one
      device after delivery to another).
    - Negative states are terminal; delayed/inbound/unsubscribed never change a message state.
    """
    if kind in NON_STATE_KINDS:
        return False
    if kind not in STATE_FOR_KIND:
        raise ValueError(f"unknown feedback kind: {kind!r}")
    if current_state in NEGATIVE_STATES:
        return False
    if current_state in UNSENT_STATES:
        current = 0
    elif current_state in KIND_RANK:
        current = KIND_RANK[current_state]
    else:
        # A typo'd state must not silently count as "before sent" and let anything through.
        raise ValueError(f"unknown message state: {current_state!r}")
    if kind in KIND_RANK:
        return KIND_RANK[kind] > current
    if kind == "complained":
        return True
    if kind == "bounced":
        return current <= KIND_RANK["delivered"]
    return current < KIND_RANK["delivered"]  # failed, rejected


# --------------------------------------------------------------------------- opt-out keywords

# CTIA Messaging Principles and Best Practices: honour STOP, QUIT, END, REVOKE, OPT OUT, CANCEL
# and UNSUBSCRIBE (STOPALL and OPTOUT are carrier/AWS variants). China (MIIT marketing SMS
# rules): recipients unsubscribe with 退订 / TD (or 取消订阅). Carriers match the whole message or
# its first word, case-insensitively; we also fold full-width forms (NFKC) and stray punctuation.
OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "OPT OUT", "REVOKE"}
    | {"退订", "TD", "取消订阅"}
)
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES", "SUBSCRIBE"})
# Chinese is written without spaces ("退订谢谢"), so these match as a prefix, not a first word.
_CJK_OPT_OUT = ("退订", "取消订阅")


def _trim(text: str) -> str:
    """Drop punctuation, symbols (emoji) and spaces around a word: "Stop!" and "STOP 🙏" count."""
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start])[0] in "PSZC":
        start += 1
    while end > start and unicodedata.category(text[end - 1])[0] in "PSZC":
        end -= 1
    return text[start:end]


def _normalise_keyword_text(text: str | None) -> str:
    if not text:
        return ""
    # NFKC folds full-width letters and punctuation (common on CJK keyboards) to ASCII.
    folded = unicodedata.normalize("NFKC", text).upper()
    return _trim(" ".join(folded.split()))


def _matches(text: str | None, keywords: frozenset[str]) -> bool:
    message = _normalise_keyword_text(text)
    if not message:
        return False
    if message in keywords:
        return True
    words = [_trim(w) for w in message.split(" ")]
    return words[0] in keywords or " ".join(words[:2]) in keywords  # "OPT OUT" is two words


def opt_out_keyword(text: str | None) -> bool:
    """Whether an inbound SMS/WhatsApp text is an opt-out request (see OPT_OUT_KEYWORDS)."""
    message = _normalise_keyword_text(text)
    if message.startswith(_CJK_OPT_OUT):
        return True
    return _matches(text, OPT_OUT_KEYWORDS)


def opt_in_keyword(text: str | None) -> bool:
    """Whether an inbound text asks to (re)subscribe. Check :func:`opt_out_keyword` first."""
    return _matches(text, OPT_IN_KEYWORDS)


# --------------------------------------------------------------------------- small helpers


def _unknown(message: str, payload: object = None) -> PermanentError:
    # Name the shape (top-level keys), never the content: payloads carry addresses and texts.
    keys = sorted(payload)[:20] if isinstance(payload, Mapping) else type(payload).__name__
    return PermanentError(message, code=UNKNOWN, shape=keys)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _shape_guard(parse: Callable[_P, _R]) -> Callable[_P, _R]:
    """A payload whose structure is off (a list where an object belongs, a number where a
    string does) is as unknown as a missing field: dead-letter it, never retry it."""

    @wraps(parse)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return parse(*args, **kwargs)
        except (ValidationError, AttributeError, TypeError, KeyError, ValueError) as exc:
            raise PermanentError(f"malformed feedback: {type(exc).__name__}", code=UNKNOWN) from exc

    return guarded


def _aws_time(value: object, what: str) -> datetime:
    """An AWS timestamp: ISO 8601 with Z, or SNS SMS logs' "2016-06-28 00:40:34.558" (UTC)."""
    if not isinstance(value, str) or not value:
        raise _unknown(f"feedback without a usable {what} timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _unknown(f"unreadable {what} timestamp: {value!r}") from exc
    # AWS writes UTC everywhere; the SMS delivery log just leaves the offset out.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _epoch_time(value: object, what: str) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value)), tz=UTC)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _unknown(f"unreadable {what} timestamp: {value!r}") from exc


def _email(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    # Destinations may come as "Name <addr>"; only the address identifies the contact.
    address = parseaddr(raw)[1] or raw.strip()
    return address.lower() if "@" in address else None


def _emails(raws: Iterable[object] | str) -> tuple[str, ...]:
    if isinstance(raws, str):  # one address where a list belongs: still that address
        raws = [raws]
    found = (_email(r) for r in raws)
    return tuple(dict.fromkeys(e for e in found if e))  # de-duplicated, order kept


# Digits with the usual separators only: a letter in a provider-reported number means it was
# masked ("+1XXX5550100" in AWS's docs), and phonenumbers would read it as a vanity number.
_DIALLABLE = re.compile(r"\+?[0-9][0-9 ()\-.]*")


def _phone(raw: object) -> str | None:
    if raw is None:
        return None
    text = str(raw).strip()
    if not _DIALLABLE.fullmatch(text):
        return None
    # WhatsApp ids and display numbers are E.164 without the "+".
    return to_e164(text if text.startswith("+") else f"+{text}")


def _phones(*raws: object) -> tuple[str, ...]:
    return tuple(p for p in (_phone(r) for r in raws) if p)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _join(*parts: object, sep: str = ": ") -> str | None:
    kept = [str(p) for p in parts if p not in (None, "")]
    return sep.join(kept) if kept else None


# --------------------------------------------------------------------------- SQS bodies

# SNS message types that are subscription plumbing, not feedback. When LinkStar's stack
# subscribes its own queue, SNS confirms it itself; one of these only reaches the queue for a
# cross-account or hand-made subscription. Confirming means fetching SubscribeURL - an
# infrastructure decision (and a request to a URL taken from a message body), not something a
# feedback parser may do - and dead-lettering it would page someone for routine plumbing.
_SNS_PLUMBING = frozenset({"SubscriptionConfirmation", "UnsubscribeConfirmation"})
# Plain-text notice SES publishes when an event destination's SNS topic is validated.
_SES_TOPIC_VALIDATED = "Successfully validated SNS topic for Amazon SES event publishing."


@_shape_guard
def from_sqs_body(body: str, *, received_at: datetime | None = None) -> list[FeedbackEvent]:
    """Parse one SQS message body: an SNS envelope (``Type=Notification``) or raw delivery.

    ``received_at`` (e.g. the SQS ``SentTimestamp``) dates feedback whose payload carries no
    time of its own - a raw-delivered inbound SMS - when no SNS envelope timestamp is there.
    """
    try:
        outer = json.loads(body)
    except (TypeError, ValueError) as exc:
        raise _unknown("SQS body is not JSON") from exc
    if not isinstance(outer, dict):
        raise _unknown("SQS body is not a JSON object", outer)

    envelope_time = received_at
    payload: object = outer
    sns_type = outer.get("Type")
    if sns_type in _SNS_PLUMBING:
        return []
    if sns_type == "Notification" and "Message" in outer and "TopicArn" in outer:
        message = outer["Message"]
        if isinstance(message, str) and message.strip() == _SES_TOPIC_VALIDATED:
            return []
        try:
            payload = json.loads(message)
        except (TypeError, ValueError) as exc:
            raise _unknown("SNS Message is not JSON", outer) from exc
        if outer.get("Timestamp"):
            envelope_time = _aws_time(outer["Timestamp"], "SNS envelope")
    if not isinstance(payload, dict):
        raise _unknown("feedback is not a JSON object", payload)
    return _dispatch(payload, envelope_time)


def _dispatch(payload: dict[str, Any], fallback_time: datetime | None) -> list[FeedbackEvent]:
    if "eventType" in payload:
        return _ses(payload, payload["eventType"])
    if "notificationType" in payload:
        if payload["notificationType"] == "AmazonSnsSubscriptionSucceeded":
            return []  # SES's "your topic now receives notifications" notice: setup, not feedback
        return _ses(payload, payload["notificationType"])
    if "originationNumber" in payload and "messageBody" in payload:
        return [_sms_inbound(payload, fallback_time)]
    if isinstance(payload.get("notification"), dict) and isinstance(payload.get("delivery"), dict):
        return [_sms_status(payload)]
    raise _unknown("not a feedback shape LinkStar knows", payload)


# --------------------------------------------------------------------------- SES

_SES_KINDS: dict[str, Kind] = {
    "Send": "sent",
    "Delivery": "delivered",
    "Bounce": "bounced",
    "Complaint": "complained",
    "Open": "opened",
    "Click": "clicked",
    "Reject": "rejected",
    "DeliveryDelay": "delayed",
    "Rendering Failure": "failed",
    "Subscription": "unsubscribed",
}

# Permanent = hard bounce (never retry the address), Transient = soft; Undetermined → None.
_BOUNCE_PERMANENT = {"Permanent": True, "Transient": False}
# The object that carries each event type's detail.
_SES_DETAIL_KEY = {
    "Send": "send",
    "Delivery": "delivery",
    "Bounce": "bounce",
    "Complaint": "complaint",
    "Open": "open",
    "Click": "click",
    "Reject": "reject",
    "DeliveryDelay": "deliveryDelay",
    "Rendering Failure": "failure",
    "Subscription": "subscription",
}


def _ses_identity(mail: Mapping[str, Any]) -> str | None:
    """The sending identity: from sourceArn (".../identity/example.com"), else the address."""
    arn = mail.get("sourceArn")
    if isinstance(arn, str) and ":identity/" in arn:
        return arn.split(":identity/", 1)[1].lower()
    return _email(mail.get("source"))


def _ses_tags(mail: Mapping[str, Any]) -> dict[str, str]:
    tags = mail.get("tags")
    if not isinstance(tags, Mapping):
        return {}  # identity notifications never carry tags
    flat: dict[str, str] = {}
    for name, values in tags.items():
        if isinstance(values, list) and values:
            flat[str(name)] = str(values[0])
        elif isinstance(values, str):
            flat[str(name)] = values
    return flat


def _ses(payload: dict[str, Any], raw_type: object) -> list[FeedbackEvent]:
    mail = payload.get("mail")
    if not isinstance(raw_type, str) or raw_type not in _SES_KINDS or not isinstance(mail, dict):
        raise _unknown(f"unknown SES event type {raw_type!r}", payload)
    kind = _SES_KINDS[raw_type]

    sent_at = _aws_time(mail.get("timestamp"), "SES mail")

    def event(**fields: Any) -> FeedbackEvent:
        return FeedbackEvent(
            provider="ses",
            kind=kind,
            provider_message_id=_text(mail.get("messageId")),
            tags=_ses_tags(mail),
            account=_ses_identity(mail),
            raw_type=raw_type,
            **fields,
        )

    destination = _emails(mail.get("destination") or ())
    detail = payload.get(_SES_DETAIL_KEY[raw_type]) or {}
    if not isinstance(detail, dict):
        raise _unknown(f"SES {raw_type} without its detail object", payload)

    if kind == "bounced":
        permanent = _BOUNCE_PERMANENT.get(str(detail.get("bounceType")))
        at = _aws_time(detail.get("timestamp"), "SES bounce")
        return [
            event(
                recipients=_emails([r.get("emailAddress")]),
                occurred_at=at,
                permanent=permanent,
                reason=_join(
                    detail.get("bounceSubType"),
                    r.get("diagnosticCode") or r.get("status") or r.get("action"),
                ),
            )
            for r in _recipient_objects(detail.get("bouncedRecipients"), payload)
        ]
    if kind == "complained":
        at = _aws_time(detail.get("timestamp"), "SES complaint")
        # complaintFeedbackType is optional (ISPs don't always say); complaintSubType is set
        # when SES itself suppressed the address.
        reason = _text(detail.get("complaintFeedbackType")) or _text(detail.get("complaintSubType"))
        return [
            event(recipients=_emails([r.get("emailAddress")]), occurred_at=at, reason=reason)
            for r in _recipient_objects(detail.get("complainedRecipients"), payload)
        ]
    if kind == "delayed":
        at = _aws_time(detail.get("timestamp"), "SES delivery delay")
        delayed = _recipient_objects(detail.get("delayedRecipients") or [], payload)
        if not delayed:  # the recipient list is optional; the mail's destination is not
            reason = _text(detail.get("delayType"))
            return [event(recipients=destination, occurred_at=at, reason=reason)]
        return [
            event(
                recipients=_emails([r.get("emailAddress")]),
                occurred_at=at,
                reason=_join(detail.get("delayType"), r.get("diagnosticCode") or r.get("status")),
            )
            for r in delayed
        ]
    if kind == "delivered":
        recipients = _emails(detail.get("recipients") or ()) or destination
        at = _aws_time(detail.get("timestamp"), "SES delivery")
        return [event(recipients=recipients, occurred_at=at)]
    if kind == "opened":
        at = _aws_time(detail.get("timestamp"), "SES open")
        return [event(recipients=destination, occurred_at=at)]
    if kind == "clicked":
        at = _aws_time(detail.get("timestamp"), "SES click")
        return [event(recipients=destination, occurred_at=at, link=_text(detail.get("link")))]
    if kind == "unsubscribed":
        return _ses_subscription(detail, destination, event)
    if kind == "rejected":
        # Reject and Rendering Failure carry no time of their own: they happen at send time.
        return [
            event(recipients=destination, occurred_at=sent_at, reason=_text(detail.get("reason")))
        ]
    if kind == "failed":
        reason = _join(detail.get("templateName"), detail.get("errorMessage"))
        return [event(recipients=destination, occurred_at=sent_at, reason=reason)]
    return [event(recipients=destination, occurred_at=sent_at)]  # sent


def _recipient_objects(value: object, payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
        raise _unknown("SES recipients are not a list of objects", payload)
    return value


def _ses_subscription(
    detail: Mapping[str, Any], destination: tuple[str, ...], event: Any
) -> list[FeedbackEvent]:
    """SES subscription management: only an opt-out is feedback we act on."""
    new = detail.get("newTopicPreferences") or {}
    at = _aws_time(detail.get("timestamp"), "SES subscription")
    source = _text(detail.get("source"))
    contact_list = _text(detail.get("contactList"))
    if new.get("unsubscribeAll"):
        return [
            event(
                recipients=destination,
                occurred_at=at,
                reason=_join("all topics", source),
                contact_list=contact_list,
            )
        ]
    opted_out = [
        str(t.get("topicName"))
        for t in new.get("topicSubscriptionStatus") or []
        if isinstance(t, Mapping) and t.get("subscriptionStatus") == "OptOut"
    ]
    if opted_out:
        return [
            event(
                recipients=destination,
                occurred_at=at,
                reason=_join(",".join(opted_out), source),
                contact_list=contact_list,
                topics=tuple(opted_out),
            )
        ]
    # An opt-in through SES's preference page: consent to send again is never inferred from a
    # provider event (it needs its own proof), so there is nothing for LinkStar to apply.
    return []


# --------------------------------------------------------------------------- SMS


def _sms_inbound(payload: Mapping[str, Any], fallback_time: datetime | None) -> FeedbackEvent:
    our_number = _phone(payload.get("destinationNumber"))
    # The two-way payload has no timestamp: the SNS envelope's (or the queue's) time stands in,
    # and as a last resort the time we read it - an opt-out must never be dropped for want of
    # a clock reading.
    at = fallback_time or datetime.now(UTC)
    return FeedbackEvent(
        provider="sns_sms",
        kind="inbound",
        provider_message_id=_text(payload.get("inboundMessageId")),
        recipients=_phones(payload.get("originationNumber")),
        occurred_at=at,
        text=payload.get("messageBody") if isinstance(payload.get("messageBody"), str) else None,
        destination=our_number,
        account=our_number,
        in_reply_to=_text(payload.get("previousPublishedMessageId")),
        raw_type="two-way-sms",
    )


_SMS_STATUS: dict[str, Kind] = {"SUCCESS": "delivered", "FAILURE": "failed"}


def _sms_status(record: Mapping[str, Any], fallback_time: datetime | None = None) -> FeedbackEvent:
    notification = record["notification"]
    delivery = record["delivery"]
    status = record.get("status")
    if not isinstance(status, str) or status not in _SMS_STATUS:
        raise _unknown(f"unknown SMS delivery status {status!r}", record)
    kind = _SMS_STATUS[status]
    stamp = notification.get("timestamp")
    at = _aws_time(stamp, "SMS delivery") if stamp or not fallback_time else fallback_time
    return FeedbackEvent(
        provider="sns_sms",
        kind=kind,
        provider_message_id=_text(notification.get("messageId")),
        # A masked or malformed destination is left out rather than guessed at: the message id
        # is what routes SMS feedback.
        recipients=_phones(delivery.get("destination")),
        occurred_at=at,
        reason=_text(delivery.get("providerResponse")),
        raw_type=status,
    )


@_shape_guard
def from_cloudwatch_logs(event: Mapping[str, Any]) -> list[FeedbackEvent]:
    """Parse a CloudWatch Logs subscription event carrying SNS SMS delivery status lines."""
    try:
        data = event["awslogs"]["data"]
        document = json.loads(gzip.decompress(base64.b64decode(data, validate=True)))
    except (KeyError, TypeError, ValueError, binascii.Error, OSError, EOFError) as exc:
        raise _unknown("not a CloudWatch Logs subscription event", event) from exc
    if not isinstance(document, dict):
        raise _unknown("CloudWatch Logs data is not a JSON object", document)
    if document.get("messageType") == "CONTROL_MESSAGE":
        return []  # CloudWatch checking that the destination is reachable
    events: list[FeedbackEvent] = []
    for log_event in document.get("logEvents") or []:
        try:
            record = json.loads(log_event["message"])
        except (KeyError, TypeError, ValueError) as exc:
            raise _unknown("log line is not JSON", log_event) from exc
        if not (
            isinstance(record, dict)
            and isinstance(record.get("notification"), dict)
            and isinstance(record.get("delivery"), dict)
        ):
            raise _unknown("log line is not an SMS delivery status record", record)
        logged_ms = log_event.get("timestamp")
        logged = (
            datetime.fromtimestamp(logged_ms / 1000, tz=UTC)
            if isinstance(logged_ms, int | float)
            else None
        )
        events.append(_sms_status(record, logged))
    return events


# --------------------------------------------------------------------------- WhatsApp


def verify_whatsapp_signature(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>``, checked in
    constant time. Sign the bytes as received: re-serialised JSON would not match."""
    if not app_secret or not header:
        return False  # an unset secret must never make every signature "valid"
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


_WHATSAPP_STATUS: dict[str, Kind] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "opened",
    "played": "opened",  # a voice message played has necessarily been seen
    "failed": "failed",
}
# Documented statuses that say nothing about a message we sent: "deleted" is the user deleting
# their own message, "warning" a catalog item problem.
_WHATSAPP_IGNORED_STATUS = frozenset({"deleted", "warning"})


@_shape_guard
def from_whatsapp_webhook(payload: Mapping[str, Any]) -> list[FeedbackEvent]:
    """Parse a verified WhatsApp Cloud API webhook (``field == "messages"`` changes).

    Other subscribed fields (template status, account updates, …) are valid deliveries that
    carry no message feedback and yield nothing.
    """
    if payload.get("object") != "whatsapp_business_account" or not isinstance(
        payload.get("entry"), list
    ):
        raise _unknown("not a WhatsApp Business Account webhook", payload)
    events: list[FeedbackEvent] = []
    for entry in payload["entry"]:
        for change in (entry or {}).get("changes") or []:
            if not isinstance(change, Mapping) or change.get("field") != "messages":
                continue
            value = change.get("value")
            if not isinstance(value, Mapping):
                raise _unknown("WhatsApp change without a value", change)
            metadata = value.get("metadata") or {}
            account = _text(metadata.get("phone_number_id"))
            for status in value.get("statuses") or []:
                parsed = _whatsapp_status(status, account)
                if parsed is not None:
                    events.append(parsed)
            our_number = _phone(metadata.get("display_phone_number"))
            events.extend(
                _whatsapp_inbound(m, account, our_number) for m in value.get("messages") or []
            )
            # value["errors"] (system/app-level errors) name no message, so there is nothing
            # to attach them to here; they surface in Meta's dashboard and our send errors.
    return events


def _whatsapp_status(status: Mapping[str, Any], account: str | None) -> FeedbackEvent | None:
    name = status.get("status")
    if name in _WHATSAPP_IGNORED_STATUS:
        return None
    if not isinstance(name, str) or name not in _WHATSAPP_STATUS:
        raise _unknown(f"unknown WhatsApp status {name!r}", status)
    kind = _WHATSAPP_STATUS[name]
    reason = None
    errors = status.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        error = errors[0]
        details = (error.get("error_data") or {}).get("details")
        title = _join(
            error.get("title"), f"({error['code']})" if "code" in error else None, sep=" "
        )
        reason = _join(title, details if details != error.get("title") else None)
    callback = status.get("biz_opaque_callback_data")
    return FeedbackEvent(
        provider="whatsapp",
        kind=kind,
        provider_message_id=_text(status.get("id")),
        recipients=_phones(status.get("recipient_id")),
        occurred_at=_epoch_time(status.get("timestamp"), "WhatsApp status"),
        reason=reason,
        # Our own correlation string, echoed back (WhatsApp's counterpart of SES tags).
        tags={"biz_opaque_callback_data": callback} if isinstance(callback, str) else {},
        account=account,
        raw_type=name,
    )


def _whatsapp_inbound(
    message: Mapping[str, Any], account: str | None, our_number: str | None
) -> FeedbackEvent:
    kind_of_message = message.get("type")
    return FeedbackEvent(
        provider="whatsapp",
        kind="inbound",
        provider_message_id=_text(message.get("id")),
        recipients=_phones(message.get("from")),
        occurred_at=_epoch_time(message.get("timestamp"), "WhatsApp message"),
        text=_whatsapp_text(message),
        destination=our_number,
        account=account,
        in_reply_to=_text((message.get("context") or {}).get("id")),
        raw_type=str(kind_of_message),
    )


def _whatsapp_text(message: Mapping[str, Any]) -> str | None:
    """The words the user sent, including a tapped quick-reply ("Stop promotions") button."""
    kind = message.get("type")
    if kind == "text":
        return _text((message.get("text") or {}).get("body"))
    if kind == "button":
        return _text((message.get("button") or {}).get("text"))
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        return _text(reply.get("title"))
    return None
