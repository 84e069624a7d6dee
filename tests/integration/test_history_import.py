"""History backfill through the API and the import function: a Shopify orders export and an
Amazon All Orders report become the same canonical orders webhooks make, once."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import (
    Stack,
    body_of,
    call,
    drain,
    drain_ingest,
    new_seller,
    post_webhook,
)
from tests.support import REPO, fixture_bytes

IMPORTS = REPO / "tests" / "fixtures" / "imports"


def upload(stack: Stack, api_key: str, store_id: str, body: bytes, content_type: str) -> Any:
    return stack.api.post(
        f"/stores/{store_id}/import",
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": content_type},
        body=body,
    )


def run_imports(stack: Stack) -> None:
    from functions.importer.app import handler

    drain(stack, "ImportQueue", handler)


def job(stack: Stack, api_key: str, store_id: str, job_id: str) -> dict:
    return body_of(call(stack, "GET", f"/stores/{store_id}/imports/{job_id}", api_key))


def test_shopify_export_imports_once_and_merges_with_webhooks(stack: Stack) -> None:
    # Given: a Shopify store and its orders export (which holds the webhook fixture's order)
    seller = new_seller(stack, "Importer")
    csv = (IMPORTS / "shopify_orders_export.csv").read_bytes()

    # When: the file is imported twice, then the store's webhook for one order arrives
    first = upload(stack, seller.api_key, seller.store_id, csv, "text/csv")
    run_imports(stack)
    second = upload(stack, seller.api_key, seller.store_id, csv, "text/csv")
    run_imports(stack)
    post_webhook(stack, seller, "orders/create", fixture_bytes("shopify/orders_create.json"))
    drain_ingest(stack)

    # Then: the first import accepted every order, the second changed nothing
    assert first.status_code == 202, first.body
    done = job(stack, seller.api_key, seller.store_id, body_of(first)["job_id"])
    again = job(stack, seller.api_key, seller.store_id, body_of(second)["job_id"])
    assert done["status"] == "done"
    assert done["orders_accepted"] > 0 and done["orders_applied"] == done["orders_accepted"]
    assert again["orders_accepted"] == done["orders_accepted"]
    assert again["orders_applied"] == 0
    # and the webhook's order is the imported one, not a second copy
    orders = body_of(
        call(stack, "GET", f"/orders?store_id={seller.store_id}&limit=200", seller.api_key)
    )["orders"]
    external = [o["external_id"] for o in orders]
    assert external.count("450789469") == 1
    assert len(orders) == done["orders_accepted"]


def test_rejected_rows_are_reported_with_their_reason(stack: Stack) -> None:
    seller = new_seller(stack, "Messy")
    csv = (IMPORTS / "shopify_orders_export.malformed.csv").read_bytes()

    response = upload(stack, seller.api_key, seller.store_id, csv, "text/csv")
    run_imports(stack)

    result = job(stack, seller.api_key, seller.store_id, body_of(response)["job_id"])
    assert result["status"] == "done"
    assert result["rows_rejected"] > 0
    assert all(e["row"] >= 0 and e["code"] and e["reason"] for e in result["errors"])


def test_amazon_report_imports_into_an_amazon_store_only(stack: Stack) -> None:
    tenant = body_of(call(stack, "POST", "/tenants", stack.admin_token, {"name": "Amz import"}))
    store = body_of(
        call(
            stack,
            "POST",
            "/stores",
            tenant["api_key"],
            {"platform": "amazon", "external_id": "A1IMPORTSELLER", "market": "US"},
        )
    )
    tsv = (IMPORTS / "amazon_all_orders.tsv").read_bytes()
    shopify = new_seller(stack, "Wrong store")

    wrong = upload(stack, shopify.api_key, shopify.store_id, tsv, "text/tab-separated-values")
    right = upload(stack, tenant["api_key"], store["store_id"], tsv, "text/tab-separated-values")
    run_imports(stack)

    assert wrong.status_code == 400
    assert body_of(wrong)["code"] == "format_platform_mismatch"
    result = job(stack, tenant["api_key"], store["store_id"], body_of(right)["job_id"])
    assert result["status"] == "done" and result["orders_accepted"] > 0
    listed = body_of(call(stack, "GET", f"/stores/{store['store_id']}/imports", tenant["api_key"]))
    assert [j["job_id"] for j in listed["imports"]] == [result["job_id"]]


def test_unknown_file_format_is_a_clear_400(stack: Stack) -> None:
    seller = new_seller(stack, "Unknown format")

    response = upload(stack, seller.api_key, seller.store_id, b"a,b,c\n1,2,3\n", "text/csv")

    assert response.status_code == 400
    assert body_of(response)["code"] == "unknown_import_format"
