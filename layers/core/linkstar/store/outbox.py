"""The transactional outbox: domain events written in the same transaction as the state change.

The table's stream delivers each new ``EVT#`` item to the publisher function, which puts it on
the EventBridge bus. Items expire after a day (TTL); by then the stream has long delivered them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from linkstar.orders.state import DomainEvent
from linkstar.store import dynamo, keys

RETENTION_SECONDS = 24 * 3600


def event_ops(tenant_id: str, events: list[DomainEvent], occurred_at: str) -> list[dynamo.Op]:
    expires = int(time.time()) + RETENTION_SECONDS
    ops = []
    for event in events:
        item: dict[str, Any] = {
            **keys.outbox(tenant_id, event.event_id),
            "type": "event",
            "tenant_id": tenant_id,
            "event_id": event.event_id,
            "detail_type": event.detail_type,
            "detail": json.dumps(event.detail, default=str, sort_keys=True),
            "occurred_at": occurred_at,
            "expires_at": expires,
        }
        # Deterministic ids: a re-derived event overwrites itself (a stream MODIFY, which the
        # publisher's filter drops) instead of being published twice.
        ops.append(dynamo.put_op(item))
    return ops
