"""Flow definitions: what a seller can save, what is refused and why, how conditions evaluate,
and the ready-made presets (pure logic, no AWS)."""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

import pytest
from linkstar.errors import BadRequest
from linkstar.outreach import flows
from linkstar.outreach.flows import (
    evaluate,
    match_trigger,
    next_step,
    parse_duration,
    parse_flow,
    step_index,
    validate_flow,
)
from linkstar.outreach.presets import PRESETS, SMS_OPT_OUT
from linkstar.outreach.templates import Template, render, validate

# ------------------------------------------------------------------ helpers

ABANDONED_CHECKOUT: dict[str, Any] = {
    "name": "Abandoned checkout",
    "enabled": True,
    "trigger": {
        "event": "checkout.started",
        "filters": [{"field": "checkout.total", "op": "gte", "value": 20}],
    },
    "steps": [
        {"id": "wait_1h", "type": "wait", "duration": "PT1H"},
        {
            "id": "email",
            "type": "send",
            "channel": "email",
            "template": "cart_email",
            "purpose": "marketing",
            "fallback": ["sms"],
            "fallback_after": "PT24H",
            "fallback_templates": {"sms": "cart_sms"},
        },
        {"id": "wait_rest", "type": "wait", "seconds": 82_800},
        {
            "id": "unpaid",
            "type": "branch",
            "if": {"not": {"field": "checkout.completed", "op": "eq", "value": True}},
            "then": "sms",
            "else": "end",
        },
        {
            "id": "sms",
            "type": "send",
            "channel": "sms",
            "template": "cart_sms",
            "purpose": "marketing",
        },
        {"id": "morning", "type": "wait_until", "local_time": "10:00", "weekdays": [1, 2, 3]},
        {"id": "stop", "type": "exit"},
    ],
    "exit": [
        {"event": "checkout.completed", "match": "checkout_id"},
        {"event": "order.paid", "match": "email"},
    ],
    "reentry": {"policy": "once_per_trigger"},
}

FOOTER = "Unsubscribe: {{ links.unsubscribe_url }}"


def _template(template_id: str, channel: str, body: str, **fields: Any) -> Template:
    document = {
        "template_id": template_id,
        "channel": channel,
        "locale": fields.pop("locale", "en"),
        "purpose": fields.pop("purpose", "marketing"),
        "body": body,
        **fields,
    }
    if channel == "email":
        document.setdefault("subject", "Your cart")
    return Template.model_validate(document)


def _library(*templates: Template) -> dict[str, list[Template]]:
    library: dict[str, list[Template]] = defaultdict(list)
    for template in templates:
        library[template.template_id].append(template)
    return library


CART_TEMPLATES = _library(
    _template("cart_email", "email", "Finish here: {{ checkout.recovery_url }}\n" + FOOTER),
    _template(
        "cart_email",
        "email",
        "继续结算：{{ checkout.recovery_url }}\n" + FOOTER,
        locale="zh-CN",
    ),
    _template("cart_sms", "sms", "Finish: {{ checkout.recovery_url }} Reply STOP to opt out"),
)


def _flow(**changes: Any) -> dict[str, Any]:
    flow = copy.deepcopy(ABANDONED_CHECKOUT)
    flow.update(changes)
    return flow


def _with_step(index: int, **changes: Any) -> dict[str, Any]:
    flow = _flow()
    flow["steps"][index] = {**flow["steps"][index], **changes}
    return flow


def _refusal(data: Any, templates: dict[str, list[Template]] | None = None) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        if templates is None:
            parse_flow(data)
        else:
            validate_flow(data, templates)
    return caught.value


def _errors(data: Any, templates: dict[str, list[Template]] | None = None) -> list[dict[str, str]]:
    error = _refusal(data, templates)
    assert error.code == "invalid_flow"
    assert error.status == 400
    # Each message is a Text, rendered when answered; outside a request it reads in English.
    return [{**e, "message": str(e["message"])} for e in error.details["errors"]]


# ------------------------------------------------------------------ a valid flow


def test_the_documented_flow_is_accepted_and_round_trips() -> None:
    # Given the abandoned-checkout flow from the spec, with templates for both channels
    # When it is validated
    flow = validate_flow(ABANDONED_CHECKOUT, CART_TEMPLATES)
    # Then it parses, and its stored form reads back to the same flow
    assert [step.id for step in flow.steps][:2] == ["wait_1h", "email"]
    assert flow.steps[0].wait_seconds == 3_600  # type: ignore[union-attr]
    assert flow.steps[2].wait_seconds == 82_800  # type: ignore[union-attr]
    assert parse_flow(flow.as_document()) == flow
    assert flow.as_document()["steps"][3]["if"] == {
        "not": {"field": "checkout.completed", "op": "eq", "value": True}
    }


