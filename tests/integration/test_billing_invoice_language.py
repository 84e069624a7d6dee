"""Invoice lines in the reader's language: the preview and a closed invoice, as JSON and CSV,
in Chinese and (without a language) in the English they always had. A closed invoice keeps its
lines as messages, whoever's request closed the month; one closed before lines were messages
(plain English) still reads; closing a month again changes nothing."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.conftest import Seller, Stack, call, new_seller
from tests.integration.outreach import START, pipeline
from tests.integration.test_billing import plan, put_plan, send_flow, subscribe

pytestmark = pytest.mark.xdist_group("billing")

MONTH = START.strftime("%Y-%m")
CLOSED = datetime(2026, 12, 1, 0, 15, tzinfo=UTC)

# Five emails on a plan with 3 included and $1 per 1,000 after: an included line and a tier
# line (to ZZ: the contacts' country is not known); a $10 base fee; two dedicated numbers at
# $1.15; a $4 credit.
ENGLISH = [
    "Base fee",
    "Email to ZZ: 3 recipients included",
    "Email to ZZ: tier 1, 2 recipients at 1.00 per 1,000",
    "Dedicated number x 2",
]
CHINESE = [
    "基础月费",
    "邮件（发往 ZZ）：套餐内 3 个收件人",
    "邮件（发往 ZZ）：第 1 档，2 个收件人，每 1,000 个收件人 1.00",
    "Dedicated number \u00d7 2",  # the plan author's words as written; the times sign
]
ENGLISH_TOTALS = ["Subtotal", "Credit welcome", "Total"]
CHINESE_TOTALS = ["小计", "抵用额度 welcome", "合计"]


def body(response: Any) -> Any:
    return json.loads(response.body)


def get(stack: Stack, seller: Seller, path: str, language: str | None = None) -> Any:
    answer = call(stack, "GET", path, seller.api_key, language=language)
    assert answer.status_code == 200, answer.body
    return answer


def descriptions(answer: Any) -> list[str]:
    return [line["description"] for line in body(answer)["lines"]]


def csv_descriptions(answer: Any) -> list[str]:
    return [row["description"] for row in csv.DictReader(io.StringIO(answer.body.decode()))]


def invoiced_seller(stack: Stack, name: str) -> Seller:
    """A seller whose month has five emails sent on the plan above."""
    seller = new_seller(stack, name)
    email_only = plan(
        channels={"email": plan()["channels"]["email"]},
        recurring_fees=[
            {
                "code": "dedicated_number",
                "description": "Dedicated number",
                "amount": "1.15",
                "quantity": 2,
            }
        ],
        credits=[{"credit_id": "welcome", "amount": "4.00", "granted_at": f"{MONTH}-01"}],
    )
    put_plan(stack, seller, email_only)
    send_flow(stack, seller, "email", "Welcome", "transactional")
    with pipeline(stack) as (run, _):
        subscribe(stack, seller, 5, "inv")
        run.run()
    return seller


def close(stack: Stack, seller: Seller, language: str | None = None) -> None:
    from linkstar import clock

    with clock.override(CLOSED):
        answer = call(
            stack,
            "POST",
            f"/admin/billing/close?month={MONTH}&tenant_id={seller.tenant_id}",
            stack.admin_token,
            language=language,
        )
    assert answer.status_code == 200, answer.body
    assert body(answer)["failed"] == {}


def stored_invoice(seller: Seller) -> dict[str, Any] | None:
    from linkstar.store import dynamo, keys

    return dynamo.get(keys.invoice(seller.tenant_id, MONTH), consistent=True)


def test_the_invoice_preview_is_in_the_language_asked_for(stack: Stack) -> None:
    # Given a month of usage on a plan with fees and a credit
    seller = invoiced_seller(stack, "Previewlingo")
    path = f"/usage/invoice-preview?month={MONTH}"
    # When the preview is read as JSON and CSV, in Chinese and without a language
    with pipeline(stack):
        zh = get(stack, seller, path, "zh-CN")
        en = get(stack, seller, path)
        zh_csv = get(stack, seller, f"{path}&format=csv", "zh-CN")
        en_csv = get(stack, seller, f"{path}&format=csv")
    # Then each line says what it is in that language, the figures as they were
    assert descriptions(zh) == CHINESE
    assert descriptions(en) == ENGLISH
    assert csv_descriptions(zh_csv) == CHINESE + CHINESE_TOTALS
    assert csv_descriptions(en_csv) == ENGLISH + ENGLISH_TOTALS
    # And only the words change: every other field and column is the same
    assert [{**ln, "description": ""} for ln in body(zh)["lines"]] == [
        {**ln, "description": ""} for ln in body(en)["lines"]
    ]
    zh_rows = list(csv.DictReader(io.StringIO(zh_csv.body.decode())))
    en_rows = list(csv.DictReader(io.StringIO(en_csv.body.decode())))
    assert [{**r, "description": ""} for r in zh_rows] == [
        {**r, "description": ""} for r in en_rows
    ]
    assert en_rows[-1]["amount"] == body(en)["total"] == "8.30"  # 10 + 0.002→0.00 + 2.30 - 4


def test_a_closed_invoice_reads_in_the_language_asked_for_and_closes_once(stack: Stack) -> None:
    # Given a month closed by an operator whose request asked for Chinese
    seller = invoiced_seller(stack, "Closedlingo")
    close(stack, seller, "zh-CN")
    from linkstar.store import billing as store

    first = stored_invoice(seller)
    assert first is not None
    balances = store.credit_balances(seller.tenant_id)
    # When it is closed again (in English this time)
    close(stack, seller)
    # Then nothing changed: the invoice is as the first close wrote it, the credit used once
    assert stored_invoice(seller) == first
    assert store.credit_balances(seller.tenant_id) == balances == ({"welcome": 0}, 1)
    # And the stored lines are messages, not the closing request's language
    stored = json.loads(first["doc"])
    assert stored["lines"][0]["description"] == {"code": "billing.invoice.base_fee", "params": {}}
    # When the invoice is listed and read, as JSON and CSV, in Chinese and without a language
    (listed,) = body(get(stack, seller, "/invoices", "zh-CN"))["invoices"]
    path = f"/invoices/{listed['invoice_id']}"
    zh = get(stack, seller, path, "zh-CN")
    en = get(stack, seller, path)
    zh_csv = get(stack, seller, f"{path}?format=csv", "zh")
    en_csv = get(stack, seller, f"{path}?format=csv")
    # Then each reads in the language asked for
    assert descriptions(zh) == CHINESE
    assert descriptions(en) == ENGLISH
    assert csv_descriptions(zh_csv) == CHINESE + CHINESE_TOTALS
    assert csv_descriptions(en_csv) == ENGLISH + ENGLISH_TOTALS
    assert (body(en)["total"], listed["total"]) == ("8.30", "8.30")


def test_an_invoice_closed_before_lines_were_messages_still_reads(stack: Stack) -> None:
    # Given a closed invoice item as written before: each line's description in English
    from linkstar.store import dynamo

    seller = invoiced_seller(stack, "Oldinvoicelingo")
    close(stack, seller)
    item = stored_invoice(seller)
    assert item is not None
    doc = json.loads(item["doc"])
    for line, english in zip(doc["lines"], ENGLISH, strict=True):
        line["description"] = english
    dynamo.put({**item, "doc": json.dumps(doc, sort_keys=True)})
    path = f"/invoices/{doc['invoice_id']}"
    # When it is read in Chinese, as JSON and CSV
    zh = get(stack, seller, path, "zh-CN")
    zh_csv = get(stack, seller, f"{path}?format=csv", "zh-CN")
    # Then its lines show their English as it is (the totals rows are the reader's language)
    assert descriptions(zh) == ENGLISH
    assert csv_descriptions(zh_csv) == ENGLISH + CHINESE_TOTALS
    # And closing the month again leaves it as it is
    close(stack, seller)
    assert json.loads(stored_invoice(seller)["doc"]) == doc  # type: ignore[index]
