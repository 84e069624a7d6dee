"""Pricing: every expected amount below is worked out by hand in the comments beside it.

Covers tiers (graduated, volume), rate cards with the quota on the costliest units, WhatsApp
categories and the "*" default, surcharges, fixed fees, credits, CNY, rounding, order
independence, the forecast, thresholds, priceability and margin.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from linkstar.billing.plans import (
    ChannelPlan,
    Credit,
    Plan,
    RateRow,
    RecurringFee,
    Tier,
    default_plan,
)
from linkstar.billing.pricing import (
    Invoice,
    Usage,
    forecast,
    forecast_usages,
    invoice,
    margin,
    price_lines,
    priceable,
    spend,
    thresholds_crossed,
    usage_lines,
    usage_report,
    usage_view,
)
from pydantic import ValidationError

D = Decimal
MONTH = "2026-05"

LADDER = [
    Tier(up_to=2_000, per_thousand=D("1.00")),
    Tier(up_to=5_000, per_thousand=D("0.80")),
    Tier(up_to=None, per_thousand=D("0.50")),
]


def make_plan(**overrides: Any) -> Plan:
    fields: dict[str, Any] = {
        "plan_id": "test",
        "currency": "USD",
        "effective_from": date(2026, 1, 1),
        "channels": {"email": ChannelPlan(included_units=1_000, model="graduated", tiers=LADDER)},
    }
    fields.update(overrides)
    return Plan(**fields)


def sms_plan(included: int = 0, **overrides: Any) -> Plan:
    rates = [
        RateRow(country="US", unit_price=D("0.0079"), provider_cost=D("0.0059")),
        RateRow(country="CA", unit_price=D("0.0079"), provider_cost=D("0.0060")),
        RateRow(country="GB", unit_price=D("0.0400")),
        RateRow(country="ID", unit_price=D("0.3500"), provider_cost=D("0.3000")),
    ]
    channels = {"sms": ChannelPlan(included_units=included, model="rate_card", rates=rates)}
    return make_plan(channels=channels, **overrides)


def email(units: int, country: str = "") -> Usage:
    return Usage(channel="email", country=country, units=units)


def sms(country: str, units: int, kind: str = "send") -> Usage:
    return Usage(channel="sms", country=country, kind=kind, units=units)


def usage_lines_of(inv: Invoice) -> list[tuple[Any, ...]]:
    return [
        (line.country, line.tier, line.units, line.included_units, line.overage_units, line.amount)
        for line in inv.lines
        if line.line_type == "usage"
    ]


# --- tiers -------------------------------------------------------------------------------------


def test_graduated_tiers_price_the_overage_across_two_boundaries() -> None:
    # Given 7,500 emails with 1,000 included: 6,500 overage
    plan = make_plan()

    # When
    inv = invoice(plan, [email(7_500)], MONTH)

    # Then the overage fills tier 1 (2,000), tier 2 (3,000) and spills into tier 3 (1,500):
    #   2,000 x 1.00 / 1,000 = 2.00;  3,000 x 0.80 / 1,000 = 2.40;  1,500 x 0.50 / 1,000 = 0.75
    assert usage_lines_of(inv) == [
        ("", None, 1_000, 1_000, 0, D("0.00")),
        ("", 1, 2_000, 0, 2_000, D("2.00")),
        ("", 2, 3_000, 0, 3_000, D("2.40")),
        ("", 3, 1_500, 0, 1_500, D("0.75")),
    ]
    # 2.00 + 2.40 + 0.75 = 5.15
    assert inv.subtotal == inv.total == D("5.15")
    assert [line.per_thousand for line in inv.lines] == [None, D("1.00"), D("0.80"), D("0.50")]


def test_graduated_tiers_lay_lines_along_the_ladder_in_country_order() -> None:
    # Given the same 7,500 split between GB (4,500) and US (3,000)
    plan = make_plan()

    # When
    inv = invoice(plan, [email(3_000, "US"), email(4_500, "GB")], MONTH)

    # Then GB comes first: 1,000 included, its 3,500 overage are tier 1 (2,000 -> 2.00) and the
    # first 1,500 of tier 2 (1,500 x 0.80 / 1,000 = 1.20). US then takes the rest of tier 2
    # (1,500 -> 1.20) and 1,500 of tier 3 (1,500 x 0.50 / 1,000 = 0.75).
    assert usage_lines_of(inv) == [
        ("GB", None, 1_000, 1_000, 0, D("0.00")),
        ("GB", 1, 2_000, 0, 2_000, D("2.00")),
        ("GB", 2, 1_500, 0, 1_500, D("1.20")),
        ("US", 2, 1_500, 0, 1_500, D("1.20")),
        ("US", 3, 1_500, 0, 1_500, D("0.75")),
    ]
    assert inv.total == D("5.15")  # the channel total does not depend on the split
    # and the live view adds each country's tier lines together
    assert [
        (u.country, u.units, u.included_units, u.overage_units, u.amount)
        for u in usage_lines(plan, [email(3_000, "US"), email(4_500, "GB")])
    ] == [
        ("GB", 4_500, 1_000, 3_500, D("3.20")),
        ("US", 3_000, 0, 3_000, D("1.95")),
    ]


@pytest.mark.parametrize(
    ("units", "tier", "amount"),
    [
        (1_000, None, D("0.00")),  # all included: no tier line at all
        (3_000, 1, D("2.00")),  # overage 2,000 <= 2,000: tier 1, 2,000 x 1.00 / 1,000
        (6_000, 2, D("4.00")),  # overage 5,000 <= 5,000: tier 2, 5,000 x 0.80 / 1,000
        (7_500, 3, D("3.25")),  # overage 6,500 > 5,000: tier 3, 6,500 x 0.50 / 1,000
    ],
)
def test_volume_tiers_price_every_overage_unit_at_the_tier_the_total_reaches(
    units: int, tier: int | None, amount: Decimal
) -> None:
    # Given
    plan = make_plan(
        channels={"email": ChannelPlan(included_units=1_000, model="volume", tiers=LADDER)}
    )

    # When
    inv = invoice(plan, [email(units - 500, "GB"), email(500, "US")], MONTH)

    # Then every overage line carries the same tier, and the amounts add up
    assert {line.tier for line in inv.lines if line.overage_units} <= {tier}
    assert inv.total == amount


# --- rate cards --------------------------------------------------------------------------------


def test_the_sms_quota_goes_to_the_most_expensive_destinations_first() -> None:
    # Given 1,000 included segments and sends to four countries
    plan = sms_plan(included=1_000)
    usages = [sms("US", 2_000), sms("GB", 300), sms("ID", 500), sms("CA", 100)]

    # When
    inv = invoice(plan, usages, MONTH)

    # Then the quota goes ID (0.35: 500), GB (0.04: 300), then the two at 0.0079 in country
    # order, CA (100) before US (the last 100). US pays 1,900 x 0.0079 = 15.01.
    lines = {line.country: line for line in inv.lines}
    assert [
        (c, lines[c].included_units, lines[c].overage_units) for c in ("ID", "GB", "CA", "US")
    ] == [
        ("ID", 500, 0),
        ("GB", 300, 0),
        ("CA", 100, 0),
        ("US", 100, 1_900),
    ]
    assert lines["US"].amount == D("15.01")
    assert lines["US"].unit_price == D("0.0079")
    assert inv.total == D("15.01")
    assert [line.country for line in inv.lines] == ["CA", "GB", "ID", "US"]  # listed by country


def test_whatsapp_is_priced_by_category_with_the_default_row_per_category() -> None:
    # Given US rows for two categories and "*" rows for three
    rates = [
        RateRow(country="US", category="marketing", unit_price=D("0.0250")),
        RateRow(country="US", category="utility", unit_price=D("0.0040")),
        RateRow(country="*", category="marketing", unit_price=D("0.0600")),
        RateRow(country="*", category="utility", unit_price=D("0.0100")),
        RateRow(country="*", category="authentication", unit_price=D("0.0300")),
    ]
    plan = make_plan(channels={"whatsapp": ChannelPlan(model="rate_card", rates=rates)})
    usages = [
        Usage(channel="whatsapp", country="US", category="marketing", units=100),
        Usage(channel="whatsapp", country="US", category="authentication", units=50),
        Usage(channel="whatsapp", country="BR", category="utility", units=200),
        Usage(channel="whatsapp", country="BR", category="service", units=7),
    ]

    # When
    inv = invoice(plan, usages, MONTH)

    # Then US marketing 100 x 0.0250 = 2.50 (exact row); US authentication has no US row:
    # "*" authentication, 50 x 0.0300 = 1.50; BR utility: "*" utility, 200 x 0.0100 = 2.00;
    # BR service has no row at all: unpriced, charged nothing, and said so.
    got = {(line.country, line.category): (line.unit_price, line.amount) for line in inv.lines}
    assert got == {
        ("US", "marketing"): (D("0.0250"), D("2.50")),
        ("US", "authentication"): (D("0.0300"), D("1.50")),
        ("BR", "utility"): (D("0.0100"), D("2.00")),
        ("BR", "service"): (None, D("0.00")),
    }
    assert inv.total == D("6.00")  # 2.50 + 1.50 + 2.00
    assert inv.unpriced == ["no_rate:whatsapp:BR:service"]


def test_usage_for_a_channel_the_plan_lacks_is_flagged_not_charged() -> None:
    # Given a plan without WhatsApp
    plan = make_plan()

    # When
    inv = invoice(
        plan, [Usage(channel="whatsapp", country="US", category="utility", units=3)], MONTH
    )

    # Then
    (line,) = inv.lines
    assert (line.overage_units, line.amount, line.unpriced_reason) == (
        3,
        D("0.00"),
        "channel_not_in_plan:whatsapp",
    )
    assert inv.unpriced == ["channel_not_in_plan:whatsapp"]


# --- surcharges, fixed fees, rounding ----------------------------------------------------------


def test_surcharges_charge_every_unit_and_leave_the_quota_alone() -> None:
    # Given MMS and attachment surcharges
    plan = sms_plan(
        included=1_000,
        surcharges={"mms": D("0.0050"), "email_attachment": D("0.0002")},
    )
    plan = plan.model_copy(
        update={
            "channels": {
                **plan.channels,
                "email": ChannelPlan(included_units=10_000, model="graduated", tiers=LADDER),
            }
        }
    )
    usages = [
        sms("US", 200),
        sms("US", 25, kind="mms"),
        email(5_000),
        email(4_000).model_copy(update={"kind": "email_attachment"}),
        sms("GB", 3, kind="rcs"),
    ]

    # When
    inv = invoice(plan, usages, MONTH)

    # Then the sends are all included (200 of 1,000 SMS, 5,000 of 10,000 emails), but
    # MMS: 25 x 0.0050 = 0.125 -> 0.12 (half-even: 2 is even; half-up would say 0.13)
    # attachments: 4,000 x 0.0002 = 0.80; "rcs" has no surcharge in the plan: flagged.
    got = {(line.channel, line.country, line.kind): line for line in inv.lines}
    assert got["sms", "US", "send"].amount == D("0.00")
    assert got["sms", "US", "send"].included_units == 200
    assert got["sms", "US", "mms"].amount == D("0.12")
    assert got["sms", "US", "mms"].line_type == "surcharge"
    assert (got["sms", "US", "mms"].included_units, got["sms", "US", "mms"].overage_units) == (
        0,
        25,
    )
    assert got["email", "", "email_attachment"].amount == D("0.80")
    assert got["sms", "GB", "rcs"].unpriced_reason == "no_surcharge:rcs"
    assert inv.total == D("0.92")  # 0.12 + 0.80
    # and the remaining quota ignores surcharge units
    report = usage_report(plan, usages, MONTH, datetime(2026, 6, 1, tzinfo=UTC))
    assert report["remaining"] == {"email": 5_000, "sms": 800}


def test_base_and_recurring_fees_are_charged_every_month() -> None:
    # Given a base fee and two monthly fees, one with a quantity
    plan = make_plan(
        base_fee=D("29.00"),
        recurring_fees=[
            RecurringFee(
                code="dedicated_number",
                description="Dedicated number",
                amount=D("2.50"),
                quantity=3,
            ),
            RecurringFee(code="short_code", description="Short code", amount=D("1000.00")),
        ],
    )

    # When
    inv = invoice(plan, [email(7_500)], MONTH)
    fewer = invoice(
        plan, [], MONTH, fees=[plan.recurring_fees[0].model_copy(update={"quantity": 1})]
    )

    # Then base 29.00 first, usage 5.15 (as above), numbers 3 x 2.50 = 7.50, short code 1000.00
    assert [
        (line.line_type, line.code, line.units, line.amount)
        for line in inv.lines
        if line.line_type != "usage"
    ] == [
        ("base_fee", "base_fee", 1, D("29.00")),
        ("recurring_fee", "dedicated_number", 3, D("7.50")),
        ("recurring_fee", "short_code", 1, D("1000.00")),
    ]
    assert inv.lines[0].line_type == "base_fee"
    # 29.00 + 5.15 + 7.50 + 1000.00 = 1041.65
    assert inv.subtotal == inv.total == D("1041.65")
    # the caller's own fee list replaces the plan's: 29.00 + 1 x 2.50
    assert fewer.total == D("31.50")


def test_a_cny_plan_bills_in_cny_fen() -> None:
    # Given a CNY plan: base 199.00, SMS to CN 0.2160 a segment
    plan = make_plan(
        currency="CNY",
        base_fee=D("199.00"),
        channels={
            "sms": ChannelPlan(
                model="rate_card", rates=[RateRow(country="CN", unit_price=D("0.2160"))]
            )
        },
    )

    # When
    inv = invoice(plan, [sms("CN", 1_234)], MONTH)

    # Then 1,234 x 0.2160 = 266.5440 -> 266.54; 199.00 + 266.54 = 465.54 CNY
    assert inv.currency == "CNY"
    assert [line.amount for line in inv.lines] == [D("199.00"), D("266.54")]
    assert str(inv.total) == "465.54"
    assert (
        usage_report(plan, [sms("CN", 1_234)], MONTH, datetime(2026, 6, 1, tzinfo=UTC))["currency"]
        == "CNY"
    )


def test_each_line_is_rounded_once_and_the_totals_are_sums_of_rounded_lines() -> None:
    # Given three countries at a price that leaves a half cent on each line
    rates = [RateRow(country=c, unit_price=D("0.0050")) for c in ("AU", "NZ", "SG")]
    plan = make_plan(channels={"sms": ChannelPlan(model="rate_card", rates=rates)})

    # When: 5 x 0.0050 = 0.025 -> 0.02; 7 x 0.0050 = 0.035 -> 0.04; 9 x 0.0050 = 0.045 -> 0.04
    inv = invoice(plan, [sms("AU", 5), sms("NZ", 7), sms("SG", 9)], MONTH)

    # Then the total is 0.02 + 0.04 + 0.04 = 0.10, not round(21 x 0.0050 = 0.105) = 0.10 by luck:
    assert [line.amount for line in inv.lines] == [D("0.02"), D("0.04"), D("0.04")]
    assert inv.total == sum(line.amount for line in inv.lines) == D("0.10")
    assert all(line.amount.as_tuple().exponent == -2 for line in inv.lines)


# --- credits -----------------------------------------------------------------------------------


def credits_plan() -> Plan:
    return make_plan(
        base_fee=D("40.00"),
        credits=[
            # expired the day before May: not usable
            Credit(
                credit_id="A",
                amount=D("10.00"),
                granted_at=date(2026, 1, 1),
                expires_at=date(2026, 4, 30),
            ),
            # granted after May: not usable yet
            Credit(credit_id="B", amount=D("20.00"), granted_at=date(2026, 6, 1)),
            # expires in May: usable, and first
            Credit(
                credit_id="C",
                amount=D("15.00"),
                granted_at=date(2026, 2, 1),
                expires_at=date(2026, 5, 31),
            ),
            # expires later: second
            Credit(
                credit_id="D",
                amount=D("50.00"),
                granted_at=date(2026, 3, 1),
                expires_at=date(2026, 12, 31),
            ),
            # never expires: last
            Credit(credit_id="E", amount=D("100.00"), granted_at=date(2026, 3, 1)),
        ],
    )


def test_credits_pay_earliest_expiry_first_up_to_the_subtotal() -> None:
    # Given a 40.00 month, C partly used before (12.00 of 15.00 left)
    plan = credits_plan()

    # When
    inv = invoice(plan, [], MONTH, credits_balance={"C": D("12.00")})

    # Then C pays its 12.00, D the other 28.00 (40.00 - 12.00), E nothing: capped at 40.00
    assert [(c.credit_id, c.applied, c.remaining) for c in inv.credits] == [
        ("C", D("12.00"), D("0.00")),
        ("D", D("28.00"), D("22.00")),
    ]
    assert (inv.subtotal, inv.credits_total, inv.total) == (D("40.00"), D("40.00"), D("0.00"))
    # every credit's balance comes back for the caller to store, untouched ones included
    assert inv.credit_balances_after == {
        "A": D("10.00"),
        "B": D("20.00"),
        "C": D("0.00"),
        "D": D("22.00"),
        "E": D("100.00"),
    }


def test_a_credit_smaller_than_the_bill_is_used_up_and_the_rest_is_due() -> None:
    # Given only C is usable (A expired, B not yet granted) on a 40.00 month
    plan = credits_plan().model_copy(update={"credits": credits_plan().credits[:3]})

    # When
    inv = invoice(plan, [], MONTH)

    # Then 40.00 - 15.00 = 25.00
    assert [(c.credit_id, c.applied) for c in inv.credits] == [("C", D("15.00"))]
    assert inv.total == D("25.00")


def test_credit_validity_is_inclusive_at_both_ends_of_the_month() -> None:
    # Given one credit expiring on May 1 and one granted on May 31
    plan = make_plan(
        base_fee=D("5.00"),
        credits=[
            Credit(credit_id="late", amount=D("3.00"), granted_at=date(2026, 5, 31)),
            Credit(
                credit_id="last_day",
                amount=D("1.00"),
                granted_at=date(2026, 1, 1),
                expires_at=date(2026, 5, 1),
            ),
        ],
    )

    # When
    inv = invoice(plan, [], MONTH)

    # Then both count: last_day (expires first) 1.00, late 3.00; 5.00 - 4.00 = 1.00
    assert [(c.credit_id, c.applied) for c in inv.credits] == [
        ("last_day", D("1.00")),
        ("late", D("3.00")),
    ]
    assert inv.total == D("1.00")


@pytest.mark.parametrize(
    ("balances", "message"),
    [
        ({"Z": D("1.00")}, "'Z' is not a credit of this plan"),
        ({"C": D("15.01")}, "outside 0..15.00"),
        ({"C": D("-1")}, "outside"),
        ({"C": D("1.005")}, "not in whole USD minor units"),
    ],
)
def test_credit_balances_that_cannot_be_right_are_refused(
    balances: dict[str, Decimal], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        invoice(credits_plan(), [], MONTH, credits_balance=balances)


# --- order independence and invariants ---------------------------------------------------------


def random_usages(rng: random.Random, count: int) -> list[Usage]:
    countries = ["US", "GB", "CA", "ID", "DE", "ZZ", "BR", ""]
    usages: list[Usage] = []
    for _ in range(count):
        channel = rng.choice(["email", "sms", "whatsapp", "in_app"])
        category = rng.choice(["marketing", "utility", "authentication", "service", ""])
        kind = rng.choice(["send", "send", "send", "mms", "email_attachment"])
        usages.append(
            Usage(
                channel=channel,  # type: ignore[arg-type]
                country=rng.choice(countries),
                category=category,
                kind=kind,
                units=rng.randrange(0, 40_000),
            )
        )
    return usages


def rich_plan() -> Plan:
    plan = default_plan(effective_from=date(2026, 1, 1))
    return plan.model_copy(
        update={
            "base_fee": D("19.00"),
            "recurring_fees": [
                RecurringFee(
                    code="dedicated_number",
                    description="Dedicated number",
                    amount=D("1.15"),
                    quantity=2,
                ),
            ],
            "credits": [
                Credit(
                    credit_id="promo",
                    amount=D("25.00"),
                    granted_at=date(2026, 1, 1),
                    expires_at=date(2026, 6, 30),
                ),
                Credit(credit_id="prepaid", amount=D("500.00"), granted_at=date(2026, 2, 1)),
            ],
        }
    )


def test_the_order_and_split_of_counters_never_changes_the_invoice() -> None:
    # Given a month of counters and the invoice priced from them
    plan = rich_plan()
    usages = random_usages(random.Random(7), 60)
    expected = invoice(plan, usages, MONTH)

    for seed in range(5):
        # When the same counters arrive shuffled, some split in two (a retry, another shard)
        rng = random.Random(seed)
        shuffled: list[Usage] = []
        for usage in usages:
            cut = rng.randrange(0, usage.units + 1)
            shuffled += [
                usage.model_copy(update={"units": cut}),
                usage.model_copy(update={"units": usage.units - cut}),
            ]
        rng.shuffle(shuffled)

        # Then the invoice is identical, to the CSV byte
        again = invoice(plan, shuffled, MONTH)
        assert again == expected
        assert again.to_csv() == expected.to_csv()


def test_invoices_always_add_up() -> None:
    plan = rich_plan()
    for seed in range(25):
        # Given random counters
        usages = random_usages(random.Random(seed), random.Random(seed).randrange(1, 30))

        # When
        inv = invoice(plan, usages, MONTH)
        view = usage_view(plan, usages, MONTH, datetime(2026, 6, 1, tzinfo=UTC))

        # Then
        assert inv.subtotal == sum((line.amount for line in inv.lines), D(0))
        assert inv.total == inv.subtotal - inv.credits_total >= 0
        assert inv.credits_total == sum((c.applied for c in inv.credits), D(0)) <= inv.subtotal
        assert all(line.amount == line.amount.quantize(D("0.01")) for line in inv.lines)
        metered = [line for line in inv.lines if line.line_type in ("usage", "surcharge")]
        assert all(line.units == line.included_units + line.overage_units for line in metered)
        for channel, channel_plan in plan.channels.items():
            included = sum(line.included_units for line in inv.lines if line.channel == channel)
            assert included <= channel_plan.included_units
        assert view.total == inv.subtotal  # the live view and the invoice agree
        assert spend(plan, usages) == inv.subtotal


def test_an_invoice_exports_as_csv_with_totals() -> None:
    # Given
    plan = credits_plan()
    inv = invoice(plan, [email(7_500)], MONTH)

    # When
    rows = list(csv.DictReader(io.StringIO(inv.to_csv())))

    # Then one row per line, then subtotal, credits (negative) and total
    assert len(rows) == len(inv.lines) + 1 + len(inv.credits) + 1
    assert [(r["line_type"], r["code"], r["amount"]) for r in rows[len(inv.lines) :]] == [
        ("subtotal", "", "45.15"),  # 40.00 + 5.15
        ("credit", "C", "-15.00"),
        ("credit", "D", "-30.15"),
        ("total", "", "0.00"),
    ]
    assert rows[2]["tier"] == "1" and rows[2]["per_thousand"] == "1.00"
    assert {r["currency"] for r in rows} == {"USD"}


# --- live view and forecast --------------------------------------------------------------------


def forecast_plan() -> Plan:
    return make_plan(
        base_fee=D("10.00"),
        channels={
            "email": ChannelPlan(
                included_units=1_000, model="graduated", tiers=[Tier(per_thousand=D("1.00"))]
            ),
            "sms": ChannelPlan(
                model="rate_card", rates=[RateRow(country="US", unit_price=D("0.0100"))]
            ),
        },
    )


def test_the_usage_view_is_the_api_body() -> None:
    # Given 500 emails and 100 SMS by 11 April (10 of April's 30 days gone)
    plan = forecast_plan()
    usages = [email(500), sms("US", 100)]
    now = datetime(2026, 4, 11, tzinfo=UTC)

    # When
    body = usage_report(plan, usages, "2026-04", now)

    # Then so far: emails all included (0.00), SMS 100 x 0.0100 = 1.00, base 10.00 -> 11.00.
    # Forecast x3 (30 / 10 days): 1,500 emails -> 500 over x 1.00 / 1,000 = 0.50; 300 SMS ->
    # 3.00; with the base fee 13.50.
    assert body == {
        "month": "2026-04",
        "currency": "USD",
        "lines": [
            {
                "channel": "email",
                "country": "",
                "category": "",
                "kind": "send",
                "units": 500,
                "included_units": 500,
                "overage_units": 0,
                "amount": "0.00",
                "unpriced_reason": None,
            },
            {
                "channel": "sms",
                "country": "US",
                "category": "",
                "kind": "send",
                "units": 100,
                "included_units": 0,
                "overage_units": 100,
                "amount": "1.00",
                "unpriced_reason": None,
            },
        ],
        "fixed_fees": "10.00",
        "total": "11.00",
        "forecast_total": "13.50",
        "remaining": {"email": 500, "sms": 0},
        "unpriced": [],
    }


def test_the_forecast_equals_the_actual_at_and_after_month_end_and_before_it_starts() -> None:
    # Given
    plan = forecast_plan()
    usages = [email(500), sms("US", 100)]
    actual = spend(plan, usages)  # 11.00

    # When / Then: nothing to scale at or after the end, nothing to scale from at the start
    for now in (
        datetime(2026, 5, 1, tzinfo=UTC),  # the instant April ends
        datetime(2026, 7, 9, 13, 0, tzinfo=UTC),
        datetime(2026, 4, 1, tzinfo=UTC),  # no time elapsed: no division by zero
        datetime(2026, 3, 20, tzinfo=UTC),
    ):
        assert forecast(plan, usages, "2026-04", now) == actual == D("11.00")
    with pytest.raises(ValueError, match="aware"):
        forecast(plan, usages, "2026-04", datetime(2026, 4, 11))


def test_the_forecast_knows_each_months_length_and_rounds_to_whole_units() -> None:
    # 8 April 00:00: 7 of 30 days -> 10 x 30 / 7 = 42.857 -> 43
    assert (
        forecast_usages([sms("US", 10)], "2026-04", datetime(2026, 4, 8, tzinfo=UTC))[0].units == 43
    )
    # 15 Feb 2028 12:00: 14.5 of 29 days (a leap year) -> 100 x 2 = 200
    assert (
        forecast_usages([sms("US", 100)], "2028-02", datetime(2028, 2, 15, 12, tzinfo=UTC))[0].units
        == 200
    )
    # the same instant in February 2026 (28 days): 100 x 28 / 14.5 = 193.10 -> 193
    assert (
        forecast_usages([sms("US", 100)], "2026-02", datetime(2026, 2, 15, 12, tzinfo=UTC))[0].units
        == 193
    )


# --- thresholds --------------------------------------------------------------------------------


def threshold_plan(**overrides: Any) -> Plan:
    return make_plan(
        channels={
            "email": ChannelPlan(
                included_units=10_000, model="graduated", tiers=[Tier(per_thousand=D("0"))]
            ),
            "sms": ChannelPlan(
                model="rate_card", rates=[RateRow(country="US", unit_price=D("0.01"))]
            ),
        },
        **overrides,
    )


@pytest.mark.parametrize(
    ("emails", "keys"),
    [
        (7_999, []),  # 79.99%
        (8_000, ["quota:email:80"]),
        (9_999, ["quota:email:80"]),
        (10_000, ["quota:email:80", "quota:email:100"]),
        (25_000, ["quota:email:80", "quota:email:100"]),
    ],
)
def test_quota_thresholds_fire_at_80_and_100_percent(emails: int, keys: list[str]) -> None:
    # Given SMS with no quota (never a quota threshold), emails against 10,000 included
    plan = threshold_plan()

    # When
    crossed = thresholds_crossed(plan, [email(emails), sms("US", 1_000_000)], MONTH)

    # Then
    assert [t.key for t in crossed] == keys
    if keys:
        assert crossed[0].message == (
            f"Email: {emails:,} of the 10,000 included recipients used in {MONTH} (80% threshold)"
        )


@pytest.mark.parametrize(
    ("segments", "keys"),
    [
        (7_999, []),  # 7,999 x 0.01 = 79.99 of 100.00
        (8_000, ["spend:80"]),  # 80.00
        (10_000, ["spend:80", "spend:100"]),  # 100.00
        (12_345, ["spend:80", "spend:100"]),
    ],
)
def test_spend_thresholds_measure_the_running_total_against_the_limit(
    segments: int, keys: list[str]
) -> None:
    # Given a 100.00 spend limit, soft and hard
    soft = threshold_plan(spend_limit=D("100.00"))
    hard = threshold_plan(spend_limit=D("100.00"), hard_cap=True)

    # When
    crossed_soft = thresholds_crossed(soft, [sms("US", segments)], MONTH)
    crossed_hard = thresholds_crossed(hard, [sms("US", segments)], MONTH)

    # Then only the hard cap's 100% blocks sending
    assert [t.key for t in crossed_soft] == [t.key for t in crossed_hard] == keys
    assert not any(t.blocks_sending for t in crossed_soft)
    assert [t.blocks_sending for t in crossed_hard] == [k == "spend:100" for k in keys]


def test_the_spend_limit_itself_is_always_a_threshold_and_fees_count() -> None:
    # Given alerts at 50% only, a 60.00 limit and a 30.00 base fee
    plan = threshold_plan(spend_limit=D("60.00"), alert_thresholds=[50], base_fee=D("30.00"))

    # When: 30.00 base + 3,000 x 0.01 = 60.00
    crossed = thresholds_crossed(plan, [sms("US", 3_000)], MONTH)

    # Then
    assert [(t.key, t.used, t.limit) for t in crossed] == [
        ("spend:50", D("60.00"), D("60.00")),
        ("spend:100", D("60.00"), D("60.00")),
    ]


# --- priceable -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "country", "category", "features", "reason"),
    [
        ("sms", "US", "", (), None),
        ("sms", "us", "", (), None),
        ("sms", "US", "", ("mms",), None),
        ("email", "", "", (), None),  # email is not priced by country
        ("sms", "ZZ", "", (), "no_rate:sms:ZZ"),
        ("sms", "BR", "", (), "no_rate:sms:BR"),  # the starter plan has no SMS default
        ("sms", "", "", (), "unknown_country:sms"),
        ("sms", "USA", "", (), "invalid_country:sms:USA"),
        ("sms", "*", "", (), "invalid_country:sms:*"),
        ("sms", "US", "", ("fax",), "no_surcharge:fax"),
        ("whatsapp", "BR", "marketing", (), None),  # the "*" marketing row
        ("whatsapp", "ZZ", "marketing", (), "no_rate:whatsapp:ZZ:marketing"),  # never "*"
        ("whatsapp", "US", "", (), "missing_category:whatsapp"),
        ("whatsapp", "US", "promo", (), "unknown_category:whatsapp:promo"),
        ("fax", "US", "", (), "unknown_channel:fax"),
    ],
)
def test_priceable_says_why_a_send_cannot_be_priced(
    channel: str, country: str, category: str, features: tuple[str, ...], reason: str | None
) -> None:
    assert priceable(default_plan(), channel, country, category, features=features) == reason


def test_a_channel_missing_from_the_plan_is_not_priceable() -> None:
    assert priceable(make_plan(), "in_app", "US") == "channel_not_in_plan:in_app"


# --- margin --------------------------------------------------------------------------------------


def test_margin_sets_provider_cost_against_what_was_charged() -> None:
    # Given 20,000 emails (10,000 included, then 1.00 per 1,000) and SMS to three countries
    plan = sms_plan().model_copy(
        update={
            "channels": {
                **sms_plan().channels,
                "email": ChannelPlan(
                    included_units=10_000, model="graduated", tiers=[Tier(per_thousand=D("1.00"))]
                ),
            }
        }
    )
    usages = [
        email(20_000),
        sms("US", 1_000),
        sms("GB", 10),
        sms("ZZ", 4),
        sms("US", 5, kind="mms"),
    ]

    # When
    lines = margin(plan, usages)

    # Then email: charged 10,000 x 1.00 / 1,000 = 10.00; SES 20,000 x 0.10 / 1,000 = 2.00 (the
    # included units cost us too); margin 8.00 = 80.0%.
    # SMS US: 1,000 x 0.0079 = 7.90 against 1,000 x 0.0059 = 5.90: 2.00, 2.00 / 7.90 = 25.3%.
    # GB has no provider cost on its row, ZZ no row: unknown. The MMS surcharge is left out.
    assert [
        (m.channel, m.country, m.units, m.charged, m.provider_cost, m.margin, m.margin_pct)
        for m in lines
    ] == [
        ("email", "", 20_000, D("10.00"), D("2.00"), D("8.00"), D("80.0")),
        ("sms", "GB", 10, D("0.40"), None, None, None),
        ("sms", "US", 1_000, D("7.90"), D("5.90"), D("2.00"), D("25.3")),
        ("sms", "ZZ", 4, D("0.00"), None, None, None),
    ]


# --- usage counters ------------------------------------------------------------------------------


def test_usage_is_normalised_and_checked() -> None:
    # Given / When
    text = Usage(channel="sms", country=" us ", category="marketing", units=3)
    chat = Usage(channel="whatsapp", country="gb", category=" Utility ", units=1)

    # Then category is a WhatsApp notion, countries are upper case
    assert (text.country, text.category) == ("US", "")
    assert (chat.country, chat.category) == ("GB", "utility")
    for bad in (
        {"channel": "fax", "units": 1},
        {"channel": "sms", "units": -1},
        {"channel": "sms", "kind": "MMS!", "units": 1},
    ):
        with pytest.raises(ValidationError):
            Usage.model_validate(bad)


def test_zero_and_empty_counters_price_to_nothing() -> None:
    plan = rich_plan()
    assert price_lines(plan, []) == []
    assert price_lines(plan, [sms("US", 0)]) == []
    # 19.00 base + 2 x 1.15 numbers = 21.30, less the promo credit (expires first) -> 0.00
    inv = invoice(plan, [], MONTH)
    assert (inv.subtotal, inv.total) == (D("21.30"), D("0.00"))
    assert [(c.credit_id, c.applied) for c in inv.credits] == [("promo", D("21.30"))]
