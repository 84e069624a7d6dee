"""The flow engine: domain events start flow runs, runs walk their steps, waits become timers.

Work arrives on the flow queue in three shapes: a bus event (``detail-type``/``detail``), a
``resume`` of a run whose wait fell due (from the timers function), and a ``fallback`` for an
email that bounced. Every one of them is safe to process twice:

* a run's id is derived from the flow, the contact and the trigger (per the re-entry policy), and
  is created with a conditional write, so a duplicate event enters nobody twice;
* each step's run update is guarded by the run's version, so two workers can't both advance it;
* a message's id is derived from the run, step and channel, and its send request is queued
  *before* the run moves past the step, so a crash in between re-queues the same message id,
  which the sender sends at most once.

A run keeps its own time (``as_of``): a wait counts from when the previous wait fell due, not
from when a worker got round to it, so a late tick (or the local clock jumping a day) doesn't
stretch "email after 1 h, SMS after 24 h" into 25 h.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from linkstar import clock, ids
from linkstar.errors import ConcurrentUpdate, LinkStarError
from linkstar.observability import logger
from linkstar.outreach import compliance, flows, policy, queues
from linkstar.outreach import contacts as contact_service
from linkstar.outreach import templates as tpl
from linkstar.outreach.models import Contact, FlowRun, Message, SendRequest, said
from linkstar.outreach.unsubscribe import UnsubscribeToken, links, one_click_headers
from linkstar.store import checkouts, dynamo
from linkstar.store import orders as order_repo
from linkstar.store import outreach as repo
from linkstar.store import stores as store_repo
from linkstar.store import tenants as tenant_repo
from linkstar.text import Text

MATCH_KEYS = ("checkout_id", "order_id", "email", "contact_id", "customer_id")
# Order events for orders older than this are history (an import, a late backfill): they
# update reports but must not send "thanks for your order" about a purchase from last year.
MAX_ORDER_AGE = timedelta(days=7)
MAX_EVENT_AGE = timedelta(days=2)
CONTACT_EVENTS = ("customer.", "checkout.", "order.", "fulfillment.")


# ---------------------------------------------------------------- entry points


def handle(body: dict[str, Any], now: datetime | None = None) -> str:
    now = now or clock.now()
    kind = body.get("kind")
    if kind == "resume":
        return resume(body["tenant_id"], body["run_id"], int(body["step_index"]), body["due"], now)
    if kind == "fallback":
        return bounce_fallback(body["tenant_id"], body["run_id"], body["step_id"], now)
    if kind == "segment_entry":
        return segment_entry(body, now)
    if "detail-type" in body:
        return on_event(body["detail-type"], body.get("detail") or {}, now)
    raise LinkStarError("unknown flow work item", code="unknown_flow_work")


def on_event(detail_type: str, detail: dict[str, Any], now: datetime) -> str:
    tenant_id = detail.get("tenant_id")
    if not tenant_id:
        return "ignored"
    history = _is_history(detail_type, detail, now)
    contact = _contact_for(tenant_id, detail_type, detail, now, announce=not history)
    all_flows = repo.list_flows(tenant_id)
    # Only the exit rules some flow declares are looked up: most events end no run.
    exit_keys = {
        rule["match"]
        for flow in all_flows
        for rule in flow["definition"].get("exit") or []
        if rule["event"] == detail_type
    }
    exited = _exit_watchers(tenant_id, detail_type, detail, contact, exit_keys, now)
    if detail_type == "order.placed" and contact is not None and all_flows:
        _attribute(tenant_id, detail, contact, now)
    if history:
        return "history"
    entered = 0
    for flow in all_flows:
        definition = flow["definition"]
        if not flow.get("enabled") or definition["trigger"].get("event") != detail_type:
            continue
        if contact is None:
            repo_stats(tenant_id, flow["flow_id"], {"not_entered_no_contact": 1})
            continue
        entered += enter(flow, contact, detail_type, detail, detail.get("event_id", ""), now)
    return f"entered={entered} exited={exited}"


def _contact_for(
    tenant_id: str, detail_type: str, detail: dict[str, Any], now: datetime, announce: bool
) -> Contact | None:
    if detail_type.startswith("contact."):
        return repo.load_contact(tenant_id, detail["contact_id"])
    if detail_type.startswith(CONTACT_EVENTS):
        source = _platform_of(tenant_id, detail)
        return contact_service.observe(tenant_id, detail, source, now, announce=announce)
    return None


def _platform_of(tenant_id: str, detail: dict[str, Any]) -> str:
    """The platform the event's data came from ("shopify"): a contact's source, and the source
    of a consent read from a platform's flag. Events name it; one published before they did
    names its store, whose record says."""
    if detail.get("platform"):
        return str(detail["platform"])
    if detail.get("store_id"):
        store = store_repo.get_cached(tenant_id, str(detail["store_id"]))
        if store is not None:
            return store.platform.value
    return "platform"


def _is_history(detail_type: str, detail: dict[str, Any], now: datetime) -> bool:
    created = _parse_time(detail.get("created_at"))
    history = detail_type.startswith(("order.", "fulfillment."))
    if history and created is not None and created < now - MAX_ORDER_AGE:
        return True
    occurred = _parse_time(detail.get("occurred_at"))
    return occurred is not None and occurred < now - MAX_EVENT_AGE


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


def repo_stats(tenant_id: str, flow_id: str, counters: dict[str, Any]) -> None:
    dynamo.transact([repo.stats_op(tenant_id, flow_id, counters)])


# ---------------------------------------------------------------- entering a flow


def correlation_of(detail: dict[str, Any], contact: Contact) -> dict[str, str]:
    found = {k: str(detail[k]) for k in MATCH_KEYS if detail.get(k)}
    found["contact_id"] = contact.contact_id
    if contact.email and "email" not in found:
        found["email"] = contact.email
    return found


def _facts(run_event: dict[str, Any], contact: Contact, tenant_id: str) -> dict[str, Any]:
    return {
        "contact": {**contact.render_view(), "contact_id": contact.contact_id},
        "event": run_event,
        "checkout": _checkout_facts(tenant_id, run_event),
        "order": _order_facts(tenant_id, run_event),
        "messages": {},
    }


def enter(
    flow: dict[str, Any],
    contact: Contact,
    detail_type: str,
    detail: dict[str, Any],
    event_id: str,
    now: datetime,
) -> int:
    tenant_id = contact.tenant_id
    definition = flow["definition"]
    facts = _facts(detail, contact, tenant_id)
    segment = definition["trigger"].get("segment")
    if segment is not None:
        # match_trigger knows event triggers only: a segment entry is checked against the
        # segment it came from and the trigger's filters.
        if detail_type != f"segment:{segment['type']}" or not flows.passes_filters(
            definition, {**facts, "event": detail}
        ):
            return 0
    elif not flows.match_trigger(definition, detail_type, detail, facts):
        return 0
    reentry = definition.get("reentry") or {"policy": "once_per_trigger"}
    policy_name = reentry.get("policy", "once_per_trigger")
    key = {
        "once": "once",
        "cooldown": event_id or now.isoformat(),
        "once_per_trigger": str(
            detail.get("checkout_id") or detail.get("order_id") or event_id or now.isoformat()
        ),
    }[policy_name]
    run_id = ids.event_id(tenant_id, flow["flow_id"], contact.contact_id, key)
    correlation = correlation_of(detail, contact)
    run = FlowRun(
        tenant_id=tenant_id,
        run_id=run_id,
        flow_id=flow["flow_id"],
        flow_version=int(flow["version"]),
        contact_id=contact.contact_id,
        trigger=detail_type,
        trigger_event_id=event_id,
        event=detail,
        correlation=correlation,
        as_of=now,
        started_at=now,
        updated_at=now,
        version=1,
    )
    ops = [repo.run_op(run, 0)]
    if policy_name in ("once", "cooldown"):
        cooldown = int(reentry["seconds"]) if policy_name == "cooldown" else None
        ops.append(
            repo.entry_guard_op(tenant_id, flow["flow_id"], contact.contact_id, now, cooldown)
        )
    for rule in definition.get("exit") or []:
        value = correlation.get(rule["match"])
        if value:
            ops.append(repo.watch_op(tenant_id, rule["event"], rule["match"], value, run_id))
    ops.append(repo.stats_op(tenant_id, flow["flow_id"], {"entered": 1}))
    try:
        dynamo.transact(ops)
    except ConcurrentUpdate:
        # Already in (a duplicate event) or not allowed back in yet (re-entry policy). Only
        # now is the run read: a crash may have left it between steps, so carry it on.
        existing = repo.load_run(tenant_id, run_id)
        if existing is not None and existing.state == "active":
            advance(existing, flow, now, contact)
        return 0
    advance(run, flow, now, contact)
    return 1


def segment_entry(body: dict[str, Any], now: datetime) -> str:
    tenant_id, flow_id = body["tenant_id"], body["flow_id"]
    flow = repo.load_flow(tenant_id, flow_id)
    contact = repo.load_contact(tenant_id, body["contact_id"])
    if flow is None or not flow.get("enabled") or contact is None:
        return "skipped"
    detail = dict(body.get("detail") or {})
    entered = enter(flow, contact, body["trigger"], detail, body["event_id"], now)
    return f"entered={entered}"


# ---------------------------------------------------------------- walking the steps


def _save_run(run: FlowRun, new: FlowRun, ops: list[dynamo.Op] | None = None) -> FlowRun | None:
    updated = new.model_copy(update={"version": run.version + 1})
    try:
        dynamo.transact([repo.run_op(updated, run.version), *(ops or [])])
    except ConcurrentUpdate:
        return None  # another worker moved this run on; it carries on from there
    return updated


def advance(
    run: FlowRun, flow: dict[str, Any], now: datetime, contact: Contact | None = None
) -> FlowRun:
    """Walk the run's steps until it waits or ends. ``contact`` is the one the caller just
    read, if it did (entering a flow does): no second read of the same item."""
    definition = flow["definition"]
    steps: list[dict[str, Any]] = definition["steps"]
    if contact is None or contact.contact_id != run.contact_id:
        contact = repo.load_contact(run.tenant_id, run.contact_id)
    for _ in range(len(steps) + 2):
        if run.state != "active":
            return run
        index = run.step_index
        if contact is None or index >= len(steps):
            done = run.model_copy(
                update={"state": "completed", "updated_at": now, "wait_until": None}
            )
            saved = _save_run(
                run, done, [repo.stats_op(run.tenant_id, run.flow_id, {"completed": 1})]
            )
            return saved or run
        step = steps[index]
        following = flows.next_step(definition, index)
        next_index = len(steps) if following is None else following
        kind = step["type"]
        if kind == "send":
            messages, ops = build_messages(run, flow, step, contact, [step["channel"]], now)
            window = step.get("fallback_after")
            primary = messages[0] if messages else None
            update: dict[str, Any] = {"step_index": next_index, "updated_at": now}
            if (
                window
                and primary is not None
                and primary.channel == "email"
                and primary.state == "queued"
            ):
                due = run.as_of + timedelta(seconds=flows.parse_duration(window))
                update = {
                    "state": "waiting",
                    "wait_until": due,
                    "waiting_for": f"fallback:{step['id']}",
                    "updated_at": now,
                }
                ops.append(_resume_timer(run, index, due))
            queued = [m for m in messages if m.state == "queued"]
            queues.enqueue_sends(
                SendRequest(tenant_id=m.tenant_id, message_id=m.message_id, channel=m.channel)
                for m in queued
            )
            saved = _save_run(run, run.model_copy(update=update), ops)
            if saved is None:
                return run
            run = saved
        elif kind in ("wait", "wait_until"):
            due = _wait_due(run, step, contact)
            due = _respect_quiet_hours(due, steps, next_index, contact, run.tenant_id)
            if due <= now:
                saved = _save_run(
                    run,
                    run.model_copy(
                        update={"as_of": due, "step_index": next_index, "updated_at": now}
                    ),
                )
            else:
                waiting = run.model_copy(
                    update={
                        "state": "waiting",
                        "wait_until": due,
                        "waiting_for": "wait",
                        "updated_at": now,
                    }
                )
                saved = _save_run(run, waiting, [_resume_timer(run, index, due)])
            if saved is None:
                return run
            run = saved
        elif kind == "branch":
            facts = _facts(run.event, contact, run.tenant_id)
            facts["messages"] = _message_states(run, steps[:index])
            target = step["then"] if flows.evaluate(step["if"], facts) else step.get("else")
            if target is None:
                jump = next_index
            elif target == "end":
                jump = len(steps)
            else:
                jump = flows.step_index(definition, target) or len(steps)
            saved = _save_run(run, run.model_copy(update={"step_index": jump, "updated_at": now}))
            if saved is None:
                return run
            run = saved
        elif kind == "exit":
            done = run.model_copy(
                update={
                    "state": "exited",
                    **said(Text("outreach.exit_step", step=step["id"]), "exit_reason"),
                    "updated_at": now,
                }
            )
            saved = _save_run(run, done, [repo.stats_op(run.tenant_id, run.flow_id, {"exited": 1})])
            return saved or run
        else:  # validated on save; an unknown step type here is a bug, not bad input
            raise LinkStarError(f"unknown step type {kind}", code="invalid_flow")
    return run


def _resume_timer(run: FlowRun, index: int, due: datetime) -> dynamo.Op:
    body = {
        "kind": "resume",
        "tenant_id": run.tenant_id,
        "run_id": run.run_id,
        "step_index": index,
        "due": due.isoformat(),
    }
    return repo.timer_op(due, run.tenant_id, "RUN", f"{run.run_id}#{index}", body)


def _wait_due(run: FlowRun, step: dict[str, Any], contact: Contact) -> datetime:
    if step["type"] == "wait":
        return run.as_of + timedelta(
            seconds=flows.parse_duration(step.get("duration") or step.get("seconds") or 0)
        )
    # The contact's own zone, else the tenant's default, else UTC.
    zone = ZoneInfo(contact.time_zone or policy.load(run.tenant_id).default_time_zone or "UTC")
    hour, minute = (int(part) for part in step["local_time"].split(":"))
    weekdays = set(step.get("weekdays") or range(1, 8))
    local = run.as_of.astimezone(zone)
    for days in range(0, 15):
        day = (local + timedelta(days=days)).date()
        if day.isoweekday() not in weekdays:
            continue
        # Built from wall-clock parts in the zone, then converted: DST-correct by construction.
        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        candidate = candidate.astimezone(ZoneInfo("UTC"))
        if candidate >= run.as_of:
            return candidate
    return run.as_of


def _respect_quiet_hours(
    due: datetime, steps: list[dict[str, Any]], next_index: int, contact: Contact, tenant_id: str
) -> datetime:
    """A wait whose next step sends a message moves out of the recipient's quiet hours, so the
    message goes out when it may (instead of being held by the sender later)."""
    if next_index >= len(steps) or steps[next_index]["type"] != "send":
        return due
    step = steps[next_index]
    settings = policy.load(tenant_id)
    try:
        return contact_service.next_lawful_moment(
            contact, step["channel"], step.get("purpose", "marketing"), due, settings.quiet_hours
        )
    except compliance.NoSendWindow:
        return due  # the sender holds it with the reason


def _message_states(run: FlowRun, earlier: list[dict[str, Any]]) -> dict[str, str]:
    states: dict[str, str] = {}
    for step in earlier:
        if step["type"] != "send":
            continue
        best: str | None = None
        for channel in [step["channel"], *(step.get("fallback") or [])]:
            found = repo.load_message(run.tenant_id, message_id_for(run, step["id"], channel))
            if found is not None and (best is None or channel == step["channel"]):
                best = found.state
        if best is not None:
            states[step["id"]] = best
    return states


# ---------------------------------------------------------------- resuming


def resume(tenant_id: str, run_id: str, index: int, due_text: str, now: datetime) -> str:
    run = repo.load_run(tenant_id, run_id)
    due = datetime.fromisoformat(due_text)
    if run is None or run.state != "waiting" or run.step_index != index or run.wait_until != due:
        return "stale"
    flow = repo.load_flow(tenant_id, run.flow_id)
    if flow is None or not flow.get("enabled"):
        stopped = run.model_copy(
            update={
                "state": "exited",
                **said(Text("outreach.exit_flow_disabled"), "exit_reason"),
                "updated_at": now,
            }
        )
        _save_run(run, stopped)
        return "flow_disabled"
    definition = flow["definition"]
    step = definition["steps"][index]
    following = flows.next_step(definition, index)
    next_index = len(definition["steps"]) if following is None else following
    ops: list[dynamo.Op] = []
    requests: list[Message] = []
    if (run.waiting_for or "").startswith("fallback:"):
        primary = repo.load_message(tenant_id, message_id_for(run, step["id"], step["channel"]))
        engaged = primary is not None and primary.state in ("opened", "clicked")
        if not engaged:
            contact = repo.load_contact(tenant_id, run.contact_id)
            if contact is not None:
                requests, ops = build_messages(
                    run, flow, step, contact, list(step.get("fallback") or []), now
                )
    resumed = run.model_copy(
        update={
            "state": "active",
            "as_of": due,
            "step_index": next_index,
            "wait_until": None,
            "waiting_for": None,
            "updated_at": now,
        }
    )
    queues.enqueue_sends(
        SendRequest(tenant_id=m.tenant_id, message_id=m.message_id, channel=m.channel)
        for m in requests
        if m.state == "queued"
    )
    saved = _save_run(run, resumed, ops)
    if saved is None:
        return "raced"
    advance(saved, flow, now)
    return "resumed"


def bounce_fallback(tenant_id: str, run_id: str, step_id: str, now: datetime) -> str:
    """An email bounced: send the step's fallback now rather than after its window."""
    run = repo.load_run(tenant_id, run_id)
    if run is None:
        return "stale"
    if run.waiting_for == f"fallback:{step_id}" and run.state == "waiting" and run.wait_until:
        return resume(tenant_id, run_id, run.step_index, run.wait_until.isoformat(), now)
    flow = repo.load_flow(tenant_id, run.flow_id)
    contact = repo.load_contact(tenant_id, run.contact_id)
    if flow is None or contact is None:
        return "stale"
    steps = flow["definition"]["steps"]
    step = next((s for s in steps if s["id"] == step_id), None)
    if step is None or not step.get("fallback"):
        return "no_fallback"
    messages, ops = build_messages(run, flow, step, contact, list(step["fallback"]), now)
    queues.enqueue_sends(
        SendRequest(tenant_id=m.tenant_id, message_id=m.message_id, channel=m.channel)
        for m in messages
        if m.state == "queued"
    )
    try:
        dynamo.transact(ops)
    except ConcurrentUpdate:
        return "duplicate"
    return "fallback_sent"


