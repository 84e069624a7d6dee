"""Flow definitions: the automations a seller saves (the abandoned-checkout email series and
so on), checked in full when they are saved, plus the pure helpers the flow engine runs them by.

A flow is a **trigger** (a domain event with optional filters, or a segment such as "no order
in 90 days"), a list of **steps** run top to bottom (``wait``, ``wait_until``, ``send``,
``branch``, ``exit``), **exit** rules that stop a run when a later event matches it, and a
**re-entry** policy. This module owns:

- the pydantic models, ``extra="forbid"`` throughout so a typo ("chanel") is an error instead of
  a silently ignored key that changes what gets sent;
- :func:`parse_flow` (shape and cross-step rules) and :func:`validate_flow` (also the templates
  each send step needs, and whether their variables exist for the trigger), both raising
  :class:`~linkstar.errors.BadRequest` with ``code="invalid_flow"`` and every problem listed;
- the predicate language for trigger filters and branches, and :func:`evaluate`, a small
  interpreter over JSON data (never ``eval``);
- :func:`parse_duration`, :func:`step_index`, :func:`next_step`, :func:`match_trigger`.

There is no I/O here: the engine loads a definition and the facts, and persists runs.

Flows cannot loop: a branch may only jump forward, so every run ends after at most one pass
over the steps, and a seller can't build a flow that messages a contact forever.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, NoReturn, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from linkstar.errors import BadRequest
from linkstar.outreach.models import STATE_RANK, Channel, Purpose
from linkstar.text import Text, reason_of

if TYPE_CHECKING:
    from linkstar.outreach.templates import Template

# ------------------------------------------------------------------ vocabulary

#: Domain events the ingest pipeline emits and a flow may start on (or exit on).
TRIGGER_EVENTS: Final[frozenset[str]] = frozenset(
    {
        "customer.created",
        "customer.updated",
        "contact.subscribed",  # the contact's marketing-email consent became "subscribed"
        "checkout.started",
        "checkout.updated",
        "checkout.completed",
        "order.placed",
        "order.paid",
        "order.fulfilled",
        "order.delivered",
        "order.cancelled",
        "order.refunded",
        "fulfillment.created",
    }
)

_ALWAYS: Final = frozenset({"contact", "tenant", "links"})

#: Template contexts each trigger provides, keyed by event type or ``segment:<type>`` (the same
#: string :attr:`linkstar.outreach.models.FlowRun.trigger` records).
CONTEXTS_BY_TRIGGER: Final[Mapping[str, frozenset[str]]] = {
    "customer.created": _ALWAYS,
    "customer.updated": _ALWAYS,
    "contact.subscribed": _ALWAYS,
    "checkout.started": _ALWAYS | {"checkout"},
    "checkout.updated": _ALWAYS | {"checkout"},
    "checkout.completed": _ALWAYS | {"checkout"},
    "order.placed": _ALWAYS | {"order"},
    "order.paid": _ALWAYS | {"order"},
    "order.fulfilled": _ALWAYS | {"order", "shipment"},
    "order.delivered": _ALWAYS | {"order"},
    "order.cancelled": _ALWAYS | {"order"},
    "order.refunded": _ALWAYS | {"order", "refund"},
    "fulfillment.created": _ALWAYS | {"order", "shipment"},
    # A dormant contact has no triggering event; "order" is their last order.
    "segment:dormant": _ALWAYS | {"order"},
}

#: Keys an exit rule may correlate on: the run remembers these from its trigger.
EXIT_MATCH_KEYS: Final = ("checkout_id", "order_id", "email", "contact_id", "customer_id")
ExitMatch = Literal["checkout_id", "order_id", "email", "contact_id", "customer_id"]

# An id correlates only when both the run's trigger and the exit event carry it: a
# checkout_id exit on an order.paid flow would never fire, which is a mistake worth reporting.
_MATCH_NEEDS_CONTEXT: Final[Mapping[str, str]] = {"checkout_id": "checkout", "order_id": "order"}
_MATCH_CARRIED_BY: Final[Mapping[str, tuple[str, ...]]] = {
    "checkout_id": ("checkout.",),
    "order_id": ("order.", "fulfillment."),
}

PREDICATE_ROOTS: Final = ("contact", "event", "checkout", "order", "tenant")

STEP_ID_PATTERN: Final = r"^[a-z0-9_]{1,40}$"
TEMPLATE_ID_PATTERN: Final = r"^[a-z0-9][a-z0-9_.:-]{0,63}$"
END: Final = "end"  # the branch target that finishes the run; reserved as a step id

MAX_DURATION_SECONDS: Final = 365 * 86_400
MAX_STEPS: Final = 50
MAX_PREDICATE_DEPTH: Final = 6  # bounds evaluation cost and keeps conditions readable

StepId = Annotated[str, Field(pattern=STEP_ID_PATTERN)]
TemplateId = Annotated[str, Field(pattern=TEMPLATE_ID_PATTERN)]
_FIELD_PATTERN: Final = rf"({'|'.join(PREDICATE_ROOTS)})(\.[A-Za-z0-9_]{{1,64}}){{1,4}}"

_STRICT = ConfigDict(extra="forbid", frozen=True)


# ------------------------------------------------------------------ durations

_ISO_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)
_UNIT_SECONDS: Final = {
    "weeks": 604_800,
    "days": 86_400,
    "hours": 3_600,
    "minutes": 60,
    "seconds": 1,
}


def parse_duration(value: str | int) -> int:
    """Seconds in an ISO-8601 duration (``PT1H``, ``P1D``, ``P1DT2H``, ``PT90M``, ``P2W``) or an
    integer number of seconds; positive and at most 365 days.

    Years and months are refused: they have no fixed length, and a wait must mean the same
    number of seconds whenever the run reaches it.
    """
    if isinstance(value, bool):  # bool is an int to Python, never a duration to a seller
        raise ValueError(Text("outreach.flow.duration_type"))
    if isinstance(value, int):
        seconds = value
    elif isinstance(value, str):
        text = value.strip().upper()
        match = _ISO_DURATION.fullmatch(text)
        if match is None or not any(match.groupdict().values()):
            if re.match(r"P(\d+Y|\d+M)", text):
                raise ValueError(Text("outreach.flow.duration_months", value=repr(value)))
            raise ValueError(Text("outreach.flow.duration_not_iso", value=repr(value)))
        seconds = sum(int(n) * _UNIT_SECONDS[unit] for unit, n in match.groupdict().items() if n)
    else:
        raise ValueError(Text("outreach.flow.duration_type"))
    if seconds <= 0:
        raise ValueError(Text("outreach.flow.duration_not_positive", value=repr(value)))
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(Text("outreach.flow.duration_too_long", value=repr(value)))
    return seconds


Duration = StrictStr | StrictInt


# ------------------------------------------------------------------ predicates

Scalar = StrictStr | StrictBool | StrictInt | StrictFloat
FieldOp = Literal[
    "eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists", "not_exists", "contains"
]  # fmt: skip
_ORDERING_OPS: Final = frozenset({"gt", "gte", "lt", "lte"})
_LIST_OPS: Final = frozenset({"in", "not_in"})
_PRESENCE_OPS: Final = frozenset({"exists", "not_exists"})


class FieldPredicate(BaseModel):
    """``{"field": "contact.country", "op": "in", "value": ["US", "CA"]}``"""

    model_config = _STRICT

    field: StrictStr
    op: FieldOp
    value: Scalar | Annotated[list[Scalar], Field(min_length=1, max_length=500)] | None = None

    @field_validator("field")
    @classmethod
    def _known_root(cls, value: str) -> str:
        if not re.fullmatch(_FIELD_PATTERN, value):
            raise ValueError(
                Text("outreach.flow.field_path", field=repr(value), roots=list(PREDICATE_ROOTS))
            )
        return value

    @model_validator(mode="after")
    def _value_fits_op(self) -> Self:
        op = repr(self.op)
        if self.op in _PRESENCE_OPS:
            if self.value is not None:
                raise ValueError(Text("outreach.flow.op_takes_no_value", op=op))
        elif self.value is None:
            raise ValueError(Text("outreach.flow.op_needs_value", op=op))
        elif self.op in _LIST_OPS:
            if not isinstance(self.value, list):
                raise ValueError(Text("outreach.flow.op_needs_list", op=op))
        elif isinstance(self.value, list):
            raise ValueError(Text("outreach.flow.op_needs_single", op=op))
        elif self.op in _ORDERING_OPS and _as_decimal(self.value) is None:
            raise ValueError(Text("outreach.flow.op_needs_number", op=op))
        return self


class AllPredicate(BaseModel):
    """True when every condition is true."""

    model_config = _STRICT

    all: Annotated[list[Predicate], Field(min_length=1, max_length=20)]


class AnyPredicate(BaseModel):
    """True when at least one condition is true."""

    model_config = _STRICT

    any: Annotated[list[Predicate], Field(min_length=1, max_length=20)]


class NotPredicate(BaseModel):
    """``{"not": <predicate>}``"""

    model_config = _STRICT

    not_: Predicate = Field(alias="not")


class MessagePredicate(BaseModel):
    """Engagement with a message an earlier send step of the same run produced:
    ``{"message": "email", "is": "opened"}``."""

    model_config = _STRICT

    message: StepId
    is_: Literal["delivered", "opened", "clicked", "bounced", "not_opened", "not_clicked"] = Field(
        alias="is"
    )


_PREDICATE_KINDS: Final = {
    "field": FieldPredicate,
    "all": AllPredicate,
    "any": AnyPredicate,
    "not": NotPredicate,
    "message": MessagePredicate,
}


def _model_tag(value: Any, kinds: Mapping[str, type], prefix: str) -> str | None:
    """The union tag of an already-built model: a callable discriminator is given model
    instances as well as raw mappings (a flow built from step objects, say)."""
    for kind, cls in kinds.items():
        if isinstance(value, cls):
            return f"{prefix}:{kind}"
    return None


def _predicate_kind(value: Any) -> str | None:
    # Chosen by which key is present, so an error is reported against the one shape the
    # seller meant instead of five "did not match" errors, one per alternative.
    if isinstance(value, Mapping):
        kinds = [kind for kind in _PREDICATE_KINDS if kind in value]
        return f"predicate:{kinds[0]}" if len(kinds) == 1 else None
    return _model_tag(value, _PREDICATE_KINDS, "predicate")


Predicate = Annotated[
    Annotated[FieldPredicate, Tag("predicate:field")]
    | Annotated[AllPredicate, Tag("predicate:all")]
    | Annotated[AnyPredicate, Tag("predicate:any")]
    | Annotated[NotPredicate, Tag("predicate:not")]
    | Annotated[MessagePredicate, Tag("predicate:message")],
    Discriminator(
        _predicate_kind,
        custom_error_type="invalid_predicate",
        custom_error_message=(
            "a condition is exactly one of {field, op, value}, {all: [...]}, {any: [...]}, "
            "{not: {...}} or {message, is}"
        ),
    ),
]

for _model in (AllPredicate, AnyPredicate, NotPredicate):
    _model.model_rebuild()

_PREDICATE_ADAPTER: TypeAdapter[Predicate] = TypeAdapter(Predicate)


# ------------------------------------------------------------------ trigger


def _known_event(value: str) -> str:
    if value not in TRIGGER_EVENTS:
        raise ValueError(
            Text("outreach.flow.unknown_event", event=repr(value), events=sorted(TRIGGER_EVENTS))
        )
    return value


EventType = Annotated[StrictStr, Field(min_length=1)]


class EventTrigger(BaseModel):
    """Start a run when a domain event arrives and every filter is true."""

    model_config = _STRICT

    event: EventType
    filters: Annotated[list[Predicate], Field(max_length=20)] = []

    _event_known = field_validator("event")(_known_event)

    @property
    def key(self) -> str:
        return self.event


class DormantSegment(BaseModel):
    """Contacts with no order in the last ``days`` days (evaluated by the segment scheduler)."""

    model_config = _STRICT

    type: Literal["dormant"]
    days: Annotated[StrictInt, Field(ge=7, le=730)]


class SegmentTrigger(BaseModel):
    """Start a run when a contact enters a segment; filters are checked against the contact."""

    model_config = _STRICT

    segment: DormantSegment
    filters: Annotated[list[Predicate], Field(max_length=20)] = []

    @property
    def key(self) -> str:
        return f"segment:{self.segment.type}"


def _trigger_kind(value: Any) -> str | None:
    if isinstance(value, Mapping):
        if ("event" in value) == ("segment" in value):
            return None
        return "trigger:event" if "event" in value else "trigger:segment"
    if isinstance(value, EventTrigger):
        return "trigger:event"
    return "trigger:segment" if isinstance(value, SegmentTrigger) else None


Trigger = Annotated[
    Annotated[EventTrigger, Tag("trigger:event")]
    | Annotated[SegmentTrigger, Tag("trigger:segment")],
    Discriminator(
        _trigger_kind,
        custom_error_type="invalid_trigger",
        custom_error_message=(
            'a trigger is either {"event": ..., "filters": [...]} or {"segment": {...}}'
        ),
    ),
]


def contexts_for(trigger: EventTrigger | SegmentTrigger) -> frozenset[str]:
    """The template contexts (``contact``, ``order``, …) a run of this trigger can render."""
    return CONTEXTS_BY_TRIGGER[trigger.key]


# ------------------------------------------------------------------ steps


class _Step(BaseModel):
    model_config = _STRICT

    id: StepId

    @field_validator("id")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value == END:
            raise ValueError(Text("outreach.flow.end_reserved", end=repr(END)))
        return value


class WaitStep(_Step):
    """Pause for a fixed time: ``{"duration": "PT1H"}`` or ``{"seconds": 3600}``."""

    type: Literal["wait"]
    duration: StrictStr | None = None
    seconds: StrictInt | None = None

    @model_validator(mode="after")
    def _one_length(self) -> Self:
        if (self.duration is None) == (self.seconds is None):
            raise ValueError(Text("outreach.flow.wait_length"))
        parse_duration(self._length)
        return self

    @property
    def _length(self) -> str | int:
        # Exactly one is set (checked above); the stored form stays as the seller wrote it.
        return self.duration if self.duration is not None else int(self.seconds or 0)

    @property
    def wait_seconds(self) -> int:
        return parse_duration(self._length)


class WaitUntilStep(_Step):
    """Pause until the next ``local_time`` in the contact's time zone (the tenant's when the
    contact's is unknown), on one of ``weekdays`` (ISO: 1 = Monday) when given. If that time
    is still ahead today, the run resumes today."""

    type: Literal["wait_until"]
    local_time: Annotated[StrictStr, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
    weekdays: (
        Annotated[list[Annotated[StrictInt, Field(ge=1, le=7)]], Field(min_length=1)] | None
    ) = None

    @field_validator("weekdays")
    @classmethod
    def _distinct_days(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError(Text("outreach.flow.weekdays_repeat"))
        return value


class SendStep(_Step):
    """Send one message. An email step may fall back to other channels, in order: when the
    email can't go out (no address, no consent, suppressed) the first reachable fallback is
    used at once; with ``fallback_after``, the fallbacks are also tried if the email has not
    been opened or clicked by then. Each fallback channel names its own template in
    ``fallback_templates`` (an SMS can't reuse an email's body)."""

    type: Literal["send"]
    channel: Channel
    template: TemplateId
    purpose: Purpose
    fallback: Annotated[list[Channel], Field(max_length=3)] = []
    fallback_after: Duration | None = None
    fallback_templates: dict[Channel, TemplateId] = {}

    @model_validator(mode="after")
    def _fallback_rules(self) -> Self:
        if self.fallback and self.channel != "email":
            # The product rule is "email first; fall back to SMS/WhatsApp": SMS and WhatsApp
            # cost per message and need their own consent, so they never lead a fallback chain.
            raise ValueError(Text("outreach.flow.fallback_email_only"))
        if len(set(self.fallback)) != len(self.fallback):
            raise ValueError(Text("outreach.flow.fallback_repeat"))
        if "email" in self.fallback:
            raise ValueError(Text("outreach.flow.fallback_email"))
        if self.fallback_after is not None:
            if not self.fallback:
                raise ValueError(Text("outreach.flow.fallback_after_alone"))
            parse_duration(self.fallback_after)
        missing = [channel for channel in self.fallback if channel not in self.fallback_templates]
        if missing:
            raise ValueError(Text("outreach.flow.fallback_templates_missing", channels=missing))
        extra = sorted(set(self.fallback_templates) - set(self.fallback))
        if extra:
            raise ValueError(Text("outreach.flow.fallback_templates_extra", channels=extra))
        return self

    @property
    def fallback_after_seconds(self) -> int | None:
        return None if self.fallback_after is None else parse_duration(self.fallback_after)

    def templates_by_channel(self) -> dict[Channel, str]:
        """The template id each channel this step may use sends, primary channel first."""
        return {self.channel: self.template, **self.fallback_templates}


class BranchStep(_Step):
    """Go to ``then`` when the condition holds, else to ``else``; either may be ``"end"``.
    Targets are later steps only, so a flow always terminates."""

    type: Literal["branch"]
    if_: Predicate = Field(alias="if")
    then: StepId
    else_: StepId = Field(alias="else")


class ExitStep(_Step):
    """Finish the run here (e.g. at the end of a ``then`` path, before the ``else`` path)."""

    type: Literal["exit"]


_STEP_TYPES: Final = {
    "wait": WaitStep,
    "wait_until": WaitUntilStep,
    "send": SendStep,
    "branch": BranchStep,
    "exit": ExitStep,
}


def _step_kind(value: Any) -> str | None:
    if isinstance(value, Mapping):
        kind = value.get("type")
        return f"step:{kind}" if isinstance(kind, str) and kind in _STEP_TYPES else None
    return _model_tag(value, _STEP_TYPES, "step")


Step = Annotated[
    Annotated[WaitStep, Tag("step:wait")]
    | Annotated[WaitUntilStep, Tag("step:wait_until")]
    | Annotated[SendStep, Tag("step:send")]
    | Annotated[BranchStep, Tag("step:branch")]
    | Annotated[ExitStep, Tag("step:exit")],
    Discriminator(
        _step_kind,
        custom_error_type="invalid_step_type",
        custom_error_message="unknown or missing step type; expected one of: "
        + ", ".join(_STEP_TYPES),
    ),
]


# ------------------------------------------------------------------ exit, re-entry, flow


class ExitRule(BaseModel):
    """Stop a run when ``event`` arrives carrying the same ``match`` value as the run's trigger
    (``{"event": "checkout.completed", "match": "checkout_id"}``)."""

    model_config = _STRICT

    event: EventType
    match: ExitMatch

    _event_known = field_validator("event")(_known_event)


class Reentry(BaseModel):
    """Whether a contact may start the flow again: ``once`` ever, ``once_per_trigger`` (once
    per triggering event or checkout/order), or ``cooldown`` (again after ``seconds``)."""

    model_config = _STRICT

    policy: Literal["once", "once_per_trigger", "cooldown"]
    seconds: StrictInt | None = None

    @model_validator(mode="after")
    def _seconds_with_cooldown(self) -> Self:
        if self.policy == "cooldown":
            if self.seconds is None:
                raise ValueError(Text("outreach.flow.cooldown_needs_seconds"))
            parse_duration(self.seconds)
        elif self.seconds is not None:
            raise ValueError(Text("outreach.flow.seconds_without_cooldown"))
        return self


class FlowDefinition(BaseModel):
    """A whole flow as the seller saves it. Parse with :func:`parse_flow` (which also checks
    the rules that span steps) rather than ``model_validate`` directly."""

    model_config = _STRICT

    name: Annotated[StrictStr, Field(min_length=1, max_length=120)]
    # Kept in the document as the seller sent it; the flow record's own ``enabled`` (which the
    # API defaults to true and toggles) is what decides whether runs start.
    enabled: StrictBool = True
    trigger: Trigger
    steps: Annotated[list[Step], Field(min_length=1, max_length=MAX_STEPS)]
    exit: Annotated[list[ExitRule], Field(max_length=10)] = []
    reentry: Reentry = Reentry(policy="once")

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(Text("outreach.flow.name_blank"))
        return value.strip()

    def as_document(self) -> dict[str, Any]:
        """The JSON form to store or return; :func:`parse_flow` reads it back unchanged."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# ------------------------------------------------------------------ errors

