"""The provider gateways end to end: SES and SNS through moto (what moto recorded as sent is
what we assert on), the WhatsApp Cloud API through the fake server, and the mapping of each
provider's errors to retryable or permanent."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.stub import ANY, Stubber
from linkstar import aws
from linkstar.errors import PermanentError
from linkstar.outreach.providers import mms, ses, sns_sms, whatsapp
from linkstar.outreach.providers.errors import (
    ACCOUNT,
    MESSAGE,
    RECIPIENT,
    PermanentProviderError,
    ProviderError,
    RetryableProviderError,
)
from linkstar.platforms.clients.http import Request, Response
from moto import mock_aws
from pydantic import SecretStr

from infra.local.sms_voice import DEFAULT_ORIGINATION, ENDPOINT_ENV, FakeSmsVoice
from infra.local.whatsapp import FakeWhatsApp
from tests import moto_outbox

REGION = "us-east-1"
SENDER = "优品商店 <noreply@acme.example>"
UNSUBSCRIBE_URL = "https://links.linkstar.example/u/" + "t3n4nt-" * 20 + "m3ssage"
UNSUBSCRIBE = f"<{UNSUBSCRIBE_URL}>, <mailto:unsubscribe@acme.example?subject=unsubscribe>"


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # mock_aws lets calls through to AWS_ENDPOINT_URL (the local stack) while it is set.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    moto_outbox.install()
    with mock_aws():
        aws.reset_clients()
        yield
    aws.reset_clients()


def send_order_shipped(**changes: Any) -> str:
    fields: dict[str, Any] = {
        "sender": SENDER,
        "to": "buyer@example.com",
        "subject": "您的订单已发货 — order #1001 is on its way",
        "text": "你好。您的订单已发货。\nTrack it: https://acme.example/t/1001",
        "html": "<p>你好。您的订单已发货。</p>",
        "headers": {
            "List-Unsubscribe": UNSUBSCRIBE,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "configuration_set": "linkstar-outreach",
        "tags": {"tenant_id": "t_01HZX4", "message_id": "m:9f2c.01"},
    }
    fields.update(changes)
    return ses.send_email(**fields)


# ---------------------------------------------------------------------------------- SES


def test_email_reaches_moto_with_its_headers_and_a_readable_chinese_subject(moto: None) -> None:
    # Given a verified sending domain
    moto_outbox.verify_sender("acme.example")

    # When an email is sent
    message_id = send_order_shipped()

    # Then moto recorded it as the recipient's mail client will read it
    sent = moto_outbox.sent_email(message_id)
    assert sent.destinations == ["buyer@example.com"]
    assert sent.source == "noreply@acme.example"
    assert sent.subject == "您的订单已发货 — order #1001 is on its way"
    assert sent.sender == "优品商店 <noreply@acme.example>"
    assert sent.to == "buyer@example.com"
    assert sent.header("List-Unsubscribe") == UNSUBSCRIBE
    assert sent.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert sent.message.get_content_type() == "multipart/alternative"
    assert sent.text is not None and "您的订单已发货" in sent.text
    assert sent.html is not None and "<p>你好" in sent.html
    # On the wire it is ASCII, and the unsubscribe URL is not hidden in an encoded word
    assert sent.raw.isascii()
    assert f"List-Unsubscribe: <{UNSUBSCRIBE_URL}>" in sent.raw
    assert "Subject: =?utf-8?" in sent.raw


def test_text_only_email_is_a_single_part(moto: None) -> None:
    moto_outbox.verify_sender("noreply@acme.example")

    message_id = send_order_shipped(html=None, headers={}, configuration_set=None, tags={})

    sent = moto_outbox.sent_email(message_id)
    assert sent.message.get_content_type() == "text/plain"
    assert sent.html is None


def test_a_sender_name_with_a_comma_stays_whole(moto: None) -> None:
    # Given a seller's display name pasted unquoted in front of the address
    moto_outbox.verify_sender("acme.example")

    message_id = send_order_shipped(sender="Acme, Inc. <noreply@acme.example>")

    sent = moto_outbox.sent_email(message_id)
    assert sent.message["From"].addresses[0].display_name == "Acme, Inc."
    assert sent.source == "noreply@acme.example"


def test_an_unverified_sender_is_a_permanent_account_error(moto: None) -> None:
    # Given no verified identity for the sender: moto answers MessageRejected, as SES does
    with pytest.raises(PermanentProviderError) as raised:
        send_order_shipped(sender="noreply@unverified.example")

    assert raised.value.code == "ses_message_rejected"
    assert raised.value.provider == "ses"
    assert raised.value.reason and "unverified.example" in raised.value.reason
    assert isinstance(raised.value, PermanentError)  # dead-lettered by generic consumers


def test_email_request_carries_configuration_set_and_sanitised_tags(moto: None) -> None:
    # moto does not keep ConfigurationSetName or EmailTags, so read the request SES would get.
    client = aws.client("sesv2")
    with Stubber(client) as stub:
        stub.add_response(
            "send_email",
            {"MessageId": "stubbed-id"},
            {
                "FromEmailAddress": "noreply@acme.example",
                "Destination": {"ToAddresses": ["buyer@example.com"]},
                "Content": {"Raw": {"Data": ANY}},
                "ConfigurationSetName": "linkstar-outreach",
                "EmailTags": [
                    {"Name": "tenant_id", "Value": "t_01HZX4"},
                    {"Name": "message_id", "Value": "m_9f2c_01"},
                ],
            },
        )
        assert send_order_shipped() == "stubbed-id"


def test_tag_sanitising() -> None:
    assert ses.sanitise_tag("tenant:acme/东京 #1") == "tenant_acme_____1"
    assert ses.sanitise_tag("x" * 300) == "x" * 256
    assert ses.email_tags({"a.b": ""}) == [{"Name": "a_b", "Value": "_"}]
    with pytest.raises(ValueError, match="both become"):
        ses.email_tags({"a.b": "1", "a:b": "2"})


@pytest.mark.parametrize(
    ("aws_code", "status", "expected"),
    [
        ("TooManyRequestsException", 429, (RetryableProviderError, "ses_throttled")),
        ("LimitExceededException", 400, (RetryableProviderError, "ses_throttled")),
        ("Throttling", 400, (RetryableProviderError, "ses_throttled")),
        ("ServiceUnavailable", 503, (RetryableProviderError, "ses_unavailable")),
        ("InternalFailure", 500, (RetryableProviderError, "ses_unavailable")),
        ("MessageRejected", 400, (PermanentProviderError, "ses_message_rejected")),
        (
            "MailFromDomainNotVerifiedException",
            400,
            (PermanentProviderError, "ses_mail_from_domain_not_verified"),
        ),
        ("AccountSuspendedException", 400, (PermanentProviderError, "ses_account_suspended")),
        ("SendingPausedException", 400, (PermanentProviderError, "ses_sending_paused")),
        ("BadRequestException", 400, (PermanentProviderError, "ses_bad_request")),
        ("NotFoundException", 404, (PermanentProviderError, "ses_not_found")),
        ("SomethingNewException", 502, (RetryableProviderError, "ses_unavailable")),
        ("SomethingNewException", 400, (PermanentProviderError, "ses_error")),
    ],
)
def test_ses_client_errors_are_mapped_by_code(
    moto: None, aws_code: str, status: int, expected: tuple[type[ProviderError], str]
) -> None:
    # Given SES answering with this error code (stubbed: moto can't be told to fail)
    client = aws.client("sesv2")
    with Stubber(client) as stub:
        # A message that names another code must not fool the mapping.
        stub.add_client_error(
            "send_email", aws_code, "Throttling MessageRejected", http_status_code=status
        )
        # When an email is sent / Then the error says whether to try again
        with pytest.raises(expected[0]) as raised:
            send_order_shipped()
    assert raised.value.code == expected[1]
    assert raised.value.http_status == status


def test_ses_account_errors_say_so(moto: None) -> None:
    client = aws.client("sesv2")
    with Stubber(client) as stub:
        stub.add_client_error("send_email", "AccountSuspendedException", "suspended", 400)
        with pytest.raises(PermanentProviderError) as raised:
            send_order_shipped()
    assert raised.value.scope == ACCOUNT


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"to": "not-an-address"}, "ses_invalid_recipient"),
        ({"to": "用户@example.com"}, "ses_invalid_recipient"),
        ({"subject": "hi\r\nBcc: everyone@example.com"}, "ses_invalid_message"),
        ({"headers": {"List-Unsubscribe": "<https://x>\r\nBcc: a@b.c"}}, "ses_invalid_message"),
        ({"headers": {"Bcc": "everyone@example.com"}}, "ses_invalid_message"),
    ],
)
def test_an_email_that_cannot_be_built_is_permanent(
    moto: None, changes: dict[str, Any], code: str
) -> None:
    moto_outbox.verify_sender("acme.example")
    with pytest.raises(PermanentProviderError) as raised:
        send_order_shipped(**changes)
    assert raised.value.code == code
    assert all("everyone@example.com" not in m.raw for m in moto_outbox.sent_emails())


def test_an_internationalised_domain_goes_as_punycode(moto: None) -> None:
    moto_outbox.verify_sender("acme.example")
    message_id = send_order_shipped(to="buyer@例子.中国")
    assert moto_outbox.sent_email(message_id).destinations == ["buyer@xn--fsqu00a.xn--fiqs8s"]


# ---------------------------------------------------------------------------------- SNS


def test_sms_reaches_moto_with_its_type_and_origination(moto: None) -> None:
    # When a transactional SMS is sent from a US number
    message_id = sns_sms.send_sms(
        phone="+14155550123",
        text="Acme: 您的订单 #1001 已发货",
        transactional=True,
        origination_number="+18005550100",
        sender_id=None,
    )

    # Then moto recorded it with the attributes SNS routes on
    sent = moto_outbox.sms_by_message_id()[message_id]
    assert sent.phone == "+14155550123"
    assert sent.message == "Acme: 您的订单 #1001 已发货"
    assert sent.attributes == {
        "AWS.SNS.SMS.SMSType": "Transactional",
        "AWS.MM.SMS.OriginationNumber": "+18005550100",
    }


def test_promotional_sms_with_a_sender_id(moto: None) -> None:
    sns_sms.send_sms(
        phone="+8613800138000",
        text="Sale",
        transactional=False,
        origination_number=None,
        sender_id="ACME",
    )
    phone, _message, attributes = moto_outbox.sent_sms()[-1]
    assert phone == "+8613800138000"
    assert attributes == {"AWS.SNS.SMS.SMSType": "Promotional", "AWS.SNS.SMS.SenderID": "ACME"}


@pytest.mark.parametrize("phone", ["4155550123", "+1 415 555 0123", "+1415555", ""])
def test_a_phone_number_that_is_not_e164_is_refused_before_sns(moto: None, phone: str) -> None:
    before = len(moto_outbox.sent_sms())
    with pytest.raises(PermanentProviderError) as raised:
        sns_sms.send_sms(
            phone=phone, text="x", transactional=True, origination_number=None, sender_id=None
        )
    assert raised.value.code == "sns_invalid_phone_number"
    assert raised.value.scope == RECIPIENT
    assert len(moto_outbox.sent_sms()) == before


@pytest.mark.parametrize(
    ("aws_code", "status", "expected"),
    [
        ("Throttled", 429, (RetryableProviderError, "sns_throttled")),
        ("KMSThrottling", 400, (RetryableProviderError, "sns_throttled")),
        ("InternalError", 500, (RetryableProviderError, "sns_unavailable")),
        ("InvalidParameter", 400, (PermanentProviderError, "sns_invalid_parameter")),
        ("ParameterValueInvalid", 400, (PermanentProviderError, "sns_invalid_parameter_value")),
        ("OptedOut", 400, (PermanentProviderError, "sns_opted_out")),
        ("AuthorizationError", 403, (PermanentProviderError, "sns_authorization_error")),
        ("KMSDisabled", 400, (PermanentProviderError, "sns_kms_disabled")),
        ("SomethingNew", 503, (RetryableProviderError, "sns_unavailable")),
        ("SomethingNew", 400, (PermanentProviderError, "sns_error")),
    ],
)
def test_sns_client_errors_are_mapped_by_code(
    moto: None, aws_code: str, status: int, expected: tuple[type[ProviderError], str]
) -> None:
    client = aws.client("sns")
    with Stubber(client) as stub:
        stub.add_client_error("publish", aws_code, "Throttled OptedOut", http_status_code=status)
        with pytest.raises(expected[0]) as raised:
            sns_sms.send_sms(
                phone="+14155550123",
                text="x",
                transactional=True,
                origination_number=None,
                sender_id=None,
            )
    assert raised.value.code == expected[1]


def test_origination_is_chosen_by_destination_country() -> None:
    numbers = {"US": "+18005550100", "ca": "+16135550100", "default": "+447700900123"}
    assert sns_sms.origination_for("US", numbers) == "+18005550100"
    assert sns_sms.origination_for("ca", numbers) == "+16135550100"
    assert sns_sms.origination_for("DE", numbers) == "+447700900123"
    assert sns_sms.origination_for("", numbers) == "+447700900123"
    assert sns_sms.origination_for("DE", {"US": "+18005550100"}) is None
    assert sns_sms.destination_country("+16045550123") == "CA"
    assert sns_sms.destination_country("+14155550123") == "US"
    assert sns_sms.destination_country("+8613800138000") == "CN"
    assert sns_sms.destination_country("nonsense") is None


# ----------------------------------------------------------------------------- WhatsApp


@pytest.fixture(scope="module")
def fake_whatsapp() -> Iterator[FakeWhatsApp]:
    with FakeWhatsApp() as fake:
        yield fake


@pytest.fixture
def wa(fake_whatsapp: FakeWhatsApp) -> Iterator[FakeWhatsApp]:
    fake_whatsapp.reset()
    yield fake_whatsapp
    fake_whatsapp.reset()


def config_for(fake: FakeWhatsApp, **changes: str) -> whatsapp.WhatsAppConfig:
    return whatsapp.WhatsAppConfig.model_validate({**fake.config(), **changes})


def test_whatsapp_text_is_sent_and_recorded(wa: FakeWhatsApp) -> None:
    # When a text message is sent
    wamid = whatsapp.send_text(config_for(wa), to="+8613800138000", body="您的订单已发货")

    # Then the fake answered a wamid and holds the message as the API received it
    assert wamid.startswith("wamid.")
    [sent] = wa.messages()
    assert sent.id == wamid
    assert sent.to == "8613800138000"
    assert sent.payload == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "8613800138000",
        "type": "text",
        "text": {"body": "您的订单已发货", "preview_url": False},
    }


def test_whatsapp_template_is_sent_with_body_parameters(wa: FakeWhatsApp) -> None:
    # Given an approved template with two body parameters
    wa.add_template("order_shipped", "zh_CN", body_parameters=2)

    # When it is sent
    whatsapp.send_template(
        config_for(wa),
        to="+14155550123",
        name="order_shipped",
        language="zh_CN",
        body_parameters=["Lin", "#1001"],
    )

    # Then the fake recorded the documented template object (read through the control API)
    with urllib.request.urlopen(f"{wa.url}/_fake/messages", timeout=5) as answer:  # noqa: S310
        [sent] = json.load(answer)["messages"]
    assert sent["type"] == "template"
    assert sent["payload"]["template"] == {
        "name": "order_shipped",
        "language": {"code": "zh_CN"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Lin"}, {"type": "text", "text": "#1001"}],
            }
        ],
    }


def test_whatsapp_unknown_template_and_wrong_parameter_count_are_permanent(
    wa: FakeWhatsApp,
) -> None:
    wa.add_template("order_shipped", "en_US", body_parameters=1)
    config = config_for(wa)
    with pytest.raises(PermanentProviderError) as unknown:
        whatsapp.send_template(config, to="+14155550123", name="nope", language="en_US")
    with pytest.raises(PermanentProviderError) as mismatch:
        whatsapp.send_template(config, to="+14155550123", name="order_shipped", language="en_US")
    assert (unknown.value.code, mismatch.value.code) == ("whatsapp_132001", "whatsapp_132000")
    assert unknown.value.scope == MESSAGE
    assert wa.messages() == []


def test_whatsapp_429_is_retryable_after_the_providers_delay(wa: FakeWhatsApp) -> None:
    # Given the API throttling the next request
    wa.fail_next(status=429, code=130429, retry_after=7)

    # When a message is sent / Then it is to be retried, no sooner than asked
    with pytest.raises(RetryableProviderError) as raised:
        whatsapp.send_text(config_for(wa), to="+14155550123", body="hi")
    assert raised.value.code == "whatsapp_130429"
    assert raised.value.retry_after == 7
    assert raised.value.http_status == 429

    # And the next one goes through
    assert whatsapp.send_text(config_for(wa), to="+14155550123", body="hi").startswith("wamid.")


@pytest.mark.parametrize(
    ("status", "code", "expected", "scope"),
    [
        (400, 131026, "whatsapp_131026", RECIPIENT),
        (400, 131047, "whatsapp_131047", MESSAGE),
        (400, 100, "whatsapp_100", MESSAGE),
        (403, 368, "whatsapp_368", ACCOUNT),
    ],
)
def test_whatsapp_permanent_errors(
    wa: FakeWhatsApp, status: int, code: int, expected: str, scope: str
) -> None:
    wa.fail_next(status=status, code=code)
    with pytest.raises(PermanentProviderError) as raised:
        whatsapp.send_text(config_for(wa), to="+14155550123", body="hi")
    assert raised.value.code == expected
    assert raised.value.scope == scope
    assert raised.value.reason and f"(#{code})" in raised.value.reason
    assert wa.messages() == []


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, 130429), (400, 131056), (400, 80007), (500, 131000), (503, 2), (502, 999999)],
)
def test_whatsapp_throttling_and_outages_are_retryable_whatever_the_status(
    wa: FakeWhatsApp, status: int, code: int
) -> None:
    wa.fail_next(status=status, code=code)
    with pytest.raises(RetryableProviderError) as raised:
        whatsapp.send_text(config_for(wa), to="+14155550123", body="hi")
    assert raised.value.code == f"whatsapp_{code}"
    assert raised.value.retry_after is None


def test_whatsapp_bad_token_is_permanent_and_never_echoed(wa: FakeWhatsApp) -> None:
    # Given a revoked token
    config = config_for(wa, access_token="EAAG-revoked-secret-token")

    # When a message is sent / Then it fails for the account, and the token is nowhere in it
    with pytest.raises(PermanentProviderError) as raised:
        whatsapp.send_text(config, to="+14155550123", body="hi")
    assert raised.value.code == "whatsapp_190"
    assert raised.value.scope == ACCOUNT
    assert raised.value.http_status == 401
    shown = f"{raised.value} {raised.value.details} {config!r}"
    assert "EAAG-revoked-secret-token" not in shown


def test_whatsapp_phone_number_id_of_another_account_is_refused(wa: FakeWhatsApp) -> None:
    with pytest.raises(PermanentProviderError) as raised:
        whatsapp.send_text(config_for(wa, phone_number_id="999"), to="+14155550123", body="x")
    assert raised.value.code == "whatsapp_100"


def test_a_token_echoed_by_the_provider_is_redacted() -> None:
    token = "EAAG-echoed-token"

    def echoing(request: Request, timeout: float) -> Response:
        body = {"error": {"message": f"Malformed access token {token}", "code": 190}}
        return Response(400, {}, json.dumps(body).encode())

    config = whatsapp.WhatsAppConfig(phone_number_id="1", access_token=SecretStr(token))
    with pytest.raises(PermanentProviderError) as raised:
        whatsapp.send_text(config, to="+14155550123", body="x", transport=echoing)
    assert raised.value.reason == "Malformed access token [redacted]"


def test_whatsapp_unreachable_is_retryable() -> None:
    # Given nothing listening where the API should be
    with FakeWhatsApp() as gone:
        config = config_for(gone)
    with pytest.raises(RetryableProviderError) as raised:
        whatsapp.send_text(config, to="+14155550123", body="hi", timeout=2)
    assert raised.value.code == "whatsapp_unavailable"


def test_whatsapp_error_without_json_is_judged_by_status() -> None:
    def proxy_page(request: Request, timeout: float) -> Response:
        return Response(502, {"retry-after": "3"}, b"<html>Bad gateway</html>")

    config = whatsapp.WhatsAppConfig(phone_number_id="1", access_token=SecretStr("t"))
    with pytest.raises(RetryableProviderError) as raised:
        whatsapp.send_text(config, to="+14155550123", body="x", transport=proxy_page)
    assert (raised.value.code, raised.value.retry_after) == ("whatsapp_unavailable", 3.0)


def test_whatsapp_config_refuses_plain_http_to_a_remote_host() -> None:
    with pytest.raises(ValueError, match="https"):
        whatsapp.WhatsAppConfig(
            base_url="http://graph.example.com", phone_number_id="1", access_token=SecretStr("t")
        )
    assert "secret" not in repr(
        whatsapp.WhatsAppConfig(phone_number_id="1", access_token=SecretStr("secret"))
    )


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"to": "14155550123", "type": "text", "text": {"body": "x"}}, "messaging_product"),
        ({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, "to"),
        (
            {"messaging_product": "whatsapp", "to": "14155550123", "type": "text", "text": {}},
            "text['body']",
        ),
        (
            {"messaging_product": "whatsapp", "to": "1415", "type": "template", "template": {}},
            "to",
        ),
    ],
)
def test_fake_whatsapp_validates_the_body_as_the_api_does(
    wa: FakeWhatsApp, body: dict[str, Any], details: str
) -> None:
    request = urllib.request.Request(  # noqa: S310 - the fake on loopback
        f"{wa.url}/v21.0/{wa.phone_number_id}/messages",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {wa.access_token}"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310
    with raised.value as answer:
        error = json.load(answer)["error"]
    assert raised.value.code == 400
    assert (error["code"], error["type"]) == (100, "OAuthException")
    assert details in error["error_data"]["details"]
    assert wa.messages() == []


def test_fake_whatsapp_runs_standalone() -> None:
    # Given the fake started as the local stack starts it
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local.whatsapp", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        started = json.loads(process.stdout.readline())
        # When a message is sent to it
        config = whatsapp.WhatsAppConfig(
            base_url=started["url"],
            phone_number_id=started["phone_number_id"],
            access_token=SecretStr("fake-whatsapp-access-token"),
        )
        wamid = whatsapp.send_text(config, to="+14155550123", body="hi")
        # Then its control API lists it
        with urllib.request.urlopen(f"{started['url']}/_fake/messages", timeout=5) as answer:  # noqa: S310
            assert [m["id"] for m in json.load(answer)["messages"]] == [wamid]
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    ("service", "operation", "send", "code"),
    [
        ("sesv2", "send_email", lambda: send_order_shipped(), "ses_unavailable"),
        (
            "sns",
            "publish",
            lambda: sns_sms.send_sms(
                phone="+14155550123",
                text="x",
                transactional=True,
                origination_number=None,
                sender_id=None,
            ),
            "sns_unavailable",
        ),
    ],
)
def test_an_unreachable_aws_endpoint_is_retryable(
    moto: None, monkeypatch: pytest.MonkeyPatch, service: str, operation: str, send: Any, code: str
) -> None:
    # Given the provider's endpoint can't be reached (the network fails before any answer)
    from botocore.exceptions import EndpointConnectionError

    def unreachable(**_: Any) -> Any:
        raise EndpointConnectionError(endpoint_url=f"https://{service}.example")

    monkeypatch.setattr(aws.client(service), operation, unreachable)
    # When a message is sent / Then it is to be tried again, not failed
    with pytest.raises(RetryableProviderError) as raised:
        send()
    assert raised.value.code == code
    assert isinstance(raised.value.__cause__, EndpointConnectionError)


# ------------------------------------------------------------------------- rich content

MEDIA_BUCKET = "linkstar-media-test"


@pytest.fixture
def media_bucket(moto: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    from linkstar.settings import reset_settings

    monkeypatch.setenv("MEDIA_BUCKET_NAME", MEDIA_BUCKET)
    reset_settings()
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=MEDIA_BUCKET)
    yield s3
    reset_settings()


def test_an_email_with_attachments_is_mixed_and_keeps_its_body_and_headers(moto: None) -> None:
    # Given a verified sender and two files, one named in Chinese
    moto_outbox.verify_sender("acme.example")
    pdf = b"%PDF-1.4\n\x00\xff binary"
    invite = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"

    # When the email is sent with them
    message_id = send_order_shipped(
        attachments=[
            ses.EmailAttachment("发票 1001.pdf", "application/pdf", pdf),
            ses.EmailAttachment("pickup.ics", "text/calendar", invite),
        ]
    )

    # Then moto recorded one multipart/mixed email: the readable body first, then each file
    # byte for byte under its name; the unsubscribe headers are still on the message
    sent = moto_outbox.sent_email(message_id)
    assert sent.message.get_content_type() == "multipart/mixed"
    assert sent.text is not None and "您的订单已发货" in sent.text
    assert sent.html is not None and "<p>你好" in sent.html
    files = [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in sent.message.iter_attachments()
    ]
    assert files == [
        ("发票 1001.pdf", "application/pdf", pdf),
        ("pickup.ics", "text/calendar", invite),
    ]
    assert sent.header("List-Unsubscribe") == UNSUBSCRIBE
    assert sent.raw.isascii()


def test_media_is_read_from_the_tenants_own_folder(media_bucket: Any) -> None:
    from linkstar.outreach.providers import media
    from linkstar.outreach.templates import Attachment

    # Given a file in tenant t1's folder
    media_bucket.put_object(Bucket=MEDIA_BUCKET, Key="t1/terms.pdf", Body=b"%PDF t1")
    terms = Attachment(key="terms.pdf", content_type="application/pdf", filename="Terms.pdf")

    # When t1 reads it, it gets t1's bytes under the attachment's name
    assert media.read_attachments("t1", [terms]) == [
        ses.EmailAttachment("Terms.pdf", "application/pdf", b"%PDF t1")
    ]
    # And the same key for t2 is t2's folder, where there is no such file
    with pytest.raises(PermanentProviderError) as raised:
        media.read_attachments("t2", [terms])
    assert (raised.value.code, raised.value.scope) == ("media_not_found", MESSAGE)
    # And a key edited in the table to climb out of the folder is refused before S3 is asked
    with pytest.raises(PermanentProviderError) as edited:
        media.declared(Attachment, {"key": "../t1/terms.pdf", "content_type": "application/pdf"})
    assert (edited.value.code, edited.value.scope) == ("media_invalid", MESSAGE)
    with pytest.raises(PermanentProviderError) as escaped:
        media.object_key("t2", "../t1/terms.pdf")
    assert escaped.value.code == "media_bad_key"


def test_media_too_large_is_refused_before_it_is_read_or_sent(
    media_bucket: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkstar.outreach import templates
    from linkstar.outreach.providers import media

    # Given limits of 10 bytes for an email's attachments and for a PNG in an MMS
    monkeypatch.setattr(media, "MAX_ATTACHMENT_BYTES", 10)
    monkeypatch.setitem(templates.MMS_MEDIA_TYPES, "image/png", 10)
    media_bucket.put_object(Bucket=MEDIA_BUCKET, Key="t1/a.pdf", Body=b"123456")
    media_bucket.put_object(Bucket=MEDIA_BUCKET, Key="t1/big.png", Body=b"x" * 11)
    half = templates.Attachment(key="a.pdf", content_type="application/pdf")

    # Then two 6-byte attachments are too many bytes together, one is not
    assert len(media.read_attachments("t1", [half])) == 1
    with pytest.raises(PermanentProviderError) as together:
        media.read_attachments("t1", [half, half.model_copy(update={"filename": "b.pdf"})])
    assert together.value.code == "media_too_large"
    # And an 11-byte PNG is too large for the MMS
    picture = templates.MmsMedia(key="big.png", content_type="image/png")
    with pytest.raises(PermanentProviderError) as mms_file:
        media.mms_media_url("t1", picture)
    assert mms_file.value.code == "media_too_large"


@pytest.fixture(scope="module")
def fake_sms_voice() -> Iterator[FakeSmsVoice]:
    def media_type(bucket: str, key: str) -> str | None:
        try:
            head = aws.client("s3").head_object(Bucket=bucket, Key=key)
        except Exception:
            return None
        return str(head["ContentType"])

    with FakeSmsVoice(media_type=media_type) as fake:
        yield fake


@pytest.fixture
def sms_voice(
    media_bucket: Any, fake_sms_voice: FakeSmsVoice, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FakeSmsVoice]:
    for name, value in fake_sms_voice.env().items():
        monkeypatch.setenv(name, value)
    aws.reset_clients()
    fake_sms_voice.reset()
    yield fake_sms_voice
    fake_sms_voice.reset()


def send_picture(**changes: Any) -> str:
    fields: dict[str, Any] = {
        "phone": "+14155550123",
        "text": "Black Friday: 20% off today",
        "media_url": f"s3://{MEDIA_BUCKET}/t1/sale.png",
        "origination_identity": DEFAULT_ORIGINATION,
        "context": {"tenant_id": "t1", "message_id": "m1"},
    }
    fields.update(changes)
    return mms.send_mms(**fields)


def test_an_mms_goes_through_end_user_messaging_with_its_file_and_context(
    sms_voice: FakeSmsVoice, media_bucket: Any
) -> None:
    # Given the picture in the tenant's folder
    media_bucket.put_object(
        Bucket=MEDIA_BUCKET, Key="t1/sale.png", Body=b"\x89PNG", ContentType="image/png"
    )

    # When the MMS is sent
    message_id = send_picture()

    # Then the service took it: the number, the file's S3 URL, the text and the context
    (sent,) = sms_voice.messages()
    assert sent.message_id == message_id
    assert (sent.destination, sent.origination) == ("+14155550123", DEFAULT_ORIGINATION)
    assert sent.media_urls == [f"s3://{MEDIA_BUCKET}/t1/sale.png"]
    assert sent.body == "Black Friday: 20% off today"
    assert sent.context == {"tenant_id": "t1", "message_id": "m1"}


def test_the_service_refuses_a_missing_or_unsupported_file_and_an_unknown_number(
    sms_voice: FakeSmsVoice, media_bucket: Any
) -> None:
    media_bucket.put_object(
        Bucket=MEDIA_BUCKET, Key="t1/notes.docx", Body=b"PK", ContentType="application/msword"
    )
    with pytest.raises(PermanentProviderError) as missing:
        send_picture(media_url=f"s3://{MEDIA_BUCKET}/t1/no-such-file.png")
    assert (missing.value.code, missing.value.scope) == ("mms_validation_error", MESSAGE)
    with pytest.raises(PermanentProviderError) as unsupported:
        send_picture(media_url=f"s3://{MEDIA_BUCKET}/t1/notes.docx")
    assert unsupported.value.code == "mms_validation_error"
    assert unsupported.value.reason is not None and "not an MMS media type" in (
        unsupported.value.reason
    )
    with pytest.raises(PermanentProviderError) as unknown:
        send_picture(origination_identity="+18005550199")
    assert (unknown.value.code, unknown.value.scope) == ("mms_origination_not_found", ACCOUNT)
    assert sms_voice.messages() == []


@pytest.mark.parametrize(
    ("status", "code", "reason", "expected", "scope"),
    [
        (
            400,
            "ValidationException",
            "DESTINATION_COUNTRY_BLOCKED",
            "mms_validation_error",
            MESSAGE,
        ),
        (
            409,
            "ConflictException",
            "DESTINATION_PHONE_NUMBER_OPTED_OUT",
            "mms_opted_out",
            RECIPIENT,
        ),
        (409, "ConflictException", "RESOURCE_NOT_ACTIVE", "mms_conflict", MESSAGE),
        (
            402,
            "ServiceQuotaExceededException",
            "MONTHLY_SPEND_LIMIT_REACHED_FOR_MEDIA",
            "mms_quota_exceeded",
            ACCOUNT,
        ),
        (403, "AccessDeniedException", "ACCOUNT_DISABLED", "mms_access_denied", ACCOUNT),
    ],
)
def test_end_user_messaging_refusals_are_permanent_by_code_and_reason(
    sms_voice: FakeSmsVoice, status: int, code: str, reason: str, expected: str, scope: str
) -> None:
    # The service's answer over the wire: the Reason is a modelled field botocore hands back.
    sms_voice.fail_next(status=status, code=code, message="refused", reason=reason)
    with pytest.raises(PermanentProviderError) as raised:
        send_picture()
    assert (raised.value.code, raised.value.scope) == (expected, scope)


@pytest.mark.parametrize(
    ("aws_code", "status", "expected"),
    [
        ("ThrottlingException", 400, "mms_throttled"),
        ("InternalServerException", 500, "mms_unavailable"),
        ("SomethingNew", 503, "mms_unavailable"),
    ],
)
def test_end_user_messaging_throttling_and_outages_are_retryable(
    moto: None, aws_code: str, status: int, expected: str
) -> None:
    # Stubbed: over the wire botocore would retry these itself first (standard mode).
    with Stubber(aws.client(mms.SERVICE)) as stub:
        stub.add_client_error("send_media_message", aws_code, "slow down", status)
        with pytest.raises(RetryableProviderError) as raised:
            send_picture()
    assert raised.value.code == expected


@pytest.mark.parametrize(
    ("changes", "code", "scope"),
    [
        ({"phone": "4155550123"}, "mms_invalid_phone_number", RECIPIENT),
        ({"origination_identity": None}, "mms_no_origination_identity", ACCOUNT),
        ({"text": "x" * 1601}, "mms_text_too_long", MESSAGE),
        ({"media_url": "https://cdn.example/sale.png"}, "mms_invalid_media_url", MESSAGE),
    ],
)
def test_an_mms_the_api_would_refuse_is_refused_before_it_is_asked(
    sms_voice: FakeSmsVoice, changes: dict[str, Any], code: str, scope: str
) -> None:
    with pytest.raises(PermanentProviderError) as raised:
        send_picture(**changes)
    assert (raised.value.code, raised.value.scope) == (code, scope)
    assert sms_voice.messages() == []


def test_fake_sms_voice_runs_standalone_and_is_reached_by_the_endpoint_variable(
    moto: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the fake started as a process, announcing the variable that points boto3 at it
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local.sms_voice", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        started = json.loads(process.stdout.readline())
        monkeypatch.setenv("AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2", started[ENDPOINT_ENV])
        aws.reset_clients()
        # When an MMS is sent (other AWS calls still go to moto)
        message_id = send_picture(media_url="s3://any-bucket/t1/sale.png")
        # Then its control API lists it
        with urllib.request.urlopen(f"{started['url']}/_fake/messages", timeout=5) as answer:  # noqa: S310
            assert [m["message_id"] for m in json.load(answer)["messages"]] == [message_id]
    finally:
        process.terminate()
        process.wait(timeout=10)
        aws.reset_clients()
