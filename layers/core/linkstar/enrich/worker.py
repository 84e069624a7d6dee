"""One enrichment request (an ``order.enrichment_requested`` event, delivered through SQS).

The fetched order is fed through the ingest processor as a canonical-order delivery, so it is
deduplicated and merged exactly like a webhook: a request repeated or replayed changes nothing,
and an answer older than what notifications have said since only fills in the amounts.
"""

from __future__ import annotations

import json
from typing import Any

from linkstar import ids
from linkstar.errors import PermanentError
from linkstar.ingest.deadletter import dead_letter_request, settle
from linkstar.ingest.processor import process_order
from linkstar.store import orders as order_repo
from linkstar.store import stores as store_repo


def request_of(record: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge event the rule wrote into the queue → its detail."""
    try:
        event = json.loads(record["body"])
        detail = event["detail"]
        for name in ("tenant_id", "store_id", "external_id"):
            if not isinstance(detail.get(name), str):
                raise KeyError(name)
    except (ValueError, KeyError, TypeError) as exc:
        raise PermanentError(f"not an enrichment request: {exc!r}", code="invalid_request") from exc
    return dict(detail)


def enrich(detail: dict[str, Any]) -> str:
    from linkstar.platforms import clients  # the HTTP clients load only where they are used

    store = store_repo.get_cached(detail["tenant_id"], detail["store_id"])
    if store is None:
        raise PermanentError("the store no longer exists", code="store_not_found")
    if detail.get("reason", "pending") == "pending":
        # Several notifications can arrive before the first fetch lands; each asks for one.
        # Once an answer is stored, the rest have nothing to add.
        known = order_repo.load(
            store.tenant_id, ids.order_id(store.store_id, detail["external_id"])
        )
        if known is not None and known.snapshot is not None and not known.snapshot.amounts_pending:
            return "already_enriched"
    hints = {k: str(v) for k, v in (detail.get("hints") or {}).items() if v is not None}
    order = clients.fetch_order(store, detail["external_id"], hints)
    return process_order(store, order, "enrich")


def handle_record(record: dict[str, Any]) -> str:
    from linkstar.platforms.clients import AmountsNotYetAvailable

    def work() -> str:
        try:
            return enrich(request_of(record))
        except AmountsNotYetAvailable:
            # SP-API prices nothing while an order is Pending (Shopee: before payment). The
            # order stays "amounts pending"; its next status notification asks again.
            return "amounts_not_yet_available"

    def park(code: str, reason: str, attempts: int) -> None:
        dead_letter_request(record["body"], code, reason, attempts)

    return settle(record, work, park)