# ---------------------------------------------------------------- exits and attribution


def _exit_watchers(
    tenant_id: str,
    detail_type: str,
    detail: dict[str, Any],
    contact: Contact | None,
    wanted: set[str],
    now: datetime,
) -> int:
    values = {k: str(detail[k]) for k in MATCH_KEYS if detail.get(k)}
    if contact is not None:
        values.setdefault("contact_id", contact.contact_id)
        if contact.email:
            values.setdefault("email", contact.email)
    values = {k: v for k, v in values.items() if k in wanted}
    exited = 0
    for match, value in values.items():
        for run_id in repo.watching_runs(tenant_id, detail_type, match, value):
            run = repo.load_run(tenant_id, run_id)
            if run is None or run.state == "exited":
                continue
            counters: dict[str, Any] = {"exited": 1}
            if run.state == "completed":
                # A run ends when its last message is queued, but that message may still be
                # held (quiet hours, a cap): the exit must stop it too (the sender skips
                # messages of exited runs), and the run then counts as exited instead.
                if not _has_unsent_messages(run):
                    continue
                counters["completed"] = -1
            done = run.model_copy(
                update={
                    "state": "exited",
                    **said(
                        Text("outreach.exit_event", event=detail_type, match=match), "exit_reason"
                    ),
                    "updated_at": now,
                }
            )
            if _save_run(run, done, [repo.stats_op(tenant_id, run.flow_id, counters)]):
                exited += 1
    return exited