def test_a_flow_is_on_and_enters_once_unless_told_otherwise() -> None:
    # Given a flow that says nothing about enabled or reentry
    data = _flow()
    del data["enabled"], data["reentry"]
    # When it is parsed
    flow = parse_flow(data)
    # Then it is on (as the API's flow record defaults), and a contact goes through it once
    assert flow.enabled is True
    assert flow.reentry.policy == "once"


# ------------------------------------------------------------------ refused flows


def test_an_unknown_trigger_event_is_refused_with_the_allowed_list() -> None:
    # Given a trigger with a typo in the event name
    data = _flow(trigger={"event": "checkout.strated"})
    # When it is saved
    errors = _errors(data)
    # Then the error points at the event and says what is allowed
    assert errors[0]["loc"] == "trigger.event"
    assert "unknown event 'checkout.strated'" in errors[0]["message"]
    assert "checkout.started" in errors[0]["message"]


def test_a_trigger_is_an_event_or_a_segment_not_both() -> None:
    errors = _errors(_flow(trigger={"event": "order.paid", "segment": {"type": "dormant"}}))
    assert errors[0]["loc"] == "trigger"
    assert "either" in errors[0]["message"]


@pytest.mark.parametrize(
    ("segment", "problem"),
    [
        ({"type": "dormant", "days": 3}, "greater than or equal to 7"),
        ({"type": "dormant", "days": 1000}, "less than or equal to 730"),
        ({"type": "vip", "days": 90}, "'dormant'"),
    ],
)
def test_segment_triggers_are_checked(segment: dict[str, Any], problem: str) -> None:
    errors = _errors(_flow(trigger={"segment": segment}, exit=[]))
    assert errors[0]["loc"].startswith("trigger.segment")
    assert problem in errors[0]["message"]


@pytest.mark.parametrize("bad_id", ["Email", "send-email", "", "x" * 41, "end"])
def test_bad_step_ids_are_refused(bad_id: str) -> None:
    # Given a step id that is not lowercase snake case, too long, or the reserved "end"
    errors = _errors(_with_step(0, id=bad_id))
    # Then the id of that step is named
    assert errors[0]["loc"] == "steps[0].id"


def test_duplicate_step_ids_are_refused() -> None:
    errors = _errors(_with_step(2, id="wait_1h"))
    assert errors[0] == {
        "loc": "steps[2].id",
        "step": "wait_1h",
        "message": "duplicate step id 'wait_1h' (already used by steps[0])",
    }


@pytest.mark.parametrize("target", ["wait_1h", "unpaid"])
def test_a_branch_may_not_jump_back_or_to_itself(target: str) -> None:
    # Given a branch whose "else" would loop back
    data = _with_step(3, **{"else": target})
    # When it is saved
    error = _refusal(data)
    # Then the message names the step and says flows cannot loop
    assert error.details["errors"][0]["loc"] == "steps[3].else"
    assert "step 'unpaid'" in str(error.message)
    assert "only jump forward" in str(error.message)


def test_a_model_built_without_parse_flow_still_gets_the_cross_step_checks() -> None:
    # Given a definition with a backward branch, validated by pydantic alone
    model = flows.FlowDefinition.model_validate(_with_step(3, then="wait_1h"))
    # When it is validated for saving
    errors = _errors(model, CART_TEMPLATES)
    # Then the loop is still caught
    assert errors[0]["loc"] == "steps[3].then"


def test_a_branch_to_a_missing_step_is_refused() -> None:
    errors = _errors(_with_step(3, then="smss"))
    assert errors[0]["loc"] == "steps[3].then"
    assert "'smss' is not a step id" in errors[0]["message"]


def test_a_step_no_path_reaches_is_refused() -> None:
    # Given an exit in the middle with nothing jumping past it
    data = _flow()
    data["steps"].insert(2, {"id": "early_stop", "type": "exit"})
    # When it is saved
    errors = _errors(data)
    # Then every stranded step is reported
    assert [e["step"] for e in errors] == ["wait_rest", "unpaid", "sms", "morning", "stop"]
    assert errors[0] == {
        "loc": "steps[3]",
        "step": "wait_rest",
        "message": "no path through the flow reaches this step",
    }


def test_a_flow_that_sends_nothing_is_refused() -> None:
    errors = _errors(_flow(steps=[{"id": "wait", "type": "wait", "duration": "P1D"}]))
    assert errors[0]["message"] == "a flow needs at least one send step"


