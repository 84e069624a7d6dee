"""The demo's webhook history: deterministic, signed like Shopify, and true to CDNOW."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import phonenumbers
import pytest

from scripts.demo_data import (
    CDNOW_PATH,
    HISTORY_END,
    IGNORED_TOPICS,
    ORDER_TOPICS,
    SHIFT_DAYS,
    SHOPIFY_FIXTURES,
    DemoHistory,
    build_history,
    shopify_headers,
    shopify_hmac,
)

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


@pytest.fixture(scope="module")
def history() -> DemoHistory:
    return build_history(max_orders=MAX_ORDERS, seed=7)


@pytest.fixture(scope="module")
def bodies(history: DemoHistory) -> list[dict[str, Any]]:
    return [json.loads(d.body) for d in history.deliveries]


def latest_orders(history: DemoHistory, bodies: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Each order's newest state, as a correct consumer would keep it."""
    latest: dict[int, dict[str, Any]] = {}
    for d, body in zip(history.deliveries, bodies, strict=True):
        if d.topic in ORDER_TOPICS:
            seen = latest.get(body["id"])
            if seen is None or _at(body["updated_at"]) > _at(seen["updated_at"]):
                latest[body["id"]] = body
    return latest


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def _cdnow_rows(ids: set[str]) -> dict[str, list[tuple[date, int, Decimal]]]:
    rows: dict[str, list[tuple[date, int, Decimal]]] = defaultdict(list)
    for line in CDNOW_PATH.read_text().splitlines()[1:]:
        cid, day, units, usd = line.split()
        if cid in ids:
            rows[cid].append((datetime.strptime(day, "%Y%m%d").date(), int(units), Decimal(usd)))
    return rows


def test_same_seed_gives_the_same_bytes(history: DemoHistory) -> None:
    # Given the same arguments, When built again, Then every delivery and secret is identical
    again = build_history(max_orders=MAX_ORDERS, seed=7)
    assert again.deliveries == history.deliveries
    assert again.stores == history.stores
    # ...and another seed gives another history (a smaller one keeps the test fast)
    assert build_history(max_orders=50, seed=8).deliveries[:50] != history.deliveries[:50]


def test_signature_matches_shopifys_own_vectors() -> None:
    vectors = json.loads((SHOPIFY_FIXTURES / "hmac_vectors.json").read_text())
    for v in vectors:
        body = bytes.fromhex(v["raw_body_hex"])
        assert shopify_hmac(v["secret"], body) == v["expected_X-Shopify-Hmac-Sha256"]


def test_headers_are_the_documented_set(history: DemoHistory) -> None:
    documented = json.loads((SHOPIFY_FIXTURES / "webhook_headers_example.json").read_text())
    store = history.stores[0]
    delivery = next(d for d in history.deliveries if d.store_key == store.key)

    headers = shopify_headers(delivery, store.shop_domain, store.webhook_secret)

    assert set(headers) == (set(documented) - {"X-Shopify-Name"}) | {"Content-Type"}
    assert headers["X-Shopify-Hmac-Sha256"] == shopify_hmac(store.webhook_secret, delivery.body)
    assert headers["X-Shopify-Shop-Domain"] == store.shop_domain
    assert headers["X-Shopify-API-Version"] == "2026-01"
    assert headers["X-Shopify-Triggered-At"].endswith("Z")