def _has_unsent_messages(run: FlowRun) -> bool:
    flow = repo.load_flow(run.tenant_id, run.flow_id)
    if flow is None:
        return False
    for step in flow["definition"]["steps"]:
        if step["type"] != "send":
            continue
        for channel in [step["channel"], *(step.get("fallback") or [])]:
            found = repo.load_message(run.tenant_id, message_id_for(run, step["id"], channel))
            if found is not None and found.state in ("queued", "held"):
                return True
    return False


def _attribute(tenant_id: str, detail: dict[str, Any], contact: Contact, now: datetime) -> None:
    """Credit an order to one message, once per order: the message its landing page's UTM
    names (``utm_content``, the message id our links carry) when that is a message of this
    tenant sent to this buyer inside its channel's window; else the last message the buyer
    engaged with inside its window (opened or clicked email; clicked SMS/WhatsApp/in-app)."""
    order_id = detail.get("order_id")
    total = detail.get("total")
    if not order_id or total is None or detail.get("amounts_pending"):
        return
    settings = policy.load(tenant_id)
    placed = _parse_time(detail.get("created_at")) or now

    def in_window(channel: str, sent_at: datetime) -> bool:
        window = timedelta(hours=settings.attribution_hours.get(channel, 24))
        return sent_at <= placed and placed - sent_at <= window

    tagged = _utm_message(tenant_id, detail, contact)
    if tagged is not None and tagged.sent_at and in_window(tagged.channel, tagged.sent_at):
        _credit(tenant_id, str(order_id), tagged, detail)
        return
    longest = max(settings.attribution_hours.values())
    since = placed - timedelta(hours=longest)
    for engaged in repo.engagements(tenant_id, contact.contact_id, since, placed):
        channel = str(engaged["channel"])
        sent_at = datetime.fromisoformat(str(engaged["sent_at"]).replace("Z", "+00:00"))
        counts = engaged["state"] == "clicked" or channel == "email"
        if not counts or not in_window(channel, sent_at):
            continue
        message = repo.load_message(tenant_id, str(engaged["message_id"]))
        if message is None or message.flow_id is None:
            continue
        _credit(tenant_id, str(order_id), message, detail)
        return


