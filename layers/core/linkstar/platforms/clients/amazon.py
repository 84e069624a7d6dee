"""Amazon Selling Partner API: fetch one order and its items, as a canonical :class:`Order`.

Authorisation. Every call carries an LWA access token in ``x-amz-access-token``; the token comes
from the Login with Amazon refresh-token grant (``POST`` form ``grant_type=refresh_token``,
``refresh_token``, ``client_id``, ``client_secret`` to ``LWA_TOKEN_URL``; answer ``access_token``,
``expires_in`` = 3600). See "Connecting to the Selling Partner API",
https://developer-docs.amazon.com/sp-api/docs/connecting-to-the-selling-partner-api.
No AWS Signature Version 4: since 2 October 2023 SP-API needs neither IAM nor SigV4 and ignores a
signature if one is sent ("SP-API no longer requires AWS IAM or AWS Signature Version 4",
https://developer-docs.amazon.com/sp-api/changelog/sp-api-will-no-longer-require-aws-iam-or-aws-signature-version-4).

Calls (Orders API v0, ``models/orders-api-model/ordersV0.json`` in
https://github.com/amzn/selling-partner-api-models): ``getOrder``
``GET /orders/v0/orders/{orderId}`` and ``getOrderItems``
``GET /orders/v0/orders/{orderId}/orderItems`` (``NextToken`` pages), each 0.5 requests/s with a
burst of 30. The regional host comes from the marketplace (``hints["marketplace_id"]``, else the
country in ``hints["market"]``, else the store's market); ``SPAPI_ENDPOINT`` overrides it.

Answers: ``{"payload": {...}}``; errors ``{"errors": [{"code", "message", "details"}]}`` with
400 (``InvalidInput``), 403 (``Unauthorized``: token expired, revoked or not granted), 404, 429
(``QuotaExceeded``), 5xx. An unknown order id is documented as 404 but has been seen answered
``200 {"payload": {}}`` (selling-partner-api-models issue #2939): both are ``order_not_found``.

Mapping: ``OrderTotal`` → total and currency; Σ ``ItemPrice`` (already price x quantity, per the
model) → subtotal; Σ ``ItemTax`` + ``ShippingTax`` + ``GiftWrapTax`` → tax; Σ ``ShippingPrice``
→ shipping; Σ ``PromotionDiscount`` + ``ShippingDiscount`` → discounts; ``OrderStatus`` through
:mod:`linkstar.orders.lifecycle`; ``PurchaseDate`` / ``LastUpdateDate``; ``MarketplaceId`` →
market; ``ShippingAddress``; ``BuyerInfo.BuyerEmail`` when present. A ``Pending`` order has no
prices yet (the getOrderItems note says so): :class:`AmountsNotYetAvailable` rather than an order
with invented zeros.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

from linkstar import money
from linkstar.contacts import to_e164
from linkstar.orders.lifecycle import canonical_status, implies_paid
from linkstar.orders.models import Address, LineItem, Order, OrderStatus, Person, Platform
from linkstar.platforms.clients import config, credentials
from linkstar.platforms.clients.credentials import AmazonCredentials
from linkstar.platforms.clients.http import (
    BAD_REQUEST,
    CREDENTIALS_REJECTED,
    UNEXPECTED_RESPONSE,
    UNKNOWN_MARKETPLACE,
    AmountsNotYetAvailable,
    HttpClient,
    PermanentMarketplaceError,
    Request,
    Response,
    build_url,
    default_client,
    order_not_found,
    refresh_refused,
)
from linkstar.platforms.marketplaces import (
    AMAZON_MARKETPLACES,
    AmazonMarketplace,
    amazon_marketplace,
)
from linkstar.stores.models import Store

PLATFORM = Platform.AMAZON
GET_ORDER = "getOrder"
GET_ORDER_ITEMS = "getOrderItems"
LWA_GRANT = "lwaToken"
# getOrderItems pages hold dozens of items; this many pages is a runaway NextToken, not an order.
MAX_ITEM_PAGES = 50


def fetch_order(
    store: Store,
    external_id: str,
    hints: Mapping[str, str] | None = None,
    *,
    http: HttpClient | None = None,
) -> Order:
    client = http or default_client()
    marketplace = resolve_marketplace(store, hints or {})
    base = config.endpoints().spapi_base(marketplace.region)
    order_path = f"/orders/v0/orders/{quote(external_id, safe='')}"

    order = _get(client, store, base, order_path, {}, GET_ORDER, external_id)
    if not order:
        raise order_not_found(PLATFORM, GET_ORDER, external_id)
    items: list[dict[str, Any]] = []
    params: dict[str, str] = {}
    for _ in range(MAX_ITEM_PAGES):
        page = _get(
            client, store, base, order_path + "/orderItems", params, GET_ORDER_ITEMS, external_id
        )
        items.extend(page.get("OrderItems") or [])
        next_token = page.get("NextToken")
        if not next_token:
            break
        params = {"NextToken": str(next_token)}
    else:
        raise _unexpected(GET_ORDER_ITEMS, f"more than {MAX_ITEM_PAGES} pages of items")
    return to_order(order, items, fallback=marketplace)


def resolve_marketplace(store: Store, hints: Mapping[str, str]) -> AmazonMarketplace:
    marketplace_id = hints.get("marketplace_id")
    if marketplace_id:
        found = amazon_marketplace(marketplace_id)
        if found is None:
            raise PermanentMarketplaceError(
                f"unknown Amazon marketplace id {marketplace_id!r}",
                platform=PLATFORM.value,
                operation=GET_ORDER,
                code=UNKNOWN_MARKETPLACE,
            )
        return found
    country = (hints.get("market") or store.market or "").upper()
    for marketplace in AMAZON_MARKETPLACES.values():
        if marketplace.country == country:
            return marketplace
    raise PermanentMarketplaceError(
        f"no Amazon marketplace sells in {country!r}",
        platform=PLATFORM.value,
        operation=GET_ORDER,
        code=UNKNOWN_MARKETPLACE,
    )


# ----------------------------------------------------------------------------------- calls


def _get(
    client: HttpClient,
    store: Store,
    base: str,
    path: str,
    params: Mapping[str, str],
    operation: str,
    external_id: str,
) -> dict[str, Any]:
    def refresh(creds: AmazonCredentials) -> AmazonCredentials:
        return refresh_access_token(creds, http=client)

    url = build_url(base, path, params)
    response = credentials.with_token(
        store.tenant_id,
        store.store_id,
        PLATFORM,
        refresh,
        lambda creds: client.send(_request(url, operation, creds)),
        lambda answer: answer.status == 403,
    )
    return _payload(response, operation, external_id)


def _request(url: str, operation: str, creds: AmazonCredentials) -> Request:
    return Request(
        "GET",
        url,
        PLATFORM.value,
        operation,
        headers={
            "x-amz-access-token": creds.access_token or "",
            "Accept": "application/json",
            "User-Agent": "LinkStar/1.0 (Language=Python)",
        },
    )


def _errors(response: Response) -> str:
    body = response.json()
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors:
        return "; ".join(
            f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict)
        )
    return f"HTTP {response.status}"


def _payload(response: Response, operation: str, external_id: str) -> dict[str, Any]:
    status = response.status
    if status == 200:
        body = response.json()
        payload = body.get("payload") if isinstance(body, dict) else None
        if not isinstance(payload, dict):
            raise _unexpected(operation, "no payload object in a 200 answer")
        return payload
    if status == 404:
        raise order_not_found(PLATFORM, operation, external_id)
    code = CREDENTIALS_REJECTED if status in (401, 403) else BAD_REQUEST
    raise PermanentMarketplaceError(
        f"SP-API {operation} answered {status}: {_errors(response)}",
        platform=PLATFORM.value,
        operation=operation,
        code=code,
        http_status=status,
    )


def refresh_access_token(
    creds: AmazonCredentials, *, http: HttpClient | None = None
) -> AmazonCredentials:
    """The LWA refresh-token grant: a new access token (an hour) for the same refresh token."""
    client = http or default_client()
    form = urlencode(
        {
            "grant_type": "refresh_token",
            "refresh_token": creds.refresh_token,
            "client_id": creds.lwa_client_id,
            "client_secret": creds.lwa_client_secret,
        }
    ).encode()
    response = client.send(
        Request(
            "POST",
            config.endpoints().lwa_token_url,
            PLATFORM.value,
            LWA_GRANT,
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8"},
            body=form,
        )
    )
    body = response.json()
    if response.status == 200 and isinstance(body, dict) and body.get("access_token"):
        update: dict[str, Any] = {
            "access_token": str(body["access_token"]),
            "access_token_expires_at": credentials.expires_in(body.get("expires_in", 3600)),
        }
        if body.get("refresh_token"):
            update["refresh_token"] = str(body["refresh_token"])
        return creds.model_copy(update=update)
    error = body.get("error") if isinstance(body, dict) else None
    # OAuth 2.0 (RFC 6749 §5.2): invalid_grant = the refresh token is revoked or not this
    # client's; invalid_client = wrong client id/secret. Either way a person must re-authorise.
    rejected = error in ("invalid_grant", "invalid_client", "unauthorized_client")
    raise refresh_refused(
        PLATFORM,
        LWA_GRANT,
        response.status,
        error,
        code=CREDENTIALS_REJECTED if rejected else BAD_REQUEST,
    )


def _unexpected(operation: str, why: str) -> PermanentMarketplaceError:
    return PermanentMarketplaceError(
        f"SP-API {operation}: {why}",
        platform=PLATFORM.value,
        operation=operation,
        code=UNEXPECTED_RESPONSE,
    )


# --------------------------------------------------------------------------------- mapping


def _time(value: Any) -> datetime:
    if not isinstance(value, str) or not value:
        raise ValueError(f"not an ISO 8601 time: {value!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    # SP-API times are UTC ("ISO 8601 date time format"); one without an offset is still UTC.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _money(value: Any, currency: str) -> Decimal:
    if not isinstance(value, dict):
        return money.quantize(Decimal(0), currency)
    return money.parse_amount(value.get("Amount"), currency)


def to_order(
    order: Mapping[str, Any],
    items: list[dict[str, Any]],
    *,
    fallback: AmazonMarketplace | None = None,
) -> Order:
    """getOrder's payload and getOrderItems' items → the canonical order."""
    try:
        return _to_order(order, items, fallback)
    except PermanentMarketplaceError:
        raise
    except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
        raise _unexpected(GET_ORDER, f"cannot read the order: {exc}") from exc


def _to_order(
    order: Mapping[str, Any], items: list[dict[str, Any]], fallback: AmazonMarketplace | None
) -> Order:
    order_id = str(order["AmazonOrderId"])
    raw_status = str(order.get("OrderStatus") or "")
    status = canonical_status(PLATFORM, raw_status)
    marketplace = amazon_marketplace(order.get("MarketplaceId")) or fallback
    total_money = order.get("OrderTotal")
    if not isinstance(total_money, dict) or total_money.get("Amount") in (None, ""):
        if status is OrderStatus.CANCELLED:
            # A cancelled order may never have been priced: it is worth zero.
            currency = marketplace.currency if marketplace else "USD"
            total_money = {"CurrencyCode": currency, "Amount": "0"}
        else:
            raise AmountsNotYetAvailable(
                f"Amazon order {order_id} is {raw_status}: SP-API has no prices for it yet",
                platform=PLATFORM.value,
                operation=GET_ORDER,
            )
    currency = str(total_money.get("CurrencyCode") or (marketplace.currency if marketplace else ""))
    if not money.is_currency(currency):
        raise ValueError(f"no currency in OrderTotal: {currency!r}")

    def total_of(*names: str) -> Decimal:
        return money.quantize(
            sum((_money(item.get(n), currency) for item in items for n in names), Decimal(0)),
            currency,
        )

    lines = []
    for item in items:
        quantity = int(item.get("QuantityOrdered") or 0)
        line_total = _money(item.get("ItemPrice"), currency)
        unit = money.quantize(line_total / quantity, currency) if quantity else line_total
        lines.append(
            LineItem(
                line_id=str(item["OrderItemId"]),
                sku=item.get("SellerSKU") or None,
                title=str(item.get("Title") or ""),
                quantity=quantity,
                unit_price=unit,
                total=line_total,
                product_id=item.get("ASIN") or None,
            )
        )

    raw_address = order.get("ShippingAddress")
    address: dict[str, Any] = raw_address if isinstance(raw_address, dict) else {}
    shipping_address = None
    country = None
    if address:
        country = (address.get("CountryCode") or "").upper() or None
        region = address.get("StateOrRegion") or None
        shipping_address = Address(
            country_code=country,
            # Only a short code is a province code ("MI"); a full region name is not.
            province_code=region if region and len(region) <= 3 else None,
            city=address.get("City") or None,
            zip=address.get("PostalCode") or None,
        )
    raw_buyer = order.get("BuyerInfo")
    buyer: dict[str, Any] = raw_buyer if isinstance(raw_buyer, dict) else {}
    phone = to_e164(address.get("Phone"), country) if address else None
    customer = None
    if buyer.get("BuyerEmail") or phone:
        customer = Person(email=buyer.get("BuyerEmail") or None, phone=phone)

    updated_at = _time(order.get("LastUpdateDate") or order["PurchaseDate"])
    fulfilled = raw_status.lower() in ("shipped", "invoiceunconfirmed")
    return Order(
        platform=PLATFORM,
        external_id=order_id,
        name=order_id,
        status=status,
        platform_status=raw_status,
        currency=currency,
        subtotal=total_of("ItemPrice"),
        total=money.parse_amount(total_money.get("Amount"), currency),
        tax=total_of("ItemTax", "ShippingTax", "GiftWrapTax"),
        shipping=total_of("ShippingPrice"),
        discounts=total_of("PromotionDiscount", "ShippingDiscount"),
        line_items=tuple(lines),
        customer=customer,
        shipping_address=shipping_address,
        created_at=_time(order["PurchaseDate"]),
        updated_at=updated_at,
        paid=implies_paid(status),
        fully_fulfilled=fulfilled,
        cancelled_at=updated_at if status is OrderStatus.CANCELLED else None,
        source_name=order.get("SalesChannel") or None,
        market=marketplace.country if marketplace else None,
        amounts_pending=False,
    )
