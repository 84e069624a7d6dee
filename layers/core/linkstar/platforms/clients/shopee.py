"""Shopee Open Platform v2: fetch one order as a canonical :class:`Order`.

Signing (Shopee Open Platform developer guide, https://open.shopee.com/developer-guide/16 and
https://open.shopee.com/documents?module=87&type=2&id=58&version=2, the page every Shop API's
``sign`` parameter links to): ``sign`` = lowercase hex HMAC-SHA256 keyed by the partner key over

- ``{partner_id}{api path}{timestamp}{access_token}{shop_id}`` for Shop APIs;
- ``{partner_id}{api path}{timestamp}`` for Public APIs such as the token refresh.

Common query parameters: ``partner_id``, ``timestamp`` (Unix seconds, valid five minutes),
``access_token``, ``shop_id``, ``sign``. The path signed is the API path (``/api/v2/...``), so a
base URL with a path prefix (the local fake) signs the same string as the real host. The guide's
worked example publishes a base string (``10090/api/v2/shop/auth_partner1594897040``) and its
digest but not the key, so tests check the formula on independently computed values.

Get Order Detail (``v2.order.get_order_detail``, API reference as mirrored in
congminh1254/shopee-sdk ``schemas/v2.order.get_order_detail.json``):
``GET /api/v2/order/get_order_detail`` with
``order_sn_list`` and ``response_optional_fields`` → ``{"error": "", "message": "", "request_id",
"response": {"order_list": [{order_sn, region, currency, order_status, create_time, update_time,
total_amount, item_list: [{item_id, item_name, item_sku, model_id, model_sku,
model_quantity_purchased, model_original_price, model_discounted_price}], recipient_address:
{region, zipcode, city, state}, buyer_user_id, pay_time, cancel_reason, ...}]}}``. Money is JSON
numbers in the order's currency. Errors put a name in ``error``: ``error_not_found`` (documented
example: "Wrong parameters, detail: the order is not found."), ``error_sign`` (wrong partner key →
``credentials_rejected``), ``error_auth`` / ``invalid_acceess_token`` (sic, as Shopee spells it;
refreshed once, then ``credentials_rejected``), ``error_param``.

What the detail does not say: buyer-paid shipping, vouchers and tax. ``total_amount`` is "the
total amount paid by the buyer … including shipping cost borne by the buyer, offset by Shopee
promotions"; the breakdown lives in ``v2.payment.get_escrow_detail``, one more call per order
that this client does not make. So subtotal = Σ discounted item price x quantity, total =
``total_amount``, and tax, shipping and discounts stay zero.

Token refresh (``v2.public.refresh_access_token``): ``POST /api/v2/auth/access_token/get`` signed
as a Public API, JSON body ``{refresh_token, partner_id, shop_id}`` → ``{access_token,
refresh_token, expire_in}`` (seconds; four hours). Each refresh returns a new refresh token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from linkstar import money
from linkstar.orders.lifecycle import canonical_status, implies_paid
from linkstar.orders.models import Address, LineItem, Order, OrderStatus, Person, Platform
from linkstar.platforms.clients import config, credentials
from linkstar.platforms.clients.credentials import ShopeeCredentials
from linkstar.platforms.clients.http import (
    BAD_REQUEST,
    CREDENTIALS_REJECTED,
    UNEXPECTED_RESPONSE,
    AmountsNotYetAvailable,
    HttpClient,
    PermanentMarketplaceError,
    Request,
    build_url,
    default_client,
    order_not_found,
    refresh_refused,
)
from linkstar.stores.models import Store

PLATFORM = Platform.SHOPEE
GET_ORDER_DETAIL = "get_order_detail"
REFRESH_OP = "refreshAccessToken"
ORDER_DETAIL_PATH = "/api/v2/order/get_order_detail"
REFRESH_PATH = "/api/v2/auth/access_token/get"
OPTIONAL_FIELDS = ",".join(
    (
        "buyer_user_id",
        "buyer_username",
        "recipient_address",
        "item_list",
        "pay_time",
        "total_amount",
        "cancel_by",
        "cancel_reason",
        "payment_method",
        "shipping_carrier",
    )
)
TOKEN_ERRORS = frozenset({"error_auth", "invalid_acceess_token", "invalid_access_token"})


def sign(
    partner_key: str,
    partner_id: int | str,
    path: str,
    timestamp: int | str,
    access_token: str = "",
    shop_id: int | str = "",
) -> str:
    """The documented signature; leave ``access_token`` and ``shop_id`` empty for Public APIs."""
    base = f"{partner_id}{path}{timestamp}{access_token}{shop_id}"
    return hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()


def fetch_order(
    store: Store,
    external_id: str,
    hints: Mapping[str, str] | None = None,
    *,
    http: HttpClient | None = None,
    now: Callable[[], float] = time.time,
) -> Order:
    client = http or default_client()

    def refresh(creds: ShopeeCredentials) -> ShopeeCredentials:
        return refresh_access_token(creds, http=client, now=now)

    status, body = credentials.with_token(
        store.tenant_id,
        store.store_id,
        PLATFORM,
        refresh,
        lambda creds: _order_detail(client, creds, external_id, now),
        lambda answer: _error(answer[1]) in TOKEN_ERRORS,
    )
    error = _error(body)
    if error == "error_not_found":
        raise order_not_found(PLATFORM, GET_ORDER_DETAIL, external_id, "in this shop")
    if error is None or error:
        if error is None:
            code = UNEXPECTED_RESPONSE
        elif error in TOKEN_ERRORS or error == "error_sign":
            code = CREDENTIALS_REJECTED
        else:
            code = BAD_REQUEST
        message = body.get("message") if isinstance(body, dict) else None
        raise PermanentMarketplaceError(
            f"Shopee {GET_ORDER_DETAIL} answered HTTP {status} {error or 'without a body'}: "
            f"{message}",
            platform=PLATFORM.value,
            operation=GET_ORDER_DETAIL,
            code=code,
            http_status=status,
        )
    orders = (body.get("response") or {}).get("order_list") or []
    for order in orders:
        if isinstance(order, dict) and str(order.get("order_sn")) == external_id:
            return to_order(order)
    raise order_not_found(PLATFORM, GET_ORDER_DETAIL, external_id, "in this shop")


def _error(body: Any) -> str | None:
    """The ``error`` name; ``""`` on success; ``None`` when the body is not Shopee's JSON."""
    if not isinstance(body, dict):
        return None
    return str(body.get("error") or "")


