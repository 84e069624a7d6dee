"""The seller console in a real browser: Playwright (from PyPI) drives Debian's Chromium headless
against the local stack, seeded through the API as a seller's data would arrive (a Shopify store,
signed order webhooks from the real fixture, ad and traffic facts, a cost model, KPIs).

A person signs in (a wrong key is refused with a message), reads KPI cards with numbers, switches
to Chinese without reloading, opens the funnel (drop-offs highlighted) and the profit waterfall
down to one order, enables a preset flow, sees the usage bars and imports a history file with its
per-row errors; a lesser role is not offered what it can't do, and a key that stops working sends
them back to sign-in. Screenshots of each step go to ``.local/screenshots/``.

Chromium is a system package (``.ci/run`` installs it): without it these tests fail, they are
not skipped.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.support import REPO, fixture_json, shopify_headers

SCREENSHOTS = REPO / ".local" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SECRET = "console-e2e-webhook-secret"
MARKETS = ["US", "US", "GB", "DE", "US"]
# Per market: impressions, clicks, sessions, add-to-carts. US converts sessions to carts at 5%
# against 19% elsewhere: the funnel's top drop-off.
TRAFFIC = {"US": (20000, 900, 800, 40), "GB": (9000, 500, 450, 90), "DE": (6000, 300, 280, 50)}
COST_MODEL = {
    "reporting_currency": "USD",
    "commission": [{"platform": "shopify", "rate": "0.02"}],
    "payment_fees": [
        {"platform": "shopify", "rate": "0.029", "fixed": "0.30", "fixed_currency": "USD"}
    ],
    "logistics": [{"market": "US", "currency": "USD", "brackets": [{"price": "8.00"}]}],
    "ads": {"rule": "by_revenue_share", "within": "market"},
    "cogs": {
        sku: {"unit_cost": "80.00", "currency": "USD"}
        for sku in ("IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK")
    },
}
KPIS = [
    {"name": "GMV", "builtin": "sales_target_attainment", "target": "5000"},
    {"name": "Orders", "formula": "orders", "unit": "count", "target": "100"},
    {"name": "AOV", "builtin": "aov", "target": "300"},
]

AGENCY = "nova-ads"
CONTRACT = {
    "currency": "USD",
    "base_fee": "100.00",
    "rules": [
        {
            "type": "commission",
            "name": "5% of ad sales",
            "rate": "0.05",
            "on": {"metric": "ad_sales"},
        }
    ],
}
CJK = r"[\u4e00-\u9fff]"


def _wait_for(check: Callable[[], Any], what: str, attempts: int = 120) -> Any:
    """Poll until ``check`` returns something truthy: bounded by attempts, not by a clock."""
    for _ in range(attempts):
        found = check()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def __call__(self, method: str, path: str, body: Any = None, ok: int = 200) -> Any:
        answer = requests.request(
            method,
            f"{self.base}{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            json=body,
            timeout=30,
        )
        assert answer.status_code == ok, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()


@pytest.fixture(scope="module")
def seller(stack: dict[str, Any]) -> dict[str, Any]:
    """A tenant with a Shopify store, five orders placed today, traffic, a cost model, KPIs."""
    api = stack["api_url"]
    admin = Api(api, stack["admin_token"])
    now = datetime.fromisoformat(admin("GET", "/_local/clock")["now"])
    tenant = admin("POST", "/tenants", {"name": "Console Shop"}, ok=201)
    owner = Api(api, tenant["api_key"])
    store = owner(
        "POST",
        "/stores",
        {
            "platform": "shopify",
            "external_id": "console-e2e.myshopify.com",
            "market": "US",
            "webhook_secret": SECRET,
        },
        ok=201,
    )
    for index, market in enumerate(MARKETS):
        order = fixture_json("shopify/orders_create.json")
        placed = (now - timedelta(minutes=10 - index)).isoformat().replace("+00:00", "Z")
        order.update(
            id=880000000 + index,
            name=f"#C{index + 1}",
            order_number=5000 + index,
            created_at=placed,
            updated_at=placed,
            processed_at=placed,
            financial_status="paid",
        )
        order["shipping_address"]["country_code"] = market
        body = json.dumps(order).encode()
        answer = requests.post(
            store["webhook_url"],
            data=body,
            headers=shopify_headers("orders/create", body, SECRET),
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
    day = now.date().isoformat()

    def stored() -> bool:
        rows = owner("GET", f"/reports/daily?from={day}&to={day}")["rows"]
        return sum(r["orders"] for r in rows) == len(MARKETS)

    _wait_for(stored, "the orders to be stored")
    facts = [
        {"date": day, "metric": metric, "value": str(value), "market": market}
        for market, counts in TRAFFIC.items()
        for metric, value in zip(
            ("impressions", "clicks", "sessions", "add_to_carts"), counts, strict=True
        )
    ]
    facts.append({"date": day, "metric": "ad_spend", "value": "50.00", "market": "US"})
    owner("POST", "/metrics", {"facts": facts})
    owner("PUT", "/cost-model", COST_MODEL)
    for kpi in KPIS:
        owner("POST", "/kpis", {"owner": "growth-team", **kpi}, ok=201)
    # An agency paid 5% of ad sales, which no fact reports: its statement says why in words.
    owner("PUT", f"/settlements/contracts/{AGENCY}", CONTRACT)
    viewer = owner("POST", "/api-keys", {"role": "viewer", "name": "console e2e"}, ok=201)
    return {"key": tenant["api_key"], "viewer_key": viewer["api_key"], "store": store}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail(
            "Debian's chromium is not installed, and the console's browser tests need it: "
            "apt-get install -y chromium fonts-noto-cjk (.ci/run does this)"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-US")
    opened = context.new_page()
    problems: list[str] = []
    opened.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    yield opened
    context.close()
    assert problems == [], "the console raised errors in the browser"


def _shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)


def _sign_in(page: Page, url: str, key: str) -> None:
    page.goto(url)
    page.fill("#api-key", key)
    page.click("#signin-submit")
    expect(page.locator("#nav")).to_be_visible()


def _open(page: Page, route: str) -> None:
    page.click(f"#nav a[data-route={route}]")
    expect(page.locator("#view")).to_have_attribute("data-page", route)


def _charts_drawn(page: Page) -> None:
    charts = page.locator("#view .chart")
    expect(charts.first).to_have_attribute("data-ready", "true")
    for index in range(charts.count()):
        expect(charts.nth(index)).to_have_attribute("data-ready", "true")


def test_a_seller_runs_the_business_from_the_console(
    stack: dict[str, Any], seller: dict[str, Any], page: Page
) -> None:
    url = stack["console_url"]
    # Given the console, a wrong key is refused with a message a person understands
    page.goto(url)
    expect(page.locator("#signin h1")).to_have_text("Sign in")
    page.fill("#api-key", "lsk_not_a_real_key")
    page.click("#signin-submit")
    expect(page.locator("#signin-message")).to_contain_text("not accepted")
    _shot(page, "signin-refused")

    # When the owner signs in, the overview shows KPI cards with numbers against their targets
    page.fill("#api-key", seller["key"])
    page.click("#signin-submit")
    expect(page.locator("#role")).to_have_text("Owner")  # GET /me names the key's role
    cards = page.locator(".kpi-card")
    expect(cards).to_have_count(len(KPIS))
    orders = page.locator(".kpi-card", has_text="Orders")
    expect(orders.locator(".kpi-actual")).to_have_text("5")
    expect(orders).to_contain_text("of target 100")
    gmv = page.locator(".kpi-card", has_text="GMV").locator(".kpi-actual")
    expect(gmv).to_have_text("$2,049.70")  # 5 x 409.94 in the reporting currency, for en
    expect(page.locator("#view")).to_contain_text("Orders and GMV by market")
    expect(page.locator("#view")).to_contain_text("United Kingdom (GB)")
    _charts_drawn(page)
    _shot(page, "overview-en")

    # and switching to Chinese relabels everything at once, without reloading the page
    page.evaluate("window.__sameDocument = true")
    page.select_option("#lang", "zh-CN")
    expect(page.locator("#nav a[data-route=overview]")).to_have_text("总览")
    expect(page.locator("#role")).to_have_text("所有者")
    expect(page.locator(".page-title")).to_have_text("总览")
    expect(orders.locator(".badge")).to_have_text("未达标")
    expect(page.locator("#view")).to_contain_text("各市场订单与 GMV")
    expect(page.locator("#view")).to_contain_text("英国 (GB)")
    assert page.evaluate("window.__sameDocument") is True
    _charts_drawn(page)
    _shot(page, "overview-zh-CN")

    # The funnel by market highlights the top drop-off: US sessions to carts
    _open(page, "funnel")
    top = page.locator(".drop-off").first
    expect(top).to_have_attribute("data-group", "US")
    expect(top).to_have_attribute("data-stage", "add_to_carts")
    expect(top).to_contain_text("访问 → 加购")
    _charts_drawn(page)
    _shot(page, "funnel-zh-CN")

    # The profit page draws a waterfall per market, and drills down to one order
    page.select_option("#lang", "en")
    _open(page, "profit")
    expect(page.locator("#view")).to_contain_text("All markets")
    expect(page.locator("#view")).to_contain_text("United States (US)")
    _charts_drawn(page)
    page.select_option("select[name=market]", "US")
    page.click("text=List orders")
    page.locator("tr.clickable").first.click()
    detail = page.locator(".order-detail")
    expect(detail).to_contain_text("Product cost (COGS)")
    expect(detail).to_contain_text("80.00 USD (IPOD2008GREEN)")  # how its COGS was worked out
    expect(detail).to_contain_text(" paid + ")  # how its payment fee was, in the API's words
    _charts_drawn(page)
    _shot(page, "profit-en")
    # and the API's own sentences follow the language too: the page asks for them again
    page.select_option("#lang", "zh-CN")
    expect(detail).to_contain_text("实付")
    expect(detail).not_to_contain_text(" paid + ")
    _shot(page, "profit-zh-CN")
    page.select_option("#lang", "en")
    expect(detail).to_contain_text(" paid + ")

    # An owner enables a preset flow; it is listed, switched on
    _open(page, "outreach")
    expect(page.locator("#view")).to_contain_text("No flows yet")
    page.select_option("#preset-select", "welcome")
    expect(page.locator(".preset-about")).not_to_be_empty()  # what it does, from GET /flow-presets
    page.click("#enable-preset")
    flow = page.locator("tr", has_text="Welcome series")
    expect(flow.locator("input[role=switch]")).to_be_checked()
    owner = Api(stack["api_url"], seller["key"])
    owner("POST", "/contacts", {"email": "ann@example.com", "consent": {"email": "subscribed"}})
    _wait_for(lambda: owner("GET", "/messages")["messages"], "the welcome email to be written")
    page.reload()
    expect(page.locator("#view")).to_contain_text("ann@example.com")
    _shot(page, "outreach")

    # Usage & bill shows each channel's included units as a bar
    _open(page, "usage")
    bars = page.locator("#quota-bars .bar-row")
    expect(bars.first).to_be_visible()
    expect(page.locator("#quota-bars")).to_contain_text("of 10,000")
    expect(page.locator("#view")).to_contain_text("Invoice preview")
    _shot(page, "usage")

    # Stores: the webhook URL to paste, the last event received, and a history import's errors
    _open(page, "stores")
    expect(page.locator(".webhook-url")).to_have_text(seller["store"]["webhook_url"])
    expect(page.locator("#view")).not_to_contain_text("Nothing received yet")
    malformed = REPO / "tests/fixtures/imports/shopify_orders_export.malformed.csv"
    page.set_input_files("input[type=file]", str(malformed))
    page.click("text=Import file")
    job = page.locator(".import-job")
    expect(job).to_have_attribute("data-status", "done", timeout=60_000)
    expect(job).to_contain_text("2 orders accepted")
    expect(job.locator("tbody tr")).to_have_count(8)
    _shot(page, "stores-import")
    # Each rejected row's problem, as the import stored it, reads in Chinese when asked
    page.select_option("#lang", "zh-CN")
    expect(job.locator("tbody tr").first).to_contain_text(re.compile(CJK))
    _shot(page, "stores-import-zh-CN")
    page.select_option("#lang", "en")

    # The agency statement: the agency is picked from its contracts, and why a commission is not
    # earned is the API's sentence, in the console's language
    _open(page, "scorecards")
    expect(page.locator("#agency-select")).to_have_value(AGENCY)
    page.click("text=Show statement")
    statement = page.locator("#view")
    expect(statement).to_contain_text("not earned: ad_sales has no value")
    page.select_option("#lang", "zh-CN")
    expect(statement).to_contain_text("未达成：ad_sales 无数值")
    _shot(page, "statement-zh-CN")
    page.select_option("#lang", "en")

    # Quarters and weeks are periods too: this quarter still counts today's five orders
    _open(page, "overview")
    quarter = page.locator("#period optgroup").nth(1).locator("option").first
    page.select_option("#period", quarter.get_attribute("value"))
    expect(page.locator(".kpi-card", has_text="Orders").locator(".kpi-actual")).to_have_text("5")
    week = page.locator("#period optgroup").nth(2).locator("option").first
    page.select_option("#period", week.get_attribute("value"))
    expect(page.locator(".kpi-card", has_text="Orders").locator(".kpi-actual")).to_have_text("5")
    # a monthly KPI read in a week says it is measured over its month
    expect(page.locator(".kpi-card", has_text="Orders")).to_contain_text("Measured over")
    _shot(page, "overview-week")

    # A KPI's detail: its trend with the target line and the projection to period end
    _open(page, "overview")
    page.locator(".kpi-card", has_text="GMV").click()
    expect(page.locator(".kpi-head h2")).to_have_text("GMV")
    _charts_drawn(page)
    _shot(page, "kpi-detail")


def test_a_viewer_is_not_offered_what_it_cant_do_and_a_dead_key_signs_out(
    stack: dict[str, Any], seller: dict[str, Any], page: Page
) -> None:
    # Given a viewer's key
    _sign_in(page, stack["console_url"], seller["viewer_key"])
    expect(page.locator("#role")).to_have_text("Viewer")
    # Then flows are shown without the controls, and stores without connect or import
    _open(page, "outreach")
    expect(page.locator("#view")).to_contain_text("a manager or above turns them on and off")
    expect(page.locator("#enable-preset")).to_have_count(0)
    expect(page.locator("input[role=switch]")).to_have_count(0)
    _open(page, "stores")
    expect(page.locator("#connect-store")).to_have_count(0)
    expect(page.locator("input[type=file]")).to_have_count(0)
    _shot(page, "viewer-stores")

    # When the key stops being accepted, the next page sends the person back to sign-in
    page.evaluate("sessionStorage.setItem('linkstar.console.apiKey', 'lsk_tzzzzzzzzzzz_revoked')")
    page.click("#nav a[data-route=usage]")
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#signin-message")).to_contain_text("no longer accepted")
    _shot(page, "signin-expired")
