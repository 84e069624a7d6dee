"""History backfill through the API and the import function: a Shopify orders export and an
Amazon All Orders report become the same canonical orders webhooks make, once."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

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


def job(
    stack: Stack, api_key: str, store_id: str, job_id: str, language: str | None = None
) -> dict:
    path = f"/stores/{store_id}/imports/{job_id}"
    return body_of(call(stack, "GET", path, api_key, language=language))


def test_shopify_export_imports_once_and_merges_with_webhooks(stack: Stack) -> None:
    # Given: a Shopify store and its orders export (which holds the webhook fixture's order)
    seller = new_seller(stack, "Importer")
    csv = (IMPORTS / "shopify_orders_export.csv").read_bytes()

    # When: the file is imported twice, then the store's webhook for one order arrives
    first = upload(stack, seller.api_key, seller.store_id, csv, "text/csv")
    run_imports(stack)
    second = upload(stack, seller.api_key, seller.store_id, csv, "text/csv")
    run_imports(stack)
    webhook = post_webhook(
        stack, seller, "orders/create", fixture_bytes("shopify/orders_create.json")
    )
    drain_ingest(stack)

    # Then: the first import accepted all seven orders of the sample, the second changed nothing
    assert first.status_code == 202, first.body
    done = job(stack, seller.api_key, seller.store_id, body_of(first)["job_id"])
    again = job(stack, seller.api_key, seller.store_id, body_of(second)["job_id"])
    assert done["status"] == again["status"] == "done"
    assert (done["orders_accepted"], done["orders_applied"], done["rows_rejected"]) == (7, 7, 0)
    assert (again["orders_accepted"], again["orders_applied"], again["orders_unchanged"]) == (
        7,
        0,
        7,
    )
    # and the webhook landed on the imported order rather than making a second copy: the one
    # order now carries the fulfillment only the webhook knows of
    assert webhook.status_code == 200, webhook.body
    orders = body_of(
        call(stack, "GET", f"/orders?store_id={seller.store_id}&limit=200", seller.api_key)
    )["orders"]
    assert len(orders) == 7
    [merged] = [o for o in orders if o["external_id"] == "450789469"]
    detail = body_of(call(stack, "GET", f"/orders/{merged['order_id']}", seller.api_key))
    assert [f["fulfillment_id"] for f in detail["fulfillments"]] == ["255858046"]
    # the webhook's snapshot replaced the one rebuilt from the export (same timestamp): its
    # line ids are Shopify's own, the ones the fulfillment points at
    shipped_lines = {line for f in detail["fulfillments"] for line in f["line_ids"]}
    assert shipped_lines <= {line["line_id"] for line in detail["line_items"]}


def test_rejected_rows_are_reported_with_their_reason(stack: Stack) -> None:
    seller = new_seller(stack, "Messy")
    csv = (IMPORTS / "shopify_orders_export.malformed.csv").read_bytes()

    response = upload(stack, seller.api_key, seller.store_id, csv, "text/csv")
    run_imports(stack)

    # The good orders are imported and every bad row is reported with its reason (the parser's
    # unit tests cover each problem; here: that the job hands them all to the seller)
    result = job(stack, seller.api_key, seller.store_id, body_of(response)["job_id"])
    assert result["status"] == "done"
    assert (result["orders_accepted"], result["rows_rejected"]) == (2, 8)
    assert sorted((e["row"], e["code"], e["order_ref"]) for e in result["errors"]) == [
        (3, "invalid_amount", "#2002"),
        (3, "invalid_date", "#2002"),
        (3, "unknown_status", "#2002"),
        (4, "order_rows_not_contiguous", "#2001"),
        (6, "order_incomplete", "#2004"),
        (7, "malformed_row", "#2004"),
        (8, "invalid_quantity", "#2005"),
        (9, "invalid_currency", "#2006"),
    ]
    assert all(e["reason"] for e in result["errors"])


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
    assert result["status"] == "done"
    # six Amazon orders; the Multi-Channel Fulfillment row is another channel's
    assert (result["orders_accepted"], result["rows_rejected"]) == (6, 1)
    assert [e["code"] for e in result["errors"]] == ["not_an_amazon_order"]
    orders = body_of(
        call(stack, "GET", f"/orders?store_id={store['store_id']}&limit=200", tenant["api_key"])
    )["orders"]
    assert sorted(o["external_id"] for o in orders) == [
        "028-1139472-8265943",
        "112-5560931-4472266",
        "113-4825910-2218650",
        "114-7730215-9981024",
        "205-6617283-4401934",
        "250-3340983-1127456",
    ]
    assert all(o["platform"] == "amazon" for o in orders)
    # and nothing reached the Shopify store the file was refused for
    refused = body_of(
        call(stack, "GET", f"/orders?store_id={shopify.store_id}&limit=200", shopify.api_key)
    )["orders"]
    assert refused == []
    listed = body_of(call(stack, "GET", f"/stores/{store['store_id']}/imports", tenant["api_key"]))
    assert [j["job_id"] for j in listed["imports"]] == [result["job_id"]]


def test_unknown_file_format_is_a_clear_400(stack: Stack) -> None:
    seller = new_seller(stack, "Unknown format")

    response = upload(stack, seller.api_key, seller.store_id, b"a,b,c\n1,2,3\n", "text/csv")

    assert response.status_code == 400
    assert body_of(response)["code"] == "unknown_import_format"


def test_a_job_that_keeps_failing_is_marked_failed_with_its_reason(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkstar.settings import reset_settings

    from functions.importer.app import handler
    from tests.integration.conftest import FakeContext

    # The import function's own environment (the suite's process merges every function's).
    monkeypatch.setenv(
        "MAX_RECEIVE_COUNT", stack.deployed.function_env("ImportFunction")["MAX_RECEIVE_COUNT"]
    )
    reset_settings()

    # Given: a queued import whose uploaded file has gone missing (a transient-looking failure)
    seller = new_seller(stack, "Lost file")
    csv = (IMPORTS / "shopify_orders_export.csv").read_bytes()
    queued = body_of(upload(stack, seller.api_key, seller.store_id, csv, "text/csv"))
    bucket = stack.resource("RawDeliveriesBucket")
    key = f"imports/{seller.tenant_id}/{seller.store_id}/{queued['job_id']}"
    boto3.client("s3").delete_object(Bucket=bucket, Key=key)
    message = boto3.client("sqs").receive_message(
        QueueUrl=stack.resource("ImportQueue"), MaxNumberOfMessages=1
    )["Messages"][0]

    def attempt(number: int) -> dict:
        record = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {"ApproximateReceiveCount": str(number)},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
        }
        return handler({"Records": [record]}, FakeContext())

    # When: it fails on an early attempt (a batch of one failing whole: Powertools raises, so
    # SQS retries it), then on the queue's last one (maxReceiveCount 3)
    with pytest.raises(BatchProcessingError):
        attempt(1)
    running = job(stack, seller.api_key, seller.store_id, queued["job_id"])
    last = attempt(3)

    # Then: the early failure left the job to be retried; the last one marks it failed
    assert running["status"] == "running"
    assert last["batchItemFailures"] == []
    result = job(stack, seller.api_key, seller.store_id, queued["job_id"])
    assert result["status"] == "failed"
    assert result["failure"].startswith("retries_exhausted")
    # and a seller reading in Chinese is told the import failed, the code left as it is
    chinese = job(stack, seller.api_key, seller.store_id, queued["job_id"], language="zh-CN")
    assert chinese["failure"].startswith("导入失败（retries_exhausted）：")


# ------------------------------------------------------------------ the seller's language


def test_rejected_rows_are_explained_in_the_language_asked_for(stack: Stack) -> None:
    # Given: a finished import of a file with bad rows
    seller = new_seller(stack, "Bilingual rows")
    csv = (IMPORTS / "shopify_orders_export.malformed.csv").read_bytes()
    job_id = body_of(upload(stack, seller.api_key, seller.store_id, csv, "text/csv"))["job_id"]
    run_imports(stack)

    # When: the seller reads it in Chinese, and with no language preference
    chinese = job(stack, seller.api_key, seller.store_id, job_id, language="zh-CN")
    english = job(stack, seller.api_key, seller.store_id, job_id)
    listed = body_of(
        call(stack, "GET", f"/stores/{seller.store_id}/imports", seller.api_key, language="zh")
    )["imports"]

    # Then: the same problems (codes, rows), each explained in the reader's language; column
    # names and the file's values stay as the file has them
    def reasons(result: dict) -> dict[tuple[int, str], str]:
        return {(e["row"], e["code"]): e["reason"] for e in result["errors"]}

    assert reasons(chinese).keys() == reasons(english).keys()
    assert reasons(english)[(3, "invalid_amount")] == "Total is not an amount: '12,50'"
    assert reasons(chinese)[(3, "invalid_amount")] == "Total 不是有效金额：'12,50'"
    assert reasons(english)[(9, "invalid_currency")] == (
        "Currency is not an ISO 4217 code: 'Dollars'"
    )
    assert reasons(chinese)[(9, "invalid_currency")] == "Currency 不是 ISO 4217 货币代码：'Dollars'"
    assert reasons(chinese)[(4, "order_rows_not_contiguous")].startswith("订单 #2001 的行")
    assert reasons(english)[(4, "order_rows_not_contiguous")].startswith("rows of order #2001")
    assert [j["errors"] for j in listed] == [chinese["errors"]]


def test_an_import_stored_before_messages_still_reads(stack: Stack) -> None:
    from linkstar.history.models import ImportJob, RowProblem
    from linkstar.store import dynamo, keys

    # Given: a job item as it was stored before sentences were messages (plain English)
    seller = new_seller(stack, "Old import")
    old = ImportJob(
        job_id="j0ldjob",
        tenant_id=seller.tenant_id,
        store_id=seller.store_id,
        format="shopify_orders_csv",
        status="failed",
        file_bytes=10,
        s3_key=f"imports/{seller.tenant_id}/{seller.store_id}/j0ldjob",
        created_at="2025-01-02T03:04:05Z",
        updated_at="2025-01-02T03:04:05Z",
        rows_rejected=1,
    )
    doc = old.model_dump(mode="json")
    doc["errors"] = [
        {"row": 2, "code": "invalid_amount", "reason": "Total is not an amount: 'x'"},
    ]
    doc["failure"] = "retries_exhausted: NoSuchKey()"
    dynamo.put(
        {
            **keys.import_job(seller.tenant_id, seller.store_id, "j0ldjob"),
            "type": "import_job",
            "tenant_id": seller.tenant_id,
            "store_id": seller.store_id,
            "status": "failed",
            "doc": ImportJob.model_validate(doc).model_dump_json(),
        }
    )
    assert RowProblem.model_validate(doc["errors"][0]).reason == "Total is not an amount: 'x'"

    # When: it is read, in Chinese and in English
    chinese = job(stack, seller.api_key, seller.store_id, "j0ldjob", language="zh-CN")
    english = job(stack, seller.api_key, seller.store_id, "j0ldjob")

    # Then: both show what was stored, as it was
    for result in (chinese, english):
        assert result["status"] == "failed"
        assert result["errors"] == [
            {
                "row": 2,
                "code": "invalid_amount",
                "reason": "Total is not an amount: 'x'",
                "order_ref": None,
            }
        ]
        assert result["failure"] == "retries_exhausted: NoSuchKey()"
        assert "s3_key" not in result


def test_upload_refusals_are_in_the_language_asked_for(stack: Stack) -> None:
    seller = new_seller(stack, "Refused upload")
    path = f"/stores/{seller.store_id}/import"

    unknown_zh = call(stack, "POST", path, seller.api_key, b"a,b\n1,2\n", "text/csv", "zh-CN")
    unknown_en = call(stack, "POST", path, seller.api_key, b"a,b\n1,2\n", "text/csv")
    empty_zh = call(stack, "POST", path, seller.api_key, b"  \n", "text/csv", "zh-CN")
    missing = call(stack, "GET", f"{path}s/jnosuchjob", seller.api_key, language="zh-CN")

    assert body_of(unknown_zh)["code"] == body_of(unknown_en)["code"] == "unknown_import_format"
    assert body_of(unknown_zh)["message"].startswith("无法识别的订单历史文件")
    assert body_of(unknown_en)["message"].startswith("not an order-history file")
    assert (body_of(empty_zh)["code"], body_of(empty_zh)["message"]) == ("empty_file", "文件为空")
    assert missing.status_code == 404
    assert body_of(missing) == {"code": "import_not_found", "message": "找不到该导入任务"}