def test_order_money_adds_up(history: DemoHistory, bodies: list[dict[str, Any]]) -> None:
    orders = [b for d, b in zip(history.deliveries, bodies, strict=True) if d.topic in ORDER_TOPICS]
    assert orders
    for o in orders:
        lines = sum(Decimal(li["price"]) * li["quantity"] for li in o["line_items"])
        shipping = sum(Decimal(s["price"]) for s in o["shipping_lines"])
        tax = Decimal(o["total_tax"])
        assert 1 <= len(o["line_items"]) <= 3
        assert lines == Decimal(o["subtotal_price"]) == Decimal(o["total_line_items_price"])
        added_tax = 0 if o["taxes_included"] else tax
        assert Decimal(o["total_price"]) == lines + shipping + added_tax
        assert sum(Decimal(t["price"]) for t in o["tax_lines"]) == tax


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
    for d, body in zip(history.deliveries, bodies, strict=True):
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
    email_of = {c.cdnow_id: c.email for c in history.customers}

    # When each order's (local date, units, USD) is collected by email
    placed: dict[str, list[tuple[date, int, Decimal]]] = defaultdict(list)
    for o in latest_orders(history, bodies).values():
        units = sum(li["quantity"] for li in o["line_items"])
        placed[o["email"]].append(
            (_at(o["created_at"]).date(), units, Decimal(o["total_price_usd"]))
        )

    # Then every purchase is there once, shifted by SHIFT_DAYS, so repeat buyers stay repeaters
    assert sum(len(r) for r in rows.values()) >= MAX_ORDERS
    for cid, purchases in rows.items():
        shifted = [(day + timedelta(days=SHIFT_DAYS), units, usd) for day, units, usd in purchases]
        assert sorted(placed[email_of[cid]]) == sorted(shifted)
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
    assert sum(len(g) - 1 for g in repeated) == history.expected.duplicates


def test_out_of_order_count_matches_the_bodies(
    history: DemoHistory, bodies: list[dict[str, Any]]
) -> None:
    # A delivery is stale when a newer state of its order arrived first (duplicates aside).
    seen: set[str] = set()
    newest: dict[int, datetime] = {}
    stale: Counter[str] = Counter()
    for d, body in zip(history.deliveries, bodies, strict=True):
        if d.event_id in seen or d.topic not in ORDER_TOPICS:
            continue
        seen.add(d.event_id)
        at = _at(body["updated_at"])
        if body["id"] in newest and at < newest[body["id"]]:
            stale[d.store_key] += 1
        else:
            newest[body["id"]] = at

    assert sum(stale.values()) > 0
    for key, truth in history.expected.stores.items():
        assert truth.out_of_order == stale[key]


def test_expected_matches_the_bodies(history: DemoHistory, bodies: list[dict[str, Any]]) -> None:
    expected = history.expected
    latest = latest_orders(history, bodies)
    currency = {s.key: s.currency for s in history.stores}
    store_of = {
        b["id"]: d.store_key
        for d, b in zip(history.deliveries, bodies, strict=True)
        if d.topic in ORDER_TOPICS
    }
    refunds = [
        b for d, b in zip(history.deliveries, bodies, strict=True) if d.topic == "refunds/create"
    ]
    unique_refunds = {r["id"]: r for r in refunds}.values()

    for key, truth in expected.stores.items():
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
        assert truth.deliveries == sum(1 for d in history.deliveries if d.store_key == key)
        assert truth.ignored_topics == sum(
            1 for d in history.deliveries if d.store_key == key and d.topic in IGNORED_TOPICS
        )
    assert expected.orders == len(latest)
    assert expected.deliveries == len(history.deliveries)
    assert 1 <= expected.ignored_topics <= 5
    assert all(o["cancelled_at"] is None or o["financial_status"] in {"voided", "refunded"}
               for o in latest.values())  # fmt: skip

    orders_by_email = Counter(o["email"] for o in latest.values())
    assert expected.customers == len(orders_by_email)
    assert expected.repeat_customers == sum(1 for n in orders_by_email.values() if n >= 2)
    stores_by_email: dict[str, set[str]] = defaultdict(set)
    for oid, o in latest.items():
        stores_by_email[o["email"]].add(store_of[oid])
    assert expected.cross_store_customers == sum(1 for s in stores_by_email.values() if len(s) > 1)
    assert expected.cross_store_customers > 0


def test_customers_are_created_before_their_first_order(
    history: DemoHistory, bodies: list[dict[str, Any]]
) -> None:
    created: set[tuple[str, str]] = set()
    for d, body in zip(history.deliveries, bodies, strict=True):
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
        for d, b in zip(history.deliveries, bodies, strict=True)
        if d.topic == "customers/create"
    }
    assert {country for country, _ in phones} == {"US", "DE", "FR", "GB", "JP"}
    for country, phone in phones:
        assert not phone.startswith("+")
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone, country)), (country, phone)
