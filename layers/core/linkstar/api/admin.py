"""Operator routes (admin token): inspect and replay the dead-letter queues
(``?queue=ingest``, the default, or ``?queue=enrich``)."""

from __future__ import annotations

from chalice import Blueprint

from linkstar.api.auth import require_admin
from linkstar.api.http import Auth, Param, int_param, query_params, route
from linkstar.errors import BadRequest
from linkstar.ingest import deadletter
from linkstar.text import Text

bp = Blueprint(__name__)
QUEUE = Param(
    "queue", "which dead-letter queue", {"enum": ["ingest", "enrich"], "default": "ingest"}
)


def _queue(params: dict[str, str]) -> str:
    # Checked here, before deadletter is asked, so the refusal is written in the reader's
    # language (deadletter's own check stays for its other callers).
    name = params.get("queue", "ingest")
    if name not in deadletter.QUEUES:
        raise BadRequest(
            Text("request.unknown_queue", queues=sorted(deadletter.QUEUES)),
            code="invalid_query",
        )
    return name


@route(
    bp,
    "/admin/dlq",
    methods=["GET"],
    response="DeadLetters",
    params=(QUEUE, Param("limit", "at most", {"type": "integer", "minimum": 1, "maximum": 500})),
    auth=Auth.ADMIN_TOKEN,
    tags=["operator"],
)
def list_dead_letters() -> dict:
    """Look at dead letters without consuming them."""
    require_admin(bp)
    params = query_params(bp)
    limit = int_param(params, "limit", 50, 1, 500)
    messages = deadletter.peek(limit, queue=_queue(params))
    return {"messages": messages, "count": len(messages)}


@route(
    bp,
    "/admin/dlq/replay",
    methods=["POST"],
    response="Replayed",
    params=(
        QUEUE,
        Param("limit", "at most", {"type": "integer", "minimum": 1, "maximum": 10_000}),
        Param("tenant_id", "only this tenant's"),
    ),
    auth=Auth.ADMIN_TOKEN,
    tags=["operator"],
)
def replay_dead_letters() -> dict:
    """Move dead letters back to their work queue."""
    require_admin(bp)
    params = query_params(bp)
    return deadletter.replay(
        limit=int_param(params, "limit", 100, 1, 10_000),
        tenant_id=params.get("tenant_id"),
        queue=_queue(params),
    )
