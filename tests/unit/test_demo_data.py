"""The demo's history: deterministic, true to CDNOW, signed and shaped as each platform sends it,
and in agreement with the orders the marketplaces' APIs will answer."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from linkstar.errors import IgnoredEvent
from linkstar.money import minor_units
from linkstar.orders.lifecycle import canonical_status
from linkstar.orders.models import OrderSnapshot, Platform
from linkstar.platforms import amazon, edge, lazada, shopee, tiktok_shop
from linkstar.platforms.clients import amazon as amazon_client
from linkstar.platforms.clients import lazada as lazada_client
from linkstar.platforms.clients import shopee as shopee_client
from linkstar.platforms.clients import tiktok_shop as tiktok_client
from linkstar.stores.models import Store

from scripts.demo_data import (
    CDNOW_PATH,
    HISTORY_END,
    IGNORED_TOPICS,
    ORDER_TOPICS,
    SHIFT_DAYS,
    SHOPIFY_FIXTURES,
    USD_RATES,
    Delivery,
    DemoHistory,
    DemoStore,
    Seed,
    build_history,
    delivery_headers,
    shopify_hmac,
)
from scripts.demo_marketplaces import API_WORDS, CANONICAL, MARKETPLACES

MAX_ORDERS = 400
MONEY_KEYS = {
    "price",
    "line_price",
    "amount",
    "total_price",
    "subtotal_price",
    "total_tax",
    "total_discounts",
    "total_line_items_price",
    "total_spent",
    "applied_discount",
}
ADAPTERS = {
    "tiktok_shop": tiktok_shop.normalise,
    "shopee": shopee.normalise,
    "lazada": lazada.normalise,
    "amazon": amazon.normalise,
}


@pytest.fixture(scope="module")
def history() -> DemoHistory:
    return build_history(max_orders=MAX_ORDERS, seed=7)


@pytest.fixture(scope="module")
def bodies(history: DemoHistory) -> list[dict[str, Any]]:
    return [json.loads(d.body) for d in history.deliveries]


def shopify_pairs(
    history: DemoHistory, bodies: list[dict[str, Any]]
) -> list[tuple[Delivery, dict[str, Any]]]:
    return [
        (d, b) for d, b in zip(history.deliveries, bodies, strict=True) if d.platform == "shopify"
    ]


def latest_orders(history: DemoHistory, bodies: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Each Shopify order's newest state, as a correct consumer would keep it."""
    latest: dict[int, dict[str, Any]] = {}
    for d, body in shopify_pairs(history, bodies):
        if d.topic in ORDER_TOPICS:
            seen = latest.get(body["id"])
            if seen is None or _at(body["updated_at"]) > _at(seen["updated_at"]):
                latest[body["id"]] = body
    return latest


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _epoch(value: int) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _state(d: Delivery, body: dict[str, Any]) -> tuple[str, datetime] | None:
    """(order, the time of the state it reports) for a delivery carrying an order's state, read
    from the body the way each platform documents it; None for anything else."""
    if d.platform == "shopify":
        return (str(body["id"]), _at(body["updated_at"])) if d.topic in ORDER_TOPICS else None
    data = body.get("data") or {}
    if d.platform == "tiktok_shop" and d.topic == "1":
        return data["order_id"], _epoch(data["update_time"])
    if d.platform == "shopee" and d.topic == "3":
        return data["ordersn"], _epoch(data["update_time"])
    if d.platform == "lazada" and d.topic == "0":
        return data["trade_order_id"], _epoch(data["status_update_time"])
    if d.topic == "ORDER_STATUS_CHANGE":
        note = body["Payload"]["OrderStatusChangeNotification"]
        return note["AmazonOrderId"], _at(body["EventTime"])
    if d.topic == "ORDER_CHANGE":
        note = body["Payload"]["OrderChangeNotification"]
        return note["AmazonOrderId"], _at(note["OrderChangeTrigger"]["TimeOfOrderChange"])
    return None


def _word(d: Delivery, body: dict[str, Any]) -> str:
    """The status word of a marketplace state notification."""
    if d.platform == "tiktok_shop":
        return str(body["data"]["order_status"])
    if d.platform == "shopee":
        return str(body["data"]["status"])
    if d.platform == "lazada":
        return str(body["data"]["order_status"])
    inner = body["Payload"]
    note = inner.get("OrderStatusChangeNotification") or inner["OrderChangeNotification"]
    return str(note.get("OrderStatus") or note["Summary"]["OrderStatus"])


