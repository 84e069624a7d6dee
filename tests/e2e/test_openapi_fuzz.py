"""Schemathesis against the local stack over HTTP, with the document the stack itself serves at
``/openapi.json``: every answer must be no 5xx and match the document.

Two parts. First, valid requests a seller would make (a store, an order webhook, contacts,
templates, a plan, metrics, KPIs, an agency contract, a history import, a cost model and FX rates,
an Amazon settlement report, funnel stages) are sent as documented cases, so the success bodies a
generator seldom reaches (its bodies rarely pass business rules) are checked too; they also leave
real ids for the path parameters. Then every documented operation is called with a bounded number of
generated requests, authenticated as its security says (the tenant owner's key or the operator's
admin token): valid by the schema, and, where it has a body or query string, invalid by it (which
must be a 4xx, not a 5xx).

Generation is derandomized and never shrinks, so a run is reproducible and bounded; a failure
names the operation and prints the request as a curl command.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import checks
from schemathesis.generation import GenerationMode

from tests.support import REPO, fixture_json, shopify_headers

# Per operation: requests the document says are valid, then requests it says are not (wrong
# types, missing fields, bodies that break the schema).
EXAMPLES = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 4}
CHECKS = [checks.not_a_server_error, checks.response_schema_conformance]
# Operations not fuzzed, and why.
EXCLUDED = {
    # Need the platform's or Meta's signature over the body: generated requests are only ever
    # refused (the seller's part sends one signed order; webhook tests cover the rest).
    ("POST", "/webhooks/{platform}/{store_id}"): "platform-signed",
    ("GET", "/webhooks/whatsapp"): "platform-signed",
    ("POST", "/webhooks/whatsapp"): "platform-signed",
    # Operator actions that change every tenant on the shared stack: replaying dead letters
    # moves other tests' letters, closing a month freezes every tenant's invoice.
    ("POST", "/admin/dlq/replay"): "admin, changes every tenant",
    ("POST", "/admin/billing/close"): "admin, changes every tenant",
}
IMPORT_CSV = REPO / "tests/fixtures/imports/shopify_orders_export.csv"
SP_REPORT = REPO / "tests/fixtures/kpi_reports/amazon_sp_campaigns.csv"
SETTLEMENT = REPO / "tests/fixtures/settlements/amazon_us_settlement_1.tsv"
COST_MODEL = {
    "reporting_currency": "USD",
    "commission": [{"platform": "shopify", "rate": "0.02"}, {"platform": "amazon", "rate": "0.15"}],
    "payment_fees": [
        {"platform": "shopify", "rate": "0.029", "fixed": "0.30", "fixed_currency": "USD"}
    ],
    "logistics": [{"market": "US", "currency": "USD", "brackets": [{"price": "8.00"}]}],
    "ads": {"rule": "by_revenue_share", "within": "market"},
    "taxes": [{"country": "US", "rate": "0.0", "prices_include_tax": False}],
    "cogs": {"IPOD2008GREEN": {"unit_cost": "80.00", "currency": "EUR"}},
}


def _wait_for(check: Callable[[], Any], what: str, attempts: int = 120) -> Any:
    for _ in range(attempts):
        found = check()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


class Seller:
    """Sends documented cases as one tenant and checks every answer against the document."""

    def __init__(self, api: str, admin: str, schema: Any) -> None:
        self.api, self.admin, self.schema = api, admin, schema
        self.session = requests.Session()
        self.key = ""
        self.ids: dict[str, str] = {}

    def auth(self, operation: Any) -> dict[str, str]:
        schemes = {name for need in operation.definition.raw.get("security", []) for name in need}
        if "adminToken" in schemes:
            return {"Authorization": f"Bearer {self.admin}"}
        if "apiKey" in schemes:
            return {"Authorization": f"Bearer {self.key}"}
        return {}

    def send(self, method: str, path: str, body: Any = None, **case: Any) -> Any:
        operation = self.schema[path][method]
        if body is not None:
            case["body"] = body
            if not isinstance(body, bytes):
                case.setdefault("media_type", "application/json")
        documented = operation.Case(**case)
        auth = self.auth(operation)
        response = documented.call(base_url=self.api, session=self.session, headers=auth)
        documented.validate_response(response, checks=CHECKS, headers=auth)
        assert 200 <= response.status_code < 300, f"{method} {path}: {response.text}"
        content_type = (response.headers.get("content-type") or [""])[0]
        return response.json() if "json" in content_type else None


@pytest.fixture(scope="module")
def seller(stack: dict[str, Any]) -> Seller:
    """A tenant owner with a store that received an order, a contact, a KPI and a flow."""
    served = requests.get(f"{stack['api_url']}/openapi.json", timeout=30)
    assert served.status_code == 200, served.text
    seller = Seller(
        stack["api_url"], stack["admin_token"], schemathesis.openapi.from_dict(served.json())
    )
    seller.key = seller.send("POST", "/tenants", {"name": "Fuzz e2e"})["api_key"]
    shop = f"fuzz-{uuid.uuid4().hex[:8]}.myshopify.com"
    secret = "shpss_" + uuid.uuid4().hex[:24]
    store = seller.send(
        "POST",
        "/stores",
        {"platform": "shopify", "external_id": shop, "market": "US", "webhook_secret": secret},
    )
    seller.ids["store_id"] = store["store_id"]
    # An order arrives as Shopify sends it (signed), so the order and customer views are real
    order = fixture_json("shopify/orders_create.json")
    raw = json.dumps(order).encode()
    delivered = requests.post(
        store["webhook_url"],
        data=raw,
        headers=shopify_headers("orders/create", raw, secret, shop=shop),
        timeout=10,
    )
    assert delivered.status_code == 200, delivered.text
    page = _wait_for(
        lambda: seller.send("GET", "/orders")["orders"], "the order to be ingested", attempts=240
    )
    seller.ids["order_id"] = page[0]["order_id"]
    seller.ids["customer_id"] = page[0]["customer_id"]
    contact = {"email": "fuzz@example.com", "country": "US", "consent": {"email": "subscribed"}}
    seller.ids["contact_id"] = seller.send("POST", "/contacts", contact)["contact_id"]
    kpi = {"name": "ROAS", "builtin": "roas", "target": "3", "owner": "ads"}
    seller.ids["kpi_id"] = seller.send("POST", "/kpis", kpi)["kpi_id"]
    flow = seller.send("POST", "/flows", {"preset": "abandoned_checkout"})
    seller.ids["flow_id"] = flow["flow_id"]
    return seller


def test_a_sellers_valid_requests_answer_as_documented(seller: Seller) -> None:
    # Given a seller with a store that received an order, a contact, a KPI and a flow
    send, ids = seller.send, seller.ids
    path = {"store_id": ids["store_id"]}
    now = requests.get(
        f"{seller.api}/_local/clock",
        headers={"Authorization": f"Bearer {seller.admin}"},
        timeout=10,
    ).json()["now"]
    month = now[:7]
    # When it makes the requests a seller makes, each answer is checked against the document
    send("GET", "/orders/{order_id}", path_parameters={"order_id": ids["order_id"]})
    send("GET", "/customers/{customer_id}", path_parameters={"customer_id": ids["customer_id"]})
    send("GET", "/reports/daily")
    job = send(
        "POST",
        "/stores/{store_id}/import",
        IMPORT_CSV.read_bytes(),
        path_parameters=path,
        media_type="text/csv",
    )
    send(
        "GET",
        "/stores/{store_id}/imports/{job_id}",
        path_parameters={**path, "job_id": job["job_id"]},
    )
    send("POST", "/contacts", {"contacts": [{"email": "two@example.com"}, {"email": "not-mail"}]})
    send(
        "POST",
        "/contacts/{contact_id}/consent",
        {"channel": "sms", "status": "subscribed"},
        path_parameters={"contact_id": ids["contact_id"]},
    )
    template = {
        "template_id": "fuzz.hello",
        "channel": "sms",
        "locale": "en",
        "purpose": "transactional",
        "body": "Hi {{ contact.first_name }}, order {{ order.name }} is on its way",
    }
    send("POST", "/templates", template)
    send("POST", "/templates/preview", {"template_id": "fuzz.hello"})
    send(
        "PATCH", "/flows/{flow_id}", {"enabled": False}, path_parameters={"flow_id": ids["flow_id"]}
    )
    send("POST", "/suppressions", {"channel": "email", "address": "gone@example.com"})
    plan = {
        "plan_id": "fuzz",
        "currency": "USD",
        "effective_from": f"{month}-01",
        "base_fee": "10.00",
        "channels": {
            "email": {
                "included_units": 3,
                "model": "graduated",
                "tiers": [{"up_to": None, "per_thousand": "1.00"}],
            },
            "sms": {
                "included_units": 2,
                "model": "rate_card",
                "rates": [{"country": "US", "unit_price": "0.01", "provider_cost": "0.006"}],
            },
        },
    }
    send("PUT", "/plan", plan)
    rates = {
        "rates": [{"country": "GB", "unit_price": "0.04", "provider_cost": "0.03"}],
        "effective_from": f"{month}-01",
    }
    send("PUT", "/rate-cards/{channel}", rates, path_parameters={"channel": "sms"})
    send("GET", "/usage/invoice-preview", query={"format": "csv"})
    send(
        "POST",
        "/metrics",
        {"facts": [{"date": f"{month}-01", "metric": "ad_spend", "value": "30"}, {"date": "x"}]},
    )
    send(
        "POST",
        "/metrics/import",
        SP_REPORT.read_bytes(),
        query={"preset": "amazon_sp_campaigns"},
        media_type="text/csv",
    )
    send("PATCH", "/kpis/{kpi_id}", {"target": "4"}, path_parameters={"kpi_id": ids["kpi_id"]})
    send(
        "GET", "/kpis/{kpi_id}", path_parameters={"kpi_id": ids["kpi_id"]}, query={"period": month}
    )
    send(
        "PUT",
        "/owners/{owner_id}",
        {"name": "Ads team", "kind": "agency"},
        path_parameters={"owner_id": "ads"},
    )
    contract = {
        "currency": "USD",
        "base_fee": "100.00",
        "rules": [
            {
                "type": "commission",
                "name": "5% of ad sales",
                "rate": "0.05",
                "on": {"metric": "ad_sales"},
                "conditions": [{"kpi": "acos", "op": "<=", "value": "0.35"}],
            }
        ],
    }
    send("PUT", "/settlements/contracts/{agency}", contract, path_parameters={"agency": "ads"})
    send("GET", "/settlements", query={"agency": "ads", "period": month})
    # Costs: a cost model (its recost costs the order), rates, ad spend in the order's market
    send("GET", "/me")
    send("PUT", "/cost-model", COST_MODEL)
    send("GET", "/cost-model")
    order = send("GET", "/orders/{order_id}", path_parameters={"order_id": ids["order_id"]})
    placed = order["created_at"][:10]
    send(
        "POST",
        "/fx-rates",
        {"rates": [{"date": placed, "base": "EUR", "quote": "USD", "rate": "1.0850"}]},
    )
    send(
        "POST",
        "/metrics",
        {"facts": [{"date": placed, "metric": "ad_spend", "value": "12.50", "market": "US"}]},
    )

    def recosted() -> Any:
        report = send("GET", "/costs", query={"period": placed[:7]})
        return report if report["recost"]["state"] == "done" else None

    report = _wait_for(recosted, "the recost after the model and rates", attempts=240)
    assert report["total"] and report["total"][0]["orders"] >= 1, report
    for by in ("sku", "week"):
        send("GET", "/costs", query={"period": placed[:7], "by": by})
    send("GET", "/costs", query={"period": month, "by": "platform"})
    send("GET", "/orders/{order_id}/profit", path_parameters={"order_id": ids["order_id"]})
    for by in ("market", "store"):
        send("GET", "/unit-economics", query={"period": placed[:7], "by": by})
    # An Amazon store's settlement report (orders LinkStar doesn't have: listed as unknown)
    amazon = send(
        "POST", "/stores", {"platform": "amazon", "external_id": "A1FUZZE2E", "market": "US"}
    )
    send(
        "POST",
        "/stores/{store_id}/settlements",
        SETTLEMENT.read_bytes(),
        path_parameters={"store_id": amazon["store_id"]},
        media_type="text/tab-separated-values",
    )
    # The funnel, its stages, and the repeat-purchase cohorts
    send("PUT", "/funnel/stages", {"stages": ["sessions", "orders", "repeat_60d"]})
    send("GET", "/funnel/stages")
    send("GET", "/funnel", query={"period": placed[:7], "by": "market"})
    send("GET", "/funnel", query={"period": month, "by": "campaign"})
    send("GET", "/cohorts", query={"from": f"{placed[:4]}-01", "to": placed[:7]})
    send("GET", "/cohorts", query={"currency": "eur"})
    # Then every answer matched the document (send checks each)


def _fuzz(
    operation: Any,
    seller: Seller,
    fixed: dict[str, str],
    mode: GenerationMode,
    seen: list[int],
) -> None:
    """Call one operation with generated requests and check each answer (``seen`` gets the
    statuses)."""
    auth = seller.auth(operation)

    @given(case=operation.as_strategy(mode, path_parameters=fixed or None))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        response = case.call(base_url=seller.api, session=seller.session, headers=auth, timeout=60)
        seen.append(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=auth)

    call()


def test_every_operation_answers_as_documented(seller: Seller) -> None:
    # Given the stack's own document and a seller with things of its own
    failures: list[str] = []
    statuses: dict[str, list[int]] = {}
    started = time.monotonic()
    # When each operation is called with generated requests
    for result in seller.schema.get_all_operations():
        operation = result.ok()
        method, path = operation.method.upper(), operation.path
        raw = operation.definition.raw
        if (method, path) in EXCLUDED or raw.get("x-linkstar-undocumented"):
            continue
        # Real ids where the seller has them: reads then reach the views, not only a 404.
        fixed = {name: value for name, value in seller.ids.items() if f"{{{name}}}" in path}
        seen = statuses.setdefault(f"{method} {path}", [])
        # Only a body or a query string can be made invalid (a path segment is any string).
        negatable = "requestBody" in raw or any(
            p["in"] == "query" for p in raw.get("parameters", [])
        )
        for mode in EXAMPLES if negatable else [GenerationMode.POSITIVE]:
            try:
                _fuzz(operation, seller, fixed, mode, seen)
            except Unsatisfiable:
                continue  # nothing in this operation's schema can be made invalid
            except (Exception, BaseExceptionGroup) as exc:  # a check failed, or a request did
                failures.append(f"{method} {path} ({mode.value}):\n{exc}")
    elapsed = time.monotonic() - started
    sent = sum(len(seen) for seen in statuses.values())
    print(f"fuzzed {len(statuses)} operations with {sent} requests in {elapsed:.0f}s")
    # Then none answered with a 5xx or a body the document does not describe
    assert len(statuses) >= 50, "the document lost its operations"
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
def test_the_document_and_the_reference_page_need_no_credentials(
    stack: dict[str, Any], path: str
) -> None:
    answer = requests.get(f"{stack['api_url']}{path}", timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith(
        "application/json" if path.endswith(".json") else "text/html"
    )
