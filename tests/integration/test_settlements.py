"""Amazon settlement reports through the API on moto: an Amazon store's orders imported from the
All Orders report, a cost model, then the store's settlements replacing the model's commission
and logistics with the fees Amazon actually charged. The settlement samples are constructed from
Amazon's documented columns (no real report was found: ``tests/fixtures/settlements/SOURCES.md``).
"""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import pytest

from tests.integration.conftest import Stack, body_of, call, drain, new_seller
from tests.support import REPO

pytestmark = pytest.mark.xdist_group("settlements")

FIXTURES = REPO / "tests" / "fixtures"
ORDER = "113-4825910-2218650"  # the two-item FBA order of the All Orders sample
TSV = "text/tab-separated-values"
MODEL = {
    "reporting_currency": "USD",
    "commission": [{"platform": "amazon", "rate": "0.15"}],
    "payment_fees": [{"platform": "amazon", "rate": "0"}],
    "logistics": [{"market": "US", "currency": "USD", "brackets": [{"price": "8.00"}]}],
}


def settlement_file(name: str) -> bytes:
    return (FIXTURES / "settlements" / name).read_bytes()


def amazon_seller(stack: Stack, name: str) -> dict[str, str]:
    """A tenant with an Amazon store holding the All Orders sample's orders, and a cost model."""
    tenant = body_of(call(stack, "POST", "/tenants", stack.admin_token, {"name": name}))
    key = tenant["api_key"]
    store = call(
        stack,
        "POST",
        "/stores",
        key,
        {"platform": "amazon", "external_id": f"A1{name.upper().replace(' ', '')}", "market": "US"},
    )
    assert store.status_code == 201, store.body
    store_id = body_of(store)["store_id"]
    history = (FIXTURES / "imports" / "amazon_all_orders.tsv").read_bytes()
    queued = call(stack, "POST", f"/stores/{store_id}/import", key, history, content_type=TSV)
    assert queued.status_code == 202, queued.body
    from functions.importer.app import handler

    drain(stack, "ImportQueue", handler)
    assert call(stack, "PUT", "/cost-model", key, MODEL).status_code == 200
    operator = call(stack, "POST", "/api-keys", key, {"role": "operator"})
    assert operator.status_code == 201, operator.body
    orders = body_of(call(stack, "GET", f"/orders?store_id={store_id}&limit=200", key))["orders"]
    (order,) = [o for o in orders if o["external_id"] == ORDER]
    return {
        "api_key": key,
        "operator": body_of(operator)["api_key"],
        "store_id": store_id,
        "order_id": order["order_id"],
    }


def post_settlement(
    stack: Stack, key: str, store_id: str, body: bytes, content_type: str = TSV
) -> Any:
    return call(stack, "POST", f"/stores/{store_id}/settlements", key, body, content_type)


def profit(stack: Stack, key: str, order_id: str) -> dict[str, Any]:
    answer = call(stack, "GET", f"/orders/{order_id}/profit", key)
    assert answer.status_code == 200, answer.body
    return dict(json.loads(answer.body))


