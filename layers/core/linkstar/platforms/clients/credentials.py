"""Each marketplace store's API credentials, kept in Secrets Manager, and their access tokens kept
fresh.

One JSON secret per store, named ``{STORE_SECRETS_PREFIX}/{tenant_id}/{store_id}`` (prefix
default ``linkstar/stores``), holding ``{"platform": ..., <the platform model's fields>}``:

| platform    | fields (``?`` optional)                                              |
|-------------|----------------------------------------------------------------------|
| amazon      | lwa_client_id, lwa_client_secret, refresh_token, access_token?, ...  |
| tiktok_shop | app_key, app_secret, shop_cipher, refresh_token, access_token?, ...  |
| shopee      | partner_id, partner_key, shop_id, refresh_token, access_token?, ...  |
| lazada      | app_key, app_secret, refresh_token, access_token?, ...               |

``...`` = ``access_token_expires_at?`` and, except Amazon (LWA refresh tokens don't expire),
``refresh_token_expires_at?``; times are ISO 8601 with an offset (or Unix seconds).

Access tokens: :func:`fresh` returns credentials whose access token is good for at least five
more minutes. When it is missing or about to expire it calls the platform's refresh (passed in
by the platform module, which knows the endpoint and the signing), writes the new tokens back
with ``PutSecretValue`` and keeps them in memory until they near expiry, so a warm container
reads the secret once per token lifetime. Two containers may refresh at once; a refresh that is
rejected re-reads the secret first, in case the other one rotated the refresh token.

Secret values are never logged and never part of an error message; the models hide them from
``repr``, and validation errors name the field, not the value.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from linkstar import aws
from linkstar.errors import BadRequest, PermanentError
from linkstar.observability import logger
from linkstar.orders.models import Platform
from linkstar.platforms.clients.http import (
    CREDENTIALS_MISSING,
    CREDENTIALS_REJECTED,
    PermanentMarketplaceError,
)
from linkstar.text import Text

DEFAULT_PREFIX = "linkstar/stores"
# Refresh this long before the platform says a token expires: a request signed with a token that
# expires in flight fails, and clocks differ.
REFRESH_MARGIN = timedelta(minutes=5)
_ID = re.compile(r"^[A-Za-z0-9_.@+=-]{1,128}$")


def _aware_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        # A Text: the seller saving credentials reads it in their language.
        raise ValueError(Text("store.credential_needs_offset"))
    return value.astimezone(UTC)


class _Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    access_token: str | None = Field(default=None, repr=False)
    access_token_expires_at: datetime | None = None

    _utc = field_validator("access_token_expires_at")(_aware_utc)

    def needs_refresh(self, now: datetime) -> bool:
        if not self.access_token:
            return True
        # A token without a known expiry is used until the platform rejects it.
        if self.access_token_expires_at is None:
            return False
        return self.access_token_expires_at - REFRESH_MARGIN <= now

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class AmazonCredentials(_Credentials):
    """A Login with Amazon app (client id and secret) and the seller's refresh token."""

    lwa_client_id: str = Field(min_length=1)
    lwa_client_secret: str = Field(min_length=1, repr=False)
    refresh_token: str = Field(min_length=1, repr=False)


class TikTokShopCredentials(_Credentials):
    app_key: str = Field(min_length=1)
    app_secret: str = Field(min_length=1, repr=False)
    shop_cipher: str = Field(min_length=1)
    refresh_token: str = Field(min_length=1, repr=False)
    refresh_token_expires_at: datetime | None = None

    _utc_refresh = field_validator("refresh_token_expires_at")(_aware_utc)


class ShopeeCredentials(_Credentials):
    partner_id: int = Field(gt=0)
    partner_key: str = Field(min_length=1, repr=False)
    shop_id: int = Field(gt=0)
    refresh_token: str = Field(min_length=1, repr=False)
    refresh_token_expires_at: datetime | None = None

    _utc_refresh = field_validator("refresh_token_expires_at")(_aware_utc)


class LazadaCredentials(_Credentials):
    app_key: str = Field(min_length=1)
    app_secret: str = Field(min_length=1, repr=False)
    refresh_token: str = Field(min_length=1, repr=False)
    refresh_token_expires_at: datetime | None = None

    _utc_refresh = field_validator("refresh_token_expires_at")(_aware_utc)


Credentials = AmazonCredentials | TikTokShopCredentials | ShopeeCredentials | LazadaCredentials
C = TypeVar("C", AmazonCredentials, TikTokShopCredentials, ShopeeCredentials, LazadaCredentials)

MODELS: dict[Platform, type[_Credentials]] = {
    Platform.AMAZON: AmazonCredentials,
    Platform.TIKTOK_SHOP: TikTokShopCredentials,
    Platform.SHOPEE: ShopeeCredentials,
    Platform.LAZADA: LazadaCredentials,
}


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------ the secret