def _order_detail(
    client: HttpClient, creds: ShopeeCredentials, external_id: str, now: Callable[[], float]
) -> tuple[int, Any]:
    timestamp = int(now())
    access_token = creds.access_token or ""
    params: dict[str, object] = {
        "partner_id": creds.partner_id,
        "timestamp": timestamp,
        "access_token": access_token,
        "shop_id": creds.shop_id,
        "sign": sign(
            creds.partner_key,
            creds.partner_id,
            ORDER_DETAIL_PATH,
            timestamp,
            access_token,
            creds.shop_id,
        ),
        "order_sn_list": external_id,
        "response_optional_fields": OPTIONAL_FIELDS,
    }
    response = client.send(
        Request(
            "GET",
            build_url(config.endpoints().shopee_api_base, ORDER_DETAIL_PATH, params),
            PLATFORM.value,
            GET_ORDER_DETAIL,
            headers={"Content-Type": "application/json"},
        )
    )
    return response.status, response.json(decimals=True)


def refresh_access_token(
    creds: ShopeeCredentials,
    *,
    http: HttpClient | None = None,
    now: Callable[[], float] = time.time,
) -> ShopeeCredentials:
    client = http or default_client()
    timestamp = int(now())
    params = {
        "partner_id": creds.partner_id,
        "timestamp": timestamp,
        "sign": sign(creds.partner_key, creds.partner_id, REFRESH_PATH, timestamp),
    }
    payload = {
        "refresh_token": creds.refresh_token,
        "partner_id": creds.partner_id,
        "shop_id": creds.shop_id,
    }
    response = client.send(
        Request(
            "POST",
            build_url(config.endpoints().shopee_api_base, REFRESH_PATH, params),
            PLATFORM.value,
            REFRESH_OP,
            headers={"Content-Type": "application/json"},
            body=json.dumps(payload).encode(),
        )
    )
    body = response.json()
    error = _error(body)
    if error != "" or response.status >= 400 or not body.get("access_token"):
        # An expired or already-rotated refresh token, or a wrong partner key.
        raise refresh_refused(PLATFORM, REFRESH_OP, response.status, error)
    return creds.model_copy(
        update={
            "access_token": str(body["access_token"]),
            "access_token_expires_at": credentials.expires_in(body.get("expire_in", 14400)),
            "refresh_token": str(body.get("refresh_token") or creds.refresh_token),
        }
    )