def test_a_settlement_replaces_the_models_commission_and_logistics_with_amazons_fees(
    stack: Stack,
) -> None:
    # Given an Amazon store's order costed by the model
    seller = amazon_seller(stack, "Settled")
    before = profit(stack, seller["api_key"], seller["order_id"])

    # When an operator imports the period's settlement report
    first = settlement_file("amazon_us_settlement_1.tsv")
    imported = post_settlement(
        stack, seller["operator"], seller["store_id"], first, content_type=TSV
    )
    after = profit(stack, seller["api_key"], seller["order_id"])
    month = after["date"][:7]
    from functions.costs.app import handler

    drain(stack, "CostsQueue", handler)
    costs_after = body_of(call(stack, "GET", f"/costs?period={month}", seller["api_key"]))

    # Then the import says what it read, and queued a recost of the orders it names
    assert imported.status_code == 200, imported.body
    got = body_of(imported)
    assert got.pop("recost")["reason"] == "settlement_imported"
    assert got == {
        "store_id": seller["store_id"],
        "settlement_id": "24288374651",
        "currency": "USD",
        "start": "2024-02-09T16:12:34+00:00",
        "end": "2024-02-23T16:12:34+00:00",
        "deposit_date": "2024-02-25T16:12:34+00:00",
        "total_amount": "14.12",
        "orders_matched": 1,
        "orders_unknown": ["112-9034455-6671203"],  # in no import of this store
        # commission 5.25 + 2.40 (ours) + 5.85 (the unknown order); logistics 4.75 + 6.44 + 5.99
        "totals": {"commission": "13.50", "logistics": "17.18"},
        "unmapped": {},
        "not_costs": {
            "MarketplaceFacilitatorTax-Principal": 3,
            "MarketplaceFacilitatorTax-Shipping": 1,
            "Principal": 4,
            "Shipping": 2,
            "ShippingTax": 1,
            "Tax": 3,
        },
        "without_order": {"Storage Fee": 1, "Subscription Fee": 1},
        "replaced": False,
    }
    # and the order's commission and logistics are Amazon's now, not the model's
    assert before["details"]["commission"]["source"] == "model"
    assert before["details"]["logistics"]["source"] == "model"
    assert after["components"]["commission"] == "7.65"  # 5.25 + 2.40
    assert after["components"]["logistics"] == "17.18"  # 4.75 + 6.44 + 5.99
    assert after["details"]["commission"] == {"source": "actual", "how": "actual 7.65 USD"}
    assert after["details"]["logistics"] == {"source": "actual", "how": "actual 17.18 USD"}
    # the rest is unchanged, and profit moves by exactly the difference in those two costs
    assert after["revenue"] == before["revenue"]
    assert after["components"]["payment_fees"] == before["components"]["payment_fees"]
    moved = sum(
        (
            D(before["components"][c]) - D(after["components"][c])
            for c in ("commission", "logistics")
        ),
        D(0),
    )
    assert D(after["profit"]) == D(before["profit"]) + moved
    # and once recosted, GET /costs sums Amazon's fees too
    (total,) = [t for t in costs_after["total"] if t["currency"] == "USD"]
    assert (total["components"]["commission"], total["components"]["logistics"]) == (
        "7.65",
        "17.18",
    )
    assert costs_after["recost"]["state"] == "done"


def test_reimporting_changes_nothing_and_the_next_settlements_refund_adjusts(
    stack: Stack,
) -> None:
    # Given the first settlement imported
    seller = amazon_seller(stack, "Refunded")
    first = settlement_file("amazon_us_settlement_1.tsv")
    assert post_settlement(stack, seller["operator"], seller["store_id"], first).status_code == 200
    settled = profit(stack, seller["api_key"], seller["order_id"])

    # When the same file is imported again (as text/plain, the way Seller Central names it)
    again = post_settlement(
        stack, seller["operator"], seller["store_id"], first, content_type="text/plain"
    )
    unchanged = profit(stack, seller["api_key"], seller["order_id"])
    # and then the next period's settlement, with the rulers refunded
    refund = settlement_file("amazon_us_settlement_2_refund.tsv")
    second = post_settlement(stack, seller["operator"], seller["store_id"], refund)
    refunded = profit(stack, seller["api_key"], seller["order_id"])

    # Then the re-import replaced the settlement rather than adding it twice
    assert again.status_code == 200 and body_of(again)["replaced"] is True
    assert unchanged["components"] == settled["components"]
    assert unchanged["components"]["commission"] == "7.65"
    # and the refund's commission given back (2.40) less the refund commission (0.48) lowers
    # the order's commission to 7.65 - 1.92 = 5.73; its FBA fees were not refunded
    assert second.status_code == 200, second.body
    assert body_of(second)["totals"] == {"commission": "-1.92"}
    assert body_of(second)["unmapped"] == {"CUSTOMER_RETURN": 1}  # reported, not guessed
    assert refunded["components"]["commission"] == "5.73"
    assert refunded["details"]["commission"]["how"] == "actual 5.73 USD"
    assert refunded["components"]["logistics"] == "17.18"