# A message id as ``message_id_for`` makes it: anything else in a buyer's URL is not ours (and
# is never used as a key).
_MESSAGE_ID = re.compile(r"m[0-9a-f]{31}")


def _utm_message(tenant_id: str, detail: dict[str, Any], contact: Contact) -> Message | None:
    """The flow message an order's UTM names, if it is this tenant's and went to this buyer.
    The URL is the buyer's to edit (or to share): a message of another tenant is never found
    (its key is the tenant's), one sent to someone else is not trusted."""
    utm = detail.get("utm")
    content = str(utm.get("utm_content") or "") if isinstance(utm, dict) else ""
    if not _MESSAGE_ID.fullmatch(content):
        return None
    message = repo.load_message(tenant_id, content)
    if message is None or message.contact_id != contact.contact_id or message.flow_id is None:
        return None
    return message


def _credit(tenant_id: str, order_id: str, message: Message, detail: dict[str, Any]) -> None:
    """The order's one attribution: its guard item, the flow's conversion and revenue and the
    message's mark, in one transaction. A guard already there (a duplicate order event) ends
    it; a message that changed meanwhile (feedback) is read again."""
    flow_id = message.flow_id
    if flow_id is None:  # the callers pick flow messages: stats are per flow
        return
    total = Decimal(str(detail["total"]))
    currency = str(detail.get("currency") or "XXX")
    for _ in range(3):
        ops = [
            repo.attribution_op(tenant_id, order_id, message, str(total)),
            repo.stats_op(tenant_id, flow_id, {"conversions": 1, f"revenue#{currency}": total}),
            repo.message_op(
                message.model_copy(
                    update={"attributed_order_id": order_id, "version": message.version + 1}
                ),
                message.version,
            ),
        ]
        try:
            dynamo.transact(ops)
            return
        except ConcurrentUpdate:
            if repo.attributed(tenant_id, order_id):
                return
            reread = repo.load_message(tenant_id, message.message_id)
            if reread is None:
                return
            message = reread


