"""Shopify adapter: a verified webhook body (REST resource JSON) → canonical changes.

Runs in the ingest function only. Anything that doesn't fit the model raises
:class:`~linkstar.errors.PermanentError` with a precise reason: that delivery goes to the DLQ
as it is, to be replayed once the adapter is fixed.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from linkstar import money
from linkstar.contacts import to_e164
from linkstar.errors import PermanentError
from linkstar.orders.lifecycle import SHOPIFY_PAID_STATES, shopify_status
from linkstar.orders.models import (
    Address,
    Change,
    Checkout,
    CheckoutSnapshot,
    CustomerProfile,
    CustomerSnapshot,
    Fulfillment,
    FulfillmentAdded,
    LineItem,
    Order,
    OrderSnapshot,
    Person,
    Platform,
    Refund,
    RefundAdded,
)
from linkstar.platforms._adapter import reading
from linkstar.platforms.edge import SHOPIFY_TOPICS
from linkstar.stores.models import Store

ORDER_TOPICS = frozenset(t for t in SHOPIFY_TOPICS if t.startswith("orders/"))


def normalise(topic: str, payload: Any, store: Store | None = None) -> Change:
    """``store`` is unused here: Shopify bodies are self-describing (currency, country)."""
    if not isinstance(payload, dict):
        raise PermanentError("payload is not a JSON object", code="not_an_object")
    with reading(topic, topic):
        if topic in ORDER_TOPICS:
            return OrderSnapshot(order=parse_order(payload))
        if topic == "refunds/create":
            return RefundAdded(
                order_external_id=_required_id(payload, "order_id"),
                refund=parse_refund(payload, currency=None),
            )
        if topic in ("fulfillments/create", "fulfillments/update"):
            return FulfillmentAdded(
                order_external_id=_required_id(payload, "order_id"),
                fulfillment=parse_fulfillment(payload),
            )
        if topic in ("checkouts/create", "checkouts/update"):
            return CheckoutSnapshot(checkout=parse_checkout(payload))
        if topic in ("customers/create", "customers/update"):
            return CustomerSnapshot(profile=parse_customer(payload))
    raise PermanentError(f"topic {topic!r} is not ingested", code="unsupported_topic")


# ------------------------------------------------------------------ helpers


def _required_id(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if value in (None, ""):
        raise PermanentError(f"missing {key}", code="invalid_payload")
    return str(value)


def _time(value: Any, field: str) -> datetime:
    if not value:
        raise ValueError(f"missing {field}")
    return datetime.fromisoformat(str(value))


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _optional_time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def _address(raw: Any) -> Address | None:
    if not isinstance(raw, dict):
        return None
    return Address(
        country_code=(raw.get("country_code") or None),
        province_code=raw.get("province_code") or None,
        city=raw.get("city") or None,
        zip=raw.get("zip") or None,
    )


def _country(*addresses: Address | None) -> str | None:
    for address in addresses:
        if address is not None and address.country_code:
            return address.country_code
    return None


def _person(payload: dict[str, Any], country: str | None) -> Person | None:
    raw_customer = payload.get("customer")
    customer: dict[str, Any] = raw_customer if isinstance(raw_customer, dict) else {}
    email = payload.get("email") or payload.get("contact_email") or customer.get("email")
    phone_raw = payload.get("phone") or customer.get("phone")
    if not phone_raw:
        for key in ("shipping_address", "billing_address"):
            address = payload.get(key)
            if isinstance(address, dict) and address.get("phone"):
                phone_raw = address["phone"]
                break
    customer_id = customer.get("id")
    if not (email or phone_raw or customer_id):
        return None
    accepts = payload.get("buyer_accepts_marketing")
    if accepts is None:
        accepts = customer.get("accepts_marketing")
    return Person(
        platform_customer_id=str(customer_id) if customer_id is not None else None,
        email=email or None,
        phone=to_e164(phone_raw, country),
        first_name=customer.get("first_name") or None,
        last_name=customer.get("last_name") or None,
        locale=payload.get("customer_locale") or customer.get("locale") or None,
        accepts_marketing=accepts,
    )


def _line_items(raw: Any, currency: str) -> tuple[LineItem, ...]:
    items = []
    for line in raw or ():
        quantity = int(line.get("quantity") or 0)
        unit = money.parse_amount(line.get("price"), currency)
        discount = money.parse_amount(line.get("total_discount"), currency)
        items.append(
            LineItem(
                line_id=str(line["id"]),
                sku=line.get("sku") or None,
                title=line.get("name") or line.get("title") or "",
                quantity=quantity,
                unit_price=unit,
                total=money.quantize(unit * quantity - discount, currency),
                product_id=str(line["product_id"]) if line.get("product_id") else None,
                variant_id=str(line["variant_id"]) if line.get("variant_id") else None,
            )
        )
    return tuple(items)


def _currency(payload: dict[str, Any]) -> str:
    currency = str(payload.get("currency") or "").upper()
    if not money.is_currency(currency):
        raise PermanentError(f"missing or invalid currency {currency!r}", code="invalid_payload")
    return currency


# ------------------------------------------------------------------ resources


def parse_order(payload: dict[str, Any]) -> Order:
    currency = _currency(payload)
    shipping = _address(payload.get("shipping_address"))
    billing = _address(payload.get("billing_address"))
    country = _country(shipping, billing)
    financial = payload.get("financial_status")
    fulfillment = payload.get("fulfillment_status")
    cancelled_at = _optional_time(payload.get("cancelled_at"))
    created_at = _time(payload.get("created_at"), "created_at")
    shipping_total = sum(
        (money.parse_amount(s.get("price"), currency) for s in payload.get("shipping_lines") or ()),
        Decimal(0),
    )
    return Order(
        platform=Platform.SHOPIFY,
        external_id=_required_id(payload, "id"),
        name=payload.get("name"),
        status=shopify_status(financial, fulfillment, cancelled_at is not None),
        platform_status=f"{financial or 'unknown'}/{fulfillment or 'unfulfilled'}"
        + ("/cancelled" if cancelled_at else ""),
        currency=currency,
        subtotal=money.parse_amount(payload.get("subtotal_price"), currency),
        total=money.parse_amount(payload.get("total_price"), currency),
        tax=money.parse_amount(payload.get("total_tax"), currency),
        shipping=money.quantize(shipping_total, currency),
        discounts=money.parse_amount(payload.get("total_discounts"), currency),
        line_items=_line_items(payload.get("line_items"), currency),
        customer=_person(payload, country),
        shipping_address=shipping,
        billing_address=billing,
        created_at=created_at,
        updated_at=_optional_time(payload.get("updated_at")) or created_at,
        paid=(financial or "") in SHOPIFY_PAID_STATES,
        fully_fulfilled=(fulfillment or "") == "fulfilled",
        cancelled_at=cancelled_at,
        cancel_reason=payload.get("cancel_reason"),
        refunds=tuple(parse_refund(r, currency) for r in payload.get("refunds") or ()),
        fulfillments=tuple(parse_fulfillment(f) for f in payload.get("fulfillments") or ()),
        source_name=payload.get("source_name"),
        checkout_token=payload.get("checkout_token"),
        # Where the buyer's session began: the UTM of the campaign link they came through.
        landing_site=_text(payload.get("landing_site")),
    )


def parse_refund(payload: dict[str, Any], currency: str | None) -> Refund:
    transactions = [
        t
        for t in payload.get("transactions") or ()
        if t.get("kind") == "refund" and t.get("status") in (None, "success")
    ]
    if transactions:
        currency = str(transactions[0].get("currency") or currency or "").upper() or None
        amount = sum((Decimal(str(t.get("amount") or 0)) for t in transactions), Decimal(0))
    else:
        amount = Decimal(0)
        for line in payload.get("refund_line_items") or ():
            subtotal = line.get("subtotal")
            if subtotal is None and isinstance(line.get("line_item"), dict):
                subtotal = Decimal(str(line["line_item"].get("price") or 0)) * int(
                    line.get("quantity") or 0
                )
            amount += Decimal(str(subtotal or 0))
    if currency:
        amount = money.quantize(amount, currency)
    return Refund(
        refund_id=_required_id(payload, "id"),
        amount=amount,
        currency=currency,
        created_at=_time(payload.get("created_at"), "created_at"),
        reason=payload.get("note") or None,
        line_items=tuple(
            (str(li.get("line_item_id")), int(li.get("quantity") or 0))
            for li in payload.get("refund_line_items") or ()
        ),
    )


def parse_fulfillment(payload: dict[str, Any]) -> Fulfillment:
    created_at = _time(payload.get("created_at"), "created_at")
    return Fulfillment(
        fulfillment_id=_required_id(payload, "id"),
        status=str(payload.get("status") or "unknown"),
        created_at=created_at,
        tracking_company=payload.get("tracking_company") or None,
        tracking_numbers=tuple(str(n) for n in payload.get("tracking_numbers") or () if n),
        tracking_urls=tuple(str(u) for u in payload.get("tracking_urls") or () if u),
        line_ids=tuple(str(li["id"]) for li in payload.get("line_items") or () if "id" in li),
        shipment_status=payload.get("shipment_status") or None,
    )


def parse_checkout(payload: dict[str, Any]) -> Checkout:
    currency = _currency(payload)
    shipping = _address(payload.get("shipping_address"))
    billing = _address(payload.get("billing_address"))
    country = _country(shipping, billing)
    created_at = _time(payload.get("created_at"), "created_at")
    token = payload.get("token") or payload.get("id")
    if not token:
        raise PermanentError("checkout has no token", code="invalid_payload")
    return Checkout(
        platform=Platform.SHOPIFY,
        external_id=str(token),
        email=payload.get("email") or None,
        customer=_person(payload, country),
        currency=currency,
        total=money.parse_amount(payload.get("total_price"), currency),
        line_items=_line_items(payload.get("line_items"), currency),
        recovery_url=payload.get("abandoned_checkout_url") or None,
        country_code=country,
        created_at=created_at,
        updated_at=_optional_time(payload.get("updated_at")) or created_at,
        completed_at=_optional_time(payload.get("completed_at")),
    )


def parse_customer(payload: dict[str, Any]) -> CustomerProfile:
    address = _address(payload.get("default_address"))
    country = address.country_code if address else None
    phone_raw = payload.get("phone")
    if not phone_raw and isinstance(payload.get("default_address"), dict):
        phone_raw = payload["default_address"].get("phone")
    consent = payload.get("email_marketing_consent")
    accepts = payload.get("accepts_marketing")
    if isinstance(consent, dict) and consent.get("state"):
        accepts = consent["state"] == "subscribed"
    created_at = _time(payload.get("created_at"), "created_at")
    return CustomerProfile(
        platform=Platform.SHOPIFY,
        person=Person(
            platform_customer_id=_required_id(payload, "id"),
            email=payload.get("email") or None,
            phone=to_e164(phone_raw, country),
            first_name=payload.get("first_name") or None,
            last_name=payload.get("last_name") or None,
            locale=payload.get("locale") or None,
            accepts_marketing=accepts,
        ),
        country_code=country,
        created_at=created_at,
        updated_at=_optional_time(payload.get("updated_at")) or created_at,
    )