def test_a_corrected_settlement_drops_the_orders_it_no_longer_names(stack: Stack) -> None:
    from linkstar import ids
    from linkstar.store import settlements

    # Given the first settlement imported: it holds fees for our order and the unknown one
    seller = amazon_seller(stack, "Corrected")
    tenant_id = ids.tenant_of_store(seller["store_id"])
    assert tenant_id
    first = settlement_file("amazon_us_settlement_1.tsv")
    assert post_settlement(stack, seller["operator"], seller["store_id"], first).status_code == 200
    named = settlements.orders_of(tenant_id, seller["store_id"], "24288374651")

    # When the same settlement comes again without our order's rows
    corrected = b"".join(
        line for line in first.splitlines(keepends=True) if ORDER.encode() not in line
    )
    again = post_settlement(stack, seller["operator"], seller["store_id"], corrected)

    # Then its fees are gone from the order, which falls back to the cost model
    unknown = ids.order_id(seller["store_id"], "112-9034455-6671203")
    assert named == sorted([seller["order_id"], unknown])
    assert again.status_code == 200 and body_of(again)["orders_matched"] == 0
    assert settlements.orders_of(tenant_id, seller["store_id"], "24288374651") == [unknown]
    fallen_back = profit(stack, seller["api_key"], seller["order_id"])
    assert fallen_back["details"]["commission"]["source"] == "model"
    assert fallen_back["details"]["logistics"]["source"] == "model"


def test_another_tenant_can_neither_import_into_the_store_nor_see_its_fees(stack: Stack) -> None:
    # Given a seller's settled order, and another tenant (with an Amazon store of its own)
    seller = amazon_seller(stack, "Owner")
    first = settlement_file("amazon_us_settlement_1.tsv")
    assert post_settlement(stack, seller["operator"], seller["store_id"], first).status_code == 200
    other = amazon_seller(stack, "Intruder")

    # When the other tenant posts into the first one's store and reads the first one's order
    intrusion = post_settlement(stack, other["api_key"], seller["store_id"], first)
    peek = call(stack, "GET", f"/orders/{seller['order_id']}/profit", other["api_key"])
    # and imports the same report into its own store
    own = post_settlement(stack, other["operator"], other["store_id"], first)

    # Then the store and the order are not found
    assert intrusion.status_code == 404 and body_of(intrusion)["code"] == "store_not_found"
    assert peek.status_code == 404
    # its own import is its own: it counts as new there, and its fees land on its order only
    assert own.status_code == 200 and body_of(own)["replaced"] is False
    mine = profit(stack, other["api_key"], other["order_id"])
    assert mine["components"]["commission"] == "7.65"
    # and a refund imported by the second tenant never reaches the first one's order
    refund = settlement_file("amazon_us_settlement_2_refund.tsv")
    assert post_settlement(stack, other["operator"], other["store_id"], refund).status_code == 200
    first_tenants = profit(stack, seller["api_key"], seller["order_id"])
    assert first_tenants["components"]["commission"] == "7.65"


def test_bad_imports_are_refused_with_a_code(stack: Stack) -> None:
    # Given an Amazon seller, a Shopify seller and a viewer's key
    seller = amazon_seller(stack, "Careful")
    shopify = new_seller(stack, "Shopify settle")
    viewer = call(stack, "POST", "/api-keys", seller["api_key"], {"role": "viewer"})
    first = settlement_file("amazon_us_settlement_1.tsv")
    mixed = first + (
        b"24288374651\t\t\t\t\tEUR\tOrder\t" + ORDER.encode() + b"\t" * 4
        + b"Amazon.de\tItemFees\tCommission\t-1.00\n"
    )  # fmt: skip

    # When
    answers = {
        "viewer": post_settlement(stack, body_of(viewer)["api_key"], seller["store_id"], first),
        "shopify": post_settlement(stack, shopify.api_key, shopify.store_id, first),
        "orders report": post_settlement(
            stack,
            seller["operator"],
            seller["store_id"],
            (FIXTURES / "imports" / "amazon_all_orders.tsv").read_bytes(),
        ),
        "mixed currencies": post_settlement(stack, seller["operator"], seller["store_id"], mixed),
        "empty": post_settlement(stack, seller["operator"], seller["store_id"], b""),
        "latin-1": post_settlement(
            stack,
            seller["operator"],
            seller["store_id"],
            "Prüfung".encode("latin-1"),
        ),
    }

    # Then
    got = {name: (a.status_code, body_of(a)["code"]) for name, a in answers.items()}
    assert got == {
        "viewer": (403, "role_forbidden"),
        "shopify": (400, "not_an_amazon_store"),
        "orders report": (400, "not_a_settlement_report"),
        "mixed currencies": (400, "mixed_currencies"),
        "empty": (400, "empty_settlement"),
        "latin-1": (400, "invalid_encoding"),
    }
    assert body_of(answers["orders report"])["details"]["missing_columns"]
    # and nothing was stored by the refused ones: the order is still costed by the model
    untouched = profit(stack, seller["api_key"], seller["order_id"])
    assert untouched["details"]["commission"]["source"] == "model"
