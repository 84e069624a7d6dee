"""Tenants never see each other's data, on every route; roles limit what a key may do."""

from __future__ import annotations

import pytest

from tests.integration.conftest import (
    Seller,
    Stack,
    body_of,
    call,
    drain_ingest,
    new_seller,
    post_webhook,
)
from tests.support import fixture_bytes


@pytest.fixture(scope="module")
def two_sellers(stack: Stack) -> tuple[Seller, Seller, dict]:
    a = new_seller(stack, "Alpha")
    b = new_seller(stack, "Bravo")
    post_webhook(stack, a, "orders/create", fixture_bytes("shopify/orders_create.json"))
    drain_ingest(stack)
    order = body_of(call(stack, "GET", "/orders", a.api_key))["orders"][0]
    keys = body_of(call(stack, "GET", "/api-keys", a.api_key))["api_keys"]
    return a, b, {"order": order, "key_id": keys[0]["key_id"]}


def test_another_tenants_ids_are_not_found(stack: Stack, two_sellers) -> None:
    a, b, known = two_sellers
    order_id, customer_id = known["order"]["order_id"], known["order"]["customer_id"]
    for method, path, body in [
        ("GET", f"/orders/{order_id}", None),
        ("GET", f"/customers/{customer_id}", None),
        ("GET", f"/stores/{a.store_id}", None),
        ("POST", f"/stores/{a.store_id}/webhook-secrets", {"webhook_secret": "hijacked-secret"}),
        ("DELETE", f"/api-keys/{known['key_id']}", None),
    ]:
        response = call(stack, method, path, b.api_key, body)
        assert response.status_code == 404, (method, path, response.body)
    # and the owner still sees them
    assert call(stack, "GET", f"/orders/{order_id}", a.api_key).status_code == 200
    assert call(stack, "GET", f"/stores/{a.store_id}", a.api_key).status_code == 200


def test_listings_only_show_the_callers_data(stack: Stack, two_sellers) -> None:
    a, b, _ = two_sellers
    for path, field in [
        ("/orders", "orders"),
        ("/customers", "customers"),
        ("/customers?email=bob.norman@hostmail.com", "customers"),
        ("/stores", "stores"),
        ("/reports/daily?from=2008-01-01&to=2008-01-31", "rows"),
    ]:
        theirs = body_of(call(stack, "GET", path, b.api_key))[field]
        mine = body_of(call(stack, "GET", path, a.api_key))[field]
        assert mine, path
        assert all(item.get("store_id", b.store_id) != a.store_id for item in theirs), path
        assert not any(item.get("customer_id") for item in theirs), path
    keys_b = body_of(call(stack, "GET", "/api-keys", b.api_key))["api_keys"]
    keys_a = body_of(call(stack, "GET", "/api-keys", a.api_key))["api_keys"]
    assert not {k["key_id"] for k in keys_a} & {k["key_id"] for k in keys_b}


def test_a_page_token_from_one_tenant_is_refused_for_another(stack: Stack, two_sellers) -> None:
    a, b, _ = two_sellers
    post_webhook(
        stack,
        a,
        "orders/create",
        fixture_bytes("shopify/orders_create.json").replace(b"450789469", b"450789470"),
    )
    drain_ingest(stack)
    token = body_of(call(stack, "GET", "/orders?limit=1", a.api_key))["next_token"]
    assert token
    response = call(stack, "GET", f"/orders?limit=1&next_token={token}", b.api_key)
    assert response.status_code == 400
    assert body_of(response)["code"] == "invalid_next_token"


def test_a_key_cannot_be_used_as_the_admin_token(stack: Stack, two_sellers) -> None:
    a, _, _ = two_sellers
    for method, path in [
        ("POST", "/tenants"),
        ("GET", "/admin/dlq"),
        ("POST", "/admin/dlq/replay"),
    ]:
        response = call(stack, method, path, a.api_key, {"name": "x"})
        assert response.status_code == 401, path
        assert body_of(response)["code"] == "invalid_admin_token"


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/orders"),
        ("GET", "/customers"),
        ("GET", "/stores"),
        ("POST", "/stores"),
        ("GET", "/api-keys"),
        ("POST", "/api-keys"),
        ("GET", "/reports/daily"),
        ("GET", "/me"),
    ],
)
def test_missing_or_wrong_key_is_401(stack: Stack, method: str, path: str) -> None:
    assert call(stack, method, path, None, {}).status_code == 401
    forged = "lsk_tzzzzzzzzzzz_" + "A" * 43
    response = call(stack, method, path, forged, {})
    assert response.status_code == 401
    assert body_of(response)["code"] == "invalid_api_key"