_UNION_TAGS: Final = frozenset(
    {
        *(f"predicate:{kind}" for kind in _PREDICATE_KINDS),
        "trigger:event",
        "trigger:segment",
        *(f"step:{kind}" for kind in _STEP_TYPES),
    }
)
_ERROR_CODE: Final = "invalid_flow"

FlowError = dict[str, Any]
"""One problem: ``{"loc": "steps[1].fallback", "step": "email", "message": Text(...)}``; the
message renders in the reader's language when the error is answered."""

# pydantic's own error types a flow commonly meets, as messages with pydantic's English; any
# other type keeps pydantic's English text.
_PYDANTIC_MESSAGES: Final[Mapping[str, str]] = {
    "missing": "outreach.flow.required",
    "string_type": "outreach.flow.must_be_text",
    "int_type": "outreach.flow.must_be_integer",
    "bool_type": "outreach.flow.must_be_boolean",
    "invalid_predicate": "outreach.flow.invalid_predicate",
    "invalid_trigger": "outreach.flow.invalid_trigger",
    "extra_forbidden": "outreach.flow.unknown_key",
}


def _format_loc(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part not in _UNION_TAGS:  # internal union tags mean nothing to a seller
            text += f".{part}" if text else part
    return text


def _raw_step_id(data: Any, loc: Sequence[int | str]) -> str | None:
    if (
        len(loc) >= 2
        and loc[0] == "steps"
        and isinstance(loc[1], int)
        and isinstance(data, Mapping)
    ):
        steps = data.get("steps")
        if isinstance(steps, list) and loc[1] < len(steps) and isinstance(steps[loc[1]], Mapping):
            step_id = steps[loc[1]].get("id")
            return step_id if isinstance(step_id, str) else None
    return None


def _error(loc: str, message: Text | str, step: str | None = None) -> FlowError:
    entry: FlowError = {"loc": loc, "message": message}
    if step is not None:
        entry["step"] = step
    return entry


def _pydantic_message(item: Any) -> Text | str:
    kind = item["type"]
    ctx = item.get("ctx") or {}
    cause = ctx.get("error")
    said = reason_of(cause) if isinstance(cause, BaseException) else None
    if said is not None:
        return said
    if kind == "invalid_step_type":
        message = Text("outreach.flow.invalid_step_type", types=list(_STEP_TYPES))
        given = item["input"]
        if isinstance(given, Mapping):
            return Text(
                "outreach.flow.step_type_invalid", type=repr(given.get("type")), why=message
            )
        return message
    if kind in _PYDANTIC_MESSAGES:
        return Text(_PYDANTIC_MESSAGES[kind])
    if kind == "string_pattern_mismatch" and "pattern" in ctx:
        return Text("outreach.flow.pattern", pattern=str(ctx["pattern"]))
    if kind == "greater_than_equal" and "ge" in ctx:
        return Text("outreach.flow.at_least", limit=str(ctx["ge"]))
    if kind == "less_than_equal" and "le" in ctx:
        return Text("outreach.flow.at_most", limit=str(ctx["le"]))
    return str(item["msg"]).removeprefix("Value error, ")


def _pydantic_errors(exc: ValidationError, data: Any) -> list[FlowError]:
    return [
        _error(_format_loc(item["loc"]), _pydantic_message(item), _raw_step_id(data, item["loc"]))
        for item in exc.errors(include_url=False)
    ]


def _raise(errors: list[FlowError]) -> NoReturn:
    first = errors[0]
    where: Text | str = first["loc"]
    if "step" in first:
        where = Text("outreach.flow.where_step", loc=first["loc"], step=repr(first["step"]))
    more: Text | str = ""
    if len(errors) > 1:
        more = Text("outreach.flow.and_more", count=len(errors) - 1)
    raise BadRequest(
        Text("outreach.flow.invalid", where=where, why=first["message"], more=more),
        code=_ERROR_CODE,
        errors=errors,
    )


# ------------------------------------------------------------------ cross-step rules


def _predicate_errors(
    predicate: Predicate,
    loc: str,
    *,
    roots: frozenset[str],
    earlier_sends: frozenset[str],
    step: str | None,
    depth: int = 1,
) -> list[FlowError]:
    errors: list[FlowError] = []
    if depth > MAX_PREDICATE_DEPTH:
        return [_error(loc, Text("outreach.flow.nest_too_deep", depth=MAX_PREDICATE_DEPTH), step)]
    match predicate:
        case FieldPredicate(field=path):
            root = path.split(".", 1)[0]
            if root not in roots:
                errors.append(
                    _error(
                        f"{loc}.field",
                        Text(
                            "outreach.flow.field_unavailable", field=repr(path), roots=sorted(roots)
                        ),
                        step,
                    )
                )
        case MessagePredicate(message=target):
            if target not in earlier_sends:
                errors.append(
                    _error(
                        f"{loc}.message",
                        Text("outreach.flow.not_an_earlier_send", step=repr(target)),
                        step,
                    )
                )
        case AllPredicate(all=children) | AnyPredicate(any=children):
            key = "all" if isinstance(predicate, AllPredicate) else "any"
            for i, child in enumerate(children):
                errors += _predicate_errors(
                    child,
                    f"{loc}.{key}[{i}]",
                    roots=roots,
                    earlier_sends=earlier_sends,
                    step=step,
                    depth=depth + 1,
                )
        case NotPredicate(not_=child):
            errors += _predicate_errors(
                child,
                f"{loc}.not",
                roots=roots,
                earlier_sends=earlier_sends,
                step=step,
                depth=depth + 1,
            )
    return errors


def _fact_roots(trigger: EventTrigger | SegmentTrigger) -> frozenset[str]:
    """Predicate roots with data for this trigger: a segment run has no event, and only
    checkout/order triggers load a checkout/order."""
    contexts = contexts_for(trigger)
    roots = {"contact", "tenant"} | (contexts & {"checkout", "order"})
    if isinstance(trigger, EventTrigger):
        roots.add("event")
    return frozenset(roots)


def _unreachable_errors(flow: FlowDefinition, index_of: Mapping[str, int]) -> list[FlowError]:
    """Steps no run can reach (after an exit, skipped by every branch): almost always a branch
    pointing at the wrong step, so it is reported rather than saved as dead weight."""
    reachable: set[int] = set()
    # Targets only point forward, so one pass in order sees every way into a step first.
    frontier = {0}
    for i, step in enumerate(flow.steps):
        if i not in frontier:
            continue
        reachable.add(i)
        if isinstance(step, BranchStep):
            frontier |= {index_of[t] for t in (step.then, step.else_) if t != END}
        elif not isinstance(step, ExitStep):
            frontier.add(i + 1)
    return [
        _error(f"steps[{i}]", Text("outreach.flow.unreachable"), step.id)
        for i, step in enumerate(flow.steps)
        if i not in reachable
    ]


def _structure_errors(flow: FlowDefinition) -> list[FlowError]:
    errors: list[FlowError] = []
    first_index: dict[str, int] = {}
    for i, step in enumerate(flow.steps):
        if step.id in first_index:
            errors.append(
                _error(
                    f"steps[{i}].id",
                    Text(
                        "outreach.flow.duplicate_step",
                        step=repr(step.id),
                        first=f"steps[{first_index[step.id]}]",
                    ),
                    step.id,
                )
            )
        else:
            first_index[step.id] = i
    if not any(isinstance(step, SendStep) for step in flow.steps):
        errors.append(_error("steps", Text("outreach.flow.no_send_step")))

    roots = _fact_roots(flow.trigger)
    for i, predicate in enumerate(flow.trigger.filters):
        errors += _predicate_errors(
            predicate,
            f"trigger.filters[{i}]",
            roots=roots,
            earlier_sends=frozenset(),
            step=None,
        )

    sends_so_far: set[str] = set()
    for i, step in enumerate(flow.steps):
        if isinstance(step, BranchStep):
            errors += _predicate_errors(
                step.if_,
                f"steps[{i}].if",
                roots=roots,
                earlier_sends=frozenset(sends_so_far),
                step=step.id,
            )
            for key, target in (("then", step.then), ("else", step.else_)):
                if target == END:
                    continue
                if target not in first_index:
                    errors.append(
                        _error(
                            f"steps[{i}].{key}",
                            Text(
                                "outreach.flow.unknown_target", target=repr(target), end=repr(END)
                            ),
                            step.id,
                        )
                    )
                elif first_index[target] <= i:
                    errors.append(
                        _error(
                            f"steps[{i}].{key}",
                            Text(
                                "outreach.flow.backward_jump",
                                target=repr(target),
                                at=f"steps[{first_index[target]}]",
                            ),
                            step.id,
                        )
                    )
        elif isinstance(step, SendStep):
            sends_so_far.add(step.id)
    if not errors:  # reachability is only meaningful once every target resolves
        errors += _unreachable_errors(flow, first_index)

    contexts = contexts_for(flow.trigger)
    for i, rule in enumerate(flow.exit):
        needed = _MATCH_NEEDS_CONTEXT.get(rule.match)
        if needed and needed not in contexts:
            errors.append(
                _error(
                    f"exit[{i}].match",
                    Text(
                        "outreach.flow.exit_trigger_lacks",
                        trigger=repr(flow.trigger.key),
                        match=rule.match,
                    ),
                )
            )
        carriers = _MATCH_CARRIED_BY.get(rule.match)
        if carriers and not rule.event.startswith(carriers):
            errors.append(
                _error(
                    f"exit[{i}].match",
                    Text(
                        "outreach.flow.exit_event_lacks", event=repr(rule.event), match=rule.match
                    ),
                )
            )
    return errors


# ------------------------------------------------------------------ parse and validate


def parse_flow(data: Mapping[str, Any]) -> FlowDefinition:
    """Parse a flow definition and check every rule that needs no template; raises
    ``BadRequest(code="invalid_flow")`` whose ``details["errors"]`` lists each problem as
    ``{"loc": "steps[1].fallback", "step": "email", "message": "..."}``."""
    try:
        flow = FlowDefinition.model_validate(data)
    except ValidationError as exc:
        _raise(_pydantic_errors(exc, data))
    errors = _structure_errors(flow)
    if errors:
        _raise(errors)
    return flow


def validate_flow(
    definition: Mapping[str, Any] | FlowDefinition,
    templates: Mapping[str, Sequence[Template]],
) -> FlowDefinition:
    """Everything :func:`parse_flow` checks, plus: each template a send step can use exists
    for that channel (in at least one locale), has the step's purpose, and uses only
    variables the trigger provides. ``templates`` maps template id to its versions (one per
    channel and locale), e.g. from the tenant's template repository. Returns the parsed flow;
    raises ``BadRequest(code="invalid_flow")`` listing every problem."""
    # Imported here, not at module level: matching events and evaluating branches (the hot
    # path) never render, so they needn't pay for importing Jinja.
    from linkstar.outreach import templates as template_rules

    if isinstance(definition, FlowDefinition):
        # It may have been built without parse_flow, so the cross-step rules are checked here.
        flow, errors = definition, _structure_errors(definition)
    else:
        flow, errors = parse_flow(definition), []
    contexts = contexts_for(flow.trigger)
    for i, step in enumerate(flow.steps):
        if not isinstance(step, SendStep):
            continue
        for channel, template_id in step.templates_by_channel().items():
            primary = channel == step.channel
            loc = f"steps[{i}]." + ("template" if primary else f"fallback_templates.{channel}")
            versions = list(templates.get(template_id, ()))
            usable = [t for t in versions if t.channel == channel]
            if not usable:
                has = sorted({t.channel for t in versions})
                missing = (
                    Text(
                        "outreach.flow.template_only_for",
                        channel=channel,
                        template=repr(template_id),
                        channels=has,
                    )
                    if has
                    else Text(
                        "outreach.flow.no_template", channel=channel, template=repr(template_id)
                    )
                )
                errors.append(_error(loc, missing, step.id))
                continue
            for template in usable:
                if template.purpose != step.purpose:
                    # Purpose decides consent and the unsubscribe footer: a marketing template
                    # sent as transactional would bypass the contact's opt-out.
                    errors.append(
                        _error(
                            loc,
                            Text(
                                "outreach.flow.template_purpose",
                                template=repr(template_id),
                                locale=template.locale,
                                purpose=template.purpose,
                                step_purpose=step.purpose,
                            ),
                            step.id,
                        )
                    )
                try:
                    template_rules.check_variables(template, contexts)
                except template_rules.TemplateError as exc:
                    errors.append(
                        _error(
                            loc,
                            Text(
                                "outreach.flow.template_variables",
                                template=repr(template_id),
                                locale=template.locale,
                                why=exc.message,
                                trigger=repr(flow.trigger.key),
                                contexts=sorted(contexts),
                            ),
                            step.id,
                        )
                    )
    if errors:
        _raise(errors)
    return flow


# ------------------------------------------------------------------ evaluation

Facts = Mapping[str, Any]
_MISSING: Final = object()


def parse_predicate(data: Mapping[str, Any]) -> Predicate:
    """Parse one condition on its own (e.g. a segment filter); raises ``invalid_flow``."""
    try:
        return _PREDICATE_ADAPTER.validate_python(data)
    except ValidationError as exc:
        _raise(_pydantic_errors(exc, data))


def evaluate(predicate: Predicate | Mapping[str, Any], facts: Facts) -> bool:
    """Whether ``predicate`` holds for ``facts``.

    ``facts`` is ``{"contact": {...}, "event": {...}, "checkout": {...} | None,
    "order": {...} | None, "tenant": {...}, "messages": {send step id: message state}}``;
    ``checkout`` and ``order`` have the keys of the ``checkout.*`` / ``order.*`` event details
    (so ``checkout.completed`` is a bool). Rules:

    - a missing field, ``None`` or a blank string "does not exist": ``exists`` is false and
      every comparison is false, except the negations ``ne`` / ``not_in``, which are true
      (``ne`` is always exactly ``not eq``);
    - when either side is a number, values compare as ``Decimal``, so the money strings the
      store keeps (``"12.50"``) compare with numbers; a non-numeric value compares false;
    - ``contains`` is a substring test on strings and membership on lists;
    - engagement: ``delivered`` / ``opened`` / ``clicked`` hold at that state or later
      (a click implies an open); ``bounced`` only for a bounce; ``not_opened`` /
      ``not_clicked`` are their negations, so they also hold when no message was sent.
    """
    parsed = parse_predicate(predicate) if isinstance(predicate, Mapping) else predicate
    return _evaluate(parsed, facts)


def _evaluate(predicate: Predicate, facts: Facts) -> bool:
    match predicate:
        case FieldPredicate():
            return _compare(_resolve(facts, predicate.field), predicate.op, predicate.value)
        case AllPredicate():
            return all(_evaluate(child, facts) for child in predicate.all)
        case AnyPredicate():
            return any(_evaluate(child, facts) for child in predicate.any)
        case NotPredicate():
            return not _evaluate(predicate.not_, facts)
        case MessagePredicate():
            messages = facts.get("messages") or {}
            return _engagement(messages.get(predicate.message), predicate.is_)
    raise TypeError(f"not a predicate: {predicate!r}")  # pragma: no cover - union is closed


def _resolve(facts: Facts, path: str) -> Any:
    current: Any = facts
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    if current is None or (isinstance(current, str) and not current.strip()):
        return _MISSING
    if isinstance(current, list | tuple | dict) and not current:
        return _MISSING
    return current


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, Decimal | int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))  # repr: 0.1 stays 0.1, not its binary expansion
        elif isinstance(value, str):
            number = Decimal(value.strip())
        else:
            return None
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _equal(left: Any, right: Any) -> bool:
    if _is_number(left) or _is_number(right):
        a, b = _as_decimal(left), _as_decimal(right)
        return a is not None and b is not None and a == b
    return bool(left == right) and type(left) is type(right)


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if op == "exists":
        return actual is not _MISSING
    if op == "not_exists":
        return actual is _MISSING
    if op == "ne":
        return not _compare(actual, "eq", expected)
    if op == "not_in":
        return not _compare(actual, "in", expected)
    if actual is _MISSING:
        return False
    if op == "eq":
        return _equal(actual, expected)
    if op == "in":
        return any(_equal(actual, option) for option in expected)
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        if isinstance(actual, list | tuple | set | frozenset):
            return any(_equal(item, expected) for item in actual)
        return False
    a, b = _as_decimal(actual), _as_decimal(expected)
    if a is None or b is None:
        return False
    if op == "gt":
        return a > b
    if op == "gte":
        return a >= b
    if op == "lt":
        return a < b
    if op == "lte":
        return a <= b
    raise ValueError(f"unknown op {op!r}")  # pragma: no cover - FieldOp is closed


