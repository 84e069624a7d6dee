"""The email gateway: one message to one recipient through Amazon SES (API v2 ``SendEmail``).

What it owns:

- **The MIME message.** Built with the standard library's ``email`` package and sent as
  ``Content.Raw``, so every header we set reaches the recipient exactly as written — in
  particular RFC 8058 one-click unsubscribe (``List-Unsubscribe: <https://…>`` plus
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``), which Gmail and Yahoo require of bulk
  senders. (SES's own ``ListManagementOptions`` would add those headers too, but pointing at
  SES contact lists; our unsubscribe link is LinkStar's own endpoint.) The message is
  ``multipart/alternative`` (text, then HTML) in UTF-8; a non-ASCII subject or sender name
  becomes RFC 2047 encoded words, an internationalised domain becomes punycode (SES does not
  support SMTPUTF8, so a non-ASCII local part is refused here). With attachments it is
  ``multipart/mixed``: that body first, then each file base64-encoded with
  ``Content-Disposition: attachment`` and its file name (RFC 2231-encoded when not ASCII).
  Raw rather than ``Content.Simple.Attachments`` (botocore 1.44.5 has it): Simple would need
  the headers passed as ``Headers`` and re-checked by SES, and moto 5.2.5 ignores both.
- **Event tags.** ``tags`` become SES ``EmailTags``; with a configuration set whose event
  destination publishes to SNS/EventBridge, SES hands them back on every bounce, complaint and
  delivery event (``mail.tags``), which is how feedback finds its tenant and message. SES allows
  only ``[A-Za-z0-9_-]`` (at most 256 characters) in tag names and values, so anything else is
  replaced by ``_`` — an id that needs other characters must be mapped before it gets here.
- **Errors**, by the ``ClientError`` code (never by the message text), from the ``SendEmail``
  errors in botocore 1.44.5's ``sesv2`` model plus the generic AWS codes: throttling and
  5xx answers are :class:`RetryableProviderError`; ``MessageRejected``,
  ``MailFromDomainNotVerifiedException``, ``AccountSuspendedException``,
  ``SendingPausedException``, ``BadRequestException`` and ``NotFoundException`` (e.g. an
  unknown configuration set) are :class:`PermanentProviderError`. An unknown code is judged by
  its HTTP status (a permanent one gets the code ``ses_error`` and keeps the AWS code in
  ``details``). A message this module cannot build (a header with a line break, an invalid
  address) is permanent too: no retry can fix it.

Retries: ``linkstar.aws`` clients use botocore's standard retry mode (3 attempts, throttling
and 5xx included), so a retryable error here means those already ran out. A read timeout after
SES accepted the message can make botocore send it twice; the sender's idempotency (message id =
hash of flow run + step) cannot see inside SES, so that rare duplicate is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

from linkstar import aws
from linkstar.outreach.providers.errors import (
    ACCOUNT,
    MESSAGE,
    RECIPIENT,
    PermanentProviderError,
    RetryableProviderError,
    Scope,
    aws_send_errors,
    classify_aws_error,
)

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

PROVIDER = "ses"

# Two departures from the SMTP policy, both found by reading what was sent:
# - refold_source="none": Python's header folder turns a header line it cannot fold at white
#   space (a long unsubscribe URL) into RFC 2047 encoded words, which no mail client decodes in
#   List-Unsubscribe, so one-click unsubscribe would silently break. Values stored with
#   set_raw() are now written as given; the headers we set normally still fold.
# - cte_type="7bit": otherwise a short non-ASCII body goes out as raw UTF-8 with
#   "Content-Transfer-Encoding: 8bit"; now it is quoted-printable or base64, ASCII throughout.
_POLICY = SMTP.clone(refold_source="none", cte_type="7bit")
_MAX_LINE = 998  # RFC 5322 §2.1.1: the hard limit of a line, CRLF excluded

# Headers this module writes itself; a caller overriding them would break the message (or, for
# Cc/Bcc, send it to people the consent checks never saw).
_RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Subject",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
    )
)
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext: printable ASCII except ":"
# Header injection guard: CR/LF and other controls (tab is folding white space, so allowed).
_CONTROL = frozenset(chr(c) for c in (*range(0x00, 0x09), *range(0x0A, 0x20), 0x7F))
_TAG_FORBIDDEN = re.compile(r"[^A-Za-z0-9_-]")
_TAG_LIMIT = 256

_THROTTLED = frozenset(
    {
        "TooManyRequestsException",  # sesv2 SendEmail, HTTP 429
        "LimitExceededException",  # sesv2 SendEmail (sending quota)
        "Throttling",
        "ThrottlingException",
    }
)
_UNAVAILABLE = frozenset(
    {
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServiceErrorException",  # sesv2, HTTP 500
        "ConcurrentModificationException",  # sesv2, HTTP 500
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
_PERMANENT: dict[str, tuple[str, Scope]] = {
    "MessageRejected": ("ses_message_rejected", MESSAGE),
    "MailFromDomainNotVerifiedException": ("ses_mail_from_domain_not_verified", ACCOUNT),
    "AccountSuspendedException": ("ses_account_suspended", ACCOUNT),
    "SendingPausedException": ("ses_sending_paused", ACCOUNT),
    "BadRequestException": ("ses_bad_request", MESSAGE),
    "NotFoundException": ("ses_not_found", ACCOUNT),  # a configuration set or identity
    "AccessDeniedException": ("ses_access_denied", ACCOUNT),
}


@dataclass(frozen=True)
class EmailAttachment:
    """One file attached to an email, as the recipient sees it."""

    filename: str
    content_type: str  # "application/pdf"
    data: bytes


def send_email(
    *,
    sender: str,
    to: str,
    subject: str,
    text: str,
    html: str | None,
    headers: Mapping[str, str],
    configuration_set: str | None,
    tags: Mapping[str, str],
    attachments: Sequence[EmailAttachment] = (),
) -> str:
    """Send one email and return the SES ``MessageId``.

    ``sender`` is ``"Name <addr@domain>"`` or a bare address on a verified SES identity;
    ``headers`` are extra header fields (``List-Unsubscribe`` …); ``tags`` come back on SES
    events. Raises :class:`RetryableProviderError` or :class:`PermanentProviderError`.
    """
    from_address = _address(sender, role="sender", scope=ACCOUNT)
    to_address = _address(to, role="recipient", scope=RECIPIENT)
    raw = build_mime(
        sender=from_address,
        to=to_address,
        subject=subject,
        text=text,
        html=html,
        headers=headers,
        attachments=attachments,
    )
    request: dict[str, Any] = {
        # The envelope sender: a bare address (the display name lives in the From header).
        "FromEmailAddress": from_address.addr_spec,
        # The envelope recipient, explicitly: SES would otherwise take the To header.
        "Destination": {"ToAddresses": [to_address.addr_spec]},
        "Content": {"Raw": {"Data": raw}},
        "EmailTags": email_tags(tags),
    }
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set

    with aws_send_errors(classify_client_error, provider=PROVIDER, prefix="ses"):
        answer = aws.client("sesv2").send_email(**request)
    return str(answer["MessageId"])


def build_mime(
    *,
    sender: Address,
    to: Address,
    subject: str,
    text: str,
    html: str | None,
    headers: Mapping[str, str],
    attachments: Sequence[EmailAttachment] = (),
) -> bytes:
    """The raw message: ``multipart/alternative`` (or just ``text/plain``) in UTF-8, inside
    ``multipart/mixed`` with the attachments when there are any; ASCII on the wire (encoded
    words, quoted-printable or base64), CRLF line endings."""
    msg = EmailMessage(policy=_POLICY)
    try:
        msg["From"] = sender
        msg["To"] = to
        msg["Subject"] = subject
        for name, value in headers.items():
            _add_header(msg, name, value)
        msg.set_content(text)
        if html is not None:
            msg.add_alternative(html, subtype="html")
        for attachment in attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            # Bytes, whatever the type: a text/calendar or CSV file goes out as it was stored
            # (base64), not re-encoded by the email package as if it were our text.
            msg.add_attachment(
                attachment.data,
                maintype=maintype,
                subtype=subtype,
                filename=attachment.filename,
            )
        return msg.as_bytes()
    except (ValueError, TypeError) as exc:
        # e.g. a line break in the subject: the email package refuses header injection.
        raise PermanentProviderError(
            "cannot build the email", provider=PROVIDER, code="ses_invalid_message", reason=str(exc)
        ) from exc


def email_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """``tags`` as SES ``EmailTags``, names and values reduced to SES's allowed characters."""
    result: dict[str, str] = {}
    for name, value in tags.items():
        clean = sanitise_tag(name)
        if not clean:
            raise ValueError(f"an SES tag needs a name, got {name!r}")
        if clean in result:
            raise ValueError(f"tag names {name!r} and another both become {clean!r}")
        # SES rejects an empty value; "_" keeps the tag (and its name) in the event.
        result[clean] = sanitise_tag(value) or "_"
    return [{"Name": name, "Value": value} for name, value in result.items()]


