"""TikTok Shop Open API (version 202309): fetch one order as a canonical :class:`Order`.

Signing ("Sign your API request", TikTok Shop Partner Center, https://partner.tiktokshop.com/docv2;
the same steps are quoted by the public SDKs, e.g. npm ``tiktok-shop``):

1. take every query parameter except ``sign`` and ``access_token``, sorted by name;
2. concatenate them as ``{key}{value}``;
3. prepend the API path (``/order/202309/orders``);
4. append the request body unless it is ``multipart/form-data`` (a GET has none);
5. wrap the string in the app secret on both sides;
6. ``sign`` = lowercase hex HMAC-SHA256 of that string, keyed by the app secret.

Common parameters ``app_key``, ``timestamp`` (Unix seconds), ``shop_cipher``, ``sign``; the access
token travels in the ``x-tts-access-token`` header. The path signed is the API path, not the full
URL path, so a base URL with a path prefix (the local fake) signs the same string as the real
host. The Partner Center page shows a worked example whose inputs are public but whose resulting
signature we could not find published; tests check the formula on its inputs instead.

Get Order Detail: ``GET /order/202309/orders?ids=...`` → ``{"code": 0, "message", "request_id",
"data": {"orders": [...]}}`` with each order's ``id``, ``status``, ``create_time`` /
``update_time`` (Unix seconds), ``payment`` {``currency``, ``sub_total``, ``shipping_fee``,
``seller_discount``, ``platform_discount``, ``tax``, ``total_amount``, ...} (decimal strings),
``recipient_address`` {``region_code``, ``postal_code``, ...}, ``line_items`` [{``id``,
``sku_id``, ``seller_sku``, ``product_id``, ``product_name``, ``sale_price``, ...}] — one line item
per unit sold, which is how 202309 reports quantity.

Errors are a non-zero ``code`` with HTTP 4xx: 106001 "The 'sign' query parameter is invalid"
(wrong app secret → ``credentials_rejected``); 105001 / 105002 an invalid / expired access token
(refreshed once, then ``credentials_rejected``). An id TikTok does not return is
``order_not_found``.

Token refresh: ``GET {TIKTOK_AUTH_BASE}/api/v2/token/refresh?app_key&app_secret&refresh_token&
grant_type=refresh_token`` → ``data`` {``access_token``, ``access_token_expire_in``,
``refresh_token``, ``refresh_token_expire_in``}; both "expire_in" values are absolute Unix times,
not durations (Partner Center "Authorization overview"; sample answers on
https://example-code.com/tcl/tiktok_shop_refresh_access_token.asp).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from linkstar import money
from linkstar.orders.lifecycle import canonical_status, implies_paid
from linkstar.orders.models import Address, LineItem, Order, OrderStatus, Person, Platform
from linkstar.platforms.clients import config, credentials
from linkstar.platforms.clients.credentials import TikTokShopCredentials
from linkstar.platforms.clients.http import (
    BAD_REQUEST,
    CREDENTIALS_REJECTED,
    UNEXPECTED_RESPONSE,
    HttpClient,
    PermanentMarketplaceError,
    Request,
    Response,
    build_url,
    default_client,
    order_not_found,
    refresh_refused,
)
from linkstar.stores.models import Store

PLATFORM = Platform.TIKTOK_SHOP
GET_ORDER_DETAIL = "getOrderDetail"
REFRESH_OP = "refreshToken"
ORDER_DETAIL_PATH = "/order/202309/orders"
REFRESH_PATH = "/api/v2/token/refresh"

INVALID_SIGN = 106001
# Access token problems: 105001 invalid, 105002 expired (and neighbours in the 1050xx range).
TOKEN_CODES = range(105000, 105100)


def sign(app_secret: str, path: str, params: Mapping[str, object], body: str | bytes = "") -> str:
    """The documented request signature (steps in the module docstring)."""
    text = body.decode() if isinstance(body, bytes) else body
    pairs = "".join(
        f"{key}{params[key]}" for key in sorted(params) if key not in ("sign", "access_token")
    )
    wrapped = f"{app_secret}{path}{pairs}{text}{app_secret}"
    return hmac.new(app_secret.encode(), wrapped.encode(), hashlib.sha256).hexdigest()


def fetch_order(
    store: Store,
    external_id: str,
    hints: Mapping[str, str] | None = None,
    *,
    http: HttpClient | None = None,
    now: Callable[[], float] = time.time,
) -> Order:
    client = http or default_client()

    def refresh(creds: TikTokShopCredentials) -> TikTokShopCredentials:
        return refresh_access_token(creds, http=client)

    body = credentials.with_token(
        store.tenant_id,
        store.store_id,
        PLATFORM,
        refresh,
        lambda creds: _order_detail(client, creds, external_id, now),
        _token_rejected,
    )
    data = _data(body, GET_ORDER_DETAIL)
    orders = data.get("orders") if isinstance(data, dict) else None
    for order in orders or []:
        if isinstance(order, dict) and str(order.get("id")) == external_id:
            return to_order(order, market=store.market)
    raise order_not_found(PLATFORM, GET_ORDER_DETAIL, external_id, "in this shop")


def _order_detail(
    client: HttpClient, creds: TikTokShopCredentials, external_id: str, now: Callable[[], float]
) -> tuple[int, Any]:
    params: dict[str, object] = {
        "app_key": creds.app_key,
        "ids": external_id,
        "shop_cipher": creds.shop_cipher,
        "timestamp": int(now()),
    }
    params["sign"] = sign(creds.app_secret, ORDER_DETAIL_PATH, params)
    response = client.send(
        Request(
            "GET",
            build_url(config.endpoints().tiktok_api_base, ORDER_DETAIL_PATH, params),
            PLATFORM.value,
            GET_ORDER_DETAIL,
            headers={
                "x-tts-access-token": creds.access_token or "",
                "Content-Type": "application/json",
            },
        )
    )
    return response.status, response.json()


def _code(body: Any) -> int | None:
    if not isinstance(body, dict):
        return None
    try:
        return int(body.get("code"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _token_rejected(answer: tuple[int, Any]) -> bool:
    code = _code(answer[1])
    return code is not None and code in TOKEN_CODES


def _data(answer: tuple[int, Any], operation: str) -> Any:
    status, body = answer
    code = _code(body)
    if code == 0 and status < 400:
        return body.get("data")
    message = body.get("message") if isinstance(body, dict) else None
    if code is None:
        raise PermanentMarketplaceError(
            f"TikTok Shop {operation} answered HTTP {status} without a code",
            platform=PLATFORM.value,
            operation=operation,
            code=UNEXPECTED_RESPONSE,
            http_status=status,
        )
    rejected = code == INVALID_SIGN or code in TOKEN_CODES
    raise PermanentMarketplaceError(
        f"TikTok Shop {operation} answered code {code}: {message}",
        platform=PLATFORM.value,
        operation=operation,
        code=CREDENTIALS_REJECTED if rejected else BAD_REQUEST,
        http_status=status,
        platform_code=code,
    )


def refresh_access_token(
    creds: TikTokShopCredentials, *, http: HttpClient | None = None
) -> TikTokShopCredentials:
    client = http or default_client()
    params = {
        "app_key": creds.app_key,
        "app_secret": creds.app_secret,
        "refresh_token": creds.refresh_token,
        "grant_type": "refresh_token",
    }
    response: Response = client.send(
        Request(
            "GET",
            build_url(config.endpoints().tiktok_auth_base, REFRESH_PATH, params),
            PLATFORM.value,
            REFRESH_OP,
        )
    )
    body = response.json()
    if _code(body) != 0 or response.status >= 400:
        # The refresh token is expired or revoked, or the app secret is wrong: a person has to
        # authorise the shop again.
        raise refresh_refused(PLATFORM, REFRESH_OP, response.status, f"code {_code(body)}")
    data = body.get("data") or {}
    if not data.get("access_token") or not data.get("refresh_token"):
        raise PermanentMarketplaceError(
            "TikTok Shop token refresh answered without tokens",
            platform=PLATFORM.value,
            operation=REFRESH_OP,
            code=UNEXPECTED_RESPONSE,
        )
    return creds.model_copy(
        update={
            "access_token": str(data["access_token"]),
            "access_token_expires_at": credentials.expires_at(data.get("access_token_expire_in")),
            "refresh_token": str(data["refresh_token"]),
            "refresh_token_expires_at": credentials.expires_at(data.get("refresh_token_expire_in")),
        }
    )


# --------------------------------------------------------------------------------- mapping


def _epoch(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


def to_order(order: Mapping[str, Any], *, market: str | None = None) -> Order:
    """One order of Get Order Detail's ``data.orders`` → the canonical order."""
    try:
        return _to_order(order, market)
    except PermanentMarketplaceError:
        raise
    except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
        raise PermanentMarketplaceError(
            f"TikTok Shop order detail unreadable: {exc}",
            platform=PLATFORM.value,
            operation=GET_ORDER_DETAIL,
            code=UNEXPECTED_RESPONSE,
        ) from exc