def _engagement(state: Any, test: str) -> bool:
    rank = STATE_RANK.get(state) if isinstance(state, str) else None
    reached = {
        "delivered": rank is not None and rank >= STATE_RANK["delivered"],
        "opened": rank is not None and rank >= STATE_RANK["opened"],
        "clicked": rank is not None and rank >= STATE_RANK["clicked"],
    }
    if test in reached:
        return reached[test]
    if test == "bounced":
        return state == "bounced"
    if test == "not_opened":
        return not reached["opened"]
    if test == "not_clicked":
        return not reached["clicked"]
    raise ValueError(f"unknown engagement test {test!r}")  # pragma: no cover


# ------------------------------------------------------------------ engine helpers

FlowLike = FlowDefinition | Mapping[str, Any]


def _as_flow(definition: FlowLike) -> FlowDefinition:
    """The helpers take a parsed flow or its stored document (what the engine loads): a
    document was validated when saved, so reading it back costs only the parse (~50 us)."""
    if isinstance(definition, FlowDefinition):
        return definition
    try:
        return FlowDefinition.model_validate(definition)
    except ValidationError as exc:
        _raise(_pydantic_errors(exc, definition))


def step_index(definition: FlowLike, step_id: str) -> int | None:
    """Index of the step called ``step_id``; ``None`` for ``"end"``; ``KeyError`` if unknown."""
    if step_id == END:
        return None
    for i, step in enumerate(_as_flow(definition).steps):
        if step.id == step_id:
            return i
    raise KeyError(step_id)


