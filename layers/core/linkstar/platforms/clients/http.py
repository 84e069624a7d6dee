"""A small JSON-over-HTTP client for the marketplace APIs (standard library only).

What it owns:

- **Retries.** 429, 5xx and connection failures are retried with exponential backoff and full
  jitter (``delay = random() * min(cap, base * 2**n)``, the AWS Architecture Blog's "Exponential
  Backoff And Jitter"). A ``Retry-After`` header (seconds or an HTTP date) is a floor on the
  delay; so is ``1 / rate`` when SP-API reports the rate it applied in ``x-amzn-RateLimit-Limit``
  (Amazon sends that header instead of ``Retry-After``; see "Usage Plans and Rate Limits",
  https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits). Every request has a
  time budget: when the next wait would overrun it, or the attempts run out, the request fails
  with :class:`TransientMarketplaceError` and the queue delivers the message again later.
- **Rate limiting.** A per-process token bucket per ``(platform, operation)`` spaces requests at
  the platform's published rate (``RATE_LIMITS``; where a platform publishes none the number is a
  conservative local budget and says so). It only smooths one container's traffic: several
  Lambda containers share a platform quota, so a 429 is still possible and handled as above.
- **Counting.** ``CALLS[platform][operation]`` counts every request sent, retries included (the
  enrichment benchmark reads it).
- **Errors.** :class:`PermanentMarketplaceError` (a :class:`~linkstar.errors.PermanentError`: the
  message is dead-lettered at once) carries a machine-readable ``code``: ``order_not_found``,
  ``credentials_rejected``, ``credentials_missing``, ``marketplace_bad_request``,
  ``unexpected_response``, ``unknown_marketplace``. 4xx answers are returned to the platform module,
  which knows the platform's error shape and raises the right one.

Clock, sleep and randomness are injectable so tests never really wait. URLs are never logged:
Shopee and Lazada put the access token in the query string.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode, urlsplit

from linkstar.errors import LinkStarError, PermanentError
from linkstar.orders.models import Platform

# ------------------------------------------------------------------------------------ errors

CREDENTIALS_REJECTED = "credentials_rejected"
CREDENTIALS_MISSING = "credentials_missing"
ORDER_NOT_FOUND = "order_not_found"
BAD_REQUEST = "marketplace_bad_request"
UNEXPECTED_RESPONSE = "unexpected_response"
UNKNOWN_MARKETPLACE = "unknown_marketplace"
THROTTLED = "marketplace_throttled"
UNAVAILABLE = "marketplace_unavailable"


class MarketplaceError(LinkStarError):
    """Something went wrong talking to a marketplace API."""

    status = 502
    code = "marketplace_error"

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        operation: str,
        code: str | None = None,
        http_status: int | None = None,
        **details: Any,
    ) -> None:
        super().__init__(
            message,
            code=code,
            platform=platform,
            operation=operation,
            http_status=http_status,
            **details,
        )
        self.platform = platform
        self.operation = operation
        self.http_status = http_status


class TransientMarketplaceError(MarketplaceError):
    """The platform could not answer now (throttled, 5xx, unreachable) and the retries ran out:
    not dead-lettered, so the queue redelivers the message later."""

    status = 503
    code = UNAVAILABLE


class AmountsNotYetAvailable(TransientMarketplaceError):
    """The platform knows the order but not its amounts yet (an Amazon order still ``Pending``:
    SP-API returns no prices before payment is authorised). The next status change asks again."""

    code = "amounts_not_yet_available"


class PermanentMarketplaceError(PermanentError, MarketplaceError):
    """An answer that retrying cannot change (unknown order, revoked credentials, a request the
    platform rejects): the message is dead-lettered with this ``code`` as the reason."""

    code = "marketplace_rejected"


# ---------------------------------------------------------------------------------- counting

CALLS: defaultdict[str, Counter[str]] = defaultdict(Counter)
_calls_lock = threading.Lock()


def count_call(platform: str, operation: str) -> None:
    with _calls_lock:
        CALLS[platform][operation] += 1


def calls_snapshot() -> dict[str, dict[str, int]]:
    with _calls_lock:
        return {platform: dict(ops) for platform, ops in CALLS.items()}


def reset_calls() -> None:
    with _calls_lock:
        CALLS.clear()


# ---------------------------------------------------------------------------- rate limiting


@dataclass(frozen=True)
class RateLimit:
    rate: float  # requests per second, sustained
    burst: int
    source: str  # where the number comes from


_UNPUBLISHED = "not published by the platform: a conservative local budget"
RATE_LIMITS: dict[tuple[str, str], RateLimit] = {
    # SP-API Orders v0 usage plans (ordersV0.json in amzn/selling-partner-api-models).
    ("amazon", "getOrder"): RateLimit(0.5, 30, "SP-API Orders v0 usage plan"),
    ("amazon", "getOrderItems"): RateLimit(0.5, 30, "SP-API Orders v0 usage plan"),
    ("amazon", "lwaToken"): RateLimit(1.0, 5, _UNPUBLISHED),
    ("tiktok_shop", "getOrderDetail"): RateLimit(10.0, 20, _UNPUBLISHED),
    ("tiktok_shop", "refreshToken"): RateLimit(1.0, 5, _UNPUBLISHED),
    ("shopee", "get_order_detail"): RateLimit(10.0, 20, _UNPUBLISHED),
    ("shopee", "refreshAccessToken"): RateLimit(1.0, 5, _UNPUBLISHED),
    ("lazada", "GetOrder"): RateLimit(10.0, 20, _UNPUBLISHED),
    ("lazada", "GetOrderItems"): RateLimit(10.0, 20, _UNPUBLISHED),
    ("lazada", "RefreshAccessToken"): RateLimit(1.0, 5, _UNPUBLISHED),
}
DEFAULT_RATE_LIMIT = RateLimit(5.0, 10, _UNPUBLISHED)


class _Bucket:
    """A reserving token bucket: a caller takes a token now and is told how long to wait for
    it (the balance may go negative), so no caller spins and waits are first come, first
    served."""

    def __init__(self, limit: RateLimit, now: float) -> None:
        self.rate = limit.rate
        self.capacity = float(limit.burst)
        self.tokens = float(limit.burst)
        self.updated = now

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.updated = now

    def reserve(self, now: float) -> float:
        self._refill(now)
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    def cancel(self) -> None:
        self.tokens += 1.0


class RateLimiter:
    def __init__(
        self,
        clock: Callable[[], float],
        limits: Mapping[tuple[str, str], RateLimit] | None = None,
    ) -> None:
        self._clock = clock
        self._limits = dict(RATE_LIMITS if limits is None else limits)
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, key: tuple[str, str]) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = _Bucket(self._limits.get(key, DEFAULT_RATE_LIMIT), self._clock())
            self._buckets[key] = bucket
        return bucket

    def reserve(self, platform: str, operation: str) -> float:
        """Take a token; return how many seconds to wait before using it."""
        with self._lock:
            return self._bucket((platform, operation)).reserve(self._clock())

    def cancel(self, platform: str, operation: str) -> None:
        with self._lock:
            self._bucket((platform, operation)).cancel()

    def observe_rate(self, platform: str, operation: str, rate: float) -> None:
        """The platform told us the rate it applies (SP-API ``x-amzn-RateLimit-Limit``)."""
        if rate <= 0:
            return
        with self._lock:
            bucket = self._bucket((platform, operation))
            bucket._refill(self._clock())
            bucket.rate = rate

    def rate(self, platform: str, operation: str) -> float:
        with self._lock:
            return self._bucket((platform, operation)).rate


# ------------------------------------------------------------------------------- transport


@dataclass(frozen=True)
class Request:
    method: str
    url: str  # complete, query string included (the platform modules sign the exact params)
    platform: str
    operation: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # names lower-cased
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self, *, decimals: bool = False) -> Any:
        """The body as JSON; ``None`` when it is empty or not JSON (error pages). ``decimals``:
        JSON numbers with a fraction become ``Decimal`` (Shopee sends money as numbers)."""
        if not self.body:
            return None
        try:
            return json.loads(self.body, parse_float=Decimal if decimals else None)
        except ValueError:
            return None


Transport = Callable[[Request, float], Response]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_opener = urllib.request.build_opener()
# The local fake listens on loopback: a developer's HTTP(S)_PROXY must not capture it.
_direct_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def urllib_transport(request: Request, timeout: float) -> Response:
    parts = urlsplit(request.url)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"refusing a non-HTTP URL scheme: {parts.scheme!r}")
    opener = _direct_opener if parts.hostname in _LOOPBACK else _opener
    req = urllib.request.Request(  # noqa: S310 - the scheme is checked just above
        request.url, data=request.body, method=request.method, headers=dict(request.headers)
    )
    try:
        with opener.open(req, timeout=timeout) as resp:
            return Response(resp.status, _lower(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            body = exc.read()
        return Response(exc.code, _lower(exc.headers.items()), body)


def _lower(items: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in items}


def build_url(base: str, path: str, params: Mapping[str, object] | None = None) -> str:
    url = base + path
    if params:
        url += "?" + urlencode({k: str(v) for k, v in params.items()})
    return url


# ---------------------------------------------------------------------------------- client

_CONNECTION_ERRORS = (
    urllib.error.URLError,
    TimeoutError,
    ConnectionError,
    http.client.HTTPException,
)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HttpClient:
    def __init__(
        self,
        *,
        transport: Transport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        random_fraction: Callable[[], float] = random.random,
        max_attempts: int = 5,
        base_delay: float = 0.5,
        max_delay: float = 16.0,
        timeout: float = 10.0,
        budget: float = 25.0,
        rate_limits: Mapping[tuple[str, str], RateLimit] | None = None,
    ) -> None:
        self._transport = transport or urllib_transport
        self._clock = clock
        self._sleep = sleep
        self._random = random_fraction
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.timeout = timeout
        # The enrich function has 60 s; one request must leave room for the others.
        self.budget = budget
        self.limiter = RateLimiter(clock, rate_limits)

    def send(
        self, request: Request, *, throttled: Callable[[Response], bool] | None = None
    ) -> Response:
        """Send with rate limiting and retries; return the first answer that is neither a
        429/5xx nor (per ``throttled``) a throttling answer in a 200 body. Raise
        :class:`TransientMarketplaceError` when retries or the time budget run out."""
        platform, operation = request.platform, request.operation
        deadline = self._clock() + self.budget
        attempt = 0
        while True:
            self._wait_for_token(platform, operation, deadline)
            count_call(platform, operation)
            attempt += 1
            retry_after: float | None = None
            try:
                response = self._transport(request, self.timeout)
            except _CONNECTION_ERRORS as exc:
                reason, status, code = (
                    f"connection failed ({type(exc).__name__})",
                    None,
                    UNAVAILABLE,
                )
            else:
                self._observe_rate(platform, operation, response)
                is_throttled = response.status == 429 or bool(throttled and throttled(response))
                if not is_throttled and response.status < 500:
                    return response
                status = response.status
                reason = f"HTTP {status}" + (" (throttled)" if is_throttled else "")
                code = THROTTLED if is_throttled else UNAVAILABLE
                retry_after = retry_after_seconds(response.header("Retry-After"))
                if is_throttled:
                    # SP-API's throttled answers name the rate instead of a Retry-After.
                    floor = 1.0 / self.limiter.rate(platform, operation)
                    retry_after = max(retry_after or 0.0, floor)
            if attempt >= self.max_attempts:
                raise TransientMarketplaceError(
                    f"{platform} {operation}: {reason}, {attempt} attempts",
                    platform=platform,
                    operation=operation,
                    code=code,
                    http_status=status,
                    attempts=attempt,
                )
            cap = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
            delay = max(self._random() * cap, retry_after or 0.0)
            if self._clock() + delay > deadline:
                raise TransientMarketplaceError(
                    f"{platform} {operation}: {reason}; the next try would overrun the time budget",
                    platform=platform,
                    operation=operation,
                    code=code,
                    http_status=status,
                    attempts=attempt,
                    retry_after=retry_after,
                )
            self._sleep(delay)

    def _wait_for_token(self, platform: str, operation: str, deadline: float) -> None:
        wait = self.limiter.reserve(platform, operation)
        if wait <= 0:
            return
        if self._clock() + wait > deadline:
            self.limiter.cancel(platform, operation)
            raise TransientMarketplaceError(
                f"{platform} {operation}: local rate limit would delay past the time budget",
                platform=platform,
                operation=operation,
                code=THROTTLED,
            )
        self._sleep(wait)

    def _observe_rate(self, platform: str, operation: str, response: Response) -> None:
        value = response.header("x-amzn-RateLimit-Limit")
        if not value:
            return
        try:
            self.limiter.observe_rate(platform, operation, float(value))
        except ValueError:
            return


_default: HttpClient | None = None
_default_lock = threading.Lock()


def default_client() -> HttpClient:
    """The process-wide client: its token buckets are shared by every request in the process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = HttpClient()
        return _default


