"""Identifier formats.

A store id embeds its tenant id (``t…-s…``) so the public webhook URL
``/webhooks/{platform}/{store_id}`` resolves to one tenant-scoped key without a global index.
Customer ids are derived from the tenant and normalised email, so "one customer per tenant per
email, across stores" holds by construction and ``GET /customers?email=`` is a single read.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
import uuid

_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o/1/l: ids get read aloud and retyped
TENANT_RE = re.compile(r"^t[a-z0-9]{11}$")
STORE_RE = re.compile(r"^(t[a-z0-9]{11})-(s[a-z0-9]{8})$")


def _token(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def new_tenant_id() -> str:
    return "t" + _token(11)


def new_store_id(tenant_id: str) -> str:
    return f"{tenant_id}-s{_token(8)}"


def new_key_id() -> str:
    return "k" + _token(11)


def new_flow_id() -> str:
    return "f" + _token(11)


def new_delivery_id() -> str:
    return str(uuid.uuid4())


def tenant_of_store(store_id: str) -> str | None:
    match = STORE_RE.match(store_id)
    return match.group(1) if match else None


def store_suffix(store_id: str) -> str:
    match = STORE_RE.match(store_id)
    if not match:
        raise ValueError(f"not a store id: {store_id!r}")
    return match.group(2)


def order_id(store_id: str, external_id: str) -> str:
    """Tenant-unique order id: the store's suffix plus the platform's own order id."""
    return f"{store_suffix(store_id)}-{external_id}"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def customer_id_for_email(tenant_id: str, email: str) -> str:
    digest = hashlib.sha256(f"{tenant_id}|email|{normalise_email(email)}".encode()).hexdigest()
    return "c" + digest[:20]


def customer_id_for_platform(tenant_id: str, store_id: str, platform_customer_id: str) -> str:
    digest = hashlib.sha256(f"{tenant_id}|{store_id}|{platform_customer_id}".encode()).hexdigest()
    return "c" + digest[:20]


def customer_id_for(
    tenant_id: str, store_id: str, email: str | None, platform_customer_id: str | None
) -> str | None:
    """The tenant's customer for a buyer: by email when there is one (merging stores), else by
    the store's own customer id; None for an anonymous buyer."""
    if email:
        return customer_id_for_email(tenant_id, email)
    if platform_customer_id:
        return customer_id_for_platform(tenant_id, store_id, platform_customer_id)
    return None


def event_id(*parts: str) -> str:
    """Deterministic domain-event id: a redelivery that re-derives an event gets the same id."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


def new_job_id() -> str:
    """Sortable by creation time (newest-first listings), unique by its random tail."""
    return f"j{int(time.time() * 1000):013d}{_token(6)}"
