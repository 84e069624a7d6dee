"""Provider feedback parsers (``linkstar.outreach.feedback_events``) against published payloads.

Where each payload comes from:

- ``../shared/fixtures/ses/*.json``, ``sns/*.json``, ``aws/sns_sqs_event.json``: see that
  directory's SOURCES.md (AWS developer guides, Powertools test events).
- ``events/ses_event_records.json``: the Send, Reject, Open, Click, Rendering Failure,
  DeliveryDelay and Subscription records from the SES developer guide, "Examples of event data
  that Amazon SES publishes to Amazon SNS" (awsdocs/amazon-ses-developer-guide,
  ``event-publishing-retrieving-sns-examples.md``), verbatim, keyed by ``eventType``.
- ``events/sms_inbound_sns.json``: AWS End User Messaging SMS user guide, "Example of a two-way
  SMS message payload for Amazon SNS topics" (two-way-sms-payload), verbatim.
- ``events/whatsapp_inbound_text_webhook.json``: Meta, WhatsApp Business Platform "messages
  webhook reference", the incoming text message example, verbatim.
- ``events/whatsapp_status_webhook.json``: Meta "Status messages webhook reference" syntax with
  its placeholders filled in from the example above (same WABA, phone number id and user); the
  wamid, timestamp and ``biz_opaque_callback_data`` values are illustrative.
- SNS envelopes are ``sns/http_notification.json`` (the documented envelope) with ``Message``
  replaced; CloudWatch Logs subscription events are built here, gzip + base64, in the
  documented ``awslogs.data`` shape. Every other variation is an in-memory copy that says what
  changed.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from linkstar.errors import PermanentError
from linkstar.outreach.feedback_events import (
    KIND_RANK,
    NEGATIVE_KINDS,
    FeedbackEvent,
    advances,
    from_cloudwatch_logs,
    from_sqs_body,
    from_whatsapp_webhook,
    opt_in_keyword,
    opt_out_keyword,
    verify_whatsapp_signature,
)
from pydantic import ValidationError

from tests.support import REPO, fixture_json

APP_SECRET = "whatsapp-app-secret-for-tests"


def sample_bytes(name: str) -> bytes:
    return (REPO / "events" / name).read_bytes()


def sample(name: str) -> Any:
    return json.loads(sample_bytes(name))


def sns_envelope(message: object) -> str:
    """The documented SNS envelope (Type=Notification) carrying ``message`` as its JSON string,
    as SNS delivers to SQS without raw message delivery."""
    envelope = fixture_json("sns/http_notification.json")
    envelope["Message"] = message if isinstance(message, str) else json.dumps(message)
    return json.dumps(envelope)


ENVELOPE_TIME = datetime(2012, 5, 2, 0, 54, 6, 655000, tzinfo=UTC)  # its "Timestamp"


def cloudwatch_event(*records: object, message_type: str = "DATA_MESSAGE") -> dict[str, Any]:
    """A Lambda CloudWatch Logs subscription event whose log lines are ``records``."""
    document = {
        "messageType": message_type,
        "owner": "123456789012",
        "logGroup": "sns/us-east-1/123456789012/DirectPublishToPhoneNumber",
        "logStream": "34d9b400-c6dd-5444-820d-fbeb0f1f54cf",
        "subscriptionFilters": ["linkstar-sms-status"],
        "logEvents": [
            {"id": str(i), "timestamp": 1467074434558, "message": json.dumps(r)}
            for i, r in enumerate(records)
        ],
    }
    data = base64.b64encode(gzip.compress(json.dumps(document).encode())).decode()
    return {"awslogs": {"data": data}}


def signed(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def only(events: list[FeedbackEvent]) -> FeedbackEvent:
    assert len(events) == 1, events
    return events[0]


# --------------------------------------------------------------------------- SES fixtures

IDENTITY_MESSAGE_ID = "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000"
EVENT_MESSAGE_ID = "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000"
SES_FIXTURES = {
    # fixture: (kind, recipients, occurred_at, permanent, reason, provider_message_id, account)
    "ses/bounce.json": (
        "bounced",
        ("jane@example.com",),
        "2016-01-27T14:59:38.237+00:00",
        True,
        "General: smtp; 550 5.1.1 <jane@example.com>... User",
        IDENTITY_MESSAGE_ID,
        "example.com",
    ),
    "ses/complaint.json": (
        "complained",
        ("richard@example.com",),
        "2016-01-27T14:59:38.237+00:00",
        None,
        "abuse",
        "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
        "example.com",
    ),
    "ses/delivery.json": (
        "delivered",
        ("jane@example.com",),
        "2016-01-27T14:59:38.237+00:00",
        None,
        None,
        "0000014644fe5ef6-9a483358-9170-4cb4-a269-f5dcdf415321-000000",
        "example.com",
    ),
    "ses/event_bounce.json": (
        "bounced",
        ("recipient@example.com",),
        "2017-08-05T00:41:02.669+00:00",
        True,
        "General: smtp; 550 5.1.1 user unknown",
        EVENT_MESSAGE_ID,
        "sender@example.com",
    ),
    "ses/event_complaint.json": (
        "complained",
        ("recipient@example.com",),
        "2017-08-05T00:41:02.669+00:00",
        None,
        "abuse",
        EVENT_MESSAGE_ID,
        "sender@example.com",
    ),
    "ses/event_delivery.json": (
        "delivered",
        ("recipient@example.com",),
        "2016-10-19T23:21:04.133+00:00",
        None,
        None,
        EVENT_MESSAGE_ID,
        "sender@example.com",
    ),
}


@pytest.mark.parametrize("wrapping", ["sns_envelope", "raw_delivery"])
@pytest.mark.parametrize("fixture", sorted(SES_FIXTURES))
def test_every_ses_fixture_parses_the_same_enveloped_or_raw(fixture: str, wrapping: str) -> None:
    # Given: a published SES notification, as SNS delivers it to SQS either way
    payload = fixture_json(fixture)
    body = sns_envelope(payload) if wrapping == "sns_envelope" else json.dumps(payload)
    kind, recipients, when, permanent, reason, message_id, account = SES_FIXTURES[fixture]

    # When
    event = only(from_sqs_body(body))

    # Then: one normalised event about that message and recipient
    assert event.provider == "ses"
    assert event.kind == kind
    assert event.recipients == recipients
    assert event.occurred_at == at(when)
    assert event.permanent is permanent
    assert event.reason == reason
    assert event.provider_message_id == message_id
    assert event.account == account
    assert event.raw_type == payload.get("eventType", payload.get("notificationType"))


def test_identity_notifications_carry_no_tags_and_event_publishing_flattens_them() -> None:
    # Given: an identity notification (no tags) and a configuration-set event (tags)
    # When
    identity = only(from_sqs_body(json.dumps(fixture_json("ses/delivery.json"))))
    published = only(from_sqs_body(json.dumps(fixture_json("ses/event_delivery.json"))))

    # Then: each tag keeps its first value
    assert identity.tags == {}
    assert published.tags["ses:configuration-set"] == "ConfigSet"
    assert published.tags["myCustomTag1"] == "myCustomTagValue1"


def test_linkstar_tags_come_back_as_plain_strings() -> None:
    # Given: the event_delivery fixture with the tags LinkStar sends added
    payload = fixture_json("ses/event_delivery.json")
    payload["mail"]["tags"]["tenant_id"] = ["tsample0000a"]
    payload["mail"]["tags"]["message_id"] = ["msg-0001"]

    # When
    event = only(from_sqs_body(sns_envelope(payload)))

    # Then: the feedback can be routed to the tenant's message without a lookup
    assert event.tags["tenant_id"] == "tsample0000a"
    assert event.tags["message_id"] == "msg-0001"


def test_a_bounce_yields_one_event_per_bounced_recipient_only() -> None:
    # Given: bounce.json (three destinations, Jane bounced) with Mary bouncing too, upper-cased
    payload = fixture_json("ses/bounce.json")
    mary = {"emailAddress": "Mary@Example.com", "status": "5.1.1", "action": "failed"}
    payload["bounce"]["bouncedRecipients"].append(mary)

    # When
    events = from_sqs_body(sns_envelope(payload))

    # Then: Richard, who did not bounce, is not reported; addresses are lower-cased
    assert [e.recipients for e in events] == [("jane@example.com",), ("mary@example.com",)]
    assert all(e.kind == "bounced" and e.permanent is True for e in events)
    assert events[1].reason == "General: 5.1.1"


def test_a_transient_bounce_is_soft() -> None:
    # Given: event_bounce.json reported as a Transient (soft) bounce
    payload = fixture_json("ses/event_bounce.json")
    payload["bounce"].update(bounceType="Transient", bounceSubType="MailboxFull")

    # When
    event = only(from_sqs_body(json.dumps(payload)))

    # Then
    assert event.permanent is False
    assert event.reason == "MailboxFull: smtp; 550 5.1.1 user unknown"


# --------------------------------------------------------------------------- SES, other events

SES_RECORDS = {
    # eventType: (kind, recipients, occurred_at, reason, link)
    "Send": ("sent", ("recipient@example.com",), "2016-10-14T05:02:16.645+00:00", None, None),
    # The guide's Reject example really lists the sender as its destination.
    "Reject": (
        "rejected",
        ("sender@example.com",),
        "2016-10-14T17:38:15.211+00:00",
        "Bad content",
        None,
    ),
    "Open": ("opened", ("recipient@example.com",), "2017-08-09T22:00:19.652+00:00", None, None),
    "Click": (
        "clicked",
        ("recipient@example.com",),
        "2017-08-09T23:51:25.570+00:00",
        None,
        "http://docs.aws.amazon.com/ses/latest/DeveloperGuide/send-email-smtp.html",
    ),
    "Rendering Failure": (
        "failed",
        ("recipient@example.com",),
        "2018-01-22T18:43:06.197+00:00",
        "MyTemplate: Attribute 'attributeName' is not present in the rendering data.",
        None,
    ),
    "DeliveryDelay": (
        "delayed",
        ("recipient@example.com",),
        "2020-06-16T00:25:40.095+00:00",
        "TransientCommunicationFailure: smtp; 421 4.4.1 Unable to connect to remote host",
        None,
    ),
    "Subscription": (
        "unsubscribed",
        ("recipient@example.com",),
        "2022-01-12T01:00:17.910+00:00",
        "all topics: UnsubscribeHeader",
        None,
    ),
}


@pytest.mark.parametrize("event_type", sorted(SES_RECORDS))
def test_every_ses_event_type_maps_to_its_kind(event_type: str) -> None:
    # Given: the SES guide's example record for this event type, through SNS
    record = sample("ses_event_records.json")[event_type]
    kind, recipients, when, reason, link = SES_RECORDS[event_type]

    # When
    event = only(from_sqs_body(sns_envelope(record)))

    # Then
    assert (event.kind, event.recipients, event.occurred_at) == (kind, recipients, at(when))
    assert (event.reason, event.link) == (reason, link)
    assert event.raw_type == event_type
    assert event.tags["ses:configuration-set"] == "ConfigSet"
    # Open and Click records carry no sourceArn: the identity falls back to the source address.
    assert event.account == "sender@example.com"


def test_an_ses_subscription_opt_out_carries_its_list_and_topics() -> None:
    # Given: the guide's Subscription record (unsubscribe from all), and the same record opting
    # out of one topic only
    record = sample("ses_event_records.json")["Subscription"]
    one_topic = copy.deepcopy(record)
    one_topic["subscription"]["newTopicPreferences"]["unsubscribeAll"] = False

    # When
    everything = only(from_sqs_body(sns_envelope(record)))
    topic = only(from_sqs_body(sns_envelope(one_topic)))

    # Then: the contact list and the topics are there to be kept as the opt-out's proof
    assert (everything.contact_list, everything.topics) == ("ContactListName", ())
    assert (topic.kind, topic.contact_list, topic.topics) == (
        "unsubscribed",
        "ContactListName",
        ("ExampleTopicName",),
    )
    assert topic.reason == "ExampleTopicName: UnsubscribeHeader"


def test_an_ses_subscription_opt_in_is_not_feedback() -> None:
    # Given: the Subscription record turned into a re-subscription to the topic
    record = copy.deepcopy(sample("ses_event_records.json")["Subscription"])
    record["subscription"]["newTopicPreferences"] = {
        "unsubscribeAll": False,
        "topicSubscriptionStatus": [
            {"topicName": "ExampleTopicName", "subscriptionStatus": "OptIn"}
        ],
    }

    # When / Then: consent is never restored from a provider event
    assert from_sqs_body(json.dumps(record)) == []


# --------------------------------------------------------------------------- SNS plumbing


def test_sns_subscription_confirmation_is_skipped() -> None:
    # Given: the documented SubscriptionConfirmation body
    body = json.dumps(fixture_json("sns/http_subscription_confirmation.json"))

    # When / Then: nothing to record, nothing to dead-letter (and no SubscribeURL is fetched)
    assert from_sqs_body(body) == []


@pytest.mark.parametrize(
    "message",
    [
        # What SES publishes when an identity's topic is set up or an event destination added.
        {
            "notificationType": "AmazonSnsSubscriptionSucceeded",
            "message": "You have successfully subscribed your Amazon SNS topic "
            "'arn:aws:sns:us-east-1:123456789012:MyTopic' to receive 'Bounce' notifications "
            "from Amazon SES for identity 'example.com'.",
        },
        "Successfully validated SNS topic for Amazon SES event publishing.",
    ],
)
def test_ses_topic_setup_notices_are_skipped(message: object) -> None:
    assert from_sqs_body(sns_envelope(message)) == []


def test_the_powertools_sns_to_sqs_delivery_is_not_feedback() -> None:
    # Given: a real SNS→SQS delivery whose Message is {"message": "hello world", "username": …}
    body = fixture_json("aws/sns_sqs_event.json")["Records"][0]["body"]

    # When
    with pytest.raises(PermanentError) as caught:
        from_sqs_body(body)

    # Then: dead-lettered with a machine-readable reason that names the shape, not the content
    assert caught.value.code == "unknown_feedback"
    assert caught.value.details["shape"] == ["message", "username"]
    assert "lessa" not in str(caught.value.details)


@pytest.mark.parametrize(
    "body",
    [
        sns_envelope("Hello world!"),  # the documented envelope's own plain-text Message
        "not json",
        "[]",
        json.dumps({"eventType": "Bounce"}),  # no mail object
        json.dumps({"eventType": "Teleport", "mail": {"timestamp": "2020-01-01T00:00:00Z"}}),
        json.dumps({"notificationType": "Received", "mail": {}, "receipt": {}}),
    ],
)
def test_unknown_shapes_are_permanent_errors(body: str) -> None:
    with pytest.raises(PermanentError) as caught:
        from_sqs_body(body)
    assert caught.value.code == "unknown_feedback"


def test_a_bounce_with_malformed_recipients_is_dead_lettered() -> None:
    # Given: event_bounce.json with its recipients as bare strings instead of objects
    record = fixture_json("ses/event_bounce.json")
    record["bounce"]["bouncedRecipients"] = ["recipient@example.com"]

    # When / Then
    with pytest.raises(PermanentError) as caught:
        from_sqs_body(json.dumps(record))
    assert caught.value.code == "unknown_feedback"


def test_a_whatsapp_payload_with_the_wrong_structure_is_dead_lettered() -> None:
    # Given: the status webhook with its metadata as a list (a structural error, not a field)
    payload = sample("whatsapp_status_webhook.json")
    payload["entry"][0]["changes"][0]["value"]["metadata"] = ["106540352242922"]

    # When / Then: a permanent error, not an AttributeError the caller would retry
    with pytest.raises(PermanentError) as caught:
        from_whatsapp_webhook(payload)
    assert caught.value.code == "unknown_feedback"


def test_loose_scalars_are_tolerated_without_inventing_values() -> None:
    # Given: the Reject record with a numeric reason and a single address for a list
    record = copy.deepcopy(sample("ses_event_records.json")["Reject"])
    record["reject"]["reason"] = 42
    record["mail"]["destination"] = "Sender@Example.com"

    # When
    event = only(from_sqs_body(json.dumps(record)))

    # Then
    assert event.recipients == ("sender@example.com",)
    assert event.reason is None


# --------------------------------------------------------------------------- SMS inbound


def test_an_inbound_sms_through_sns_is_dated_by_the_envelope() -> None:
    # Given: the documented two-way SMS payload in an SNS envelope
    body = sns_envelope(sample("sms_inbound_sns.json"))

    # When
    event = only(from_sqs_body(body))

    # Then: who wrote, to which of our numbers, what, and in reply to which message
    assert event.provider == "sns_sms"
    assert event.kind == "inbound"
    assert event.recipients == ("+14255550182",)
    assert event.destination == event.account == "+12125550101"
    assert event.text == "EXAMPLE"
    assert event.provider_message_id == "cae173d2-66b9-564c-8309-21f858e9fb84"
    assert event.in_reply_to == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    assert event.occurred_at == ENVELOPE_TIME


def test_a_raw_inbound_sms_is_dated_by_the_queue_or_by_now() -> None:
    # Given: the payload delivered raw (it has no timestamp of its own)
    body = sample_bytes("sms_inbound_sns.json").decode()
    sent = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)

    # When
    queued = only(from_sqs_body(body, received_at=sent))
    before = datetime.now(UTC)
    undated = only(from_sqs_body(body))

    # Then: the SQS time when given; otherwise the time it was read, never dropped
    assert queued.occurred_at == sent
    assert undated.occurred_at >= before


def test_an_inbound_stop_is_recognised_by_the_keyword_helpers() -> None:
    # Given: the documented payload with the customer replying "Stop"
    payload = sample("sms_inbound_sns.json")
    payload["messageBody"] = "Stop"

    # When
    event = only(from_sqs_body(sns_envelope(payload)))

    # Then
    assert event.kind == "inbound"
    assert opt_out_keyword(event.text)


# --------------------------------------------------------------------------- SMS delivery status


def test_sms_delivery_status_from_cloudwatch_logs() -> None:
    # Given: the documented delivery status log line, as a subscription filter delivers it
    record = fixture_json("sns/sms_delivery_status.json")

    # When
    event = only(from_cloudwatch_logs(cloudwatch_event(record)))

    # Then
    assert event.provider == "sns_sms"
    assert event.kind == "delivered"
    assert event.provider_message_id == "34d9b400-c6dd-5444-820d-fbeb0f1f54cf"
    assert event.occurred_at == datetime(2016, 6, 28, 0, 40, 34, 558000, tzinfo=UTC)
    assert event.reason == "Message has been accepted by phone carrier"
    assert event.raw_type == "SUCCESS"
    # The docs mask the number ("+1XXX5550100"); it is left out, never read as a vanity number.
    assert event.recipients == ()


def test_a_failed_sms_with_a_real_number() -> None:
    # Given: the log line as a FAILURE to a well-formed number
    record = fixture_json("sns/sms_delivery_status.json")
    record["status"] = "FAILURE"
    record["delivery"].update(
        destination="+12065550100", providerResponse="Phone is currently unreachable/unavailable"
    )

    # When: in a batch with the original line
    events = from_cloudwatch_logs(
        cloudwatch_event(fixture_json("sns/sms_delivery_status.json"), record)
    )

    # Then
    assert [e.kind for e in events] == ["delivered", "failed"]
    assert events[1].recipients == ("+12065550100",)
    assert events[1].reason == "Phone is currently unreachable/unavailable"
    assert events[1].permanent is None


def test_a_status_record_that_reached_sqs_parses_too() -> None:
    body = json.dumps(fixture_json("sns/sms_delivery_status.json"))
    assert only(from_sqs_body(body)).kind == "delivered"


def test_cloudwatch_control_messages_are_skipped() -> None:
    assert from_cloudwatch_logs(cloudwatch_event(message_type="CONTROL_MESSAGE")) == []


@pytest.mark.parametrize(
    "event",
    [
        {"awslogs": {"data": "not base64!"}},
        {"awslogs": {"data": base64.b64encode(b"not gzip").decode()}},
        {"Records": []},
        cloudwatch_event({"hello": "world"}),
        cloudwatch_event({**fixture_json("sns/sms_delivery_status.json"), "status": "PENDING"}),
    ],
)
def test_unreadable_log_events_are_permanent_errors(event: dict[str, Any]) -> None:
    with pytest.raises(PermanentError) as caught:
        from_cloudwatch_logs(event)
    assert caught.value.code == "unknown_feedback"


# --------------------------------------------------------------------------- WhatsApp


def test_whatsapp_signature_good_bad_and_missing() -> None:
    # Given: the status webhook body exactly as received, and its signature
    body = sample_bytes("whatsapp_status_webhook.json")
    header = signed(body)

    # When / Then
    assert verify_whatsapp_signature(APP_SECRET, body, header)
    assert verify_whatsapp_signature(APP_SECRET, body, header.upper().replace("SHA256", "sha256"))
    assert not verify_whatsapp_signature(APP_SECRET, body + b" ", header)  # body changed
    assert not verify_whatsapp_signature("another-secret", body, header)
    assert not verify_whatsapp_signature(APP_SECRET, body, signed(body)[:-2] + "00")
    assert not verify_whatsapp_signature(APP_SECRET, body, header.replace("sha256=", "sha1="))
    assert not verify_whatsapp_signature(APP_SECRET, body, "sha256=")
    assert not verify_whatsapp_signature(APP_SECRET, body, "sha256=été")
    assert not verify_whatsapp_signature(APP_SECRET, body, None)
    assert not verify_whatsapp_signature("", body, signed(body, ""))  # unset secret


def test_a_whatsapp_read_status_is_an_open() -> None:
    # Given: a verified status webhook
    body = sample_bytes("whatsapp_status_webhook.json")
    assert verify_whatsapp_signature(APP_SECRET, body, signed(body))

    # When
    event = only(from_whatsapp_webhook(json.loads(body)))

    # Then
    assert event.provider == "whatsapp"
    assert event.kind == "opened"
    assert event.raw_type == "read"
    assert event.recipients == ("+16505551234",)
    assert event.account == "106540352242922"
    assert event.occurred_at == datetime.fromtimestamp(1749416500, tz=UTC)
    assert event.tags == {"biz_opaque_callback_data": "tsample0000a:msg-0001"}


def test_a_failed_whatsapp_status_carries_the_error() -> None:
    # Given: the status turned into a failure, errors in the documented shape
    payload = sample("whatsapp_status_webhook.json")
    status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    status.update(
        status="failed",
        errors=[
            {
                "code": 131026,
                "title": "Message undeliverable",
                "message": "Message undeliverable",
                "error_data": {"details": "Message Undeliverable."},
                "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
            }
        ],
    )

    # When
    event = only(from_whatsapp_webhook(payload))

    # Then
    assert event.kind == "failed"
    assert event.reason == "Message undeliverable (131026): Message Undeliverable."


def test_a_whatsapp_text_is_an_inbound_message() -> None:
    # Given: Meta's incoming text example
    body = sample_bytes("whatsapp_inbound_text_webhook.json")

    # When
    event = only(from_whatsapp_webhook(json.loads(body)))

    # Then
    assert event.kind == "inbound"
    assert event.text == "Does it come in another color?"
    assert event.recipients == ("+16505551234",)
    assert event.account == "106540352242922"
    assert event.provider_message_id.startswith("wamid.")
    assert event.occurred_at == datetime.fromtimestamp(1749416383, tz=UTC)
    # Meta's example display number (+1 555 078 3881) is not a valid number: account routes it.
    assert event.destination is None


def test_a_stop_promotions_button_reads_as_an_opt_out() -> None:
    # Given: the inbound example as a tap on a marketing template's quick-reply button,
    # from a valid business number, replying to one of our messages
    payload = sample("whatsapp_inbound_text_webhook.json")
    value = payload["entry"][0]["changes"][0]["value"]
    value["metadata"]["display_phone_number"] = "16505550100"
    message = value["messages"][0]
    del message["text"]
    message.update(
        type="button",
        button={"payload": "STOP_PROMOTIONS", "text": "Stop promotions"},
        context={"from": "16505550100", "id": "wamid.OUR-MESSAGE"},
    )

    # When
    event = only(from_whatsapp_webhook(payload))

    # Then
    assert (event.text, event.raw_type) == ("Stop promotions", "button")
    assert event.destination == "+16505550100"
    assert event.in_reply_to == "wamid.OUR-MESSAGE"
    assert opt_out_keyword(event.text)


def test_other_whatsapp_fields_are_not_feedback() -> None:
    # Given: a change for another subscribed field
    payload = sample("whatsapp_status_webhook.json")
    payload["entry"][0]["changes"][0]["field"] = "message_template_status_update"

    # When / Then
    assert from_whatsapp_webhook(payload) == []


@pytest.mark.parametrize("mutation", ["wrong_object", "unknown_status"])
def test_unknown_whatsapp_shapes_are_permanent_errors(mutation: str) -> None:
    payload = sample("whatsapp_status_webhook.json")
    if mutation == "wrong_object":
        payload["object"] = "page"
    else:
        payload["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "teleported"
    with pytest.raises(PermanentError) as caught:
        from_whatsapp_webhook(payload)
    assert caught.value.code == "unknown_feedback"


# --------------------------------------------------------------------------- keywords


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "  Stop  ",
        "Stop.",
        "STOP please",
        "STOP 🙏",
        "stopall",
        "Unsubscribe",
        "cancel",
        "Cancel please",  # first word, as carriers match: erring towards opting out
        "END",
        "quit",
        "optout",
        "opt out",
        "Opt   Out now",
        "revoke",
        "\uff33\uff34\uff2f\uff30",  # full-width STOP from a CJK keyboard
        "退订",
        "退订谢谢",
        "TD",
        "td",
        "取消订阅",
    ],
)
def test_opt_out_keywords(text: str) -> None:
    assert opt_out_keyword(text)


@pytest.mark.parametrize(
    "text",
    [None, "", "   ", "Please don't stop", "stopping", "TDK", "Does it come in another color?"],
)
def test_not_opt_out(text: str | None) -> None:
    assert not opt_out_keyword(text)


@pytest.mark.parametrize("text", ["START", "unstop", "Yes", "yes please", "subscribe", "Start!"])
def test_opt_in_keywords(text: str) -> None:
    assert opt_in_keyword(text)


@pytest.mark.parametrize("text", [None, "stop", "yesterday", "restart"])
def test_not_opt_in(text: str | None) -> None:
    assert not opt_in_keyword(text)


# --------------------------------------------------------------------------- state order


@pytest.mark.parametrize(
    ("state", "kind", "moves"),
    [
        ("queued", "sent", True),
        ("sending", "delivered", True),  # the Send event may arrive after the Delivery
        ("sent", "delivered", True),
        ("delivered", "opened", True),
        ("opened", "clicked", True),
        ("opened", "delivered", False),  # a Delivery arriving after an Open changes nothing
        ("clicked", "opened", False),
        ("delivered", "sent", False),
        ("delivered", "delivered", False),
        ("delivered", "complained", True),  # a complaint after delivery does apply
        ("clicked", "complained", True),
        ("sent", "complained", True),
        ("delivered", "bounced", True),  # SES's asynchronous bounce after acceptance
        ("opened", "bounced", False),
        ("sent", "failed", True),
        ("delivered", "failed", False),  # WhatsApp: failed on one device, delivered to another
        ("sending", "rejected", True),
        ("bounced", "delivered", False),
        ("complained", "bounced", False),
        ("failed", "sent", False),
        ("sent", "delayed", False),
        ("delivered", "inbound", False),
        ("opened", "unsubscribed", False),
    ],
)
def test_advances(state: str, kind: str, moves: bool) -> None:
    assert advances(state, kind) is moves


def test_advances_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="kind"):
        advances("sent", "teleported")
    with pytest.raises(ValueError, match="state"):
        advances("deliverd", "opened")


def test_ranks_agree_with_the_message_state_model() -> None:
    # Given: the message states the outreach models define
    from linkstar.outreach import models

    # Then: positive kinds climb the same ladder; negative states are terminal; unsent ones
    # accept any first feedback
    ladder = sorted(KIND_RANK, key=KIND_RANK.__getitem__)
    assert ladder == sorted(ladder, key=models.STATE_RANK.__getitem__)
    assert NEGATIVE_KINDS - {"rejected"} <= models.NEGATIVE_STATES
    for state in models.NEGATIVE_STATES:
        assert not any(advances(state, kind) for kind in (*KIND_RANK, *NEGATIVE_KINDS))
    for state in models.UNSENT_STATES:
        assert advances(state, "sent") and advances(state, "failed")


# --------------------------------------------------------------------------- the model


def test_feedback_events_are_frozen_and_utc() -> None:
    # Given
    event = FeedbackEvent(
        provider="ses",
        kind="sent",
        occurred_at=datetime.fromisoformat("2026-01-01T09:00:00+08:00"),
        raw_type="Send",
    )

    # Then: times are normalised to UTC, naive ones refused, and events can't be edited
    assert event.occurred_at == datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    assert event.occurred_at.utcoffset().total_seconds() == 0
    with pytest.raises(ValidationError):
        FeedbackEvent(provider="ses", kind="sent", occurred_at=datetime(2026, 1, 1), raw_type="x")
    with pytest.raises(ValidationError):
        event.kind = "delivered"  # type: ignore[misc]