def test_an_unknown_key_is_refused_rather_than_ignored() -> None:
    # Given a send step with "chanel" instead of "channel"
    data = _flow()
    data["steps"][4] = {**data["steps"][4], "chanel": "email"}
    # When it is saved
    errors = _errors(data)
    # Then the typo is reported at its place
    assert {
        "loc": "steps[4].chanel",
        "step": "sms",
        "message": "unknown key (check the spelling)",
    } in errors


def test_unknown_keys_are_refused_at_every_level() -> None:
    data = _flow(reentry={"policy": "once", "sconds": 3})
    data["trigger"]["filters"][0]["vlaue"] = 3
    locs = {e["loc"] for e in _errors(data)}
    assert {"reentry.sconds", "trigger.filters[0].vlaue"} <= locs


def test_an_unknown_step_type_names_the_type() -> None:
    errors = _errors(_with_step(0, type="pause"))
    assert errors[0]["loc"] == "steps[0]"
    assert "step type 'pause' is not valid" in errors[0]["message"]


def test_fallback_is_only_for_email_steps() -> None:
    # Given an SMS step that tries to fall back to WhatsApp
    data = _with_step(4, fallback=["whatsapp"], fallback_templates={"whatsapp": "cart_wa"})
    # When it is saved
    error = _refusal(data)
    # Then the step and the rule are named
    assert error.details["errors"][0]["loc"] == "steps[4]"
    assert "step 'sms'" in str(error.message)
    assert "only allowed on a send step whose channel is email" in str(error.message)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"fallback": ["sms", "sms"]}, "must not repeat"),
        ({"fallback": ["email"], "fallback_templates": {"email": "x"}}, "cannot include email"),
        ({"fallback": [], "fallback_templates": {}}, "only allowed together with 'fallback'"),
        ({"fallback_templates": {}}, "missing: sms"),
        ({"fallback_templates": {"sms": "a", "whatsapp": "b"}}, "not in 'fallback': whatsapp"),
        ({"fallback_after": "PT0S"}, "must be positive"),
    ],
)
def test_fallback_rules(changes: dict[str, Any], problem: str) -> None:
    errors = _errors(_with_step(1, **changes))
    assert errors[0]["step"] == "email"
    assert problem in errors[0]["message"]


def test_an_engagement_condition_must_look_back_at_an_earlier_send() -> None:
    # Given a branch that tests a message the run only sends later
    data = _with_step(3, **{"if": {"message": "sms", "is": "opened"}})
    # When it is saved
    errors = _errors(data)
    # Then the condition is refused at its place
    assert errors[0]["loc"] == "steps[3].if.message"
    assert "'sms' is not an earlier send step" in errors[0]["message"]


def test_an_engagement_condition_on_a_wait_step_or_in_a_trigger_is_refused() -> None:
    on_wait = _with_step(3, **{"if": {"any": [{"message": "wait_1h", "is": "opened"}]}})
    assert _errors(on_wait)[0]["loc"] == "steps[3].if.any[0].message"
    in_trigger = _flow(
        trigger={"event": "checkout.started", "filters": [{"message": "email", "is": "opened"}]}
    )
    assert _errors(in_trigger)[0]["loc"] == "trigger.filters[0].message"


def test_conditions_may_only_read_data_the_trigger_provides() -> None:
    # Given a checkout flow filtering on an order field, and a segment flow reading the event
    on_checkout = _flow(
        trigger={
            "event": "checkout.started",
            "filters": [{"field": "order.total", "op": "gt", "value": 1}],
        }
    )
    segment = _flow(
        trigger={
            "segment": {"type": "dormant", "days": 90},
            "filters": [{"field": "event.x", "op": "exists"}],
        },
        exit=[],
    )
    # Then each is refused with what is available instead
    assert "'order.total' is not available" in _errors(on_checkout)[0]["message"]
    assert "'event.x' is not available" in _errors(segment)[0]["message"]


@pytest.mark.parametrize(
    ("predicate", "problem"),
    [
        ({"field": "customer.country", "op": "eq", "value": "US"}, "under one of contact"),
        ({"field": "contact.country", "op": "equals", "value": "US"}, "Input should be"),
        ({"field": "contact.country", "op": "eq"}, "needs a value"),
        ({"field": "contact.country", "op": "exists", "value": 1}, "takes no value"),
        ({"field": "contact.country", "op": "in", "value": "US"}, "needs a list"),
        ({"field": "contact.country", "op": "eq", "value": ["US"]}, "single value"),
        ({"field": "order.total", "op": "gt", "value": "lots"}, "needs a number"),
        ({"all": []}, "at least 1 item"),
        ({"field": "contact.country", "all": []}, "exactly one of"),
        ({"message": "email", "is": "read"}, "Input should be"),
    ],
)
def test_malformed_conditions_are_refused(predicate: dict[str, Any], problem: str) -> None:
    errors = _errors(_with_step(3, **{"if": predicate}))
    assert errors[0]["loc"].startswith("steps[3].if")
    assert problem in errors[0]["message"]


