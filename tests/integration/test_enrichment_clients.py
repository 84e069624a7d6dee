"""The marketplace clients against ``FakeMarketplaces`` over real HTTP on loopback, with each
store's credentials in moto's Secrets Manager.

The fake checks signatures and tokens the way the platforms do, so a passing fetch means the
client signed the request correctly; what is asserted is what a caller gets (the canonical order,
the error code) and what is stored (the refreshed tokens in the secret), never that a mock was
called. The HTTP client gets a fake clock: retries "sleep" by advancing it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from linkstar import aws
from linkstar.errors import BadRequest, PermanentError
from linkstar.orders.models import OrderStatus, Platform
from linkstar.platforms import clients
from linkstar.platforms.clients import config, credentials
from linkstar.platforms.clients.http import HttpClient
from linkstar.stores.models import Store
from moto import mock_aws

from infra.local.marketplaces import (
    FakeMarketplaces,
    amazon_order,
    lazada_order,
    shopee_order,
    tiktok_order,
)
from tests.support import REPO, FakeClock

AMAZON_APP = ("amzn1.application-oa2-client.4f0b2c", "lwa-client-secret-1")
TIKTOK_APP = ("6a6e4bqtj2o", "e59af819cc0d4b8c9f")
SHOPEE_APP = ("2001887", "shpk6b7a4f5a4f4c6b5a49574d7a4b6c")
LAZADA_APP = ("123456", "lazada-app-secret-1")

SELLER = {"amazon": "A2SELLER01", "tiktok_shop": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK"}
SELLER |= {"shopee": "600000", "lazada": "100160848"}
APPS = {"amazon": AMAZON_APP, "tiktok_shop": TIKTOK_APP, "shopee": SHOPEE_APP, "lazada": LAZADA_APP}
MARKETS = {"amazon": "DE", "tiktok_shop": "US", "shopee": "SG", "lazada": "VN"}


@pytest.fixture(autouse=True)
def _fresh_caches() -> None:
    """Replaces the package conftest's autouse fixture of the same name, which deploys the whole
    stack: these tests need only Secrets Manager (moto, below) and the fake."""


@pytest.fixture
def fake() -> Iterator[FakeMarketplaces]:
    with FakeMarketplaces() as running:
        for platform, (app_id, secret) in APPS.items():
            running.register_app(platform, app_id, secret)
        yield running


@pytest.fixture
def env(fake: FakeMarketplaces, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # moto's mock_aws lets calls through to a real endpoint while AWS_ENDPOINT_URL is set.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("STORE_SECRETS_PREFIX", "linkstar/test/stores")
    for name, value in fake.env().items():
        monkeypatch.setenv(name, value)
    config.reset()
    aws.reset_clients()
    credentials.clear_cache()
    clients.reset_calls()
    with mock_aws():
        yield
    config.reset()
    aws.reset_clients()
    credentials.clear_cache()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1000.0)


@pytest.fixture
def http(clock: FakeClock) -> HttpClient:
    return HttpClient(clock=clock.time, sleep=clock.sleep, random_fraction=lambda: 0.5)


def new_store(platform: str) -> Store:
    return Store(
        tenant_id="t" + uuid.uuid4().hex[:12],
        store_id="s" + uuid.uuid4().hex[:12],
        platform=Platform(platform),
        external_id=SELLER[platform],
        market=MARKETS[platform],
        webhook_secrets=("whsec-0123456789",),
        created_at=datetime.now(UTC),
    )


def connect(fake: FakeMarketplaces, platform: str, **changes: Any) -> Store:
    """A store whose seller authorised the app, with its credentials saved as the API would."""
    store = new_store(platform)
    app_id = APPS[platform][0]
    fake.authorize(platform, app_id, SELLER[platform])
    data = fake.credentials(platform, app_id, SELLER[platform]) | changes
    credentials.save(store.tenant_id, store.store_id, store.platform, data)
    return store


def stored_secret(store: Store) -> dict[str, Any]:
    name = credentials.secret_name(store.tenant_id, store.store_id)
    secret = boto3.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    return dict(json.loads(secret))


def seed(fake: FakeMarketplaces, platform: str, order_id: str, **fields: Any) -> None:
    lines = [("MUG-01", "Enamel mug", 2, "9.50"), ("TEA-02", "Green tea", 1, "4.00")]
    builders = {
        "amazon": lambda: amazon_order(
            order_id,
            lines,
            marketplace_id="A1PA6795UKMFR9",
            currency="EUR",
            shipping="3.99",
            tax="4.37",
            discount="1.00",
            country="DE",
            buyer_email="abc123@marketplace.amazon.de",
            **fields,
        ),
        "tiktok_shop": lambda: tiktok_order(
            order_id, lines, shipping="2.00", tax="1.84", seller_discount="1.00", **fields
        ),
        "shopee": lambda: shopee_order(order_id, lines, shipping="2.50", **fields),
        "lazada": lambda: lazada_order(
            order_id,
            [("MUG-01", "Coc su", 2, "95000"), ("TEA-02", "Tra xanh", 1, "40000")],
            site="lazada_vn",
            currency="VND",
            shipping_fee="15000",
            voucher="10000",
            status="ready_to_ship",
            **fields,
        ),
    }
    fake.add_order(platform, SELLER[platform], **builders[platform]())


ORDER_IDS = {
    "amazon": "304-5577881-2233445",
    "tiktok_shop": "576461413038785752",
    "shopee": "2404098R48U37H",
    "lazada": "252883361348153",
}


# ------------------------------------------------------------------------------ happy path


def test_amazon_order_fetched_with_amounts_items_and_marketplace(
    fake: FakeMarketplaces, env: None, http: HttpClient
) -> None:
    # Given a German Amazon order of two lines, answered one line per getOrderItems page
    # (and credentials as a seller connects them: a refresh token, no access token yet)
    fake.amazon_items_page_size = 1
    store = connect(fake, "amazon", access_token=None, access_token_expires_at=None)
    seed(fake, "amazon", ORDER_IDS["amazon"])

    # When it is fetched
    order = clients.fetch_order(
        store, ORDER_IDS["amazon"], {"marketplace_id": "A1PA6795UKMFR9"}, http=http
    )

    # Then the canonical order has the platform's amounts, in EUR, for the DE market
    assert order.amounts_pending is False
    assert (order.currency, order.market) == ("EUR", "DE")
    assert order.subtotal == Decimal("23.00")
    assert (order.shipping, order.tax, order.discounts) == (
        Decimal("3.99"),
        Decimal("4.37"),
        Decimal("1.00"),
    )
    assert order.total == Decimal("30.36")
    assert order.status is OrderStatus.PAID and order.paid
    assert [(i.sku, i.quantity, i.unit_price) for i in order.line_items] == [
        ("MUG-01", 2, Decimal("9.50")),
        ("TEA-02", 1, Decimal("4.00")),
    ]
    assert order.customer is not None
    assert order.customer.email == "abc123@marketplace.amazon.de"
    assert order.destination_country == "DE"
    # And both item pages were read (NextToken followed), after one LWA token exchange
    assert clients.CALLS["amazon"] == {"lwaToken": 1, "getOrder": 1, "getOrderItems": 2}


@pytest.mark.parametrize(
    ("platform", "currency", "market", "subtotal", "total", "status"),
    [
        ("tiktok_shop", "USD", "US", "22.00", "25.84", OrderStatus.PAID),
        ("shopee", "SGD", "SG", "23.00", "25.50", OrderStatus.PAID),
        ("lazada", "VND", "VN", "230000", "235000", OrderStatus.PAID),
    ],
)
def test_marketplace_order_fetched_with_amounts(
    fake: FakeMarketplaces,
    env: None,
    http: HttpClient,
    platform: str,
    currency: str,
    market: str,
    subtotal: str,
    total: str,
    status: OrderStatus,
) -> None:
    # Given an order in the shop
    store = connect(fake, platform)
    seed(fake, platform, ORDER_IDS[platform])

    # When it is fetched
    order = clients.fetch_order(store, ORDER_IDS[platform], {}, http=http)

    # Then it carries the platform's currency, market, amounts and status
    assert order.platform is Platform(platform)
    assert order.external_id == ORDER_IDS[platform]
    assert order.amounts_pending is False
    assert (order.currency, order.market) == (currency, market)
    assert (order.subtotal, order.total) == (Decimal(subtotal), Decimal(total))
    assert order.status is status and order.paid
    assert order.units == 3


def test_lazada_site_hint_picks_the_site(
    fake: FakeMarketplaces, env: None, http: HttpClient
) -> None:
    # Given a Lazada store registered for Singapore that also sells on the Vietnam site
    store = connect(fake, "lazada").model_copy(update={"market": "SG"})
    seed(fake, "lazada", ORDER_IDS["lazada"])

    # When the notification names the site
    order = clients.fetch_order(store, ORDER_IDS["lazada"], {"site": "lazada_vn"}, http=http)

    # Then the order is the Vietnam site's, in dong
    assert (order.market, order.currency) == ("VN", "VND")
    assert order.shipping == Decimal("15000") and order.discounts == Decimal("10000")


# ---------------------------------------------------------------------------- token refresh


@pytest.mark.parametrize("platform", ["amazon", "tiktok_shop", "shopee", "lazada"])
def test_expired_access_token_is_refreshed_and_written_back(
    fake: FakeMarketplaces, env: None, http: HttpClient, platform: str
) -> None:
    # Given stored credentials whose access token expired an hour ago
    expired = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    store = connect(fake, platform, access_token_expires_at=expired)
    before = stored_secret(store)
    seed(fake, platform, ORDER_IDS[platform])

    # When the order is fetched twice
    clients.fetch_order(store, ORDER_IDS[platform], {}, http=http)
    order = clients.fetch_order(store, ORDER_IDS[platform], {}, http=http)

    # Then the token was refreshed once, through the platform's refresh endpoint
    refreshes = {"amazon": "lwaToken", "tiktok_shop": "refreshToken"}
    refreshes |= {"shopee": "refreshAccessToken", "lazada": "RefreshAccessToken"}
    assert fake.count(platform, refreshes[platform]) == 1
    assert order.amounts_pending is False
    # And the secret now holds the tokens the fake issued on that refresh
    after = stored_secret(store)
    issued = fake.credentials(platform, APPS[platform][0], SELLER[platform])
    assert after["access_token"] != before["access_token"]
    assert (after["access_token"], after["refresh_token"]) == (
        issued["access_token"],
        issued["refresh_token"],
    )
    assert datetime.fromisoformat(after["access_token_expires_at"]) > datetime.now(UTC)


def test_token_the_platform_rejects_is_refreshed_once(
    fake: FakeMarketplaces, env: None, http: HttpClient
) -> None:
    # Given a token LinkStar believes valid but the platform has expired early
    store = connect(fake, "shopee")
    seed(fake, "shopee", ORDER_IDS["shopee"])
    fake.expire_access_tokens("shopee")

    # When the order is fetched
    order = clients.fetch_order(store, ORDER_IDS["shopee"], {}, http=http)

    # Then one refresh (rotating the refresh token) and a retried call got the order
    assert order.total == Decimal("25.50")
    assert fake.count("shopee", "refreshAccessToken") == 1
    assert fake.count("shopee", "get_order_detail") == 2
    assert (
        stored_secret(store)["refresh_token"]
        == fake.credentials("shopee", SHOPEE_APP[0], SELLER["shopee"])["refresh_token"]
    )


def test_revoked_refresh_token_is_credentials_rejected(
    fake: FakeMarketplaces, env: None, http: HttpClient
) -> None:
    # Given credentials with no access token and a refresh token LWA does not know
    store = new_store("amazon")
    credentials.save(
        store.tenant_id,
        store.store_id,
        Platform.AMAZON,
        {
            "lwa_client_id": AMAZON_APP[0],
            "lwa_client_secret": AMAZON_APP[1],
            "refresh_token": "Atzr|revoked",
        },
    )

    # When the order is fetched, Then the error says a person must re-authorise
    with pytest.raises(PermanentError) as caught:
        clients.fetch_order(store, ORDER_IDS["amazon"], {}, http=http)
    assert caught.value.code == "credentials_rejected"


# ------------------------------------------------------------------------- throttling


@pytest.mark.parametrize(
    ("platform", "fetches", "wait"),
    [
        # Amazon and Lazada make two order requests per fetch (order, then items), so one fetch
        # meets the throttled second request; TikTok Shop and Shopee make one, so two fetches.
        # The wait is the Retry-After (1 s), raised for SP-API to 1 / its 0.5 rps rate, and
        # above the jittered backoff (0.5 of the 0.5 s cap).
        ("amazon", 1, 2.0),
        ("tiktok_shop", 2, 1.0),
        ("shopee", 2, 1.0),
        ("lazada", 1, 1.0),
    ],
)
def test_throttled_request_is_retried_after_the_platform_asks(
    fake: FakeMarketplaces,
    env: None,
    http: HttpClient,
    clock: FakeClock,
    platform: str,
    fetches: int,
    wait: float,
) -> None:
    # Given a platform that throttles every second order request
    store = connect(fake, platform)
    seed(fake, platform, ORDER_IDS[platform])
    fake.throttle_every = 2

    # When the order is fetched until a request has been throttled
    orders = [
        clients.fetch_order(store, ORDER_IDS[platform], {}, http=http) for _ in range(fetches)
    ]

    # Then every fetch got the order, the client having waited once, as long as it was asked
    assert all(o.amounts_pending is False and o.units == 3 for o in orders)
    assert clock.sleeps == [wait]


def test_throttling_past_the_retries_is_transient(
    fake: FakeMarketplaces, env: None, clock: FakeClock
) -> None:
    # Given a platform that throttles every request
    store = connect(fake, "tiktok_shop")
    seed(fake, "tiktok_shop", ORDER_IDS["tiktok_shop"])
    fake.throttle_every = 1
    http = HttpClient(clock=clock.time, sleep=clock.sleep, max_attempts=3)

    # When the order is fetched, Then a transient error lets the queue retry later
    with pytest.raises(clients.TransientMarketplaceError) as caught:
        clients.fetch_order(store, ORDER_IDS["tiktok_shop"], {}, http=http)
    assert not isinstance(caught.value, PermanentError)
    assert caught.value.code == "marketplace_throttled"
    assert fake.count("tiktok_shop", "getOrderDetail") == 3


# ----------------------------------------------------------------------- permanent errors


@pytest.mark.parametrize("platform", ["amazon", "tiktok_shop", "shopee", "lazada"])
def test_unknown_order_is_permanent(
    fake: FakeMarketplaces, env: None, http: HttpClient, platform: str
) -> None:
    # Given a shop without that order (Amazon answers 404)
    store = connect(fake, platform)

    # When it is fetched, Then it is dead-lettered as order_not_found, without retries
    with pytest.raises(PermanentError) as caught:
        clients.fetch_order(store, ORDER_IDS[platform], {}, http=http)
    assert caught.value.code == "order_not_found"
    assert sum(clients.CALLS[platform].values()) == 1


@pytest.mark.parametrize(
    ("platform", "wrong"),
    [
        ("amazon", {"lwa_client_secret": "not-the-secret", "access_token": None}),
        ("tiktok_shop", {"app_secret": "not-the-secret"}),
        ("shopee", {"partner_key": "not-the-key"}),
        ("lazada", {"app_secret": "not-the-secret"}),
    ],
)
def test_wrong_secret_is_credentials_rejected(
    fake: FakeMarketplaces, env: None, http: HttpClient, platform: str, wrong: dict[str, Any]
) -> None:
    # Given credentials with the wrong app secret (the platform rejects the signature)
    store = connect(fake, platform, **wrong)
    seed(fake, platform, ORDER_IDS[platform])

    # When the order is fetched, Then the error names the cause
    with pytest.raises(PermanentError) as caught:
        clients.fetch_order(store, ORDER_IDS[platform], {}, http=http)
    assert caught.value.code == "credentials_rejected"


def test_store_without_credentials_is_permanent(env: None, http: HttpClient) -> None:
    store = new_store("lazada")
    with pytest.raises(PermanentError) as caught:
        clients.fetch_order(store, ORDER_IDS["lazada"], {}, http=http)
    assert caught.value.code == "credentials_missing"


def test_pending_amazon_order_has_no_amounts_yet(
    fake: FakeMarketplaces, env: None, http: HttpClient
) -> None:
    # Given an order whose payment Amazon has not authorised (SP-API returns no prices)
    store = connect(fake, "amazon")
    seed(fake, "amazon", ORDER_IDS["amazon"], status="Pending")

    # When it is fetched, Then the caller learns amounts are not available yet (not an order
    # with invented zeros, not a dead letter)
    with pytest.raises(clients.AmountsNotYetAvailable) as caught:
        clients.fetch_order(store, ORDER_IDS["amazon"], {}, http=http)
    assert not isinstance(caught.value, PermanentError)
    assert caught.value.code == "amounts_not_yet_available"


# ------------------------------------------------------------------------ stored secrets


def test_describe_reports_configuration_never_values(fake: FakeMarketplaces, env: None) -> None:
    store = new_store("tiktok_shop")
    assert credentials.describe(store.tenant_id, store.store_id) == {
        "configured": False,
        "updated_at": None,
    }
    connect_store = connect(fake, "tiktok_shop")
    described = credentials.describe(connect_store.tenant_id, connect_store.store_id)
    assert described["configured"] is True
    assert isinstance(described["updated_at"], datetime)
    assert set(described) == {"configured", "updated_at"}


def test_invalid_credentials_are_refused_without_echoing_them(env: None) -> None:
    store = new_store("shopee")
    with pytest.raises(BadRequest) as caught:
        credentials.save(
            store.tenant_id,
            store.store_id,
            Platform.SHOPEE,
            {"partner_id": "not-a-number", "partner_key": "shpk-very-secret", "shop_id": 1},
        )
    assert caught.value.code == "invalid_credentials"
    assert "shpk-very-secret" not in str(caught.value)
    assert "not-a-number" not in str(caught.value)
    assert "partner_id" in str(caught.value) and "refresh_token" in str(caught.value)


# ---------------------------------------------------------------------- standalone fake


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(  # noqa: S310 - the loopback fake's http:// URL
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return dict(json.loads(response.read()))


def test_standalone_fake_seeded_over_http(
    env: None, http: HttpClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the fake running as its own process (as the local stack supervisor starts it)
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local.marketplaces", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        started = json.loads(process.stdout.readline())
        url = started["url"]
        for name, value in started["env"].items():
            monkeypatch.setenv(name, value)
        config.reset()
        # And seeded over HTTP: an app, a seller's grant, an order
        _post(f"{url}/_fake/apps", {"platform": "lazada", "app_id": "7", "app_secret": "s3cr3t"})
        granted = _post(
            f"{url}/_fake/grants", {"platform": "lazada", "app_id": "7", "shop": "100160848"}
        )
        seeded = lazada_order("300001", [("SKU", "Thing", 1, "10.00")], site="lazada_sg")
        _post(f"{url}/_fake/orders", {"platform": "lazada", "shop": "100160848", **seeded})
        store = new_store("lazada").model_copy(update={"market": "SG"})
        credentials.save(store.tenant_id, store.store_id, Platform.LAZADA, granted["credentials"])

        # When the client fetches the order
        order = clients.fetch_order(store, "300001", {}, http=http)

        # Then the separately running fake verified and answered it
        assert (order.total, order.currency) == (Decimal("10.00"), "SGD")
        with urllib.request.urlopen(f"{url}/_fake/stats", timeout=5) as response:  # noqa: S310
            stats = json.loads(response.read())
        assert {"platform": "lazada", "operation": "GetOrder", "count": 1} in stats["requests"]
    finally:
        process.terminate()
        process.wait(timeout=10)