def _store_model(store: DemoStore) -> Store:
    return Store(
        tenant_id="tdemo0000000",
        store_id="tdemo0000000-sdemo0001",
        platform=Platform(store.platform),
        external_id=store.external_id,
        market=store.market,
        currency=store.currency,
        webhook_secrets=(store.webhook_secret,) if store.webhook_secret else (),
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        app_key=store.app_key,
    )


def _client_order(seed: Seed) -> Any:
    """The canonical order LinkStar's enrichment client makes of what the fake API answers."""
    if seed.platform == "tiktok_shop":
        return tiktok_client.to_order(seed.order, market="GB")
    if seed.platform == "shopee":
        return shopee_client.to_order(seed.order)
    if seed.platform == "lazada":
        return lazada_client.to_order(seed.order, seed.items, country="MY", currency="MYR")
    return amazon_client.to_order(seed.order, seed.items)


def _seed_id(seed: Seed) -> str:
    key = {
        "tiktok_shop": "id",
        "shopee": "order_sn",
        "lazada": "order_id",
        "amazon": "AmazonOrderId",
    }
    return str(seed.order[key[seed.platform]])


def _seed_updated(seed: Seed) -> datetime:
    order = seed.order
    if seed.platform in ("tiktok_shop", "shopee"):
        return _epoch(order["update_time"])
    if seed.platform == "lazada":
        return datetime.strptime(order["updated_at"], "%Y-%m-%d %H:%M:%S %z")
    return _at(order["LastUpdateDate"])


def _seed_word(seed: Seed) -> str:
    order = seed.order
    return str(
        order.get("status")
        or order.get("order_status")
        or (order.get("statuses") or [None])[0]
        or order["OrderStatus"]
    )


def _seed_purchase(seed: Seed, tz: ZoneInfo) -> tuple[date, int, Decimal, str]:
    """(local day, units, what the buyer pays, currency) as the order API tells it."""
    order, items = seed.order, seed.items
    if seed.platform == "tiktok_shop":
        payment = order["payment"]
        created = _epoch(order["create_time"])
        return (
            created.astimezone(tz).date(),
            len(order["line_items"]),  # one line per unit
            Decimal(payment["total_amount"]),
            payment["currency"],
        )
    if seed.platform == "shopee":
        units = sum(i["model_quantity_purchased"] for i in order["item_list"])
        created = _epoch(order["create_time"])
        return (
            created.astimezone(tz).date(),
            units,
            Decimal(str(order["total_amount"])),
            order["currency"],
        )
    if seed.platform == "lazada":
        created = datetime.strptime(order["created_at"], "%Y-%m-%d %H:%M:%S %z")
        paid = Decimal(order["price"]) - Decimal(order["voucher"]) + Decimal(order["shipping_fee"])
        return created.astimezone(tz).date(), len(items), paid, items[0]["currency"]
    total = order["OrderTotal"]
    units = sum(i["QuantityOrdered"] for i in items)
    created = _at(order["PurchaseDate"])
    return created.astimezone(tz).date(), units, Decimal(total["Amount"]), total["CurrencyCode"]


def _cdnow_rows(ids: set[str]) -> dict[str, list[tuple[date, int, Decimal]]]:
    rows: dict[str, list[tuple[date, int, Decimal]]] = defaultdict(list)
    for line in CDNOW_PATH.read_text().splitlines()[1:]:
        cid, day, units, usd = line.split()
        if cid in ids:
            rows[cid].append((datetime.strptime(day, "%Y%m%d").date(), int(units), Decimal(usd)))
    return rows


def test_same_seed_gives_the_same_bytes(history: DemoHistory) -> None:
    # Given the same arguments, When built again, Then every delivery, secret and seed is identical
    again = build_history(max_orders=MAX_ORDERS, seed=7)
    assert again.deliveries == history.deliveries
    assert again.stores == history.stores
    assert again.seeds == history.seeds
    # ...and another seed gives another history (a smaller one keeps the test fast)
    assert build_history(max_orders=50, seed=8).deliveries[:50] != history.deliveries[:50]


