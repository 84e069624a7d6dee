"""Outreach API: contacts and consent, templates, flows (and presets), the message log, the
tenant's outreach settings and suppression list.

Roles: anyone with a key reads; ``operator`` adds contacts and consent; ``manager`` edits
templates and flows; ``admin`` changes compliance settings (quiet hours, caps) and lifts a
reputation pause. Stored entities are mapped to views here, never returned as they are.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from chalice import Blueprint
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from linkstar import clock, ids
from linkstar.api.auth import principal
from linkstar.api.http import (
    Auth,
    Param,
    int_param,
    json_object,
    query_params,
    route,
    validation_errors,
)
from linkstar.errors import BadRequest, ConcurrentUpdate, Conflict, LinkStarError, NotFound
from linkstar.store import dynamo
from linkstar.tenants.models import Role
from linkstar.text import Text, reason_of

if TYPE_CHECKING:
    # The outreach domain (Jinja, flow models, compliance tables) is imported by the routes
    # that use it: the API's cold start, webhooks included, doesn't pay for it.
    from linkstar.outreach import templates as tpl
    from linkstar.outreach.models import Contact, Message

bp = Blueprint(__name__)
MAX_CONTACTS_PER_CALL = 500


def _limit(hi: int, default: int) -> Param:
    return Param(
        "limit", "at most", {"type": "integer", "minimum": 1, "maximum": hi, "default": default}
    )


NEXT_TOKEN = Param("next_token", "the previous page's next_token")


# ---------------------------------------------------------------- views


def contact_view(contact: Contact, detail: bool = False) -> dict[str, Any]:
    from linkstar.store import outreach as repo

    view: dict[str, Any] = {
        "contact_id": contact.contact_id,
        "email": contact.email,
        "phone": contact.phone,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "country": contact.country,
        "region": contact.region,
        "locale": contact.locale,
        "time_zone": contact.time_zone,
        "time_zone_source": contact.time_zone_source,
        "source": contact.source,
        "consent": {
            channel: {
                purpose: consent.model_dump(mode="json") for purpose, consent in by_purpose.items()
            }
            for channel, by_purpose in contact.consent.items()
        },
        "created_at": contact.created_at.isoformat(),
        "updated_at": contact.updated_at.isoformat(),
    }
    if detail:
        view["consent_history"] = repo.consent_history(contact.tenant_id, contact.contact_id)
        view["suppressed"] = {
            channel: reason
            for channel in ("email", "sms", "whatsapp")
            if (
                reason := repo.suppression_reason(
                    contact.tenant_id, channel, contact.address(channel)
                )
            )
        }
    return view


def message_view(message: Message) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "contact_id": message.contact_id,
        "flow_id": message.flow_id,
        "step_id": message.step_id,
        "channel": message.channel,
        "purpose": message.purpose,
        "state": message.state,
        "reason": message.reason_for_people,
        "hold_until": message.hold_until.isoformat() if message.hold_until else None,
        "to": message.to,
        "subject": message.subject,
        "preview": message.text[:160],
        "template_id": message.template_id,
        "locale": message.locale,
        "sms_encoding": message.sms_encoding,
        "sms_segments": message.sms_segments,
        "attempts": message.attempts,
        "created_at": message.created_at.isoformat(),
        "sent_at": message.sent_at.isoformat() if message.sent_at else None,
        "events": message.events,
        "attributed_order_id": message.attributed_order_id,
        # The seller sees what went out, including the one-click unsubscribe header.
        "headers": message.headers,
    }


def flow_view(flow: dict[str, Any]) -> dict[str, Any]:
    return {
        "flow_id": flow["flow_id"],
        "name": flow["name"],
        "preset": flow.get("preset"),
        "enabled": flow["enabled"],
        "version": flow["version"],
        "definition": flow["definition"],
        "created_at": flow["created_at"],
        "updated_at": flow["updated_at"],
    }


# ---------------------------------------------------------------- contacts


@route(
    bp,
    "/contacts",
    methods=["POST"],
    request="ContactsIn",
    response="ContactsSaved",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def create_contacts() -> dict:
    """Add or update contacts (operator): one, or up to 500 with a result for each."""
    from linkstar.outreach import contacts as contact_service

    who = principal(bp, Role.OPERATOR)
    try:
        raw = json.loads(bp.current_request.raw_body or b"null")
    except ValueError as exc:
        raise BadRequest(Text("outreach.body_not_json"), code="invalid_json") from exc
    single = isinstance(raw, dict) and "contacts" not in raw
    items = [raw] if single else (raw.get("contacts") if isinstance(raw, dict) else raw)
    if not isinstance(items, list) or not items:
        raise BadRequest(Text("outreach.contacts_body"), code="invalid_json")
    if len(items) > MAX_CONTACTS_PER_CALL:
        raise BadRequest(
            Text("outreach.too_many_contacts", limit=MAX_CONTACTS_PER_CALL),
            code="too_many_contacts",
        )
    now = clock.now()
    saved, errors, created = [], [], 0
    for index, item in enumerate(items):
        try:
            incoming = contact_service.ContactIn.model_validate(item)
            contact, is_new = contact_service.upsert(
                who.tenant_id, incoming, f"api_key:{who.key_id}", now
            )
        except ValidationError as exc:
            if single:
                raise
            errors.append(
                {"index": index, "code": "validation_error", "errors": validation_errors(exc)}
            )
            continue
        except LinkStarError as exc:
            if single:
                raise
            errors.append({"index": index, "code": exc.code, "message": exc.message})
            continue
        created += is_new
        saved.append(contact_view(contact))
    if single:
        return saved[0]
    return {
        "contacts": saved,
        "created": created,
        "updated": len(saved) - created,
        "errors": errors,
    }


@route(
    bp,
    "/contacts",
    methods=["GET"],
    response="ContactPage",
    params=(_limit(500, 50), NEXT_TOKEN),
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def list_contacts() -> dict:
    """A page of contacts."""
    from linkstar.store import outreach as repo

    who = principal(bp)
    params = query_params(bp)
    found, token = repo.list_contacts(
        who.tenant_id, int_param(params, "limit", 50, 1, 500), params.get("next_token")
    )
    return {"contacts": [contact_view(c) for c in found], "next_token": token}


def _contact(tenant_id: str, contact_id: str) -> Contact:
    from linkstar.store import outreach as repo

    found = repo.load_contact(tenant_id, contact_id)
    if found is None:
        raise NotFound(Text("outreach.contact_not_found"), code="contact_not_found")
    return found


@route(
    bp,
    "/contacts/{contact_id}",
    methods=["GET"],
    response="ContactDetail",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def get_contact(contact_id: str) -> dict:
    """One contact with its consent history and any suppressed addresses."""
    who = principal(bp)
    return contact_view(_contact(who.tenant_id, contact_id), detail=True)


class ConsentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str
    purpose: str = "marketing"
    status: str
    source: str | None = Field(default=None, max_length=200)
    proof: dict[str, Any] = {}


@route(
    bp,
    "/contacts/{contact_id}/consent",
    methods=["POST"],
    request=ConsentChange,
    response="ContactDetail",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def set_consent(contact_id: str) -> dict:
    """Record a consent given or withdrawn for a channel and purpose (operator)."""
    from linkstar.outreach import contacts as contact_service

    who = principal(bp, Role.OPERATOR)
    change = ConsentChange.model_validate(json_object(bp))
    if change.channel not in ("email", "sms", "whatsapp", "in_app"):
        raise BadRequest(Text("outreach.consent_channel"), code="invalid_channel")
    if change.purpose not in ("marketing", "transactional") or change.status not in (
        "subscribed",
        "unsubscribed",
    ):
        raise BadRequest(Text("outreach.invalid_consent"), code="invalid_consent")
    _contact(who.tenant_id, contact_id)
    updated = contact_service.set_consent(
        who.tenant_id,
        contact_id,
        change.channel,
        change.purpose,
        change.status,  # type: ignore[arg-type]
        change.source or "api",
        {"recorded_by": f"api_key:{who.key_id}", **change.proof},
        clock.now(),
    )
    assert updated is not None
    return contact_view(updated, detail=True)


@route(
    bp,
    "/contacts/{contact_id}/inbox",
    methods=["GET"],
    response="Inbox",
    params=(_limit(200, 50),),
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def contact_inbox(contact_id: str) -> dict:
    """A contact's in-app messages, newest first."""
    from linkstar.store import outreach as repo

    who = principal(bp)
    _contact(who.tenant_id, contact_id)
    limit = int_param(query_params(bp), "limit", 50, 1, 200)
    return {"contact_id": contact_id, "messages": repo.inbox(who.tenant_id, contact_id, limit)}


