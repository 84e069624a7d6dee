"""Lazada Open Platform: fetch one order and its items as a canonical :class:`Order`.

Signing ("Signature algorithm", Lazada Open Platform documentation, mirrored at
https://open.alitrip.com/docs/doc.htm?articleId=108068&docType=1&treeId=499, with the worked
``/order/get`` example at ...?articleId=108069&docType=1&treeId=499):

1. sort every request parameter except ``sign`` (and byte-array parameters) by name, in ASCII
   order;
2. concatenate them as ``{key}{value}`` (the reference SDK skips empty values);
3. prepend the API name, i.e. the API path (``/order/get``);
4. ``sign`` = HMAC-SHA256 of that string keyed by the app secret, as UPPERCASE hex.

Common parameters ``app_key``, ``timestamp`` (Unix milliseconds), ``sign_method=sha256``,
``access_token``, ``sign``. Unlike TikTok Shop, the access token is signed. The docs publish a
worked example for ``/order/get`` (app secret ``helloworld`` → ``4190D323…FAB4A``), which the unit
tests reproduce. The path signed is the API path, not the URL path: the base URL ends in
``/rest`` (``https://api.lazada.sg/rest``) and a local fake may add its own prefix.

Calls: GetOrder ``GET /order/get?order_id=`` → ``{"code": "0", "data": {order_id, order_number,
price, voucher, shipping_fee, statuses: [...], created_at, updated_at, address_shipping,
customer_first_name, customer_last_name, ...}, "request_id"}`` and GetOrderItems
``GET /order/items/get?order_id=`` → ``data`` = one object per unit sold (``order_item_id``,
``name``, ``sku``, ``item_price``, ``paid_price``, ``tax_amount``, ``currency``, ``status``, ...).
The order has no single status: ``statuses`` lists its items' statuses, folded here into one
canonical status. Amounts follow the "Get Order" guide: ``price`` excludes discounts and the buyer
paid ``price - voucher + shipping_fee``
(https://open.alitrip.com/docs/doc.htm?articleId=121327&docType=1&treeId=499).

Errors: ``{"type": "ISV"|"ISP"|"SYSTEM", "code": "...", "message", "request_id"}``, typically
with HTTP 200: ``IncompleteSignature`` (wrong app secret → ``credentials_rejected``),
``IllegalAccessToken`` (refreshed once, then ``credentials_rejected``), ``ApiCallLimit``
(throttled: retried like a 429). An order the seller does not have is ``order_not_found``.

Base URL: the order's site (``hints["site"]``, e.g. ``lazada_vn``, else the site selling in
``hints["market"]`` or the store's market) from ``LAZADA_SITES``, unless ``LAZADA_API_BASE`` is
set. Token refresh: ``/auth/token/refresh`` on ``LAZADA_AUTH_BASE`` with ``refresh_token``,
signed the same way → ``access_token``, ``refresh_token``, ``expires_in``,
``refresh_expires_in`` (seconds).
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
from linkstar.contacts import to_e164
from linkstar.orders.lifecycle import RANK, canonical_status, implies_paid
from linkstar.orders.models import Address, LineItem, Order, OrderStatus, Person, Platform
from linkstar.platforms.clients import config, credentials
from linkstar.platforms.clients.credentials import LazadaCredentials
from linkstar.platforms.clients.http import (
    BAD_REQUEST,
    CREDENTIALS_REJECTED,
    UNEXPECTED_RESPONSE,
    UNKNOWN_MARKETPLACE,
    HttpClient,
    PermanentMarketplaceError,
    Request,
    Response,
    build_url,
    default_client,
    order_not_found,
    refresh_refused,
)
from linkstar.platforms.marketplaces import LAZADA_SITES
from linkstar.stores.models import Store

PLATFORM = Platform.LAZADA
GET_ORDER = "GetOrder"
GET_ORDER_ITEMS = "GetOrderItems"
REFRESH_OP = "RefreshAccessToken"
ORDER_PATH = "/order/get"
ITEMS_PATH = "/order/items/get"
REFRESH_PATH = "/auth/token/refresh"

TOKEN_ERRORS = frozenset({"IllegalAccessToken"})
SIGNATURE_ERRORS = frozenset({"IncompleteSignature", "InvalidSignature"})
THROTTLE_ERRORS = frozenset({"ApiCallLimit"})
# Lazada's GetOrder business error for an order id the seller does not have ("E016: Invalid
# Order ID" in the seller center's numbering).
NOT_FOUND_ERRORS = frozenset({"16", "E016"})


def sign(app_secret: str, api_path: str, params: Mapping[str, object]) -> str:
    """The documented signature (steps in the module docstring), uppercase hex."""
    pairs = "".join(
        f"{key}{params[key]}"
        for key in sorted(params)
        if key != "sign" and params[key] is not None and str(params[key]) != ""
    )
    digest = hmac.new(app_secret.encode(), (api_path + pairs).encode(), hashlib.sha256)
    return digest.hexdigest().upper()


def resolve_site(store: Store, hints: Mapping[str, str]) -> tuple[str, str, str, str]:
    """(site, country, currency, API base) of the order's Lazada site."""
    site = (hints.get("site") or "").lower()
    if site:
        if site not in LAZADA_SITES:
            raise _unknown_site(f"unknown Lazada site {site!r}")
        return (site, *LAZADA_SITES[site])
    country = (hints.get("market") or store.market or "").upper()
    for name, (site_country, currency, base) in LAZADA_SITES.items():
        if site_country == country:
            return name, site_country, currency, base
    raise _unknown_site(f"no Lazada site sells in {country!r}")