# ---------------------------------------------------------------- building messages


def message_id_for(run: FlowRun, step_id: str, channel: str) -> str:
    return "m" + ids.event_id(run.tenant_id, run.run_id, step_id, channel)[:31]


def build_messages(
    run: FlowRun,
    flow: dict[str, Any],
    step: dict[str, Any],
    contact: Contact,
    channels: list[str],
    now: datetime,
) -> tuple[list[Message], list[dynamo.Op]]:
    """The message for a send step on the first channel the contact can be reached on (the
    step's channel, then its fallbacks). When none can, one message records why."""
    purpose = step.get("purpose", "marketing")
    # The step itself tries its channel, then its fallbacks; a fallback send (after a bounce or
    # an unopened window) tries only the fallbacks it was given.
    primary = channels == [step["channel"]]
    candidates = [*channels, *(step.get("fallback") or [])] if primary else list(channels)
    reasons: dict[str, Text] = {}
    for channel in candidates:
        why = contact_service.reachability(contact, channel, purpose)
        if why is None:
            message = _render_message(run, flow, step, contact, channel, purpose, now)
            # "failed" when the template could not be rendered for this contact
            return [message], [repo.new_message_op(message), *_stat(message, message.state)]
        reasons[channel] = why
    first = candidates[0] if candidates else step["channel"]
    message = _base_message(run, step, contact, first, purpose, now).model_copy(
        update={"state": "suppressed", **said(contact_service.unreachable_on(reasons))}
    )
    return [message], [repo.new_message_op(message), *_stat(message, "suppressed")]


