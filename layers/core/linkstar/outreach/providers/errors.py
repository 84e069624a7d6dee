"""The typed errors every provider gateway raises (SES, SNS SMS, WhatsApp Cloud API).

A sender needs exactly two answers from a failed send, and the class carries both:

- **Try again?** :class:`RetryableProviderError` — throttled, a 5xx, a timeout, the connection
  failed. Nothing about the message is wrong; the queue redelivers it later, no sooner than
  ``retry_after`` seconds when the provider said so. :class:`PermanentProviderError` — the
  provider refused this send and would refuse it again (a bad recipient, rejected content, an
  account that may not send). It is a :class:`~linkstar.errors.PermanentError`, as
  :class:`~linkstar.platforms.clients.http.PermanentMarketplaceError` is, so a consumer that
  does not handle it specially dead-letters the message at once instead of retrying.
- **What failed?** ``code`` is machine-readable and stable (``ses_message_rejected``,
  ``sns_opted_out``, ``whatsapp_131026``), ``reason`` is the provider's own words, and
  ``scope`` says who the failure is about: the recipient (suppress the contact), the message
  (fix the content or template) or the account (pause the channel: every other message would
  fail the same way).

Messages never contain credentials: gateways build them from error codes and the provider's
reason, and :func:`redact` strips a secret the provider might echo back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Set
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Final, Literal

from linkstar.errors import LinkStarError, PermanentError

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

Scope = Literal["recipient", "message", "account"]
RECIPIENT: Final = "recipient"
MESSAGE: Final = "message"
ACCOUNT: Final = "account"

_REASON_LIMIT = 500  # provider messages can be long (SES lists identities); keep logs readable


class ProviderError(LinkStarError):
    """A provider (SES, SNS, WhatsApp) did not accept a message."""

    status = 502
    code = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        code: str | None = None,
        reason: str | None = None,
        http_status: int | None = None,
        **details: Any,
    ) -> None:
        reason = _clip(reason)
        super().__init__(
            message, code=code, provider=provider, reason=reason, http_status=http_status, **details
        )
        self.provider = provider
        self.reason = reason
        self.http_status = http_status


class RetryableProviderError(ProviderError):
    """The provider could not take the message now; the same request may succeed later."""

    status = 503
    code = "provider_unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        # provider, code, reason, http_status: as ProviderError takes them.
        super().__init__(message, retry_after=retry_after, **kwargs)
        self.retry_after = retry_after


class PermanentProviderError(PermanentError, ProviderError):
    """The provider refused the message and would refuse it again as it is."""

    status = 422
    code = "provider_rejected"

    def __init__(self, message: str, *, scope: Scope = MESSAGE, **kwargs: Any) -> None:
        # ProviderError's constructor, not PermanentError's: the provider fields are kept.
        ProviderError.__init__(self, message, scope=scope, **kwargs)
        self.scope: Scope = scope


def redact(text: str | None, *secrets: str | None) -> str | None:
    """``text`` with every non-empty secret replaced, for provider messages that might echo a
    token back (Graph API error messages sometimes quote the request)."""
    if text is None:
        return None
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def _clip(reason: str | None) -> str | None:
    if reason is None:
        return None
    reason = " ".join(reason.split())
    return reason if len(reason) <= _REASON_LIMIT else reason[: _REASON_LIMIT - 1] + "…"


def classify_aws_error(
    response: Mapping[str, Any],
    *,
    provider: str,
    prefix: str,
    refused: str,
    throttled: Set[str],
    unavailable: Set[str],
    permanent: Mapping[str, tuple[str, Scope]],
) -> RetryableProviderError | PermanentProviderError:
    """Map a botocore ``ClientError.response`` to a provider error, by its error *code*: the
    service's own tables first, then its HTTP status for a code the tables don't know.
    ``prefix`` starts our codes (``ses_throttled``); ``refused`` says what was refused."""
    error = response.get("Error", {})
    code = str(error.get("Code") or "")
    reason = error.get("Message")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    service = prefix.upper()
    if code in throttled or code in unavailable:
        return RetryableProviderError(
            f"{service} {code}",
            provider=provider,
            code=f"{prefix}_throttled" if code in throttled else f"{prefix}_unavailable",
            reason=reason,
            http_status=status,
        )
    if code in permanent:
        ours, scope = permanent[code]
        return PermanentProviderError(
            f"{service} refused {refused}: {code}",
            provider=provider,
            code=ours,
            reason=reason,
            http_status=status,
            scope=scope,
        )
    # A code the tables don't know: the HTTP status is the provider's own verdict.
    if status is not None and (status == 429 or status >= 500):
        return RetryableProviderError(
            f"{service} {code or 'error'} (HTTP {status})",
            provider=provider,
            code=f"{prefix}_unavailable",
            reason=reason,
            http_status=status,
        )
    return PermanentProviderError(
        f"{service} refused {refused}: {code or 'unknown error'}",
        provider=provider,
        code=f"{prefix}_error",
        reason=reason,
        http_status=status,
        aws_code=code or None,
    )


@contextmanager
def aws_send_errors(
    classify: Callable[[ClientError], ProviderError], *, provider: str, prefix: str
) -> Iterator[None]:
    """Around one AWS send call: a ``ClientError`` becomes ``classify(exc)``; a timeout or a
    refused connection becomes a :class:`RetryableProviderError` (``<prefix>_unavailable``)."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    try:
        yield
    except ClientError as exc:
        raise classify(exc) from exc
    except (ConnectionError, HTTPClientError) as exc:
        # Timeouts and refused connections; the class name is enough, the text has the URL.
        raise RetryableProviderError(
            f"{prefix.upper()} unreachable ({type(exc).__name__})",
            provider=provider,
            code=f"{prefix}_unavailable",
        ) from exc