# --------------------------------------------------------------------------------- mapping


def _epoch(value: Any) -> datetime:
    return datetime.fromtimestamp(int(value), UTC)


def to_order(order: Mapping[str, Any]) -> Order:
    """One order of get_order_detail's ``response.order_list`` → the canonical order."""
    try:
        return _to_order(order)
    except PermanentMarketplaceError:
        raise
    except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
        raise PermanentMarketplaceError(
            f"Shopee order detail unreadable: {exc}",
            platform=PLATFORM.value,
            operation=GET_ORDER_DETAIL,
            code=UNEXPECTED_RESPONSE,
        ) from exc


def _to_order(order: Mapping[str, Any]) -> Order:
    currency = str(order["currency"]).upper()
    if not money.is_currency(currency):
        raise ValueError(f"not a currency: {currency!r}")
    raw_status = str(order.get("order_status") or "")
    status = canonical_status(PLATFORM, raw_status)
    if order.get("total_amount") is None and status is not OrderStatus.CANCELLED:
        # Documented: total_amount is returned only once the buyer has paid.
        total = None
    else:
        total = money.parse_amount(order.get("total_amount"), currency)
    lines = []
    subtotal = Decimal(0)
    for item in order.get("item_list") or []:
        quantity = int(item.get("model_quantity_purchased") or 0)
        unit = money.parse_amount(item.get("model_discounted_price"), currency)
        line_total = money.quantize(unit * quantity, currency)
        subtotal += line_total
        model_id = item.get("model_id")
        title = str(item.get("item_name") or "")
        if item.get("model_name"):
            title = f"{title} ({item['model_name']})"
        lines.append(
            LineItem(
                line_id=f"{item['item_id']}-{model_id or 0}",
                sku=item.get("model_sku") or item.get("item_sku") or None,
                title=title,
                quantity=quantity,
                unit_price=unit,
                total=line_total,
                product_id=str(item["item_id"]),
                variant_id=str(model_id) if model_id else None,
            )
        )
    if total is None:
        raise AmountsNotYetAvailable(
            f"Shopee order {order.get('order_sn')} is {raw_status}: no total until it is paid",
            platform=PLATFORM.value,
            operation=GET_ORDER_DETAIL,
        )
    recipient = order.get("recipient_address") or {}
    address = None
    if recipient:
        address = Address(
            country_code=(recipient.get("region") or "").upper() or None,
            city=recipient.get("city") or None,
            zip=recipient.get("zipcode") or None,
        )
    customer = None
    if order.get("buyer_user_id"):
        customer = Person(platform_customer_id=str(order["buyer_user_id"]))
    created_at = _epoch(order["create_time"])
    updated_at = _epoch(order.get("update_time") or order["create_time"])
    zero = money.quantize(Decimal(0), currency)
    return Order(
        platform=PLATFORM,
        external_id=str(order["order_sn"]),
        name=str(order["order_sn"]),
        status=status,
        platform_status=raw_status,
        currency=currency,
        subtotal=money.quantize(subtotal, currency),
        total=total,
        tax=zero,
        shipping=zero,
        discounts=zero,
        line_items=tuple(lines),
        customer=customer,
        shipping_address=address,
        created_at=created_at,
        updated_at=updated_at,
        paid=implies_paid(status),
        fully_fulfilled=status in (OrderStatus.FULFILLED, OrderStatus.DELIVERED),
        cancelled_at=updated_at if status is OrderStatus.CANCELLED else None,
        cancel_reason=order.get("cancel_reason") or None,
        market=(order.get("region") or "").upper() or None,
        amounts_pending=False,
    )