def sanitise_tag(value: str) -> str:
    """Replace every character SES refuses in a tag with ``_`` and cut to 256 characters."""
    return _TAG_FORBIDDEN.sub("_", value)[:_TAG_LIMIT]


def classify_client_error(exc: ClientError) -> RetryableProviderError | PermanentProviderError:
    """Map a botocore ``ClientError`` from ``SendEmail`` to a provider error, by its code."""
    return classify_aws_error(
        exc.response,
        provider=PROVIDER,
        prefix="ses",
        refused="the email",
        throttled=_THROTTLED,
        unavailable=_UNAVAILABLE,
        permanent=_PERMANENT,
    )


def _address(value: str, *, role: str, scope: Scope) -> Address:
    """Parse ``"Name <local@domain>"``; the domain goes to punycode, the local part must be
    ASCII (SES does not support SMTPUTF8)."""
    name, addr = _split_address(value)
    local, at, domain = addr.rpartition("@")
    problem = None
    if not at or not local or not domain:
        problem = "is not an email address"
    elif not local.isascii():
        problem = "has a non-ASCII local part, which SES cannot send to"
    else:
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            problem = "has a domain that is not a valid internationalised name"
    if problem is None:
        try:
            return Address(display_name=name, username=local, domain=domain)
        except (ValueError, TypeError) as exc:
            problem = f"is not valid ({exc})"
    raise PermanentProviderError(
        f"the {role} address {problem}",
        provider=PROVIDER,
        code=f"ses_invalid_{role}",
        scope=scope,
    )


def _split_address(value: str) -> tuple[str, str]:
    """``(display name, address)``. ``"Name <addr>"`` is split at the last ``<`` so that an
    unquoted name with a comma (``Acme, Inc. <noreply@…>``, as a sender name set by a seller
    and pasted in front of an address) is kept whole; parseaddr would return ``Acme`` as the
    address."""
    value = value.strip()
    if value.endswith(">") and "<" in value:
        name, _, addr = value[:-1].rpartition("<")
        name = name.strip()
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        return name, addr.strip()
    return parseaddr(value)


def _add_header(msg: EmailMessage, name: str, value: str) -> None:
    if not _HEADER_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid header name")
    if name.lower() in _RESERVED_HEADERS:
        raise ValueError(f"the {name} header is set by the gateway")
    if any(c in _CONTROL for c in value):
        raise ValueError(f"the {name} header value contains a line break or control character")
    if value.isascii():
        if len(name) + 2 + len(value) > _MAX_LINE:
            raise ValueError(f"the {name} header is longer than one line may be")
        # Written exactly as given (see _POLICY): URLs must not become encoded words.
        msg.set_raw(name, value)
    else:
        # Non-ASCII can only travel as encoded words; the email package does that right.
        msg[name] = value