def _unknown_site(message: str) -> PermanentMarketplaceError:
    return PermanentMarketplaceError(
        message, platform=PLATFORM.value, operation=GET_ORDER, code=UNKNOWN_MARKETPLACE
    )


def fetch_order(
    store: Store,
    external_id: str,
    hints: Mapping[str, str] | None = None,
    *,
    http: HttpClient | None = None,
    now: Callable[[], float] = time.time,
) -> Order:
    client = http or default_client()
    _site, country, currency, site_base = resolve_site(store, hints or {})
    base = config.endpoints().lazada_base(site_base)

    def refresh(creds: LazadaCredentials) -> LazadaCredentials:
        return refresh_access_token(creds, http=client, now=now)

    def call(path: str, operation: str) -> Any:
        body = credentials.with_token(
            store.tenant_id,
            store.store_id,
            PLATFORM,
            refresh,
            lambda creds: _get(client, base, path, operation, creds, external_id, now),
            lambda answer: _code(answer) in TOKEN_ERRORS,
        )
        return _data(body, operation, external_id)

    order = call(ORDER_PATH, GET_ORDER)
    if not isinstance(order, dict) or not order.get("order_id"):
        raise order_not_found(PLATFORM, GET_ORDER, external_id)
    items = call(ITEMS_PATH, GET_ORDER_ITEMS)
    if not isinstance(items, list):
        raise PermanentMarketplaceError(
            "Lazada GetOrderItems answered no item list",
            platform=PLATFORM.value,
            operation=GET_ORDER_ITEMS,
            code=UNEXPECTED_RESPONSE,
        )
    return to_order(order, items, country=country, currency=currency)


def _is_throttled(response: Response) -> bool:
    return _code(response.json()) in THROTTLE_ERRORS


def _get(
    client: HttpClient,
    base: str,
    path: str,
    operation: str,
    creds: LazadaCredentials,
    external_id: str,
    now: Callable[[], float],
) -> Any:
    params: dict[str, object] = {
        "app_key": creds.app_key,
        "timestamp": int(now() * 1000),
        "sign_method": "sha256",
        "access_token": creds.access_token or "",
        "order_id": external_id,
    }
    params["sign"] = sign(creds.app_secret, path, params)
    response = client.send(
        Request("GET", build_url(base, path, params), PLATFORM.value, operation),
        throttled=_is_throttled,
    )
    body = response.json()
    if not isinstance(body, dict):
        raise PermanentMarketplaceError(
            f"Lazada {operation} answered HTTP {response.status} without a JSON body",
            platform=PLATFORM.value,
            operation=operation,
            code=UNEXPECTED_RESPONSE,
            http_status=response.status,
        )
    return body


def _code(body: Any) -> str | None:
    if not isinstance(body, dict) or body.get("code") is None:
        return None
    return str(body["code"])


def _data(body: Any, operation: str, external_id: str) -> Any:
    code = _code(body)
    if code == "0":
        return body.get("data")
    if code in NOT_FOUND_ERRORS:
        raise order_not_found(PLATFORM, operation, external_id)
    rejected = code in TOKEN_ERRORS or code in SIGNATURE_ERRORS
    raise PermanentMarketplaceError(
        f"Lazada {operation} answered {code}: {body.get('message')}",
        platform=PLATFORM.value,
        operation=operation,
        code=CREDENTIALS_REJECTED if rejected else BAD_REQUEST,
        platform_code=code,
    )


def refresh_access_token(
    creds: LazadaCredentials,
    *,
    http: HttpClient | None = None,
    now: Callable[[], float] = time.time,
) -> LazadaCredentials:
    client = http or default_client()
    params: dict[str, object] = {
        "app_key": creds.app_key,
        "timestamp": int(now() * 1000),
        "sign_method": "sha256",
        "refresh_token": creds.refresh_token,
    }
    params["sign"] = sign(creds.app_secret, REFRESH_PATH, params)
    response = client.send(
        Request(
            "GET",
            build_url(config.endpoints().lazada_auth_base, REFRESH_PATH, params),
            PLATFORM.value,
            REFRESH_OP,
        ),
        throttled=_is_throttled,
    )
    body = response.json()
    if _code(body) != "0" or not body.get("access_token"):
        # A refresh token past its life, or a wrong app key/secret: re-authorise the seller.
        raise refresh_refused(PLATFORM, REFRESH_OP, response.status, _code(body))
    return creds.model_copy(
        update={
            "access_token": str(body["access_token"]),
            "access_token_expires_at": credentials.expires_in(body.get("expires_in")),
            "refresh_token": str(body.get("refresh_token") or creds.refresh_token),
            "refresh_token_expires_at": credentials.expires_in(body.get("refresh_expires_in")),
        }
    )