def _stat(message: Message, counter: str) -> list[dynamo.Op]:
    if not message.flow_id:
        return []
    return [repo.stats_op(message.tenant_id, message.flow_id, {counter: 1})]


def _base_message(
    run: FlowRun, step: dict[str, Any], contact: Contact, channel: str, purpose: str, now: datetime
) -> Message:
    return Message(
        tenant_id=run.tenant_id,
        message_id=message_id_for(run, step["id"], channel),
        contact_id=contact.contact_id,
        channel=channel,  # type: ignore[arg-type]
        purpose=purpose,  # type: ignore[arg-type]
        flow_id=run.flow_id,
        run_id=run.run_id,
        step_id=step["id"],
        to=contact.address(channel),
        created_at=now,
        updated_at=now,
        version=1,
    )


def _template_for(step: dict[str, Any], channel: str) -> str:
    if channel == step["channel"]:
        return str(step["template"])
    return str((step.get("fallback_templates") or {})[channel])


def _render_message(
    run: FlowRun,
    flow: dict[str, Any],
    step: dict[str, Any],
    contact: Contact,
    channel: str,
    purpose: str,
    now: datetime,
) -> Message:
    base = _base_message(run, step, contact, channel, purpose, now)
    settings = policy.load(run.tenant_id)
    template_id = _template_for(step, channel)
    try:
        found = [
            tpl.Template.model_validate_json(d)
            for d in repo.template_docs(run.tenant_id, template_id)
        ]
        try:
            template = tpl.pick(found, contact.locale, settings.default_locale)
        except tpl.TemplateError:
            # Presets ship en and zh-CN: a tenant defaulting to another language still sends.
            template = tpl.pick(found, contact.locale, "en")
        link_context = links(
            UnsubscribeToken(
                tenant_id=run.tenant_id,
                contact_id=contact.contact_id,
                channel=channel,
                message_id=base.message_id,
            )
        )
        context = render_context(run, contact, link_context)
        utm = {
            "utm_source": "linkstar",
            "utm_medium": channel,
            "utm_campaign": flow.get("slug") or flow["flow_id"],
            "utm_content": base.message_id,
        }
        rendered = tpl.render(template, context, utm)
    except LinkStarError as exc:
        failed = Text("outreach.render_failed", code=exc.code, why=exc.message)
        return base.model_copy(update={"state": "failed", **said(failed)})
    headers = (
        one_click_headers(link_context["unsubscribe_url"])
        if channel == "email" and purpose == "marketing"
        else {}
    )
    encoding = getattr(rendered, "sms", None)
    return base.model_copy(
        update={
            "template_id": template_id,
            "locale": template.locale,
            "subject": rendered.subject,
            "text": rendered.text,
            "html": rendered.html,
            "headers": headers,
            "whatsapp_template": (
                template.whatsapp_template.model_dump()
                if template.whatsapp_template is not None
                else None
            ),
            "sms_encoding": encoding.encoding if encoding else None,
            "sms_segments": encoding.segments if encoding else None,
            "attachments": [a.model_dump(exclude_none=True) for a in template.attachments],
            "media": [m.model_dump() for m in template.media],
        }
    )


