"""Recosting: bring the cost ledger's sums up to date after what they were computed from
changed — a new cost model (every order), new FX rates (the orders those dates can price) or an
imported settlement (the orders it names).

A request is one SQS message on the costs queue; the worker recosts a page of orders
(:func:`linkstar.costs.ledger.recost_order`, idempotent: an order already current writes
nothing) and queues the next page itself, so a tenant with 100,000 orders never needs one
long-running invocation, and a failed page is retried alone. The tenant's latest request has a
status item that ``GET /costs`` shows (``recost``), so a seller knows when the sums are still
catching up with a change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Any

from linkstar import aws, clock, ids
from linkstar.costs import ledger
from linkstar.errors import Conflict
from linkstar.settings import get_settings, require
from linkstar.store import dynamo, keys

PAGE_SIZE = 200


def request(
    tenant_id: str,
    reason: str,
    *,
    since: str | None = None,
    until: str | None = None,
    order_ids: list[str] | None = None,
) -> dict[str, Any]:
    """Queue a recost of the tenant's orders created ``since``..``until`` (ISO dates, inclusive;
    open-ended when absent), or of ``order_ids``."""
    now = clock.now()
    job_id = ids.new_job_id()
    status = {
        **keys.recost_status(tenant_id),
        "type": "recost_status",
        "tenant_id": tenant_id,
        "job_id": job_id,
        "reason": reason,
        "state": "running",
        "requested_at": now.isoformat(),
        "orders_seen": 0,
        "orders_changed": 0,
    }
    dynamo.put(status)
    body = {
        "tenant_id": tenant_id,
        "job_id": job_id,
        "since": since,
        "until": until,
        "order_ids": order_ids,
    }
    _send(body)
    return {"job_id": job_id, "reason": reason, "state": "running"}


def _send(body: dict[str, Any]) -> None:
    aws.client("sqs").send_message(
        QueueUrl=require(get_settings().costs_queue_url, "COSTS_QUEUE_URL"),
        MessageBody=json.dumps(body),
    )


def status(tenant_id: str) -> dict[str, Any] | None:
    item = dynamo.get(keys.recost_status(tenant_id), consistent=True)
    if not item:
        return None
    return {
        name: (int(item[name]) if name.startswith("orders_") else item[name])
        for name in (
            "job_id", "reason", "state", "requested_at", "finished_at", "orders_seen",
            "orders_changed",
        )
        if name in item
    }  # fmt: skip


def handle_record(record: dict[str, Any]) -> str:
    body = json.loads(record["body"])
    return run_page(body)


def run_page(body: dict[str, Any]) -> str:
    """Recost one page of the request in ``body``; queue the rest."""
    from linkstar.store import orders

    tenant_id = body["tenant_id"]
    inputs = ledger.load_inputs(tenant_id)
    states: list[Any]
    cursor = None
    if body.get("order_ids") is not None:
        wanted = list(body["order_ids"])
        page, rest = wanted[:PAGE_SIZE], wanted[PAGE_SIZE:]
        states = orders.load_many(tenant_id, page)
        if rest:
            cursor = {**body, "order_ids": rest}
    else:
        states, token = orders.list_page(
            tenant_id,
            created_from=body.get("since"),
            created_to=body.get("until"),
            filters={},
            limit=PAGE_SIZE,
            next_token=body.get("cursor"),
        )
        if token:
            cursor = {**body, "cursor": token}
    changed = sum(1 for state in states if ledger.recost_order(tenant_id, state, inputs))
    page_id = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    _progress(tenant_id, body["job_id"], page_id, len(states), changed, done=cursor is None)
    if cursor is not None:
        _send(cursor)
    return f"recosted {len(states)} orders, {changed} changed"


def _progress(
    tenant_id: str, job_id: str, page: str, seen: int, changed: int, *, done: bool
) -> None:
    # Only the latest request's status counts (an older job's pages finishing late must not
    # mark a newer one done), and each page once: a page SQS delivers again is not recounted.
    sets = "ADD pages :page, orders_seen :s, orders_changed :c"
    values: dict[str, Any] = {":s": seen, ":c": changed, ":j": job_id, ":page": {page}, ":p": page}
    if done:
        sets = "SET #state = :done, finished_at = :at " + sets
        values.update({":done": "done", ":at": clock.now().isoformat()})
    with contextlib.suppress(Conflict):
        dynamo.update(
            keys.recost_status(tenant_id),
            sets,
            condition="job_id = :j AND NOT contains(pages, :p)",
            names={"#state": "state"} if done else None,
            values=values,
        )