def test_conditions_may_not_nest_without_end() -> None:
    predicate: dict[str, Any] = {"field": "contact.country", "op": "eq", "value": "US"}
    for _ in range(flows.MAX_PREDICATE_DEPTH):
        predicate = {"not": predicate}
    assert "nest more than" in _errors(_with_step(3, **{"if": predicate}))[0]["message"]


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ({"id": "w", "type": "wait", "duration": "P1M"}, "years or months"),
        ({"id": "w", "type": "wait", "duration": "1h"}, "not an ISO-8601 duration"),
        ({"id": "w", "type": "wait", "duration": "PT0S"}, "must be positive"),
        ({"id": "w", "type": "wait", "seconds": -5}, "must be positive"),
        ({"id": "w", "type": "wait", "duration": "P366D"}, "maximum of 365 days"),
        ({"id": "w", "type": "wait", "duration": "PT1H", "seconds": 3600}, "exactly one"),
        ({"id": "w", "type": "wait"}, "exactly one"),
        ({"id": "w", "type": "wait_until", "local_time": "24:00"}, "should match pattern"),
        ({"id": "w", "type": "wait_until", "local_time": "9:00"}, "should match pattern"),
        ({"id": "w", "type": "wait_until", "local_time": "09:00", "weekdays": [0]}, ">= 1"),
        ({"id": "w", "type": "wait_until", "local_time": "09:00", "weekdays": [1, 1]}, "repeat"),
    ],
)
def test_bad_waits_are_refused(step: dict[str, Any], problem: str) -> None:
    data = _flow()
    data["steps"][0] = step
    errors = _errors(data)
    assert errors[0]["loc"].startswith("steps[0]")
    assert errors[0]["step"] == "w"
    assert problem in errors[0]["message"].replace("greater than or equal to ", ">= ")


@pytest.mark.parametrize(
    ("exit_rule", "problem"),
    [
        ({"event": "order.paid", "match": "sku"}, "Input should be"),
        ({"event": "order.payed", "match": "email"}, "unknown event"),
        (
            {"event": "order.paid", "match": "checkout_id"},
            "'order.paid' events carry no checkout_id",
        ),
    ],
)
def test_exit_rules_are_checked(exit_rule: dict[str, Any], problem: str) -> None:
    errors = _errors(_flow(exit=[exit_rule]))
    assert errors[0]["loc"].startswith("exit[0]")
    assert problem in errors[0]["message"]


def test_an_exit_on_an_id_the_trigger_lacks_could_never_fire() -> None:
    data = _flow(exit=[{"event": "checkout.completed", "match": "checkout_id"}])
    data["trigger"] = {"event": "order.paid"}
    assert {
        "loc": "exit[0].match",
        "message": "the trigger 'order.paid' has no checkout_id, so this exit could never match",
    } in _errors(data)


@pytest.mark.parametrize(
    ("reentry", "problem"),
    [
        ({"policy": "cooldown"}, "needs 'seconds'"),
        ({"policy": "once", "seconds": 60}, "only allowed with policy 'cooldown'"),
        ({"policy": "always"}, "Input should be"),
    ],
)
def test_reentry_rules(reentry: dict[str, Any], problem: str) -> None:
    assert problem in _errors(_flow(reentry=reentry))[0]["message"]


def test_every_problem_is_listed_not_just_the_first() -> None:
    # Given a flow with three unrelated mistakes
    data = _flow(name="  ", trigger={"event": "order.shipped"})
    data["steps"][1]["channel"] = "fax"
    # When it is saved
    error = _refusal(data)
    # Then all three are listed, and the message says there are more
    assert {e["loc"] for e in error.details["errors"]} == {
        "name",
        "trigger.event",
        "steps[1].channel",
    }
    assert str(error.message).endswith("(and 2 more)")


# ------------------------------------------------------------------ templates


def test_a_missing_template_is_refused() -> None:
    errors = _errors(ABANDONED_CHECKOUT, _library(*CART_TEMPLATES["cart_email"]))
    assert errors == [
        {
            "loc": "steps[1].fallback_templates.sms",
            "step": "email",
            "message": "no sms template 'cart_sms'",
        },
        {"loc": "steps[4].template", "step": "sms", "message": "no sms template 'cart_sms'"},
    ]


