"""The Shopify adapter against Shopify's own published payloads."""

from __future__ import annotations

from decimal import Decimal

import pytest
from linkstar.errors import PermanentError
from linkstar.platforms import shopify
from linkstar.platforms.edge import SCHEMES, verify_shopify_signature

from tests.support import fixture_json


def test_hmac_vectors_verify_including_the_rotation_case() -> None:
    vectors = fixture_json("shopify/hmac_vectors.json")
    for vector in vectors:
        body = bytes.fromhex(vector["raw_body_hex"])
        signature = vector["expected_X-Shopify-Hmac-Sha256"]
        assert verify_shopify_signature([vector["secret"]], body, signature)
        # several secrets during rotation: any one that signed it verifies
        assert verify_shopify_signature(["secret", "old_secret"], body, signature)
        assert not verify_shopify_signature(["another"], body, signature)
        assert not verify_shopify_signature([vector["secret"]], body + b" ", signature)
    assert not verify_shopify_signature(["secret"], b"x", None)
    assert not verify_shopify_signature(["secret"], b"x", "not base64!")


def test_documented_headers_are_read() -> None:
    headers = fixture_json("shopify/webhook_headers_example.json")
    delivery = SCHEMES["shopify"].describe(headers, {}).headers
    assert delivery.topic == "orders/create"
    assert delivery.event_id == "98880550-7158-44d4-b7cd-2c97c8a091b5"
    assert delivery.webhook_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    lowered = SCHEMES["shopify"].describe({k.lower(): v for k, v in headers.items()}, {}).headers
    assert lowered == delivery


def test_order_fixture() -> None:
    change = shopify.normalise("orders/create", fixture_json("shopify/orders_create.json"))
    order = change.order
    assert order.external_id == "450789469"
    assert (order.total, order.subtotal, order.tax) == (
        Decimal("409.94"),
        Decimal("398.00"),
        Decimal("11.94"),
    )
    assert order.created_at.isoformat() == "2008-01-10T16:00:00+00:00"
    assert order.destination_country == "US"
    assert order.customer.email == "bob.norman@hostmail.com"
    assert not order.paid


def test_an_orders_landing_site_and_its_utm_are_kept() -> None:
    # Given the fixture order as published (a full URL without UTM), and the same order whose
    # buyer landed through a LinkStar email link (Shopify reports a path and its query)
    published = fixture_json("shopify/orders_create.json")
    tagged = dict(
        published,
        landing_site="/collections/new?ref=home&utm_source=linkstar&utm_medium=email"
        "&utm_campaign=welcome&utm_content=m0123456789abcdef0123456789abcde&utm_term=",
    )

    # When both are read
    plain = shopify.parse_order(published)
    linked = shopify.parse_order(tagged)

    # Then the landing site is kept as Shopify gave it, and its UTM parameters (only those,
    # blank ones left out) are the order's
    assert plain.landing_site == "http://www.example.com?source=abc"
    assert plain.utm == {}
    assert linked.utm == {
        "utm_source": "linkstar",
        "utm_medium": "email",
        "utm_campaign": "welcome",
        "utm_content": "m0123456789abcdef0123456789abcde",
    }
    # And an order without one has none
    assert shopify.parse_order(dict(published, landing_site=None)).landing_site is None


def test_refund_fixture_amount_comes_from_transactions() -> None:
    change = shopify.normalise("refunds/create", fixture_json("shopify/refunds_create.json"))
    assert change.order_external_id == "450789469"
    assert (change.refund.amount, change.refund.currency) == (Decimal("209.00"), "USD")


@pytest.mark.parametrize(
    "topic,name,kind",
    [
        ("customers/create", "customers_create", "customer"),
        ("customers/update", "customers_create", "customer"),
        ("checkouts/create", "checkouts_create", "checkout"),
        ("checkouts/update", "checkouts_create", "checkout"),
        ("fulfillments/create", "fulfillments_create", "fulfillment"),
        ("orders/paid", "orders_create", "order"),
        ("orders/cancelled", "orders_create", "order"),
        ("orders/fulfilled", "orders_create", "order"),
        ("orders/updated", "orders_create", "order"),
    ],
)
def test_every_topic_normalises_its_real_payload(topic: str, name: str, kind: str) -> None:
    assert shopify.normalise(topic, fixture_json(f"shopify/{name}.json")).kind == kind


def test_bad_payloads_are_permanent_errors_with_a_reason() -> None:
    order = fixture_json("shopify/orders_create.json")
    for broken, code in [
        ({**order, "currency": "dollars"}, "invalid_payload"),
        ({**order, "created_at": "yesterday"}, "invalid_payload"),
        ({**order, "total_price": "NaN"}, "invalid_payload"),
        ([], "not_an_object"),
    ]:
        with pytest.raises(PermanentError) as raised:
            shopify.normalise("orders/create", broken)
        assert raised.value.code == code