def _to_order(order: Mapping[str, Any], market: str | None) -> Order:
    payment = order["payment"]
    currency = str(payment["currency"]).upper()
    if not money.is_currency(currency):
        raise ValueError(f"not a currency: {currency!r}")

    def amount(name: str) -> Decimal:
        return money.parse_amount(payment.get(name), currency)

    raw_status = str(order.get("status") or "")
    status = canonical_status(PLATFORM, raw_status)
    lines = []
    for item in order.get("line_items") or []:
        quantity = int(item.get("quantity") or 1)
        unit = money.parse_amount(item.get("sale_price"), currency)
        lines.append(
            LineItem(
                line_id=str(item["id"]),
                sku=item.get("seller_sku") or None,
                title=str(item.get("product_name") or ""),
                quantity=quantity,
                unit_price=unit,
                total=money.quantize(unit * quantity, currency),
                product_id=str(item["product_id"]) if item.get("product_id") else None,
                variant_id=str(item["sku_id"]) if item.get("sku_id") else None,
            )
        )
    recipient = order.get("recipient_address") or {}
    address = None
    if recipient:
        address = Address(
            country_code=(recipient.get("region_code") or "").upper() or None,
            zip=recipient.get("postal_code") or None,
        )
    customer = None
    if order.get("user_id") or order.get("buyer_email"):
        customer = Person(
            platform_customer_id=str(order["user_id"]) if order.get("user_id") else None,
            email=order.get("buyer_email") or None,
        )
    created_at = _epoch(order["create_time"])
    updated_at = _epoch(order.get("update_time") or order["create_time"])
    return Order(
        platform=PLATFORM,
        external_id=str(order["id"]),
        name=str(order["id"]),
        status=status,
        platform_status=raw_status,
        currency=currency,
        subtotal=amount("sub_total"),
        total=amount("total_amount"),
        tax=amount("tax"),
        shipping=amount("shipping_fee"),
        discounts=money.quantize(amount("seller_discount") + amount("platform_discount"), currency),
        line_items=tuple(lines),
        customer=customer,
        shipping_address=address,
        created_at=created_at,
        updated_at=updated_at,
        paid=implies_paid(status),
        fully_fulfilled=status in (OrderStatus.FULFILLED, OrderStatus.DELIVERED),
        cancelled_at=updated_at if status is OrderStatus.CANCELLED else None,
        cancel_reason=order.get("cancel_reason") or None,
        market=(market or "").upper() or None,
        amounts_pending=False,
    )