def test_a_template_of_another_channel_does_not_count() -> None:
    library = _library(
        *CART_TEMPLATES["cart_email"],
        _template("cart_sms", "email", "Finish: {{ checkout.recovery_url }}\n" + FOOTER),
    )
    errors = _errors(ABANDONED_CHECKOUT, library)
    assert errors[0]["message"] == "no sms template 'cart_sms' (it exists for email)"


def test_a_template_needing_order_data_is_refused_on_a_checkout_trigger() -> None:
    # Given the email template (in one locale) uses the order, which a checkout run doesn't have
    library = _library(
        _template("cart_email", "email", "Order {{ order.name }}\n" + FOOTER),
        _template("cart_email", "email", "继续结算\n" + FOOTER, locale="zh-CN"),
        *CART_TEMPLATES["cart_sms"],
    )
    # When the flow is validated
    error = _refusal(ABANDONED_CHECKOUT, library)
    # Then the step, the template, its locale and the missing variable are named
    assert error.details["errors"][0]["loc"] == "steps[1].template"
    assert "template 'cart_email' (en)" in str(error.message)
    assert "order.name" in str(error.message)
    assert "checkout.started" in str(error.message)


def test_a_template_must_have_the_purpose_of_its_step() -> None:
    # Given a transactional SMS template used by a marketing step (it would skip consent)
    library = _library(
        *CART_TEMPLATES["cart_email"],
        _template(
            "cart_sms", "sms", "Finish: {{ checkout.recovery_url }}", purpose="transactional"
        ),
    )
    errors = _errors(ABANDONED_CHECKOUT, library)
    assert "is transactional but the step sends marketing" in errors[0]["message"]


# ------------------------------------------------------------------ evaluating conditions

FACTS: dict[str, Any] = {
    "contact": {"country": "US", "first_name": "", "email": "mei@example.com", "tags": ["vip", 7]},
    "event": {"total": "12.50", "completed": False, "items": 3},
    "checkout": {"total": "12.50", "currency": "USD", "completed": False, "recovery_url": None},
    "order": None,
    "messages": {"email": "opened", "sms": "bounced", "push": "queued"},
}


@pytest.mark.parametrize(
    ("predicate", "expected"),
    [
        # money kept as strings compares as a number, never as text
        ({"field": "checkout.total", "op": "gt", "value": 9}, True),
        ({"field": "checkout.total", "op": "gt", "value": "100"}, False),
        ({"field": "checkout.total", "op": "gte", "value": 12.5}, True),
        ({"field": "checkout.total", "op": "lt", "value": "12.500"}, False),
        ({"field": "checkout.total", "op": "lte", "value": "12.500"}, True),
        ({"field": "checkout.total", "op": "eq", "value": 12.5}, True),
        ({"field": "checkout.total", "op": "eq", "value": "12.5"}, False),  # two texts: as text
        ({"field": "event.items", "op": "in", "value": ["3", 4]}, True),
        ({"field": "contact.country", "op": "gt", "value": 1}, False),  # not a number: false
        # strings, lists, booleans
        ({"field": "contact.country", "op": "eq", "value": "US"}, True),
        ({"field": "contact.country", "op": "in", "value": ["CA", "US"]}, True),
        ({"field": "contact.country", "op": "not_in", "value": ["CA", "US"]}, False),
        ({"field": "contact.email", "op": "contains", "value": "@example."}, True),
        ({"field": "contact.tags", "op": "contains", "value": "vip"}, True),
        ({"field": "contact.tags", "op": "contains", "value": 7}, True),
        ({"field": "contact.tags", "op": "contains", "value": "7"}, True),  # a number beside it
        ({"field": "contact.tags", "op": "contains", "value": "VIP"}, False),  # case matters
        ({"field": "checkout.completed", "op": "eq", "value": False}, True),
        ({"field": "checkout.completed", "op": "eq", "value": 0}, False),  # a bool is not 0
        # missing, None and blank are "does not exist", and never an exception
        ({"field": "contact.phone", "op": "eq", "value": "x"}, False),
        ({"field": "contact.phone", "op": "gt", "value": 0}, False),
        ({"field": "contact.phone", "op": "contains", "value": "x"}, False),
        ({"field": "contact.phone", "op": "ne", "value": "x"}, True),
        ({"field": "contact.phone", "op": "not_in", "value": ["x"]}, True),
        ({"field": "contact.phone", "op": "exists"}, False),
        ({"field": "contact.phone", "op": "not_exists"}, True),
        ({"field": "contact.first_name", "op": "exists"}, False),
        ({"field": "checkout.recovery_url", "op": "not_exists"}, True),
        ({"field": "order.total", "op": "lt", "value": 5}, False),  # no order at all
        ({"field": "contact.country.code", "op": "exists"}, False),  # through a string
        ({"field": "tenant.name", "op": "exists"}, False),  # no tenant facts given
        # combinators
        (
            {
                "all": [
                    {"field": "contact.country", "op": "eq", "value": "US"},
                    {"field": "event.items", "op": "gte", "value": 3},
                ]
            },
            True,
        ),
        (
            {
                "all": [
                    {"field": "contact.country", "op": "eq", "value": "US"},
                    {"field": "event.items", "op": "gt", "value": 3},
                ]
            },
            False,
        ),
        (
            {
                "any": [
                    {"field": "contact.country", "op": "eq", "value": "CA"},
                    {"field": "event.items", "op": "gt", "value": 2},
                ]
            },
            True,
        ),
        (
            {
                "any": [
                    {"field": "contact.country", "op": "eq", "value": "CA"},
                    {"field": "contact.phone", "op": "exists"},
                ]
            },
            False,
        ),
        ({"not": {"field": "checkout.completed", "op": "eq", "value": True}}, True),
        ({"not": {"not": {"field": "contact.phone", "op": "exists"}}}, False),
    ],
)
def test_conditions_evaluate(predicate: dict[str, Any], expected: bool) -> None:
    assert evaluate(predicate, FACTS) is expected


