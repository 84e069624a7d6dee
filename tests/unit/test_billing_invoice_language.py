"""Invoice lines are messages: English exactly as before, Chinese in a Chinese request, kept as
the message when stored and read back equal; an invoice stored with English lines still reads."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from linkstar.billing.plans import ChannelPlan, Plan, RateRow, RecurringFee, Tier
from linkstar.billing.pricing import Invoice, Usage, invoice
from linkstar.text import STORED, Text, use_locale

D = Decimal
MONTH = "2026-05"


def plan() -> Plan:
    return Plan(
        plan_id="lang",
        currency="USD",
        effective_from=date(2026, 1, 1),
        base_fee=D("19.00"),
        channels={
            "email": ChannelPlan(
                included_units=1_000,
                model="graduated",
                tiers=[Tier(up_to=2_000, per_thousand=D("1.00")), Tier(per_thousand=D("0.80"))],
            ),
            "sms": ChannelPlan(
                included_units=500,
                model="rate_card",
                rates=[RateRow(country="US", unit_price=D("0.0079"))],
            ),
            "whatsapp": ChannelPlan(
                model="rate_card",
                rates=[RateRow(country="BR", category="marketing", unit_price=D("0.0625"))],
            ),
        },
        surcharges={"mms": D("0.0200")},
        recurring_fees=[
            RecurringFee(
                code="number", description="Dedicated number", amount=D("1.15"), quantity=2
            ),
            RecurringFee(code="short", description="Short code", amount=D("1000.00")),
        ],
    )


def usages() -> list[Usage]:
    return [
        Usage(channel="email", units=4_500),
        Usage(channel="sms", country="US", units=1_500),
        Usage(channel="sms", country="MX", units=10),
        Usage(channel="sms", country="US", kind="mms", units=1_200),
        Usage(channel="sms", country="US", kind="email_attachment", units=3),
        Usage(channel="whatsapp", country="BR", category="marketing", units=40),
    ]


ENGLISH = [
    "Base fee",
    "Email: 1,000 recipients included",
    "Email: tier 1, 2,000 recipients at 1.00 per 1,000",
    "Email: tier 2, 1,500 recipients at 0.80 per 1,000",
    "SMS to MX: 10 segments, 0 included, 10 not priced (no_rate:sms:MX)",
    "SMS to US: 1,500 segments, 500 included, 1,000 at 0.0079",
    "SMS to US, email_attachment surcharge: 3 not priced (no_surcharge:email_attachment)",
    "SMS to US, mms surcharge: 1,200 at 0.0200",
    "WhatsApp marketing to BR: 40 messages, 0 included, 40 at 0.0625",
    "Dedicated number x 2",
    "Short code",
]
CHINESE = [
    "基础月费",
    "邮件：套餐内 1,000 个收件人",
    "邮件：第 1 档，2,000 个收件人，每 1,000 个收件人 1.00",
    "邮件：第 2 档，1,500 个收件人，每 1,000 个收件人 0.80",
    "短信（发往 MX）：10 个短信分段，套餐内 0，超出的 10 未计价（no_rate:sms:MX）",
    "短信（发往 US）：1,500 个短信分段，套餐内 500，超出 1,000，单价 0.0079",
    "短信（发往 US），email_attachment 附加费：3 个未计价（no_surcharge:email_attachment）",
    "短信（发往 US），mms 附加费：1,200 个，单价 0.0200",
    "WhatsApp 消息（marketing 类，发往 BR）：40 条消息，套餐内 0，超出 40，单价 0.0625",
    "Dedicated number \u00d7 2",
    "Short code",
]


def described(inv: Invoice) -> list[str]:
    return [str(line.description) for line in inv.lines]


def csv_described(inv: Invoice) -> list[str]:
    return [row["description"] for row in csv.DictReader(io.StringIO(inv.to_csv()))]


def test_invoice_lines_say_the_english_they_always_did_and_chinese_in_chinese() -> None:
    # Given
    inv = invoice(plan(), usages(), MONTH)

    # When / Then: outside a request, and in an English one, the English of before
    assert described(inv) == ENGLISH
    assert csv_described(inv) == [*ENGLISH, "Subtotal", "Total"]
    with use_locale("zh-CN"):
        assert described(inv) == CHINESE
        assert csv_described(inv) == [*CHINESE, "小计", "合计"]
        # The JSON a response carries is rendered too
        assert [line["description"] for line in inv.model_dump(mode="json")["lines"]] == CHINESE


def test_a_stored_invoice_keeps_its_lines_as_messages_and_reads_back_equal() -> None:
    # Given an invoice dumped as it is stored, inside a Chinese request
    inv = invoice(plan(), usages(), MONTH)
    with use_locale("zh-CN"):
        stored = inv.model_dump(mode="json", context=STORED)

    # Then its lines are messages (the plan author's words a plain string), not Chinese
    assert stored["lines"][0]["description"] == {"code": "billing.invoice.base_fee", "params": {}}
    assert stored["lines"][-1]["description"] == "Short code"
    assert isinstance(stored["lines"][1]["description"], dict)

    # And read back it is the same invoice, to the CSV byte, in either language
    again = Invoice.model_validate(stored)
    assert again == inv
    assert again.to_csv() == inv.to_csv()
    with use_locale("zh-CN"):
        assert described(again) == CHINESE


def test_an_invoice_stored_with_english_lines_still_reads() -> None:
    # Given an invoice stored before lines were messages: each description its English
    stored = invoice(plan(), usages(), MONTH).model_dump(mode="json")
    assert [line["description"] for line in stored["lines"]] == ENGLISH

    # When it is read in Chinese
    again = Invoice.model_validate(stored)
    with use_locale("zh-CN"):
        # Then the lines show their English as it is; the totals rows are the reader's
        assert csv_described(again) == [*ENGLISH, "小计", "合计"]
    assert isinstance(again.lines[0].description, str)
    assert not isinstance(again.lines[0].description, Text)