def set_default_client(client: HttpClient | None) -> None:
    """Install a client (tests: one with a fake clock) or forget it (``None``)."""
    global _default
    with _default_lock:
        _default = client


def order_not_found(
    platform: Platform, operation: str, external_id: str, where: str = "for this seller"
) -> PermanentMarketplaceError:
    return PermanentMarketplaceError(
        f"{PLATFORM_NAMES[platform]} has no order {external_id!r} {where}",
        platform=platform.value,
        operation=operation,
        code=ORDER_NOT_FOUND,
    )


PLATFORM_NAMES = {
    Platform.AMAZON: "Amazon",
    Platform.TIKTOK_SHOP: "TikTok Shop",
    Platform.SHOPEE: "Shopee",
    Platform.LAZADA: "Lazada",
}


def refresh_refused(
    platform: Platform, operation: str, status: int, detail: str | None, *, code: str = ""
) -> PermanentMarketplaceError:
    """A token refresh the platform refused: an expired or revoked refresh token, or a wrong app
    secret. Retrying can't help; a person has to authorise the shop again."""
    return PermanentMarketplaceError(
        f"{PLATFORM_NAMES[platform]} token refresh answered HTTP {status} {detail or ''}".strip(),
        platform=platform.value,
        operation=operation,
        code=code or CREDENTIALS_REJECTED,
        http_status=status,
    )
