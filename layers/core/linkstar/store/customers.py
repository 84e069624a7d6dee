"""Customers in DynamoDB.

The item's ``doc`` is the whole :class:`~linkstar.customers.models.Customer`, purchase days
included (:mod:`linkstar.funnel.contribution`): they grow by about 85 bytes per day the customer
bought on, so even one buying every day for years stays well inside DynamoDB's 400 KB item.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from linkstar.customers.models import Customer
from linkstar.store import dynamo, keys


def load(tenant_id: str, customer_id: str) -> Customer | None:
    item = dynamo.get(keys.customer(tenant_id, customer_id), consistent=True)
    return _customer(item) if item else None


def _customer(item: dict[str, Any]) -> Customer:
    return Customer.model_validate_json(item["doc"])


def _item(customer: Customer) -> dict[str, Any]:
    return {
        **keys.customer(customer.tenant_id, customer.customer_id),
        "gsi1pk": keys.customers_index(customer.tenant_id),
        "gsi1sk": customer.customer_id,
        "type": "customer",
        "tenant_id": customer.tenant_id,
        "customer_id": customer.customer_id,
        "email": customer.email,
        "orders_count": customer.orders_count,
        "version": customer.version,
        "doc": customer.model_dump_json(),
    }


def put_op(customer: Customer, expected_version: int) -> dynamo.Op:
    return dynamo.versioned_put_op(_item(customer), expected_version)


def list_page(
    tenant_id: str, *, min_orders: int, limit: int, next_token: str | None
) -> tuple[list[Customer], str | None]:
    page = dynamo.query(
        "gsi1pk",
        keys.customers_index(tenant_id),
        index="gsi1",
        filter_expression="orders_count >= :n" if min_orders else None,
        values={":n": Decimal(min_orders)} if min_orders else None,
        limit=limit,
        next_token=next_token,
    )
    return [_customer(i) for i in page.items], page.next_token