# ---------------------------------------------------------------- templates


def _save_template(tenant_id: str, template: tpl.Template) -> None:
    # A template may be used by any trigger: at save time it may name only documented
    # variables; flows check it against their trigger's contexts when they are saved.
    from linkstar.outreach import templates as tpl
    from linkstar.store import outreach as repo

    tpl.validate(template, set(tpl.CONTEXT_FIELDS))
    repo.put_template(tenant_id, template.template_id, template.locale, template.model_dump_json())


def _templates(tenant_id: str) -> dict[str, list[tpl.Template]]:
    from linkstar.outreach import templates as tpl
    from linkstar.store import outreach as repo

    found: dict[str, list[tpl.Template]] = {}
    for doc in repo.all_template_docs(tenant_id):
        template = tpl.Template.model_validate_json(doc)
        found.setdefault(template.template_id, []).append(template)
    return found


@route(
    bp,
    "/templates",
    methods=["POST"],
    request="linkstar.outreach.templates:Template",
    response="linkstar.outreach.templates:Template",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def put_template() -> dict:
    """Save a template for one channel and locale (manager). The files it attaches or sends as
    MMS must be in your media folder already (`POST /media/uploads`), of the declared type and
    within their channel's size limit."""
    from linkstar.outreach import templates as tpl

    who = principal(bp, Role.MANAGER)
    template = tpl.Template.model_validate(json_object(bp))
    if template.attachments or template.media:
        from linkstar.outreach.providers import media

        # The files must be uploaded first (POST /media/uploads): a template naming a file
        # that isn't there, or can't be sent, would only fail its messages later.
        media.check_template_files(who.tenant_id, template)
    _save_template(who.tenant_id, template)
    return template.model_dump(mode="json")


@route(
    bp,
    "/templates",
    methods=["GET"],
    response="TemplateList",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def list_templates() -> dict:
    """Every template in every locale."""
    who = principal(bp)
    found = _templates(who.tenant_id)
    return {
        "templates": [t.model_dump(mode="json") for group in sorted(found) for t in found[group]]
    }


@route(
    bp,
    "/templates/preview",
    methods=["POST"],
    request="PreviewIn",
    response="TemplatePreview",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def preview_template() -> dict:
    """Render a template (given inline, or stored by id and locale) with sample data, and say
    how an SMS would be encoded and how many segments it costs."""
    from linkstar.outreach import policy
    from linkstar.outreach import templates as tpl

    who = principal(bp)
    body = json_object(bp)
    if "template" in body:
        template = tpl.Template.model_validate(body["template"])
    else:
        template_id = str(body.get("template_id") or "")
        found = _templates(who.tenant_id).get(template_id)
        if not found:
            raise NotFound(Text("outreach.template_not_found"), code="template_not_found")
        template = tpl.pick(found, body.get("locale"), policy.load(who.tenant_id).default_locale)
    tpl.validate(template, set(tpl.CONTEXT_FIELDS))
    context = {**sample_context(), **(body.get("context") or {})}
    rendered = tpl.render(template, context, body.get("utm"))
    answer: dict[str, Any] = {
        "template_id": template.template_id,
        "channel": template.channel,
        "locale": template.locale,
        "subject": rendered.subject,
        "text": rendered.text,
        "html": rendered.html,
        "variables": sorted(tpl.referenced_variables(template)),
    }
    if rendered.sms is not None:
        answer["sms"] = rendered.sms.model_dump()
    return answer


def sample_context() -> dict[str, Any]:
    return {
        "contact": {
            "first_name": "Alex",
            "last_name": "Chen",
            "email": "alex@example.com",
            "phone": "+14155550100",
            "country": "US",
            "locale": "en",
            "time_zone": "America/Los_Angeles",
        },
        "tenant": {"name": "Your store"},
        "order": {
            "order_id": "o-1001",
            "name": "#1001",
            "total": "59.90",
            "currency": "USD",
            "status": "paid",
            "created_at": "2026-11-20T10:00:00+00:00",
            "items_count": 2,
            "market": "US",
        },
        "checkout": {
            "checkout_id": "c-1",
            "recovery_url": "https://shop.example.com/cart/recover",
            "total": "59.90",
            "currency": "USD",
        },
        "shipment": {
            "tracking_company": "UPS",
            "tracking_number": "1Z999AA10123456784",
            "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        },
        "refund": {"amount": "19.90", "currency": "USD", "reason": "damaged"},
        "links": {
            "unsubscribe_url": "https://api.example.com/unsubscribe/sample",
            "preferences_url": "https://api.example.com/unsubscribe/sample",
        },
    }


# ---------------------------------------------------------------- flows


def _validated(tenant_id: str, definition: dict[str, Any]) -> dict[str, Any]:
    from linkstar.outreach import flows

    model = flows.validate_flow(definition, _templates(tenant_id))
    return model.model_dump(mode="json", exclude_none=True, by_alias=True)


def _new_flow_record(
    name: str, definition: dict[str, Any], enabled: bool, preset: str | None
) -> dict[str, Any]:
    now = clock.now().isoformat()
    return {
        "flow_id": ids.new_flow_id(),
        "name": name,
        "preset": preset,
        "enabled": enabled,
        "definition": definition,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }


@route(
    bp,
    "/flows",
    methods=["POST"],
    request="FlowIn",
    response="FlowView",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def create_flow() -> dict:
    """Create a flow, or enable a preset by name (manager)."""
    from linkstar.outreach import presets
    from linkstar.outreach import templates as tpl
    from linkstar.store import outreach as repo

    who = principal(bp, Role.MANAGER)
    body = json_object(bp)
    preset_name = body.get("preset")
    if preset_name is not None:
        preset = presets.PRESETS.get(str(preset_name))
        if preset is None:
            raise BadRequest(
                Text("outreach.unknown_preset", presets=sorted(presets.PRESETS)),
                code="unknown_preset",
            )
        existing = _templates(who.tenant_id)
        for template in preset.templates():
            model = tpl.Template.model_validate(template)
            have = {t.locale for t in existing.get(model.template_id, [])}
            if model.locale not in have:  # a seller's edited copy is kept
                _save_template(who.tenant_id, model)
        definition = preset.definition()
        name = str(body.get("name") or definition.get("name") or preset.name)
        enabled = bool(body.get("enabled", True))
    else:
        definition = body
        name = str(body.get("name") or "")
        enabled = bool(body.get("enabled", True))
        if not name:
            raise BadRequest(Text("outreach.flow_needs_name"), code="invalid_flow")
    clean = _validated(who.tenant_id, definition)
    record = _new_flow_record(name, clean, enabled, preset_name)
    repo.put_flow(who.tenant_id, record["flow_id"], record, 0)
    return flow_view(record)


@route(
    bp,
    "/flows",
    methods=["GET"],
    response="FlowList",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def list_flows() -> dict:
    """Every flow."""
    from linkstar.store import outreach as repo

    who = principal(bp)
    return {"flows": [flow_view(f) for f in repo.list_flows(who.tenant_id)]}


@route(
    bp,
    "/flow-presets",
    methods=["GET"],
    response="FlowPresetList",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def list_flow_presets() -> dict:
    """The ready-made flows, what each does, and whether this tenant has a flow made from it."""
    from linkstar.outreach import flows, presets
    from linkstar.store import outreach as repo

    who = principal(bp)
    made_from: dict[str, list[str]] = {}
    for flow in repo.list_flows(who.tenant_id):
        if flow.get("preset"):
            made_from.setdefault(str(flow["preset"]), []).append(flow["flow_id"])
    listed = []
    for key, preset in presets.PRESETS.items():
        definition = flows.parse_flow(preset.definition())
        channels: list[str] = []
        for step in definition.steps:
            if isinstance(step, flows.SendStep):
                channels += [c for c in step.templates_by_channel() if c not in channels]
        listed.append(
            {
                "key": key,
                "name": preset.name,
                "channels": channels,
                "trigger": definition.trigger.key,
                "description": preset.description,
                "enabled_as": sorted(made_from.get(key, [])),
            }
        )
    return {"presets": listed}


def _flow(tenant_id: str, flow_id: str) -> dict[str, Any]:
    from linkstar.store import outreach as repo

    found = repo.load_flow(tenant_id, flow_id)
    if found is None:
        raise NotFound(Text("outreach.flow_not_found"), code="flow_not_found")
    return found


@route(
    bp,
    "/flows/{flow_id}",
    methods=["GET"],
    response="FlowView",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def get_flow(flow_id: str) -> dict:
    """One flow."""
    who = principal(bp)
    return flow_view(_flow(who.tenant_id, flow_id))


@route(
    bp,
    "/flows/{flow_id}",
    methods=["PATCH"],
    request="FlowPatch",
    response="FlowView",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def update_flow(flow_id: str) -> dict:
    """Turn a flow on or off, rename it or change its definition (manager)."""
    from linkstar.store import outreach as repo

    who = principal(bp, Role.MANAGER)
    body = json_object(bp)
    unknown = set(body) - {"enabled", "name", "definition"}
    if unknown:
        raise BadRequest(
            Text("outreach.flow_fields_fixed", fields=sorted(unknown)), code="invalid_flow_update"
        )
    current = _flow(who.tenant_id, flow_id)
    updated = dict(current)
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise BadRequest(Text("outreach.enabled_not_bool"), code="invalid_flow_update")
        updated["enabled"] = body["enabled"]
    if "name" in body:
        updated["name"] = str(body["name"])[:200]
    if "definition" in body:
        # Runs already in flight keep walking the steps by index: an edit that reorders steps
        # takes effect for new entries (their version is recorded on the run).
        updated["definition"] = _validated(who.tenant_id, body["definition"])
    updated["version"] = int(current["version"]) + 1
    updated["updated_at"] = clock.now().isoformat()
    try:
        repo.put_flow(who.tenant_id, flow_id, updated, int(current["version"]))
    except ConcurrentUpdate as exc:
        raise Conflict(Text("outreach.flow_changed"), code="flow_changed") from exc
    return flow_view(updated)


STAT_NAMES = (
    "entered",
    "completed",
    "exited",
    "queued",
    "held",
    "sent",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "complained",
    "failed",
    "suppressed",
    "skipped",
    "unsubscribed",
    "conversions",
)


@route(
    bp,
    "/flows/{flow_id}/stats",
    methods=["GET"],
    response="FlowStats",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def flow_stats(flow_id: str) -> dict:
    """A flow's counts (entered, sent, delivered, opened, clicked, ...), rates and revenue."""
    from linkstar.store import outreach as repo

    who = principal(bp)
    flow = _flow(who.tenant_id, flow_id)
    raw = repo.flow_stats(who.tenant_id, flow_id)
    counts = {name: int(raw.get(name, 0)) for name in STAT_NAMES}
    revenue = {k.split("#", 1)[1]: str(v) for k, v in raw.items() if k.startswith("revenue#")}
    sent = counts["sent"] or 0

    def rate(n: int) -> str | None:
        return f"{n / sent:.4f}" if sent else None

    return {
        "flow_id": flow_id,
        "name": flow["name"],
        **counts,
        "attributed_revenue": revenue,
        "rates": {
            "delivery": rate(counts["delivered"]),
            "open": rate(counts["opened"]),
            "click": rate(counts["clicked"]),
            "bounce": rate(counts["bounced"]),
            "conversion": rate(counts["conversions"]),
        },
    }


# ---------------------------------------------------------------- the message log


@route(
    bp,
    "/messages",
    methods=["GET"],
    response="MessageList",
    params=(
        _limit(500, 100),
        Param("contact_id", "only this contact's messages"),
        Param("flow_id", "only this flow's messages"),
        Param("state", "only messages in this state (queued, held, sent, ...)"),
    ),
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def list_messages() -> dict:
    """The message log, newest first, with why any message was held or skipped."""
    from linkstar.store import outreach as repo

    who = principal(bp)
    params = query_params(bp)
    limit = int_param(params, "limit", 100, 1, 500)
    contact_id, flow_id = params.get("contact_id"), params.get("flow_id")
    if contact_id:
        found = repo.messages_of_contact(who.tenant_id, contact_id, limit=limit)
        if flow_id:
            found = [m for m in found if m.flow_id == flow_id]
    elif flow_id:
        found, _ = repo.messages_of_flow(who.tenant_id, flow_id, limit)
    else:
        found = []
        for flow in repo.list_flows(who.tenant_id):
            found += repo.messages_of_flow(who.tenant_id, flow["flow_id"], limit)[0]
        found.sort(key=lambda m: m.created_at, reverse=True)
        found = found[:limit]
    state = params.get("state")
    if state:
        found = [m for m in found if m.state == state]
    return {"messages": [message_view(m) for m in found]}


# ---------------------------------------------------------------- settings and suppression


@route(
    bp,
    "/outreach/settings",
    methods=["GET"],
    response="linkstar.outreach.policy:OutreachSettings",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def get_settings() -> dict:
    """The tenant's outreach settings: locale, time zone, sender, quiet hours, caps."""
    from linkstar.outreach import policy

    who = principal(bp)
    return settings_view(policy.load(who.tenant_id))


def settings_view(settings: Any) -> dict[str, Any]:
    """The settings as stored, the reputation pause's reason in the reader's language."""
    view: dict[str, Any] = settings.model_dump(mode="json")
    pause = settings.marketing_email_paused
    if pause is not None:
        view["marketing_email_paused"].pop("reason_message", None)
        view["marketing_email_paused"]["reason"] = pause.reason_for_people
    return view


@route(
    bp,
    "/outreach/settings",
    methods=["PUT"],
    request="linkstar.outreach.policy:OutreachSettings",
    response="linkstar.outreach.policy:OutreachSettings",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def put_settings() -> dict:
    """Replace the outreach settings (admin)."""
    from linkstar.outreach import compliance, policy
    from linkstar.outreach import templates as tpl

    who = principal(bp, Role.ADMIN)
    body = json_object(bp)
    settings = policy.OutreachSettings.model_validate(body)
    for rule in settings.quiet_hours:
        compliance.QuietHoursRule.model_validate(rule)
    for cap in settings.frequency_caps or []:
        compliance.FrequencyCap.model_validate(cap)
    if settings.default_locale:
        try:
            locale = tpl.normalise_locale(settings.default_locale)
        except ValueError as exc:  # raised outside pydantic: not a validation_error by itself
            raise BadRequest(reason_of(exc) or str(exc), code="invalid_locale") from exc
        settings = settings.model_copy(update={"default_locale": locale})
    policy.save(who.tenant_id, settings)
    return settings_view(settings)


class SuppressionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str
    address: str = Field(min_length=3, max_length=320)
    reason: str = Field(default="manual", max_length=200)


@route(
    bp,
    "/suppressions",
    methods=["POST"],
    request=SuppressionIn,
    response="Suppressed",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def add_suppression() -> dict:
    """Never send to an address on a channel again (operator)."""
    from linkstar.store import outreach as repo

    who = principal(bp, Role.OPERATOR)
    body = SuppressionIn.model_validate(json_object(bp))
    if body.channel not in ("email", "sms", "whatsapp"):
        raise BadRequest(Text("outreach.suppression_channel"), code="invalid_channel")
    address = body.address.strip().lower() if body.channel == "email" else body.address.strip()
    dynamo.transact(
        [
            repo.suppress_op(
                who.tenant_id,
                body.channel,
                address,
                body.reason,
                f"api_key:{who.key_id}",
                clock.now(),
            )
        ]
    )
    return {"channel": body.channel, "address": address, "reason": body.reason}


@route(
    bp,
    "/suppressions",
    methods=["GET"],
    response="SuppressionList",
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def list_suppressions() -> dict:
    """The suppression list."""
    from linkstar.store import outreach as repo

    who = principal(bp)
    return {"suppressions": repo.list_suppressions(who.tenant_id)}