def prefix() -> str:
    return os.environ.get("STORE_SECRETS_PREFIX", "").strip().strip("/") or DEFAULT_PREFIX


def secret_name(tenant_id: str, store_id: str) -> str:
    for value in (tenant_id, store_id):
        # Ids become path segments of the name: nothing that could climb or split them.
        if not _ID.match(value):
            raise ValueError(f"not a valid id for a secret name: {value!r}")
    return f"{prefix()}/{tenant_id}/{store_id}"


def _model(platform: Platform) -> type[_Credentials]:
    try:
        return MODELS[platform]
    except KeyError:
        raise BadRequest(
            Text("store.credentials_unsupported", platform=platform.value),
            code="credentials_unsupported",
        ) from None


def _validation_summary(exc: ValidationError) -> str:
    # Field names and the rule broken, never the input: the input is a secret.
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
    )


def _field_problem(err: Any) -> Text:
    """One broken rule for the seller: the field and the rule (the English is pydantic's own
    message, as before messages existed), never the input, which is a secret."""
    field = ".".join(str(p) for p in err["loc"]) or "(root)"
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind == "missing":
        return Text("store.credential_missing", field=field)
    if kind == "extra_forbidden":
        return Text("store.credential_not_a_field", field=field)
    if kind == "int_parsing":
        return Text("store.credential_not_integer", field=field)
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return Text("store.credential_empty", field=field)
    if kind == "greater_than":
        return Text("store.credential_too_small", field=field, limit=str(ctx.get("gt")))
    rule = next(iter(getattr(ctx.get("error"), "args", ())), None)
    if kind == "value_error" and isinstance(rule, Text):
        return Text("store.credential_rule", field=field, rule=rule)
    return Text("store.credential_invalid", field=field, detail=err["msg"])


def _problems(exc: ValidationError) -> Text:
    # "a; b; c" as nested messages: a list parameter would join with commas, which pydantic's
    # own wording also uses.
    found = [_field_problem(err) for err in exc.errors()]
    joined = found[-1]
    for problem in reversed(found[:-1]):
        joined = Text("store.credential_problems", first=problem, rest=joined)
    return joined


def _error_code(exc: Exception) -> str | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def _client_error() -> type[Exception]:
    from botocore.exceptions import ClientError

    return ClientError


def save(tenant_id: str, store_id: str, platform: Platform, data: dict[str, Any]) -> Credentials:
    """Validate ``data`` as the platform's credentials and store them (create or overwrite).
    Raises :class:`~linkstar.errors.BadRequest` naming the invalid fields."""
    model = _model(platform)
    try:
        creds = model.model_validate(data)
    except ValidationError as exc:
        raise BadRequest(
            Text("store.invalid_credentials", platform=platform.value, problems=_problems(exc)),
            code="invalid_credentials",
        ) from None
    _write(tenant_id, store_id, platform, creds, create=True)
    forget(tenant_id, store_id)
    return creds  # type: ignore[return-value]


def _write(
    tenant_id: str, store_id: str, platform: Platform, creds: _Credentials, *, create: bool
) -> None:
    name = secret_name(tenant_id, store_id)
    body = json.dumps({"platform": platform.value, **creds.stored()})
    client = aws.client("secretsmanager")
    ClientError = _client_error()
    try:
        client.put_secret_value(SecretId=name, SecretString=body)
        return
    except ClientError as exc:
        if _error_code(exc) != "ResourceNotFoundException" or not create:
            raise
    try:
        client.create_secret(
            Name=name,
            SecretString=body,
            Description=f"LinkStar {platform.value} API credentials for one store",
            Tags=[
                {"Key": "linkstar:tenant_id", "Value": tenant_id},
                {"Key": "linkstar:store_id", "Value": store_id},
                {"Key": "linkstar:platform", "Value": platform.value},
            ],
        )
    except ClientError as exc:
        # Created by a concurrent save between our two calls: overwrite it as asked.
        if _error_code(exc) != "ResourceExistsException":
            raise
        client.put_secret_value(SecretId=name, SecretString=body)


def load(tenant_id: str, store_id: str, platform: Platform) -> Credentials:
    """The stored credentials (no cache). Raises :class:`PermanentMarketplaceError`
    ``credentials_missing`` when the store has none, and ``credentials_invalid`` when what is
    stored is not this platform's credentials."""
    model = _model(platform)
    ClientError = _client_error()
    try:
        secret = aws.client("secretsmanager").get_secret_value(
            SecretId=secret_name(tenant_id, store_id)
        )
    except ClientError as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            raise PermanentMarketplaceError(
                "the store has no API credentials: add them before orders can be fetched",
                platform=platform.value,
                operation="loadCredentials",
                code=CREDENTIALS_MISSING,
            ) from None
        raise
    try:
        data = json.loads(secret["SecretString"])
        stored_platform = data.pop("platform", None)
        if stored_platform != platform.value:
            raise ValueError(f"the secret holds {stored_platform!r} credentials")
        return model.model_validate(data)  # type: ignore[return-value]
    except (ValueError, TypeError, KeyError) as exc:
        detail = _validation_summary(exc) if isinstance(exc, ValidationError) else str(exc)
        raise PermanentError(
            f"stored {platform.value} credentials are unusable: {detail}",
            code="credentials_invalid",
        ) from None