@lru_cache(maxsize=1024)
def _tenant_name(tenant_id: str) -> str:
    """A tenant's name is set once, at creation (no API renames it): read it once per process,
    not once per message."""
    tenant = tenant_repo.load_tenant(tenant_id)
    return tenant.name if tenant else ""


def render_context(run: FlowRun, contact: Contact, link_context: dict[str, str]) -> dict[str, Any]:
    event = run.event
    context: dict[str, Any] = {
        "contact": contact.render_view(),
        "tenant": {"name": _tenant_name(run.tenant_id)},
        "links": link_context,
    }
    checkout = _checkout_facts(run.tenant_id, event)
    if checkout is not None:
        context["checkout"] = checkout
    order = _order_facts(run.tenant_id, event)
    if order is not None:
        context["order"] = order
    elif run.trigger.startswith("segment:"):
        # A segment run promises an "order" context (the last order), but its entry carries
        # only when that order was: the other fields are unknown (None renders as empty).
        context["order"] = dict.fromkeys(tpl.CONTEXT_FIELDS["order"]) | {
            "created_at": event.get("last_order_at")
        }
    if event.get("fulfillment_id") or event.get("tracking_numbers"):
        context["shipment"] = {
            "tracking_company": event.get("tracking_company"),
            "tracking_number": (event.get("tracking_numbers") or [None])[0],
            "tracking_url": (event.get("tracking_urls") or [None])[0],
        }
    if event.get("refund_id"):
        context["refund"] = {
            "amount": event.get("refund_amount"),
            "currency": event.get("refund_currency"),
            "reason": event.get("reason"),
        }
    return context


