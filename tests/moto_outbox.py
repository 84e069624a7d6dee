"""What moto recorded as sent, for tests running under ``moto.mock_aws`` in this process.

Where moto 5.2.5 keeps it (an internal API: re-check on a moto upgrade):

- **Email**: ``moto.ses.models.ses_backends[account][region].sent_messages``. SES v1 and v2
  share that backend (``moto.sesv2`` delegates to it), so identities verified through either
  count for both. SESv2 ``SendEmail`` with ``Content.Raw`` becomes a ``RawMessage`` with
  ``id`` (the MessageId returned), ``source``, ``destinations`` and ``raw_data`` (the MIME text,
  decoded as UTF-8). moto appends the To/Cc/Bcc header addresses to the API's
  ``Destination`` list without de-duplicating, so an address given in both shows up twice;
  :func:`sent_emails` de-duplicates.
- **SMS**: ``moto.sns.models.sns_backends[account][region].sms_messages``, an ordered dict
  ``message_id -> (phone, message)``. moto drops the ``MessageAttributes`` of an SMS publish;
  :func:`install` wraps ``SNSBackend.publish`` to keep them (as the API's
  ``{DataType, StringValue}`` reduced to the string), which :func:`sent_sms` returns. Call it
  before the publish.

What moto checks (and what it doesn't):

- SES refuses a sender that is not a verified identity: ``MessageRejected`` "Did not have
  authority to send from email …". Verify the address or its domain first, with any of
  ``sesv2.create_email_identity(EmailIdentity="acme.example")``,
  ``ses.verify_domain_identity(Domain="acme.example")`` or
  ``ses.verify_email_identity(EmailAddress="noreply@acme.example")`` (or :func:`verify_sender`).
  The domain match is on the exact string (``create_email_identity`` does not lower-case).
- It does not check ``ConfigurationSetName`` (an unknown set is accepted; SES answers
  ``NotFoundException``) and does not keep ``EmailTags``.
- SNS checks only the shape of an E.164 number (a leading ``+`` is optional) and 1600
  characters; the SMS attributes' values are not validated, and opt-outs are not applied.
"""

from __future__ import annotations

import email
import os
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any, NamedTuple

_ATTRIBUTES = "_linkstar_sms_attributes"
_installed = False


def _account(account_id: str | None) -> str:
    from moto.core import DEFAULT_ACCOUNT_ID

    return account_id or os.environ.get("MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT_ID


# ------------------------------------------------------------------------------------ email


@dataclass(frozen=True)
class SentEmail:
    message_id: str
    source: str
    destinations: list[str]
    raw: str
    message: EmailMessage  # parsed with the modern policy: headers come back decoded

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def to(self) -> str:
        return str(self.message["To"])

    @property
    def sender(self) -> str:
        return str(self.message["From"])

    def header(self, name: str) -> str | None:
        value = self.message[name]
        return None if value is None else str(value)

    @property
    def text(self) -> str | None:
        return self._body("plain")

    @property
    def html(self) -> str | None:
        return self._body("html")

    def _body(self, subtype: str) -> str | None:
        part = self.message.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_subtype() != subtype:
            return None
        return str(part.get_content())  # type: ignore[attr-defined]


def sent_emails(region: str = "us-east-1", account_id: str | None = None) -> list[SentEmail]:
    """Every raw email moto's SES recorded in ``region``, oldest first."""
    from moto.ses.models import RawMessage, ses_backends

    backend = ses_backends[_account(account_id)][region]
    found = []
    for sent in backend.sent_messages:
        if not isinstance(sent, RawMessage):
            continue  # Simple/templated sends: not what the gateway sends
        parsed = email.message_from_string(sent.raw_data, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        found.append(
            SentEmail(
                message_id=sent.id,
                source=sent.source,
                destinations=list(dict.fromkeys(sent.destinations)),
                raw=sent.raw_data,
                message=parsed,
            )
        )
    return found


def sent_email(message_id: str, region: str = "us-east-1") -> SentEmail:
    """The one email SES answered ``message_id`` for."""
    matches = [m for m in sent_emails(region) if m.message_id == message_id]
    assert len(matches) == 1, f"moto recorded {len(matches)} emails with id {message_id}"
    return matches[0]


def verify_sender(identity: str, region: str = "us-east-1") -> None:
    """Make ``identity`` (an address or a domain) a verified SES identity in moto."""
    import boto3

    boto3.client("sesv2", region_name=region).create_email_identity(EmailIdentity=identity)


# -------------------------------------------------------------------------------------- SMS


class SentSms(NamedTuple):
    phone: str
    message: str
    attributes: dict[str, str]


def install() -> None:
    """Record SMS message attributes, which moto drops (idempotent; call before publishing)."""
    global _installed
    if _installed:
        return
    from moto.sns.models import SNSBackend

    original = SNSBackend.publish

    def publish(self: Any, message: str, *args: Any, **kwargs: Any) -> str:
        message_id = original(self, message, *args, **kwargs)
        if kwargs.get("phone_number"):
            # moto's parser already turned {DataType, StringValue} into {Type, Value}.
            attributes = {
                name: str(value.get("Value"))
                for name, value in (kwargs.get("message_attributes") or {}).items()
            }
            # Kept on the backend, so moto's reset between tests clears it too.
            recorded = self.__dict__.setdefault(_ATTRIBUTES, {})
            recorded[message_id] = attributes
        return message_id

    SNSBackend.publish = publish  # type: ignore[method-assign]
    _installed = True


def sms_by_message_id(
    region: str = "us-east-1", account_id: str | None = None
) -> dict[str, SentSms]:
    """Every SMS moto's SNS recorded in ``region``, by the MessageId ``Publish`` returned."""
    from moto.sns.models import sns_backends

    backend = sns_backends[_account(account_id)][region]
    attributes: dict[str, dict[str, str]] = getattr(backend, _ATTRIBUTES, {})
    return {
        message_id: SentSms(phone, message, attributes.get(message_id, {}))
        for message_id, (phone, message) in backend.sms_messages.items()
    }


def sent_sms(region: str = "us-east-1", account_id: str | None = None) -> list[SentSms]:
    """Every SMS moto's SNS recorded in ``region``, oldest first: ``(phone, message,
    attributes)`` — attributes only for publishes made after :func:`install`."""
    return list(sms_by_message_id(region, account_id).values())