@pytest.mark.parametrize(
    ("state", "delivered", "opened", "clicked", "bounced"),
    [
        (None, False, False, False, False),  # never sent (a branch skipped it)
        ("queued", False, False, False, False),
        ("held", False, False, False, False),
        ("sent", False, False, False, False),
        ("delivered", True, False, False, False),
        ("opened", True, True, False, False),
        ("clicked", True, True, True, False),  # a click implies an open
        ("bounced", False, False, False, True),
        ("complained", False, False, False, False),
        ("suppressed", False, False, False, False),
        ("failed", False, False, False, False),
    ],
)
def test_engagement_follows_the_message_state_order(
    state: str | None, delivered: bool, opened: bool, clicked: bool, bounced: bool
) -> None:
    # Given the state of the run's "email" message
    facts = {"messages": {} if state is None else {"email": state}}

    # When each engagement test is evaluated
    def holds(test: str) -> bool:
        return evaluate({"message": "email", "is": test}, facts)

    # Then the positive tests follow the state order and the negative ones are their opposite
    assert (holds("delivered"), holds("opened"), holds("clicked"), holds("bounced")) == (
        delivered,
        opened,
        clicked,
        bounced,
    )
    assert holds("not_opened") is not opened
    assert holds("not_clicked") is not clicked


def test_ne_is_always_the_negation_of_eq() -> None:
    for path in ("contact.country", "contact.phone", "checkout.total", "order.total"):
        for value in ("US", 12.5, "12.50", True):
            eq = evaluate({"field": path, "op": "eq", "value": value}, FACTS)
            ne = evaluate({"field": path, "op": "ne", "value": value}, FACTS)
            assert eq is not ne


def test_an_invalid_condition_is_a_bad_request_not_a_crash() -> None:
    with pytest.raises(BadRequest) as caught:
        evaluate({"field": "contact.country", "op": "like", "value": "U%"}, FACTS)
    assert caught.value.details["errors"][0]["loc"] == "op"


# ------------------------------------------------------------------ durations


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1H", 3_600),
        ("P1D", 86_400),
        ("P1DT2H", 93_600),
        ("PT90M", 5_400),
        ("PT45S", 45),
        ("P2W", 1_209_600),
        ("P1DT1H1M1S", 90_061),
        ("pt1h", 3_600),
        ("P365D", 31_536_000),
        (3_600, 3_600),
    ],
)
def test_durations_parse(text: str | int, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", "P", "PT", "P1DT", "1h", "PT1.5H", "P1Y", "P1M", "PT-1H", "3600", 0, -1, True, 31_536_001],
)
def test_bad_durations_are_refused(text: Any) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


# ------------------------------------------------------------------ engine helpers


def test_next_step_runs_in_order_and_branches_forward() -> None:
    # Given the abandoned-checkout flow
    flow = parse_flow(ABANDONED_CHECKOUT)
    branch = step_index(flow, "unpaid")
    assert branch == 3
    # When a plain step finishes, then the following one runs
    assert next_step(flow, 0) == 1
    # When the branch finds the checkout still open, then it goes to the SMS, else it ends
    assert next_step(flow, branch, {"checkout": {"completed": False}}) == step_index(flow, "sms")
    assert next_step(flow, branch, {"checkout": {"completed": True}}) is None
    # And an exit step ends the run, as does running off the end
    assert next_step(flow, step_index(flow, "stop") or 0) is None
    short = parse_flow(_flow(steps=ABANDONED_CHECKOUT["steps"][:2]))
    assert next_step(short, 1) is None