def describe(tenant_id: str, store_id: str) -> dict[str, Any]:
    """``{"configured": bool, "updated_at": datetime | None}``: never the values."""
    ClientError = _client_error()
    try:
        meta = aws.client("secretsmanager").describe_secret(
            SecretId=secret_name(tenant_id, store_id)
        )
    except ClientError as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return {"configured": False, "updated_at": None}
        raise
    if meta.get("DeletedDate"):
        return {"configured": False, "updated_at": None}
    updated = meta.get("LastChangedDate") or meta.get("CreatedDate")
    if isinstance(updated, datetime):
        updated = updated.astimezone(UTC) if updated.tzinfo else updated.replace(tzinfo=UTC)
    return {"configured": True, "updated_at": updated}


# --------------------------------------------------------------------------- token upkeep

_cache: dict[tuple[str, str], _Credentials] = {}
_lock = threading.RLock()


def forget(tenant_id: str, store_id: str) -> None:
    with _lock:
        _cache.pop((tenant_id, store_id), None)


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def fresh(
    tenant_id: str,
    store_id: str,
    platform: Platform,
    refresh: Callable[[C], C],
    *,
    rejected_token: str | None = None,
) -> C:
    """Credentials whose access token is good for at least ``REFRESH_MARGIN`` more.

    ``refresh`` exchanges the refresh token for new tokens (the platform module's documented
    refresh call). ``rejected_token``: the platform just refused this access token although it
    looked valid (revoked, or expired early): refresh regardless, unless the stored token is
    already a different one (another container refreshed it).
    """
    key = (tenant_id, store_id)
    model = _model(platform)
    with _lock:
        now = _now()
        cached = _cache.get(key)
        if (
            isinstance(cached, model)
            and not cached.needs_refresh(now)
            and (rejected_token is None or cached.access_token != rejected_token)
        ):
            return cached  # type: ignore[return-value]
        stored: C = load(tenant_id, store_id, platform)  # type: ignore[assignment]
        stale = rejected_token is not None and stored.access_token == rejected_token
        if not stored.needs_refresh(now) and not stale:
            _cache[key] = stored
            return stored
        try:
            renewed = refresh(stored)
        except PermanentMarketplaceError as exc:
            if exc.code != CREDENTIALS_REJECTED:
                raise
            latest: C = load(tenant_id, store_id, platform)  # type: ignore[assignment]
            if (
                latest.refresh_token != stored.refresh_token
                and latest.access_token != rejected_token
                and not latest.needs_refresh(now)
            ):
                _cache[key] = latest
                return latest
            raise
        _write(tenant_id, store_id, platform, renewed, create=False)
        _cache[key] = renewed
        logger.info(
            "marketplace access token refreshed",
            extra={
                "platform": platform.value,
                "tenant_id": tenant_id,
                "store_id": store_id,
                "expires_at": (
                    renewed.access_token_expires_at.isoformat()
                    if renewed.access_token_expires_at
                    else None
                ),
            },
        )
        return renewed


def expires_in(seconds: float | int | None, now: datetime | None = None) -> datetime | None:
    """An ``expires_in`` (seconds from now) as an aware UTC datetime."""
    if seconds is None:
        return None
    return (now or _now()) + timedelta(seconds=float(seconds))


def expires_at(epoch_seconds: float | int | None) -> datetime | None:
    """An absolute expiry (Unix seconds, as TikTok Shop reports it) as an aware UTC datetime."""
    if epoch_seconds is None:
        return None
    return datetime.fromtimestamp(float(epoch_seconds), UTC)


A = TypeVar("A")


def with_token(
    tenant_id: str,
    store_id: str,
    platform: Platform,
    refresh: Callable[[C], C],
    call: Callable[[C], A],
    refused: Callable[[A], bool],
) -> A:
    """``call`` with a fresh access token; if the platform refuses a token that looked valid
    (revoked, or expired early), once more with a newly refreshed one."""
    creds = fresh(tenant_id, store_id, platform, refresh)
    answer = call(creds)
    if refused(answer):
        creds = fresh(tenant_id, store_id, platform, refresh, rejected_token=creds.access_token)
        answer = call(creds)
    return answer
