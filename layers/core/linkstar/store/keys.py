"""Key builders (see the table in ``linkstar.store``)."""

from __future__ import annotations


def tenant(tid: str) -> dict[str, str]:
    return {"pk": f"T#{tid}", "sk": "TENANT"}


def api_key(tid: str, key_hash: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#KEY#{key_hash}", "sk": "KEY"}


def api_keys_index(tid: str) -> str:
    return f"T#{tid}#KEYS"


def store(tid: str, store_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#STORE#{store_id}", "sk": "STORE"}


def stores_index(tid: str) -> str:
    return f"T#{tid}#STORES"


def store_stats(tid: str, store_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#STORE#{store_id}", "sk": "STATS"}


def order(tid: str, order_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#ORDER#{order_id}", "sk": "ORDER"}


def orders_index(tid: str) -> str:
    return f"T#{tid}#ORDERS"


def customer(tid: str, customer_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#CUST#{customer_id}", "sk": "CUSTOMER"}


def customers_index(tid: str) -> str:
    return f"T#{tid}#CUSTOMERS"


def checkout(tid: str, store_id: str, token: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#CHECKOUT#{store_id}#{token}", "sk": "CHECKOUT"}


def aggregate(tid: str, day: str, store_id: str, market: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#AGG#{day[:7]}", "sk": f"{day}#{store_id}#{market}"}


def aggregate_month(tid: str, month: str) -> str:
    return f"T#{tid}#AGG#{month}"


def outbox(tid: str, event_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#EVT#{event_id}", "sk": f"EVT#{event_id}"}


def amazon_seller(seller_id: str) -> dict[str, str]:
    """Global (not tenant-scoped) routing item: which store an SP-API SellerId belongs to."""
    return {"pk": f"AMZSELLER#{seller_id}", "sk": "ROUTE"}


def inventory_partition(tid: str, store_id: str) -> str:
    return f"T#{tid}#INV#{store_id}"


def inventory(tid: str, store_id: str, sku: str, market: str) -> dict[str, str]:
    return {"pk": inventory_partition(tid, store_id), "sk": f"{sku}#{market}"}


def import_job(tid: str, store_id: str, job_id: str) -> dict[str, str]:
    return {"pk": f"T#{tid}#STORE#{store_id}", "sk": f"IMPORT#{job_id}"}
