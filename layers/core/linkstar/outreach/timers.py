"""The minute tick: timers that fell due become work on the flow queue (a run's wait ended) or
on a channel queue (a held message may go now).

A timer is deleted only after its work is queued, so a crash re-queues it next minute; every
consumer ignores a stale or repeated copy (a run resumes only from the exact wait it is in, a
message is sent only from ``queued``/``held``).
"""

from __future__ import annotations

import json
from datetime import datetime

from linkstar import clock
from linkstar.outreach import queues
from linkstar.outreach.models import SendRequest
from linkstar.store import outreach as repo

MAX_ROUNDS = 20


def fire_due(now: datetime | None = None) -> dict[str, int]:
    now = now or clock.now()
    fired = {"resumes": 0, "sends": 0}
    for _ in range(MAX_ROUNDS):
        items = repo.due_timers(now)
        if not items:
            break
        resumes, sends = [], []
        for item in items:
            body = json.loads(item["body"])
            if body.get("kind") == "resume":
                resumes.append(body)
            else:
                sends.append(SendRequest.model_validate(body))
        queues.enqueue_flow_work(resumes)
        queues.enqueue_sends(sends)
        for item in items:
            repo.delete_timer(item)
        fired["resumes"] += len(resumes)
        fired["sends"] += len(sends)
    return fired
