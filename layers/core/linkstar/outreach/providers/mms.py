"""The MMS gateway: one media file and its text to one phone number through AWS End User
Messaging SMS (API ``pinpoint-sms-voice-v2``, operation ``SendMediaMessage``).

What it owns:

- **The request** (SendMediaMessage API reference)::

      {"DestinationPhoneNumber": "+14155550100", "OriginationIdentity": "+18005550100",
       "MessageBody": "…", "MediaUrls": ["s3://bucket/tenant/key"],
       "Context": {"tenant_id": "…", "message_id": "…"}}

  ``OriginationIdentity`` is a phone number, pool or sender id (or its ARN) of this account
  that can send MMS; the API requires it. ``MediaUrls`` holds exactly one ``s3://`` URL of an
  object in the same account and region, which the service reads with the caller's access, so
  the sender's role needs ``s3:GetObject`` on it. ``MessageBody`` is at most 1600 characters
  (an MMS is never split into segments) and left out when empty. ``Context`` (at most five
  entries) is written to the configuration set's event destinations, so delivery events can
  find their tenant and message.
- **Errors**, by the ``ClientError`` code (a JSON-protocol service: the ``__type`` of the
  answer), from the operation's errors in botocore 1.44.5's model: ``ThrottlingException`` and
  ``InternalServerException`` (plus the generic throttling and unavailable codes) are
  retryable; ``ValidationException`` (a bad number, an unsupported media type, a blocked
  destination country), ``ResourceNotFoundException`` (the origination identity),
  ``AccessDeniedException`` (account disabled or not trusted yet),
  ``ServiceQuotaExceededException`` (the month's MMS spend limit) and ``ConflictException`` are
  permanent. A conflict whose ``Reason`` is ``DESTINATION_PHONE_NUMBER_OPTED_OUT`` is the
  recipient's (they replied STOP); an unknown code is judged by its HTTP status.

Locally, and in tests, the client is pointed at ``infra.local.sms_voice`` (moto 5.2.5 does not
implement this API) with botocore's own per-service endpoint variable
``AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2``; in AWS that variable is unset and the regional
endpoint is used.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from linkstar import aws
from linkstar.contacts import to_e164
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

PROVIDER = "sms_voice"
SERVICE = "pinpoint-sms-voice-v2"
MAX_BODY = 1600  # characters, any alphabet: "MMS file types, size and character limits"
MAX_CONTEXT = 5
OPTED_OUT = "DESTINATION_PHONE_NUMBER_OPTED_OUT"

_MEDIA_URL = re.compile(r"^s3://[a-z0-9.-]{3,63}/.+$")  # the API model's MediaUrls pattern
_ORIGINATION = re.compile(r"^[A-Za-z0-9_:/+-]{1,256}$")

_THROTTLED = frozenset({"ThrottlingException", "Throttling", "TooManyRequestsException"})
_UNAVAILABLE = frozenset(
    {"InternalServerException", "InternalFailure", "ServiceUnavailable", "RequestTimeout"}
)
_PERMANENT: dict[str, tuple[str, Scope]] = {
    "ValidationException": ("mms_validation_error", MESSAGE),
    "ResourceNotFoundException": ("mms_origination_not_found", ACCOUNT),
    "AccessDeniedException": ("mms_access_denied", ACCOUNT),
    "ServiceQuotaExceededException": ("mms_quota_exceeded", ACCOUNT),
    "ConflictException": ("mms_conflict", MESSAGE),
}


def send_mms(
    *,
    phone: str,
    text: str,
    media_url: str,
    origination_identity: str | None,
    context: Mapping[str, str],
) -> str:
    """Send one MMS and return its ``MessageId``.

    ``phone`` must already be E.164; ``media_url`` is the file's ``s3://`` URL
    (``linkstar.outreach.providers.media.mms_media_url``). Raises
    :class:`RetryableProviderError` or :class:`PermanentProviderError`.
    """
    request = send_request(
        phone=phone,
        text=text,
        media_url=media_url,
        origination_identity=origination_identity,
        context=context,
    )
    with aws_send_errors(classify_client_error, provider=PROVIDER, prefix="mms"):
        answer = aws.client(SERVICE).send_media_message(**request)
    return str(answer["MessageId"])


def send_request(
    *,
    phone: str,
    text: str,
    media_url: str,
    origination_identity: str | None,
    context: Mapping[str, str],
) -> dict[str, object]:
    """The ``SendMediaMessage`` parameters, refused here when the API would refuse them (botocore
    checks no lengths or patterns, so AWS would be asked only to say no)."""
    if to_e164(phone) != phone:
        raise _refused("the phone number is not a valid E.164 number", "mms_invalid_phone_number")
    if not origination_identity or not _ORIGINATION.match(origination_identity):
        raise PermanentProviderError(
            "no MMS-capable origination identity is configured for this destination",
            provider=PROVIDER,
            code="mms_no_origination_identity",
            scope=ACCOUNT,
        )
    if not _MEDIA_URL.match(media_url):
        raise _refused("the media file is not an s3:// URL", "mms_invalid_media_url")
    if len(text) > MAX_BODY:
        raise _refused(f"an MMS text is at most {MAX_BODY} characters", "mms_text_too_long")
    request: dict[str, object] = {
        "DestinationPhoneNumber": phone,
        "OriginationIdentity": origination_identity,
        "MediaUrls": [media_url],
    }
    if text.strip():
        request["MessageBody"] = text
    if len(context) > MAX_CONTEXT:
        raise ValueError(f"an MMS carries at most {MAX_CONTEXT} context entries")
    if context:
        request["Context"] = dict(context)
    return request


def classify_client_error(exc: ClientError) -> RetryableProviderError | PermanentProviderError:
    """Map a botocore ``ClientError`` from ``SendMediaMessage`` to a provider error, by its code
    (and, for a conflict, its ``Reason``)."""
    response = exc.response
    if response.get("Error", {}).get("Code") == "ConflictException" and (
        response.get("Reason") == OPTED_OUT
    ):
        return PermanentProviderError(
            "End User Messaging refused the MMS: the recipient opted out",
            provider=PROVIDER,
            code="mms_opted_out",
            reason=response.get("Error", {}).get("Message"),
            scope=RECIPIENT,
        )
    return classify_aws_error(
        response,
        provider=PROVIDER,
        prefix="mms",
        refused="the MMS",
        throttled=_THROTTLED,
        unavailable=_UNAVAILABLE,
        permanent=_PERMANENT,
    )


def _refused(message: str, code: str) -> PermanentProviderError:
    scope: Scope = RECIPIENT if code == "mms_invalid_phone_number" else MESSAGE
    return PermanentProviderError(message, provider=PROVIDER, code=code, scope=scope)
