"""Reading batches of actual per-order costs (a carrier's invoice, a gateway's payout report)
as CSV or JSON: every row checked, every problem reported with its row, nothing half-read."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from linkstar import ids
from linkstar.api.cost_actuals import COMPONENTS_ACCEPTED
from linkstar.costs.actuals import (
    ACCEPTED,
    ActualsBatch,
    ActualsError,
    parse_csv,
    parse_json,
    source_name,
)

D = Decimal
TENANT = "tabcdefghjkm"
STORE = f"{TENANT}-sabcdefgh"
OTHER_TENANTS_STORE = "tzzzzzzzzzzz-szzzzzzzz"
ORDER = ids.order_id(STORE, "5901234567890")  # "sabcdefgh-5901234567890"


def stores(*known: str) -> Callable[[str], bool]:
    return lambda store_id: store_id in known


def csv_batch(text: str, source: str = "dhl-invoice-2026-10") -> ActualsBatch:
    return parse_csv(text, source=source, tenant_id=TENANT, store_exists=stores(STORE))


def json_batch(body: dict[str, object], source: str | None = None) -> ActualsBatch:
    return parse_json(body, source=source, tenant_id=TENANT, store_exists=stores(STORE))


def problems(text: str) -> list[dict[str, object]]:
    with pytest.raises(ActualsError) as caught:
        csv_batch(text)
    assert caught.value.code == "invalid_rows"
    return list(caught.value.details["problems"])


def test_a_carrier_invoice_as_csv_sums_each_orders_rows_per_component_and_currency() -> None:
    # Given a carrier's invoice: freight and a fuel surcharge for one order, in columns named
    # loosely, with one the carrier adds
    text = (
        "Order_ID, Component ,amount,currency,source_ref,weight_kg\n"
        f"{ORDER},logistics,7.10,EUR,INV-1/1,0.8\n"
        f"{ORDER},logistics,0.85,eur,INV-1/2,\n"
        "\n"
    )

    # When it is read
    batch = csv_batch(text)

    # Then each order's logistics in EUR is the sum of its rows, in EUR's minor units
    assert batch.source == "dhl-invoice-2026-10"
    assert [r.row for r in batch.rows] == [1, 2]
    assert batch.by_order() == {ORDER: {"EUR": {"logistics": D("7.95")}}}
    assert batch.refs() == {ORDER: ["INV-1/1", "INV-1/2"]}
    assert batch.totals() == {"logistics": {"EUR": D("7.95")}}


def test_store_and_external_id_name_an_order_as_ingest_does() -> None:
    # Given rows naming orders by store and the platform's id, one agreeing order_id beside
    text = (
        "store_id,external_id,order_id,component,amount,currency\n"
        f"{STORE},5901234567890,,returns,12,USD\n"
        f"{STORE},5901234567890,{ORDER},duties,3.5,GBP\n"
    )

    # When read
    batch = csv_batch(text)

    # Then both are LinkStar's order id, amounts quantized to the currency (12 → 12.00)
    assert batch.by_order() == {
        ORDER: {"USD": {"returns": D("12.00")}, "GBP": {"duties": D("3.50")}}
    }
    assert str(batch.rows[0].amount) == "12.00"


def test_every_bad_row_is_reported_with_its_number_and_reason_and_nothing_is_kept() -> None:
    # Given a batch with one good row and a bad one of each kind
    text = (
        "order_id,component,amount,currency\n"
        f"{ORDER},logistics,7.10,EUR\n"  # 1: fine
        f"{ORDER},shipping,7.10,EUR\n"  # 2: not a component
        f"{ORDER},logistics,-2.00,EUR\n"  # 3: negative
        f"{ORDER},logistics,1.234,EUR\n"  # 4: more decimals than EUR has
        f"{ORDER},logistics,1,234.00,EUR\n"  # 5: thousands separator (a column more)
        f"{ORDER},logistics,7.10,EURO\n"  # 6: not a currency
        "5901234567890,logistics,7.10,EUR\n"  # 7: the platform's id, not LinkStar's
        ",logistics,7.10,EUR\n"  # 8: no order
    )

    # When it is read
    found = problems(text)

    # Then every bad row is listed, in order, and the good one doesn't make it through alone
    assert [p["row"] for p in found] == [2, 3, 4, 5, 6, 7, 8]
    reasons = {p["row"]: str(p["reason"]) for p in found}
    assert "component is not one of cogs, commission" in reasons[2]
    assert "negative" in reasons[3]
    assert "more decimals than EUR has (2 decimal places)" in reasons[4]
    assert "5 values where the header names 4 columns" in reasons[5]
    assert "ISO 4217" in reasons[6]
    assert "not a LinkStar order id" in reasons[7]
    assert "no order" in reasons[8]


def test_ads_and_fx_are_refused_with_the_reason() -> None:
    found = problems(
        f"order_id,component,amount,currency\n{ORDER},ads,5.00,USD\n{ORDER},FX,1.00,USD\n"
    )
    assert [p["row"] for p in found] == [1, 2]
    assert "component ads can't be given per order" in str(found[0]["reason"])
    assert "ad_spend" in str(found[0]["reason"])
    assert "component fx can't be given per order" in str(found[1]["reason"])
    assert "POST /fx-rates" in str(found[1]["reason"])
    assert set(ACCEPTED) == {
        "cogs",
        "commission",
        "payment_fees",
        "logistics",
        "taxes",
        "duties",
        "returns",
    }
    # the API documents the same list without importing cost code at cold start
    assert COMPONENTS_ACCEPTED == ACCEPTED


def test_amounts_follow_the_currencys_minor_units() -> None:
    # JPY has none, KWD three, USD two
    batch = csv_batch(
        "order_id,component,amount,currency\n"
        f"{ORDER},logistics,980,JPY\n"
        f"{ORDER},duties,1.125,KWD\n"
        f"{ORDER},returns,0,USD\n"
    )
    assert [(str(r.amount), r.currency) for r in batch.rows] == [
        ("980", "JPY"),
        ("1.125", "KWD"),
        ("0.00", "USD"),
    ]
    found = problems(
        f"order_id,component,amount,currency\n{ORDER},logistics,980.5,JPY\n"
        f"{ORDER},duties,1.1255,KWD\n"
    )
    assert "JPY has (no minor units)" in str(found[0]["reason"])
    assert "KWD has (3 decimal places)" in str(found[1]["reason"])


def test_a_store_of_another_tenant_or_none_at_all_is_no_such_store() -> None:
    missing_store = f"{TENANT}-snotthere"
    found = problems(
        "store_id,external_id,component,amount,currency\n"
        f"{OTHER_TENANTS_STORE},1001,logistics,5.00,USD\n"
        f"{missing_store},1001,logistics,5.00,USD\n"
        f"{STORE},,logistics,5.00,USD\n"
    )
    assert [(p["row"], p["reason"]) for p in found] == [
        (1, f"no such store: {OTHER_TENANTS_STORE!r}"),
        (2, f"no such store: {missing_store!r}"),
        (3, "give store_id and external_id together"),
    ]


def test_a_header_without_an_order_column_says_what_it_lacks() -> None:
    with pytest.raises(ActualsError) as caught:
        csv_batch("component,amount,currency\nlogistics,1.00,USD\n")
    assert caught.value.code == "invalid_header"
    assert caught.value.details["missing_columns"] == ["order_id (or store_id and external_id)"]
    with pytest.raises(ActualsError) as empty:
        csv_batch("order_id,component,amount,currency\n")
    assert empty.value.code == "empty_batch"


def test_json_rows_read_like_csv_rows_and_numbers_stay_exact() -> None:
    # Given JSON as the API reads it (numbers as Decimal, never binary floats)
    body = json.loads(
        json.dumps(
            {
                "source": "stripe-payouts-2026-10",
                "rows": [
                    {"order_id": ORDER, "component": "payment_fees", "amount": "1.40",
                     "currency": "USD", "source_ref": "po_1"},
                    {"store_id": STORE, "external_id": "5901234567890",
                     "component": "payment_fees", "amount": 0.1, "currency": "USD"},
                ],
            }
        ),
        parse_float=Decimal,
    )  # fmt: skip

    # When read
    batch = json_batch(body)

    # Then it is the same batch a CSV would make
    assert batch.source == "stripe-payouts-2026-10"
    assert batch.by_order() == {ORDER: {"USD": {"payment_fees": D("1.50")}}}


def test_json_rows_with_unknown_fields_or_bad_values_are_refused_by_row() -> None:
    body = {
        "source": "broker-2026-10",
        "rows": [
            {"order_id": ORDER, "component": "duties", "ammount": "1.00", "currency": "USD"},
            {"order_id": ORDER, "component": "duties", "amount": True, "currency": "USD"},
            "not a row",
            {"order_id": ORDER, "component": "duties", "amount": "4.00", "currency": "USD"},
        ],
    }
    with pytest.raises(ActualsError) as caught:
        json_batch(body)
    found = caught.value.details["problems"]
    assert [p["row"] for p in found] == [1, 2, 3]
    assert "unknown field 'ammount'" in found[0]["reason"]
    assert "not a decimal" in found[1]["reason"]
    assert found[2]["reason"] == "a row must be an object"


def test_the_source_names_the_batch_once() -> None:
    assert source_name(" dhl-invoice-2026-10 ") == "dhl-invoice-2026-10"
    for bad, code in (("", "source_required"), (None, "source_required"),
                      ("dhl#2026", "invalid_source"), ("-x", "invalid_source"),
                      ("x" * 101, "invalid_source")):  # fmt: skip
        with pytest.raises(ActualsError) as caught:
            source_name(bad)
        assert caught.value.code == code, bad
    # JSON may name it in the body or the query, but not two different ones
    rows = [{"order_id": ORDER, "component": "duties", "amount": "1.00", "currency": "USD"}]
    assert json_batch({"rows": rows}, source="q-1").source == "q-1"
    with pytest.raises(ActualsError) as caught:
        json_batch({"source": "b-1", "rows": rows}, source="q-1")
    assert caught.value.code == "invalid_source"
