"""Money, ids, contacts, keys."""

from __future__ import annotations

from decimal import Decimal

from linkstar import ids, money
from linkstar.contacts import timezone_for, to_e164
from linkstar.tenants import keys


def test_money_is_quantised_by_minor_unit() -> None:
    assert money.parse_amount("1234.5", "JPY") == Decimal("1234")
    assert money.parse_amount("10.005", "USD") == Decimal("10.00")  # banker's rounding
    assert money.parse_amount("1.2345", "KWD") == Decimal("1.234")
    assert money.parse_amount(None, "EUR") == Decimal("0.00")


def test_store_ids_carry_their_tenant() -> None:
    tenant = ids.new_tenant_id()
    store = ids.new_store_id(tenant)
    assert ids.tenant_of_store(store) == tenant
    assert ids.tenant_of_store("tabc-s123") is None
    assert ids.tenant_of_store(store + "/../x") is None


def test_one_customer_id_per_tenant_and_email() -> None:
    a = ids.customer_id_for_email("taaaaaaaaaaa", " Bob@Example.com ")
    assert a == ids.customer_id_for_email("taaaaaaaaaaa", "bob@example.com")
    assert a != ids.customer_id_for_email("tbbbbbbbbbbb", "bob@example.com")


def test_phone_numbers_and_time_zones() -> None:
    assert to_e164("030 1234567", "DE") == "+49301234567"
    assert to_e164("555-625-1199", "US") is None  # fictional 555 numbers are not valid
    assert timezone_for("+49301234567", None) == ("Europe/Berlin", "phone")
    assert timezone_for(None, "JP") == ("Asia/Tokyo", "country")
    assert timezone_for(None, "US") == (None, None)  # ambiguous: don't guess


def test_api_keys() -> None:
    key = keys.mint("tabcdefghijk")
    assert keys.parse(key) == "tabcdefghijk"
    assert keys.parse(key + "x") is None
    assert keys.digest(key) != key and len(keys.digest(key)) == 64