def test_every_platform_has_its_share(history: DemoHistory) -> None:
    # Given the generated stores and their ground truth
    platform_of = {s.key: s.platform for s in history.stores}
    orders: Counter[str] = Counter()
    for key, truth in history.expected.stores.items():
        orders[platform_of[key]] += truth.orders

    # Then all five platforms sell, Shopify about 60% of the orders and each marketplace a share
    assert set(orders) == {"shopify", *MARKETPLACES}
    total = sum(orders.values())
    assert 0.5 <= orders["shopify"] / total <= 0.8
    for platform in MARKETPLACES:
        assert orders[platform] / total >= 0.02, platform
    # ...every marketplace order has exactly one seed, and the Amazon seller sells in two
    # currencies on its marketplaces
    assert len(history.seeds) == sum(orders[p] for p in MARKETPLACES)
    amazon_key = next(s.key for s in history.stores if s.platform == "amazon")
    assert len(history.expected.stores[amazon_key].gmv) == 2
    assert Counter(d.platform for d in history.deliveries).keys() == {"shopify", *MARKETPLACES}


def test_signature_matches_shopifys_own_vectors() -> None:
    vectors = json.loads((SHOPIFY_FIXTURES / "hmac_vectors.json").read_text())
    for v in vectors:
        body = bytes.fromhex(v["raw_body_hex"])
        assert shopify_hmac(v["secret"], body) == v["expected_X-Shopify-Hmac-Sha256"]


def test_headers_are_the_documented_set(history: DemoHistory) -> None:
    documented = json.loads((SHOPIFY_FIXTURES / "webhook_headers_example.json").read_text())
    store = history.stores[0]
    delivery = next(d for d in history.deliveries if d.store_key == store.key)

    headers = delivery_headers(delivery, store, "https://ignored.example")

    # (whether the signature verifies is test_every_push_verifies_at_linkstars_edge's)
    assert set(headers) == (set(documented) - {"X-Shopify-Name"}) | {"Content-Type"}
    assert headers["X-Shopify-Shop-Domain"] == "acme-us.myshopify.com" == store.external_id
    assert headers["X-Shopify-Topic"] == delivery.topic
    assert headers["X-Shopify-Event-Id"] == delivery.event_id
    assert headers["X-Shopify-API-Version"] == "2026-01"
    assert headers["X-Shopify-Triggered-At"].endswith("Z")


def test_every_push_verifies_at_linkstars_edge(
    history: DemoHistory, bodies: list[dict[str, Any]]
) -> None:
    # Given each webhook store's signing context as LinkStar stores it (Shopee signs the URL)
    stores = {s.key: s for s in history.stores}
    checked: Counter[str] = Counter()
    for d, body in zip(history.deliveries, bodies, strict=True):
        store = stores[d.store_key]
        if store.platform == "amazon":
            continue
        url = f"https://api.example/webhooks/{store.platform}/{store.key}"
        context = SimpleNamespace(app_key=store.app_key, webhook_url=url)
        scheme = edge.SCHEMES[store.platform]
        secrets = [store.webhook_secret or ""]

        # When the edge verifies the delivery with the headers the demo sends
        headers = delivery_headers(d, store, url)

        # Then it is accepted, for this shop, under the topic it was generated as
        assert scheme.verify(secrets, context, d.body, headers), (d.platform, d.topic)
        assert not scheme.verify(["another-secret"], context, d.body, headers)
        described = scheme.describe(headers, body)
        assert described.headers.topic == d.topic
        if scheme.check_shop:
            assert described.shop_id == store.external_id
        # ...and what LinkStar doesn't ingest is only what the generator meant it to drop
        if d.topic not in scheme.handled_topics:
            assert d.topic in IGNORED_TOPICS or (d.platform, d.topic) == ("shopee", "1"), d.topic
        checked[d.platform] += 1
    assert set(checked) == {"shopify", "tiktok_shop", "shopee", "lazada"}