def test_step_index_knows_end_and_refuses_unknown_ids() -> None:
    flow = parse_flow(ABANDONED_CHECKOUT)
    assert step_index(flow, "end") is None
    with pytest.raises(KeyError):
        step_index(flow, "nope")
    # Without facts a branch answers its default successor; the caller resolves it itself
    assert next_step(flow, 3) == 4


def test_match_trigger_needs_the_event_type_and_the_filters() -> None:
    # Given the flow, which only starts for checkouts of 20 or more
    flow = parse_flow(ABANDONED_CHECKOUT)
    big, small = {"total": "25.00"}, {"total": "19.99"}
    # Then a big checkout starts it; a small one or another event doesn't
    assert match_trigger(flow, "checkout.started", big, {"checkout": big})
    assert not match_trigger(flow, "checkout.started", small, {"checkout": small})
    assert not match_trigger(flow, "checkout.updated", big, {"checkout": big})


def test_the_engine_helpers_read_the_stored_document_too() -> None:
    # Given the document the API stores for a flow
    document = parse_flow(ABANDONED_CHECKOUT).as_document()
    # Then the helpers answer from it as from the parsed flow
    assert step_index(document, "sms") == 4
    assert next_step(document, 3, {"checkout": {"completed": True}}) is None
    assert next_step(document, 6) is None  # the exit step
    assert match_trigger(document, "checkout.started", {}, {"checkout": {"total": "20"}})
    # And a corrupted document is an invalid_flow error, not a crash deep in the engine
    document["steps"][0]["type"] = "sleep"
    with pytest.raises(BadRequest) as caught:
        next_step(document, 0)
    assert caught.value.code == "invalid_flow"


def test_event_filters_read_the_event_detail() -> None:
    flow = parse_flow(
        _flow(
            trigger={
                "event": "checkout.started",
                "filters": [{"field": "event.country", "op": "in", "value": ["DE", "FR"]}],
            }
        )
    )
    assert match_trigger(flow, "checkout.started", {"country": "DE"})
    assert not match_trigger(flow, "checkout.started", {"country": "US"})
    assert not match_trigger(flow, "checkout.started", {})


def test_a_segment_flow_is_never_started_by_an_event() -> None:
    flow = parse_flow(PRESETS["win_back"].definition())
    assert not match_trigger(flow, "order.placed", {}, {})


# ------------------------------------------------------------------ presets

SAMPLE_CONTEXT: dict[str, Any] = {
    # Sized for the SMS budget the presets promise: a 30-character store name, a 19-character
    # marketplace order name and 60-character links.
    "contact": {
        "first_name": "Mei",
        "last_name": "Lin",
        "email": "mei@example.com",
        "phone": "+14155550100",
        "country": "US",
        "locale": "en",
        "time_zone": "America/Los_Angeles",
    },
    "tenant": {"name": "Aurora Outdoor & Camping Gear"},
    "order": {
        "order_id": "o_1",
        "name": "113-1234567-1234567",
        "total": "129.90",
        "currency": "USD",
        "status": "paid",
        "created_at": "2026-01-02T03:04:05+00:00",
        "items_count": 3,
        "market": "US",
    },
    "checkout": {
        "checkout_id": "c_1",
        "recovery_url": "https://aurora-outdoor.example.com/r/" + "k" * 23,
        "total": "59.50",
        "currency": "USD",
    },
    "shipment": {
        "tracking_company": "DHL Express",
        "tracking_number": "1234567890",
        "tracking_url": "https://www.dhl.com/track?AWB=" + "1" * 30,
    },
    "refund": {"amount": "20.00", "currency": "USD", "reason": "damaged"},
    "links": {
        "unsubscribe_url": "https://links.example.com/u/abc",
        "preferences_url": "https://links.example.com/p/abc",
    },
}


def _preset_templates(key: str) -> dict[str, list[Template]]:
    return _library(*(Template.model_validate(d) for d in PRESETS[key].templates()))


def test_the_presets_are_the_seven_the_product_offers() -> None:
    assert set(PRESETS) == {
        "welcome",
        "abandoned_checkout",
        "order_confirmation",
        "shipping_update",
        "review_request",
        "win_back",
        "refund_followup",
    }
    assert all(
        preset.key == key and preset.name and preset.description for key, preset in PRESETS.items()
    )


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_every_preset_validates_with_its_own_templates(key: str) -> None:
    # Given a preset's definition and templates
    preset = PRESETS[key]
    templates = _preset_templates(key)
    # When the flow is validated the way a seller's flow is
    flow = validate_flow(preset.definition(), templates)
    # Then it is accepted, and every template passes the template checks for the trigger
    assert flow.enabled
    for versions in templates.values():
        for template in versions:
            validate(template, flows.contexts_for(flow.trigger))


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_every_preset_template_exists_in_english_and_chinese(key: str) -> None:
    flow = parse_flow(PRESETS[key].definition())
    templates = _preset_templates(key)
    for step in flow.steps:
        if isinstance(step, flows.SendStep):
            for channel, template_id in step.templates_by_channel().items():
                locales = {t.locale for t in templates[template_id] if t.channel == channel}
                assert locales == {"en", "zh-CN"}, (key, template_id)
                assert template_id.startswith(f"preset.{key}.")


