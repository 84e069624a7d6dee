"""Outreach on the local stack over HTTP: a Shopify checkout webhook starts the abandoned-checkout
preset; ``POST /_local/clock`` moves the stack's one clock past the waits (no sleeping through
them); the email and the SMS go out through moto's SES and SNS; the one-click unsubscribe link
in the email's header withdraws consent."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from tests.support import fixture_json


def _wait_for(check: Callable[[], Any], what: str, attempts: int = 240) -> Any:
    for _ in range(attempts):
        found = check()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def test_abandoned_checkout_flow_runs_on_the_moved_clock(stack: dict[str, Any]) -> None:
    api, admin = stack["api_url"], stack["admin_token"]
    # Given a seller with the abandoned-checkout preset and a buyer who opted in
    tenant = requests.post(
        f"{api}/tenants", headers=_headers(admin), json={"name": "Outreach e2e"}, timeout=10
    ).json()
    key = tenant["api_key"]
    secret = "shpss_" + uuid.uuid4().hex[:24]
    store = requests.post(
        f"{api}/stores",
        headers=_headers(key),
        json={
            "platform": "shopify",
            "external_id": f"e2e-{tenant['tenant_id']}.myshopify.com",
            "market": "US",
            "webhook_secret": secret,
        },
        timeout=10,
    ).json()
    flow = requests.post(
        f"{api}/flows", headers=_headers(key), json={"preset": "abandoned_checkout"}, timeout=10
    )
    assert flow.status_code == 200, flow.text
    contact = requests.post(
        f"{api}/contacts",
        headers=_headers(key),
        json={
            "email": "bob.norman@hostmail.com",
            "phone": "+14155550134",
            "time_zone": "America/New_York",
            "consent": {"email": "subscribed", "sms": "subscribed"},
        },
        timeout=10,
    ).json()
    # The stack's clock set to a weekday morning in New York, so the SMS a day later is lawful.
    now = requests.get(f"{api}/_local/clock", headers=_headers(admin), timeout=10).json()["now"]
    start = _next_morning(now)
    moved = requests.post(
        f"{api}/_local/clock", headers=_headers(admin), json={"set": start}, timeout=90
    )
    assert moved.status_code == 200, moved.text

    # When the platform reports a checkout
    raw = json.dumps(fixture_json("shopify/checkouts_create.json")).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), raw, hashlib.sha256).digest()).decode()
    path = "/" + store["webhook_url"].split("/", 3)[3]
    answer = requests.post(
        api + path,
        data=raw,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": "checkouts/create",
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": "e2e.myshopify.com",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": start,
            "X-Shopify-Event-Id": str(uuid.uuid4()),
        },
        timeout=10,
    )
    assert answer.status_code == 200

    def log() -> list[dict[str, Any]]:
        got = requests.get(f"{api}/messages", headers=_headers(key), timeout=10)
        return list(got.json()["messages"])

    stats_url = f"{api}/flows/{flow.json()['flow_id']}/stats"
    _wait_for(
        lambda: requests.get(stats_url, headers=_headers(key), timeout=10).json()["entered"] == 1,
        "the run",
    )
    assert log() == []

    # Then an hour later (the clock moved, the minute tick fired) the email has gone out
    requests.post(
        f"{api}/_local/clock", headers=_headers(admin), json={"advance_seconds": 3600}, timeout=90
    )
    email = _wait_for(
        lambda: [m for m in log() if m["channel"] == "email" and m["state"] == "sent"], "the email"
    )[0]
    assert email["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # And a day later, still unpaid, the SMS
    requests.post(
        f"{api}/_local/clock",
        headers=_headers(admin),
        json={"advance_seconds": 23 * 3600},
        timeout=90,
    )
    _wait_for(
        lambda: [m for m in log() if m["channel"] == "sms" and m["state"] == "sent"], "the SMS"
    )

    # The one-click unsubscribe (RFC 8058) withdraws email marketing consent at once
    link = email["headers"]["List-Unsubscribe"].strip("<>")
    assert requests.get(link, timeout=10).status_code == 200
    done = requests.post(
        link,
        data="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert done.status_code == 200
    after = requests.get(
        f"{api}/contacts/{contact['contact_id']}", headers=_headers(key), timeout=10
    ).json()
    assert after["consent"]["email"]["marketing"]["status"] == "unsubscribed"
    assert after["consent"]["email"]["marketing"]["source"] == "one_click"

    # And each send was metered once, by channel and destination, and the recount agrees
    sent = [m for m in log() if m["state"] in ("sent", "delivered")]
    months = sorted({m["sent_at"][:7] for m in sent})
    email_country = after.get("country") or "ZZ"  # email is billed where the contact lives
    units: dict[tuple[str, str], int] = {}
    for month in months:
        usage = requests.get(f"{api}/usage?month={month}", headers=_headers(key), timeout=10)
        assert usage.status_code == 200, usage.text
        for line in usage.json()["lines"]:
            where = (line["channel"], line["country"])
            units[where] = units.get(where, 0) + line["units"]
        recount = requests.get(
            f"{api}/admin/billing/reconcile?tenant_id={tenant['tenant_id']}&month={month}",
            headers=_headers(admin),
            timeout=30,
        )
        assert recount.json()["ok"] is True, recount.text
    assert sorted(units.items()) == [(("email", email_country), 1), (("sms", "US"), 1)]


def _next_morning(now_iso: str) -> str:
    """The next 14:00 UTC (09:00 or 10:00 in New York) at least a minute after ``now``."""
    from datetime import datetime, timedelta

    now = datetime.fromisoformat(now_iso)
    target = now.replace(hour=14, minute=0, second=0, microsecond=0)
    if target <= now + timedelta(minutes=1):
        target += timedelta(days=1)
    while target.weekday() >= 5:
        target += timedelta(days=1)
    return target.isoformat()