def test_marketplace_notifications_are_what_linkstar_reads(
    history: DemoHistory, bodies: list[dict[str, Any]]
) -> None:
    # Given every marketplace notification and its store
    stores = {s.key: s for s in history.stores}
    outcomes: Counter[str] = Counter()
    for d, body in zip(history.deliveries, bodies, strict=True):
        store = stores[d.store_key]
        if store.platform == "shopify":
            continue
        if store.platform == "amazon":
            # Amazon: the SellerId routes it, the NotificationId names it
            assert amazon.seller_id(body) == store.external_id
            assert amazon.notification_id(body) == d.event_id
            if d.topic not in amazon.TOPICS:
                outcomes["amazon ignored topic"] += 1
                continue
        elif d.topic not in edge.SCHEMES[store.platform].handled_topics:
            outcomes[f"{d.platform} ignored topic"] += 1
            continue

        # When LinkStar's adapter reads it
        try:
            change = ADAPTERS[store.platform](d.topic, body, _store_model(store))
        except IgnoredEvent:
            outcomes[f"{d.platform} ignored status"] += 1
            continue

        # Then it is a status-only order change in the store's markets and currencies
        outcomes[f"{d.platform} applied"] += 1
        if isinstance(change, OrderSnapshot):
            order = change.order
            assert order.amounts_pending
            if store.platform == "amazon":
                assert (order.market, order.currency) in {
                    ("DE", "EUR"),
                    ("FR", "EUR"),
                    ("GB", "GBP"),
                }
            else:
                assert (order.market, order.currency) == (store.market, store.currency)
    for platform in MARKETPLACES:
        assert outcomes[f"{platform} applied"] > 0
    assert outcomes["tiktok_shop ignored status"] > 0  # a cancellation still being requested
    assert outcomes["shopee ignored topic"] == 1  # the shop authorisation push
    assert outcomes["amazon ignored topic"] > 0  # ANY_OFFER_CHANGED


def test_seeds_answer_what_the_last_notification_said(
    history: DemoHistory, bodies: list[dict[str, Any]]
) -> None:
    # Given each marketplace order's newest state notification, read from the bodies
    newest: dict[tuple[str, str], tuple[datetime, str]] = {}
    for d, body in zip(history.deliveries, bodies, strict=True):
        state = _state(d, body)
        if d.platform == "shopify" or state is None:
            continue
        key = (d.store_key, state[0])
        if key not in newest or state[1] >= newest[key][0]:
            newest[key] = (state[1], _word(d, body))
    truths = history.expected.orders_by_store

    for seed in history.seeds:
        # When the order API's answer is compared with it
        at, word = newest[(seed.store_key, _seed_id(seed))]
        truth = truths[seed.store_key][_seed_id(seed)]
        order = _client_order(seed)

        # Then it tells the same status at the same time, and the amounts the generator expects
        assert _seed_word(seed) == API_WORDS.get((seed.platform, word), word)
        assert _seed_updated(seed) == at
        assert (order.total, order.currency) == (truth.total, truth.currency)
        assert not order.amounts_pending
        assert order.destination_country == truth.market
        # ...and the generator's canonical words are LinkStar's lifecycle table's (a Shopee
        # order whose tracking number was pushed counts as shipped before SHIPPED says so)
        pushed = CANONICAL[seed.platform][word]
        assert canonical_status(Platform(seed.platform), word).value == pushed
        assert truth.status == pushed or (
            seed.platform == "shopee" and pushed == "paid" and truth.status == "fulfilled"
        )
    assert len(newest) == len(history.seeds)