@pytest.mark.parametrize("key", sorted(PRESETS))
def test_preset_templates_render_and_keep_the_copy_rules(key: str) -> None:
    for document in PRESETS[key].templates():
        # Given one preset template
        template = Template.model_validate(document)
        # When it is rendered for a realistic contact
        rendered = render(template, SAMPLE_CONTEXT)
        where = (template.template_id, template.locale)
        # Then it reads without leftovers and keeps the rules for its channel and purpose
        assert "{{" not in rendered.text and "None" not in rendered.text, where
        marketing = template.purpose == "marketing"
        if template.channel == "email":
            assert rendered.subject, where
            assert ("https://links.example.com/u/abc" in rendered.text) is marketing, where
        if template.channel in ("sms", "whatsapp") and marketing:
            assert rendered.text.endswith("\n" + SMS_OPT_OUT[template.locale]), where
        if template.channel == "sms":
            assert rendered.sms is not None
            if template.locale == "en":
                assert (rendered.sms.encoding, rendered.sms.segments) == ("GSM-7", 1), where
            else:
                assert rendered.sms.segments <= 2, where
                assert rendered.text.startswith("【" + SAMPLE_CONTEXT["tenant"]["name"] + "】")


def test_preset_copy_is_natural_chinese_where_it_counts() -> None:
    (email,) = [
        d
        for d in PRESETS["abandoned_checkout"].templates()
        if d["channel"] == "email" and d["locale"] == "zh-CN"
    ]
    assert email["subject"] == "您的购物车还在等您"
    assert "退订：{{ links.unsubscribe_url }}" in email["body"]


def test_abandoned_checkout_preset_reminds_only_while_the_checkout_is_open() -> None:
    # Given the abandoned-checkout preset
    flow = parse_flow(PRESETS["abandoned_checkout"].definition())
    branch = step_index(flow, "still_open")
    assert branch is not None
    # Then the SMS goes only while the checkout is open, and completing or paying ends the run
    assert next_step(flow, branch, {"checkout": {"completed": False}}) == step_index(
        flow, "reminder_sms"
    )
    assert next_step(flow, branch, {"checkout": {"completed": True}}) is None
    assert {(rule.event, rule.match) for rule in flow.exit} == {
        ("checkout.completed", "checkout_id"),
        ("order.paid", "email"),
    }
    assert flow.reentry.policy == "once_per_trigger"
    assert (
        sum(step.wait_seconds for step in flow.steps if isinstance(step, flows.WaitStep)) == 86_400
    )


def test_win_back_nudges_unopened_offers_by_the_local_channel() -> None:
    flow = parse_flow(PRESETS["win_back"].definition())
    unopened, pick = step_index(flow, "unopened"), step_index(flow, "pick_channel")
    assert unopened is not None and pick is not None
    # Given the offer email was delivered but not opened, the nudge goes out
    assert next_step(flow, unopened, {"messages": {"offer_email": "delivered"}}) == pick
    # but not once it was opened, nor when it never arrived
    assert next_step(flow, unopened, {"messages": {"offer_email": "clicked"}}) is None
    assert next_step(flow, unopened, {"messages": {"offer_email": "bounced"}}) is None
    # And Brazil gets WhatsApp, the US (or an unknown country) SMS
    whatsapp, sms = step_index(flow, "whatsapp_nudge"), step_index(flow, "sms_nudge")
    assert next_step(flow, pick, {"contact": {"country": "BR"}}) == whatsapp
    assert next_step(flow, pick, {"contact": {"country": "US"}}) == sms
    assert next_step(flow, pick, {"contact": {}}) == sms
    assert flow.reentry.policy == "cooldown" and flow.reentry.seconds == 180 * 86_400


def test_preset_copies_are_independent() -> None:
    # Given a caller that edits the definition it got
    preset = PRESETS["welcome"]
    edited = preset.definition()
    edited["name"] = "Mine"
    edited["steps"].clear()
    # Then the preset itself is unchanged
    assert preset.definition()["name"] == "Welcome series"
    assert len(preset.definition()["steps"]) == 3