def _checkout_facts(tenant_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
    checkout_id = event.get("checkout_id")
    if not checkout_id:
        return None
    facts = {
        "checkout_id": checkout_id,
        "recovery_url": event.get("recovery_url"),
        "total": event.get("total"),
        "currency": event.get("currency"),
        "completed": bool(event.get("completed")),
    }
    store_id = event.get("store_id")
    if store_id:
        found = checkouts.load(tenant_id, str(store_id), str(checkout_id))
        if found is not None:
            current = found[0]
            facts.update(
                recovery_url=current.recovery_url or facts["recovery_url"],
                total=str(current.total),
                currency=current.currency,
                completed=current.completed_at is not None,
            )
    return facts


def _order_facts(tenant_id: str, event: dict[str, Any]) -> dict[str, Any] | None:
    order_id = event.get("order_id")
    if not order_id:
        return None
    facts: dict[str, Any] = {
        "order_id": order_id,
        "name": event.get("name") or event.get("external_id"),
        "total": event.get("total"),
        "currency": event.get("currency"),
        "status": event.get("status"),
        "created_at": event.get("created_at"),
        "items_count": event.get("units"),
        "market": event.get("market"),
    }
    state = order_repo.load(tenant_id, str(order_id))
    if state is not None and state.snapshot is not None:
        snap = state.snapshot
        facts.update(
            name=snap.name or state.external_id,
            total=str(snap.total),
            currency=snap.currency,
            status=state.status.value if state.status else None,
            items_count=snap.units,
            market=state.market,
            paid="paid" in state.milestones,
            fulfilled="fulfilled" in state.milestones,
            refunded=str(state.refunded_amount),
        )
    return facts


# ---------------------------------------------------------------- segments


def dormant_candidates(tenant_id: str, days: int, now: datetime) -> list[dict[str, Any]]:
    """Customers whose last order is between ``days`` and ``days + 1`` days old: each becomes
    dormant once, on the day they cross the line (the daily job runs once a day)."""
    from linkstar.store import customers as customer_repo

    newest = now - timedelta(days=days)
    oldest = newest - timedelta(days=1)
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page, token = customer_repo.list_page(tenant_id, min_orders=1, limit=500, next_token=token)
        for customer in page:
            last = customer.last_order_at
            if last is not None and oldest < last <= newest and customer.email:
                found.append(
                    {
                        "tenant_id": tenant_id,
                        "customer_id": customer.customer_id,
                        "email": customer.email,
                        "phone": customer.phone,
                        "country": customer.country,
                        "first_name": customer.first_name,
                        "last_name": customer.last_name,
                        "locale": customer.locale,
                        "timezone": customer.timezone,
                        "last_order_at": last.isoformat(),
                        "orders_count": customer.orders_count,
                    }
                )
        if not token:
            return found


def run_segments(now: datetime) -> int:
    """The daily job: queue one entry per dormant customer per segment flow."""
    work: list[dict[str, Any]] = []
    for tenant_id, flow_id in repo.segment_flows():
        flow = repo.load_flow(tenant_id, flow_id)
        if flow is None or not flow.get("enabled"):
            continue
        segment = flow["definition"]["trigger"]["segment"]
        if segment.get("type") != "dormant":
            continue
        for detail in dormant_candidates(tenant_id, int(segment["days"]), now):
            contact = contact_service.observe(tenant_id, detail, "segment", now, announce=False)
            if contact is None:
                continue
            work.append(
                {
                    "kind": "segment_entry",
                    "tenant_id": tenant_id,
                    "flow_id": flow_id,
                    "contact_id": contact.contact_id,
                    "trigger": f"segment:{segment['type']}",
                    # One entry per dormancy: the same last order never re-enters the flow.
                    "event_id": ids.event_id(
                        tenant_id, flow_id, contact.contact_id, detail["last_order_at"]
                    ),
                    "detail": detail,
                }
            )
    queues.enqueue_flow_work(work)
    logger.info("segment job", extra={"entries": len(work)})
    return len(work)
