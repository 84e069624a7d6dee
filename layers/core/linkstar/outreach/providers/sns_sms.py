"""The SMS gateway: one text message to one phone number through Amazon SNS ``Publish``.

What it owns:

- **The publish.** ``Publish(PhoneNumber=<E.164>, Message=…, MessageAttributes=…)`` with the
  SMS attributes SNS documents ("Publishing to a mobile phone", SNS Developer Guide):
  ``AWS.SNS.SMS.SMSType`` (``Transactional`` for order and shipping messages — SNS routes those
  for reliability — or ``Promotional`` for marketing, the cheaper route), and, when given,
  ``AWS.MM.SMS.OriginationNumber`` (a number or short code the account owns; the US and Canada
  require one) and ``AWS.SNS.SMS.SenderID`` (an alphanumeric sender, where the destination
  country supports it).
- **Choosing the origination identity.** :func:`origination_for` picks a number by destination
  country from an operator's or tenant's map (``{"US": "+18005550100", "default": …}``);
  :func:`destination_country` finds the country of an E.164 number.
- **Errors**, by the ``ClientError`` code, never by the message text. The codes are the wire
  codes of botocore 1.44.5's ``sns`` model (a query-protocol service: the ``code`` in each
  error shape's metadata, not the shape name — ``InvalidParameterValueException`` arrives as
  ``ParameterValueInvalid``): ``Throttled``, ``InternalError`` and ``KMSThrottling`` (plus the
  generic AWS throttling / unavailable codes) are retryable; ``InvalidParameter``,
  ``ParameterValueInvalid``, ``ValidationException``, ``OptedOut``, ``AuthorizationError``,
  ``EndpointDisabled`` and the KMS configuration errors are permanent. An unknown code is
  judged by its HTTP status.

Opt-outs: ``Publish`` to a number that replied STOP does not fail — SNS accepts it and drops it
(visible only in SMS delivery-status logs), so consent and suppression are checked before this
gateway, not by it. ``OptedOut`` is still mapped, for the operations that do return it.
"""

from __future__ import annotations

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

PROVIDER = "sns"

SMS_TYPE = "AWS.SNS.SMS.SMSType"
ORIGINATION_NUMBER = "AWS.MM.SMS.OriginationNumber"
SENDER_ID = "AWS.SNS.SMS.SenderID"
TRANSACTIONAL = "Transactional"
PROMOTIONAL = "Promotional"
DEFAULT_ORIGINATION = "default"

_THROTTLED = frozenset(
    {
        "Throttled",  # ThrottledException, HTTP 429
        "Throttling",
        "ThrottlingException",
        "KMSThrottling",  # KMSThrottlingException: the topic's key was throttled
    }
)
_UNAVAILABLE = frozenset(
    {
        "InternalError",  # InternalErrorException, HTTP 500
        "InternalFailure",
        "ServiceUnavailable",
        "RequestTimeout",
    }
)
_PERMANENT: dict[str, tuple[str, Scope]] = {
    # InvalidParameter covers a phone number SNS cannot deliver to as well as a bad attribute.
    "InvalidParameter": ("sns_invalid_parameter", MESSAGE),
    "ParameterValueInvalid": ("sns_invalid_parameter_value", MESSAGE),
    "InvalidParameterValue": ("sns_invalid_parameter_value", MESSAGE),  # older/emulated form
    "ValidationException": ("sns_validation_error", MESSAGE),
    "OptedOut": ("sns_opted_out", RECIPIENT),
    "EndpointDisabled": ("sns_endpoint_disabled", RECIPIENT),
    "NotFound": ("sns_not_found", ACCOUNT),
    "AuthorizationError": ("sns_authorization_error", ACCOUNT),
    "InvalidSecurity": ("sns_invalid_security", ACCOUNT),
    "KMSDisabled": ("sns_kms_disabled", ACCOUNT),
    "KMSInvalidState": ("sns_kms_invalid_state", ACCOUNT),
    "KMSNotFound": ("sns_kms_not_found", ACCOUNT),
    "KMSOptInRequired": ("sns_kms_opt_in_required", ACCOUNT),
    "KMSAccessDenied": ("sns_kms_access_denied", ACCOUNT),
}


def send_sms(
    *,
    phone: str,
    text: str,
    transactional: bool,
    origination_number: str | None,
    sender_id: str | None,
) -> str:
    """Publish one SMS and return the SNS ``MessageId``.

    ``phone`` must already be E.164 (``+8613800138000``). Raises
    :class:`RetryableProviderError` or :class:`PermanentProviderError`.
    """
    if to_e164(phone) != phone:
        raise PermanentProviderError(
            "the phone number is not a valid E.164 number",
            provider=PROVIDER,
            code="sns_invalid_phone_number",
            scope=RECIPIENT,
        )
    attributes = sms_attributes(
        transactional=transactional, origination_number=origination_number, sender_id=sender_id
    )

    with aws_send_errors(classify_client_error, provider=PROVIDER, prefix="sns"):
        answer = aws.client("sns").publish(
            PhoneNumber=phone, Message=text, MessageAttributes=attributes
        )
    return str(answer["MessageId"])


def sms_attributes(
    *, transactional: bool, origination_number: str | None, sender_id: str | None
) -> dict[str, dict[str, str]]:
    """The ``MessageAttributes`` of an SMS publish."""
    attributes = {
        SMS_TYPE: _string(TRANSACTIONAL if transactional else PROMOTIONAL),
    }
    if origination_number:
        attributes[ORIGINATION_NUMBER] = _string(origination_number)
    if sender_id:
        attributes[SENDER_ID] = _string(sender_id)
    return attributes


def origination_for(country: str, numbers: Mapping[str, str]) -> str | None:
    """The origination number for a destination ``country`` (ISO 3166-1 alpha-2): the
    country's own entry, else ``numbers["default"]``, else ``None`` (SNS then picks one from
    the account, or sends from a sender ID where the country allows)."""
    by_country = {key.strip().upper(): value for key, value in numbers.items() if value}
    wanted = (country or "").strip().upper()
    if wanted and wanted != DEFAULT_ORIGINATION.upper() and wanted in by_country:
        return by_country[wanted]
    return by_country.get(DEFAULT_ORIGINATION.upper())


def destination_country(phone: str) -> str | None:
    """The ISO country of an E.164 number (``+1 604…`` is ``CA``, not ``US``), or ``None``."""
    import phonenumbers  # ~40 ms to import: only senders need it

    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(phone))
    except phonenumbers.NumberParseException:
        return None
    # "001" is the code of non-geographic numbers; "ZZ" means unknown.
    return region if region and region.isalpha() and region != "ZZ" else None


def classify_client_error(exc: ClientError) -> RetryableProviderError | PermanentProviderError:
    """Map a botocore ``ClientError`` from ``Publish`` to a provider error, by its code."""
    return classify_aws_error(
        exc.response,
        provider=PROVIDER,
        prefix="sns",
        refused="the SMS",
        throttled=_THROTTLED,
        unavailable=_UNAVAILABLE,
        permanent=_PERMANENT,
    )


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}