def test_me_names_the_callers_own_tenant_and_role(stack: Stack, two_sellers) -> None:
    # Given two tenants, the second with its reporting currency in euros and a viewer key
    a, _, _ = two_sellers
    created = call(
        stack, "POST", "/tenants", stack.admin_token, {"name": "Euro", "reporting_currency": "EUR"}
    )
    assert created.status_code == 201, created.body
    euro = body_of(created)
    minted = call(
        stack, "POST", "/api-keys", euro["api_key"], {"role": "viewer", "owner": "ads-agency"}
    )
    assert minted.status_code == 201, minted.body
    viewer = body_of(minted)
    keys = body_of(call(stack, "GET", "/api-keys", euro["api_key"]))["api_keys"]
    (owner_key,) = [k for k in keys if k["role"] == "owner"]
    # When each key asks who it is
    mine = call(stack, "GET", "/me", a.api_key)
    theirs = call(stack, "GET", "/me", euro["api_key"])
    as_viewer = call(stack, "GET", "/me", viewer["api_key"])
    # Then each sees its own tenant, and the viewer key says viewer and the owner it acts for
    assert mine.status_code == theirs.status_code == as_viewer.status_code == 200
    assert body_of(mine)["tenant_id"] == a.tenant_id
    assert body_of(mine)["tenant_name"] == "Alpha"
    assert body_of(mine)["role"] == "owner"
    assert body_of(mine)["reporting_currency"] == "USD"
    assert body_of(theirs) == {
        "tenant_id": euro["tenant_id"],
        "tenant_name": "Euro",
        "key_id": owner_key["key_id"],
        "role": "owner",
        "owner": None,
        "reporting_currency": "EUR",
    }
    assert body_of(as_viewer) == {
        "tenant_id": euro["tenant_id"],
        "tenant_name": "Euro",
        "key_id": viewer["key_id"],
        "role": "viewer",
        "owner": "ads-agency",
        "reporting_currency": "EUR",
    }
    # and never the key, in any form
    for answer in (mine, theirs, as_viewer):
        assert "lsk_" not in answer.body.decode()


def test_roles(stack: Stack) -> None:
    owner = new_seller(stack, "Roles")
    minted = {}
    for role in ("admin", "viewer"):
        response = call(stack, "POST", "/api-keys", owner.api_key, {"role": role})
        assert response.status_code == 201
        minted[role] = body_of(response)
    viewer, admin = minted["viewer"]["api_key"], minted["admin"]["api_key"]
    # a viewer reads but can't connect stores or mint keys
    assert call(stack, "GET", "/orders", viewer).status_code == 200
    store = {
        "platform": "shopify",
        "external_id": "x.myshopify.com",
        "market": "US",
        "webhook_secret": "abcdefgh1",
    }
    assert call(stack, "POST", "/stores", viewer, store).status_code == 403
    assert call(stack, "POST", "/api-keys", viewer, {"role": "viewer"}).status_code == 403
    # an admin mints keys but not an owner key
    assert call(stack, "POST", "/api-keys", admin, {"role": "manager"}).status_code == 201
    escalation = call(stack, "POST", "/api-keys", admin, {"role": "owner"})
    assert escalation.status_code == 403
    assert body_of(escalation)["code"] == "role_escalation"
    # a revoked key stops working at once
    revoked = call(stack, "DELETE", f"/api-keys/{minted['viewer']['key_id']}", owner.api_key)
    assert revoked.status_code == 200 and body_of(revoked)["revoked"] is True
    assert call(stack, "GET", "/orders", viewer).status_code == 401


def test_api_keys_are_stored_hashed(stack: Stack) -> None:
    import boto3

    seller = new_seller(stack, "Hashing")
    items = boto3.client("dynamodb").scan(TableName=stack.resource("AppTable"))["Items"]
    assert not any(seller.api_key in str(item) for item in items)
    # The secret is what follows the tenant id (it may itself contain "_")
    secret = seller.api_key.split("_", 2)[2]
    assert not any(secret in str(item) for item in items)


def test_invalid_bodies_are_400_with_reasons(stack: Stack, seller: Seller) -> None:
    bad_market = call(
        stack,
        "POST",
        "/stores",
        seller.api_key,
        {
            "platform": "shopify",
            "external_id": "y.myshopify.com",
            "market": "USA",
            "webhook_secret": "abcdefgh1",
        },
    )
    assert bad_market.status_code == 400
    assert body_of(bad_market)["errors"][0]["loc"] == ["market"]
    unknown_platform = call(
        stack,
        "POST",
        "/stores",
        seller.api_key,
        {"platform": "ebay", "external_id": "e", "market": "US", "webhook_secret": "abcdefgh1"},
    )
    assert unknown_platform.status_code == 400
    duplicate = call(
        stack,
        "POST",
        "/stores",
        seller.api_key,
        {
            "platform": "shopify",
            "external_id": f"acme-{seller.tenant_id}.myshopify.com",
            "market": "US",
            "webhook_secret": "abcdefgh1",
        },
    )
    assert duplicate.status_code == 409
    assert call(stack, "GET", "/orders?status=lost", seller.api_key).status_code == 400
    assert call(stack, "GET", "/reports/daily?from=nope", seller.api_key).status_code == 400