def next_step(definition: FlowLike, index: int, facts: Facts | None = None) -> int | None:
    """The step to run after ``steps[index]``, or ``None`` when the run ends.

    Every step continues with the following one, except that an ``exit`` step ends the run
    and a branch given ``facts`` goes to ``then`` or ``else``. Without ``facts`` a branch also
    answers "the following step", so a caller can ask for the default successor of any step
    and resolve branches itself with :func:`evaluate`.
    """
    flow = _as_flow(definition)
    step = flow.steps[index]
    if isinstance(step, ExitStep):
        return None
    if isinstance(step, BranchStep) and facts is not None:
        return step_index(flow, step.then if _evaluate(step.if_, facts) else step.else_)
    return index + 1 if index + 1 < len(flow.steps) else None


def passes_filters(definition: FlowLike, facts: Facts) -> bool:
    """Whether every trigger filter holds (the segment scheduler uses this on its own)."""
    return all(_evaluate(predicate, facts) for predicate in _as_flow(definition).trigger.filters)


def match_trigger(
    definition: FlowLike,
    event_type: str,
    detail: Mapping[str, Any],
    facts: Facts | None = None,
) -> bool:
    """Whether this event starts a run of the flow: the flow triggers on ``event_type`` and
    every filter holds, with ``detail`` as the ``event`` facts. Whether the flow is switched on
    is the caller's check (the flow record's ``enabled``, which the API toggles)."""
    flow = _as_flow(definition)
    trigger = flow.trigger
    if not isinstance(trigger, EventTrigger) or trigger.event != event_type:
        return False
    return passes_filters(flow, {**(facts or {}), "event": detail})