def test_money_is_formatted_per_currency(
    history: DemoHistory, bodies: list[dict[str, Any]]
) -> None:
    currency = {s.key: s.currency for s in history.stores}

    def amounts(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [v for k, v in node.items() if k in MONEY_KEYS and isinstance(v, str)]
            return found + [a for v in node.values() for a in amounts(v)]
        if isinstance(node, list):
            return [a for v in node for a in amounts(v)]
        return []

    seen: Counter[str] = Counter()
    for d, body in shopify_pairs(history, bodies):
        if d.topic in IGNORED_TOPICS:
            continue
        for amount in amounts(body):
            seen[currency[d.store_key]] += 1
            if currency[d.store_key] == "JPY":
                assert amount.isdigit(), amount  # zero-decimal: "6039", never "6039.00"
            else:
                whole, cents = amount.split(".")
                assert whole.isdigit() and len(cents) == 2, amount
    assert set(seen) == {"USD", "EUR", "GBP", "JPY"}


def test_history_is_cdnow_shifted(history: DemoHistory, bodies: list[dict[str, Any]]) -> None:
    # Given the CDNOW rows of the customers taken, read independently of the generator
    ids = [c.cdnow_id for c in history.customers]
    file_order = list(
        dict.fromkeys(ln.split()[0] for ln in CDNOW_PATH.read_text().splitlines()[1:])
    )
    assert ids == file_order[: len(ids)]  # the first customers in file order
    rows = _cdnow_rows(set(ids))
    stores = {s.key: s for s in history.stores}
    email_of = {c.cdnow_id: c.email for c in history.customers}
    home_of = {c.cdnow_id: c.stores[0] for c in history.customers}

    # When each Shopify order's (local date, units, USD) is collected by email
    placed: dict[str, list[tuple[date, int, Decimal]]] = defaultdict(list)
    for o in latest_orders(history, bodies).values():
        units = sum(li["quantity"] for li in o["line_items"])
        placed[o["email"]].append(
            (_at(o["created_at"]).date(), units, Decimal(o["total_price_usd"]))
        )
    # ...and each marketplace order's (local date, units, amount) by store, from its seed
    sold: dict[str, list[tuple[date, int, Decimal]]] = defaultdict(list)
    for seed in history.seeds:
        day, units, paid, currency = _seed_purchase(seed, ZoneInfo(stores[seed.store_key].timezone))
        usd = (paid / USD_RATES[currency]).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
        sold[seed.store_key].append((day, units, usd))
        assert paid == paid.quantize(Decimal(1).scaleb(-minor_units(currency)))

    # Then every purchase is there once, shifted by SHIFT_DAYS, so repeat buyers stay repeaters
    assert sum(len(r) for r in rows.values()) >= MAX_ORDERS
    bought: dict[str, list[tuple[date, int, Decimal]]] = defaultdict(list)
    for cid, purchases in rows.items():
        shifted = [(day + timedelta(days=SHIFT_DAYS), units, usd) for day, units, usd in purchases]
        if stores[home_of[cid]].platform == "shopify":
            assert sorted(placed[email_of[cid]]) == sorted(shifted)
        else:
            bought[home_of[cid]] += shifted
    assert set(bought) == set(sold)
    for key, purchases in bought.items():
        got, want = sorted(sold[key]), sorted(purchases)
        assert [(d, u) for d, u, _ in got] == [(d, u) for d, u, _ in want]
        # A converted price comes back to its dollars within the rounding of one minor unit.
        pairs = zip(got, want, strict=True)
        assert all(abs(g - w) <= Decimal("0.01") for (_, _, g), (_, _, w) in pairs)
    last = max(day for r in rows.values() for day, _, _ in r) + timedelta(days=SHIFT_DAYS)
    assert HISTORY_END.date() - timedelta(days=7) <= last < HISTORY_END.date()


def test_duplicates_repeat_the_same_event(history: DemoHistory) -> None:
    by_event: dict[str, list[Any]] = defaultdict(list)
    for d in history.deliveries:
        by_event[d.event_id].append(d)
    repeated = [group for group in by_event.values() if len(group) > 1]

    assert repeated
    for group in repeated:
        assert len({(d.body, d.topic, d.webhook_id, d.triggered_at) for d in group}) == 1
    assert sum(len(g) - 1 for g in repeated) == history.expected.total("duplicates")
    assert {g[0].platform for g in repeated} == {"shopify", *MARKETPLACES}


def test_out_of_order_count_matches_the_bodies(
    history: DemoHistory, bodies: list[dict[str, Any]]
) -> None:
    # A delivery is stale when a newer state of its order arrived first (duplicates aside).
    seen: set[str] = set()
    newest: dict[tuple[str, str], datetime] = {}
    stale: Counter[str] = Counter()
    for d, body in zip(history.deliveries, bodies, strict=True):
        state = _state(d, body)
        if d.event_id in seen or state is None:
            continue
        seen.add(d.event_id)
        key = (d.store_key, state[0])
        if key in newest and state[1] < newest[key]:
            stale[d.store_key] += 1
        else:
            newest[key] = state[1]

    assert sum(stale.values()) > 0
    for key, truth in history.expected.stores.items():
        assert truth.out_of_order == stale[key], key


def test_expected_matches_the_bodies(history: DemoHistory, bodies: list[dict[str, Any]]) -> None:
    expected = history.expected
    latest = latest_orders(history, bodies)
    stores = {s.key: s for s in history.stores}
    currency = {s.key: s.currency for s in history.stores}
    store_of = {
        b["id"]: d.store_key for d, b in shopify_pairs(history, bodies) if d.topic in ORDER_TOPICS
    }
    refunds = [b for d, b in shopify_pairs(history, bodies) if d.topic == "refunds/create"]
    unique_refunds = {r["id"]: r for r in refunds}.values()

    for key, truth in expected.stores.items():
        assert truth.deliveries == sum(1 for d in history.deliveries if d.store_key == key)
        if stores[key].platform != "shopify":
            continue
        mine = [o for oid, o in latest.items() if store_of[oid] == key]
        kept = [o for o in mine if o["cancelled_at"] is None]
        refunded = [r for r in unique_refunds if store_of[r["order_id"]] == key]
        assert truth.orders == len(mine)
        assert truth.cancelled == len(mine) - len(kept)
        assert truth.units == sum(li["quantity"] for o in mine for li in o["line_items"])
        assert truth.gmv == {currency[key]: sum(Decimal(o["total_price"]) for o in kept)}
        assert truth.refunded_orders == len({r["order_id"] for r in refunded})
        assert truth.refunded == {
            currency[key]: sum(Decimal(t["amount"]) for r in refunded for t in r["transactions"])
        }
        assert truth.ignored_topics == sum(
            1 for d in history.deliveries if d.store_key == key and d.topic in IGNORED_TOPICS
        )
    shopify_orders = sum(
        t.orders for k, t in expected.stores.items() if stores[k].platform == "shopify"
    )
    assert shopify_orders == len(latest)
    assert expected.total("deliveries") == len(history.deliveries)
    assert all(o["cancelled_at"] is None or o["financial_status"] in {"voided", "refunded"}
               for o in latest.values())  # fmt: skip

    # Buyers as LinkStar tells them apart: email (Shopify; TikTok and Amazon relay addresses),
    # else Shopee's buyer id in its store; Lazada names nobody.
    buyers: list[tuple[tuple[str, ...], str]] = [
        (("email", o["email"]), store_of[oid]) for oid, o in latest.items()
    ]
    for seed in history.seeds:
        order = seed.order
        email = order.get("buyer_email") or (order.get("BuyerInfo") or {}).get("BuyerEmail")
        if email:
            buyers.append((("email", email), seed.store_key))
        elif order.get("buyer_user_id"):
            buyers.append((("id", seed.store_key, str(order["buyer_user_id"])), seed.store_key))
    orders_by_buyer = Counter(b for b, _ in buyers)
    assert expected.customers == len(orders_by_buyer)
    assert expected.repeat_customers == sum(1 for n in orders_by_buyer.values() if n >= 2)
    stores_by_buyer: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for b, key in buyers:
        stores_by_buyer[b].add(key)
    assert expected.cross_store_customers == sum(1 for s in stores_by_buyer.values() if len(s) > 1)
    assert expected.cross_store_customers > 0

    # Marketplace stores: orders, cancellations and GMV per currency from the seeds
    for key, store in stores.items():
        if store.platform == "shopify":
            continue
        truth = expected.stores[key]
        mine = [s for s in history.seeds if s.store_key == key]
        orders = [_client_order(s) for s in mine]
        cancelled = [o.status.value == "cancelled" for o in orders]
        gmv: dict[str, Decimal] = defaultdict(Decimal)
        for o, dropped in zip(orders, cancelled, strict=True):
            gmv[o.currency] += Decimal(0) if dropped else o.total
        assert truth.orders == len(mine) == len(expected.orders_by_store[key])
        assert truth.cancelled == sum(cancelled)
        assert truth.gmv == dict(gmv)


def test_customers_are_created_before_their_first_order(
    history: DemoHistory, bodies: list[dict[str, Any]]
) -> None:
    created: set[tuple[str, str]] = set()
    for d, body in shopify_pairs(history, bodies):
        if d.topic == "customers/create":
            created.add((d.store_key, body["email"]))
        elif d.topic == "orders/create":
            assert (d.store_key, body["email"]) in created
            assert body["customer"]["email"] == body["email"]


def test_phones_are_valid_national_numbers(
    history: DemoHistory, bodies: list[dict[str, Any]]
) -> None:
    phones = {
        (b["default_address"]["country_code"], b["phone"])
        for d, b in shopify_pairs(history, bodies)
        if d.topic == "customers/create"
    }
    assert {country for country, _ in phones} == {"US", "DE", "FR", "GB", "JP"}
    for country, phone in phones:
        assert not phone.startswith("+")
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone, country)), (country, phone)
