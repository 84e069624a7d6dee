"""Helpers shared by the test tiers: fixture files and Shopify-signed requests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = SHARED / "fixtures"


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def fixture_json(relative: str) -> Any:
    return json.loads(fixture_bytes(relative))


def shopify_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(
    topic: str,
    body: bytes,
    secret: str,
    *,
    event_id: str | None = None,
    shop: str = "acme.myshopify.com",
) -> dict[str, str]:
    """The documented header set (fixtures/shopify/webhook_headers_example.json), signed."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": shopify_signature(secret, body),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2026-01",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": "2026-11-20T18:00:27.877041743Z",
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
    }


def order_body(**changes: Any) -> bytes:
    """The real orders/create fixture with some fields changed."""
    order = fixture_json("shopify/orders_create.json")
    order.update(changes)
    return json.dumps(order).encode()


def hex_signature(secret: str, message: bytes) -> str:
    """TikTok Shop, Shopee and Lazada pushes: hex(HMAC-SHA256(secret, message))."""
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def marketplace_headers(secret: str, signed: bytes) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": hex_signature(secret, signed)}


class FakeClock:
    """A clock that moves only when something sleeps on it: retries and rate limits are
    tested by the waits they ask for, never by real time."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
