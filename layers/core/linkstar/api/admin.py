"""Operator routes (admin token): inspect and replay the dead-letter queues
(``?queue=ingest``, the default, or ``?queue=enrich``)."""

from __future__ import annotations

from chalice import Blueprint

from linkstar.api.auth import require_admin
from linkstar.api.http import int_param, query_params, route
from linkstar.ingest import deadletter

bp = Blueprint(__name__)


@route(bp, "/admin/dlq", methods=["GET"])
def list_dead_letters() -> dict:
    require_admin(bp)
    limit = int_param(query_params(bp), "limit", 50, 1, 500)
    messages = deadletter.peek(limit, queue=query_params(bp).get("queue", "ingest"))
    return {"messages": messages, "count": len(messages)}


@route(bp, "/admin/dlq/replay", methods=["POST"])
def replay_dead_letters() -> dict:
    require_admin(bp)
    params = query_params(bp)
    return deadletter.replay(
        limit=int_param(params, "limit", 100, 1, 10_000),
        tenant_id=params.get("tenant_id"),
        queue=params.get("queue", "ingest"),
    )