# --------------------------------------------------------------------------------- mapping


def _time(value: Any) -> datetime:
    text = str(value).strip()
    try:
        parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")  # "2014-10-11 14:08:29 +0800"
    except ValueError:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time without an offset: {text!r}")
    return parsed.astimezone(UTC)


def _amount(value: Any, currency: str) -> Decimal:
    # Some sites format prices with thousands separators ("1,299.00").
    return money.parse_amount(str(value).replace(",", "") if value is not None else None, currency)


def order_status(statuses: list[str]) -> OrderStatus:
    """One canonical status for an order whose items each have their own."""
    mapped = {canonical_status(PLATFORM, s) for s in statuses}
    if not mapped:
        return canonical_status(PLATFORM, None)  # raises: an order without any status
    if len(mapped) == 1:
        return next(iter(mapped))
    active = mapped - {OrderStatus.CANCELLED, OrderStatus.REFUNDED}
    if not active:
        return OrderStatus.REFUNDED if OrderStatus.REFUNDED in mapped else OrderStatus.CANCELLED
    shipped = active & {OrderStatus.FULFILLED, OrderStatus.DELIVERED}
    waiting = active & {OrderStatus.PENDING, OrderStatus.PAID}
    if shipped and waiting:
        return OrderStatus.PARTIALLY_FULFILLED
    # What is still moving decides; the least advanced of it, so nothing is overstated.
    return min(active, key=lambda s: RANK[s])


def to_order(
    order: Mapping[str, Any], items: list[dict[str, Any]], *, country: str, currency: str
) -> Order:
    """GetOrder's ``data`` and GetOrderItems' ``data`` → the canonical order."""
    try:
        return _to_order(order, items, country, currency)
    except PermanentMarketplaceError:
        raise
    except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
        raise PermanentMarketplaceError(
            f"Lazada order unreadable: {exc}",
            platform=PLATFORM.value,
            operation=GET_ORDER,
            code=UNEXPECTED_RESPONSE,
        ) from exc


def _to_order(
    order: Mapping[str, Any], items: list[dict[str, Any]], country: str, site_currency: str
) -> Order:
    currency = str(next((i["currency"] for i in items if i.get("currency")), site_currency)).upper()
    raw_statuses = [str(s) for s in order.get("statuses") or []] or [
        str(i["status"]) for i in items if i.get("status")
    ]
    status = order_status(raw_statuses)
    price = _amount(order.get("price"), currency)
    voucher = _amount(order.get("voucher"), currency)
    shipping = _amount(order.get("shipping_fee"), currency)
    lines = []
    tax = Decimal(0)
    for item in items:
        unit = _amount(item.get("item_price"), currency)
        paid = item.get("paid_price")
        tax += _amount(item.get("tax_amount"), currency)
        lines.append(
            LineItem(
                line_id=str(item["order_item_id"]),
                sku=item.get("sku") or None,
                title=str(item.get("name") or ""),
                quantity=1,  # Lazada answers one item object per unit sold
                unit_price=unit,
                total=_amount(paid, currency) if paid is not None else unit,
                product_id=str(item["product_id"]) if item.get("product_id") else None,
                variant_id=str(item["sku_id"]) if item.get("sku_id") else None,
            )
        )
    shipping_to = order.get("address_shipping") or {}
    phone = to_e164(shipping_to.get("phone"), country) if shipping_to else None
    # address_shipping.country is a name ("Singapore"); a Lazada site delivers in its own
    # country, which is the code we need.
    address = Address(
        country_code=country,
        city=shipping_to.get("city") or None,
        zip=shipping_to.get("post_code") or None,
    )
    first = order.get("customer_first_name") or None
    last = order.get("customer_last_name") or None
    customer = (
        Person(first_name=first, last_name=last, phone=phone) if first or last or phone else None
    )
    created_at = _time(order["created_at"])
    updated_at = _time(order.get("updated_at") or order["created_at"])
    order_id = str(order["order_id"])
    return Order(
        platform=PLATFORM,
        external_id=order_id,
        name=str(order.get("order_number") or order_id),
        status=status,
        platform_status=",".join(dict.fromkeys(raw_statuses)),
        currency=currency,
        subtotal=price,
        total=money.quantize(price - voucher + shipping, currency),
        tax=money.quantize(tax, currency),
        shipping=shipping,
        discounts=voucher,
        line_items=tuple(lines),
        customer=customer,
        shipping_address=address,
        created_at=created_at,
        updated_at=updated_at,
        paid=implies_paid(status),
        fully_fulfilled=status in (OrderStatus.FULFILLED, OrderStatus.DELIVERED),
        cancelled_at=updated_at if status is OrderStatus.CANCELLED else None,
        source_name=None,
        market=country,
        amounts_pending=False,
    )
