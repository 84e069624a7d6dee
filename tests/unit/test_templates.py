"""Message templates: channel rules, locale fallback, save-time checks, the sandbox, rendering
and UTM tagging."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from linkstar.errors import BadRequest
from linkstar.outreach.templates import (
    CONTEXT_FIELDS,
    Template,
    TemplateError,
    add_utm,
    check_variables,
    fallback_chain,
    pick,
    referenced_variables,
    render,
    validate,
)
from pydantic import ValidationError

UNSUBSCRIBE = "https://app.linkstar.example/u/abc123?sig=f00&t=1"
PREFERENCES = "https://app.linkstar.example/p/abc123"
UTM = {"utm_source": "linkstar", "utm_medium": "email", "utm_campaign": "spring", "content": "a"}


def make(**overrides: Any) -> Template:
    fields: dict[str, Any] = {
        "template_id": "order.shipped",
        "channel": "email",
        "locale": "en",
        "purpose": "transactional",
        "subject": "Your order {{ order.name }} is on its way",
        "body": "Hi {{ contact.first_name }}",
    }
    fields.update(overrides)
    return Template.model_validate(fields)


def context(**contact: Any) -> dict[str, Any]:
    return {
        "contact": {"first_name": "Ada", "last_name": None, "time_zone": "Europe/Berlin"} | contact,
        "tenant": {"name": "Kite & Co"},
        "order": {
            "order_id": "o-1",
            "name": "#1001",
            "total": Decimal("12.5"),
            "currency": "usd",
            "created_at": "2026-03-01T23:30:00Z",
        },
        "links": {"unsubscribe_url": UNSUBSCRIBE, "preferences_url": PREFERENCES},
    }


# ---------------------------------------------------------------- the model


def test_locale_is_normalised_to_bcp47_case() -> None:
    # Given / When
    templates = [make(locale=raw) for raw in ("zh_cn", "DE-de", "zh-hant-tw", "EN")]

    # Then
    assert [t.locale for t in templates] == ["zh-CN", "de-DE", "zh-Hant-TW", "en"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"subject": None}, "subject is required for email"),
        ({"channel": "sms", "subject": "Hi"}, "sms templates have no subject"),
        ({"channel": "whatsapp", "subject": "Hi"}, "whatsapp templates have no subject"),
        ({"channel": "in_app", "html": "<p>x</p>"}, "html is only for email"),
        (
            {"whatsapp_template": {"name": "order_shipped", "language": "en_US"}},
            "whatsapp_template is only for whatsapp",
        ),
        ({"body": "  "}, "body must not be empty"),
        ({"locale": "english"}, "not a locale"),
        ({"template_id": "Order Shipped"}, "template_id"),
    ],
)
def test_channel_rules_are_enforced_with_a_clear_message(
    overrides: dict[str, Any], message: str
) -> None:
    # Given / When
    with pytest.raises(ValidationError) as caught:
        make(**overrides)

    # Then
    assert message in str(caught.value)


def test_in_app_title_is_optional_and_whatsapp_names_its_approved_template() -> None:
    # Given / When
    in_app = make(channel="in_app", subject=None)
    whatsapp = make(
        channel="whatsapp",
        subject=None,
        whatsapp_template={"name": "order_shipped", "language": "pt_BR"},
    )

    # Then
    assert in_app.subject is None
    assert whatsapp.whatsapp_template is not None
    assert whatsapp.whatsapp_template.name == "order_shipped"


# ---------------------------------------------------------------- locale fallback


def test_fallback_chain_goes_from_region_to_language_to_the_default() -> None:
    # Given / When / Then
    assert fallback_chain("de-DE", "en-US") == ["de-DE", "de", "en-US", "en"]
    assert fallback_chain("zh-Hant-TW", "en") == ["zh-Hant-TW", "zh-Hant", "zh", "en"]
    # no duplicates, and English is not implied when the default is another language
    assert fallback_chain("de-AT", "de-DE") == ["de-AT", "de", "de-DE"]
    # a contact's locale is data: POSIX spellings still count, junk and None mean "unknown"
    assert fallback_chain("fr_FR.UTF-8", "en") == ["fr-FR", "fr", "en"]
    assert fallback_chain("!!", "en") == ["en"]
    assert fallback_chain(None, "ja-JP") == ["ja-JP", "ja"]


def test_pick_follows_the_chain_then_the_default() -> None:
    # Given templates in German, English and Simplified Chinese
    templates = [make(locale="de"), make(locale="en"), make(locale="zh-CN")]

    # When / Then
    assert pick(templates, "de-AT", "en").locale == "de"
    assert pick(templates, "zh-cn", "en").locale == "zh-CN"
    assert pick(templates, "fr-FR", "en").locale == "en"
    assert pick(templates, None, "en-GB").locale == "en"


def test_pick_without_a_template_in_the_default_locale_fails_with_a_code() -> None:
    # Given only a German template and an English default
    templates = [make(locale="de")]

    # When
    with pytest.raises(TemplateError) as caught:
        pick(templates, "fr", "en")

    # Then
    assert caught.value.code == "template_locale_missing"
    assert caught.value.details["tried"] == ["fr", "en"]
    assert isinstance(caught.value, BadRequest)


# ---------------------------------------------------------------- save-time checks


def test_referenced_variables_are_dotted_names_across_all_parts() -> None:
    # Given
    template = make(
        subject="{{ order.name }}",
        body=(
            "{% for line in order.market %}{{ line.title }}{{ loop.index }}{% endfor %}"
            "{% set greeting = 'Hi' %}{{ greeting }} {{ contact['first_name'] }}"
            "{% if refund %}{{ refund.amount | money(refund.currency) }}{% endif %}"
        ),
        html="<a href='{{ links.unsubscribe_url }}'>x</a>",
    )

    # When
    names = referenced_variables(template)

    # Then loop variables and {% set %} names are not context variables
    assert names == {
        "order.name",
        "order.market",
        "contact.first_name",
        "refund",
        "refund.amount",
        "refund.currency",
        "links.unsubscribe_url",
    }


def test_missing_variables_are_reported_at_save_time_by_name() -> None:
    # Given an order-flow template that also reads a refund and an undocumented contact field
    template = make(body="{{ contact.nickname }} {{ order.total }} {{ refund.amount }} {{ x }}")

    # When
    with pytest.raises(TemplateError) as caught:
        validate(template, {"contact", "order", "tenant", "links"})

    # Then
    assert caught.value.code == "template_variables_missing"
    assert caught.value.details["missing"] == ["contact.nickname", "refund.amount", "x"]


def test_documented_variables_pass() -> None:
    # Given a template using every documented field of every context
    body = " ".join(
        f"{{{{ {name}.{field} }}}}" for name, fields in CONTEXT_FIELDS.items() for field in fields
    )

    # When / Then: no error
    check_variables(make(body=body), set(CONTEXT_FIELDS))


@pytest.mark.parametrize(
    "body",
    ["{{ order.total ", "{% if contact %}", "{{ order.total | nope }}", "{% endfor %}"],
)
def test_syntax_errors_are_caught_at_save_time(body: str) -> None:
    # Given / When
    with pytest.raises(TemplateError) as caught:
        validate(make(body=body), {"contact", "order"})

    # Then
    assert caught.value.code == "template_syntax"
    assert caught.value.details["part"] == "body"


def test_a_syntax_error_in_the_html_names_the_part() -> None:
    # Given / When
    with pytest.raises(TemplateError) as caught:
        validate(make(html="<p>\n{{ contact.first_name }</p>"), {"contact", "order"})

    # Then
    assert caught.value.code == "template_syntax"
    assert caught.value.details == {"part": "html", "line": 2}


# ---------------------------------------------------------------- the sandbox


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ contact['__class__'] }}",
        "{% import 'os' as os %}",
        "{% from 'x' import y %}",
        "{% include '/etc/passwd' %}",
        "{% extends 'base' %}",
    ],
)
def test_reaching_python_internals_or_other_templates_is_refused_at_save_time(
    body: str,
) -> None:
    # Given / When
    with pytest.raises(TemplateError) as caught:
        validate(make(body=body), {"contact"})

    # Then
    assert caught.value.code == "template_syntax"


@pytest.mark.parametrize(
    "body",
    [
        # names built at run time get past the save-time check; the sandbox still says no
        "{% set n = '__cla' ~ 'ss__' %}{{ '' | attr(n) }}",
        "{{ '{0.__class__}'.format('') }}",
        "{{ contact.first_name | attr('__class__') }}",
        "{% for i in range(10) %}{% endfor %}",
        "{{ contact.items() }}",  # dict methods are not fields
        "{% set _ = contact.update({'first_name': 'x'}) %}",
        "{{ 'x' * 100000000 }}",
        "{{ 9 ** 99999 }}",
    ],
)
def test_the_sandbox_refuses_at_render_time(body: str) -> None:
    # Given a template that parses and compiles
    template = make(body=body)

    # When
    with pytest.raises(TemplateError) as caught:
        render(template, context())

    # Then it fails this message instead of running the code
    assert caught.value.code == "template_render_failed"


# ---------------------------------------------------------------- rendering


def test_html_is_autoescaped_and_text_is_not() -> None:
    # Given a contact whose name is a script
    template = make(body="Hi {{ contact.first_name }}", html="<p>Hi {{ contact.first_name }}</p>")

    # When
    rendered = render(template, context(first_name="<script>alert(1)</script>"))

    # Then the html shows the name as text; the plain-text part is sent as written
    assert rendered.html == "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>"
    assert rendered.text == "Hi <script>alert(1)</script>"


def test_missing_data_fails_the_render_and_none_renders_empty() -> None:
    # Given a contact with a None last name, and an order without a status key
    template = make(body="{{ contact.first_name }}{{ contact.last_name }}!")
    absent = make(body="Status: {{ order.status }}")

    # When
    rendered = render(template, context())
    with pytest.raises(TemplateError) as caught:
        render(absent, context())

    # Then
    assert rendered.text == "Ada!"
    assert caught.value.code == "template_render_failed"
    assert "status" in str(caught.value.message)


def test_filters_money_date_and_default() -> None:
    # Given
    template = make(
        body=(
            "{{ contact.first_name | default('there') }}, {{ order.total | money(order.currency) }}"
            " on {{ order.created_at | date }} ({{ order.created_at | date('Asia/Tokyo') }})"
        )
    )

    # When
    rendered = render(template, context(first_name=None))

    # Then
    assert rendered.text == "there, USD 12.50 on 2026-03-01 (2026-03-02)"


def test_a_subject_is_one_line() -> None:
    # Given an order name with a line break
    ctx = context()
    ctx["order"]["name"] = "#1\r\nBcc: x@example.com"

    # When
    rendered = render(make(), ctx)

    # Then
    assert rendered.subject == "Your order #1 Bcc: x@example.com is on its way"


def test_chinese_sms_renders_and_is_ucs2() -> None:
    # Given a Simplified Chinese marketing SMS
    template = make(
        channel="sms",
        locale="zh-CN",
        purpose="marketing",
        subject=None,
        # full-width punctuation is what Chinese text uses, not a typo
        body=(
            "【{{ tenant.name }}】{{ contact.first_name }}您好，"
            "您的订单{{ order.name }}已发货。退订回T"
        ),
    )

    # When
    rendered = render(template, context(first_name="王芳"))

    # Then
    assert rendered.text == "【Kite & Co】王芳您好，您的订单#1001已发货。退订回T"
    assert rendered.sms is not None
    assert rendered.sms.encoding == "UCS-2"
    assert rendered.sms.segments == 1


def test_only_sms_gets_an_encoding() -> None:
    # Given / When
    rendered = render(make(), context())

    # Then
    assert rendered.sms is None


# ---------------------------------------------------------------- UTM


def test_utm_is_added_to_text_links_keeping_query_fragment_and_punctuation() -> None:
    # Given
    text = "Shop: https://shop.example/p?ref=mail&x=a%2Fb#top. Or (https://shop.example/)."

    # When
    tagged = add_utm(text, UTM, set(), html=False)

    # Then
    assert tagged == (
        "Shop: https://shop.example/p?ref=mail&x=a%2Fb&utm_source=linkstar&utm_medium=email"
        "&utm_campaign=spring&utm_content=a#top. Or (https://shop.example/?utm_source=linkstar"
        "&utm_medium=email&utm_campaign=spring&utm_content=a)."
    )


def test_utm_already_on_a_link_wins() -> None:
    # Given a link the seller tagged themselves
    text = "https://shop.example/?utm_campaign=black_friday"

    # When
    tagged = add_utm(text, UTM, set(), html=False)

    # Then only the missing parameters are added
    assert tagged == (
        "https://shop.example/?utm_campaign=black_friday&utm_source=linkstar"
        "&utm_medium=email&utm_content=a"
    )


def test_render_tags_links_but_not_unsubscribe_or_preferences_or_mailto() -> None:
    # Given an email with a shop link, unsubscribe and preference links and a mailto
    template = make(
        body=(
            "Track: https://shop.example/t?id=1\n"
            "Unsubscribe: {{ links.unsubscribe_url }}\nPreferences: {{ links.preferences_url }}"
        ),
        html=(
            '<a href="https://shop.example/t?id=1&amp;v=2">Track</a>'
            '<a href="{{ links.unsubscribe_url }}">Unsubscribe</a>'
            "<a href='{{ links.preferences_url }}'>Preferences</a>"
            '<a href="mailto:help@shop.example">Help</a><a href="#top">Top</a>'
        ),
    )

    # When
    rendered = render(template, context(), UTM)

    # Then
    suffix = "utm_source=linkstar&utm_medium=email&utm_campaign=spring&utm_content=a"
    assert rendered.text == (
        f"Track: https://shop.example/t?id=1&{suffix}\n"
        f"Unsubscribe: {UNSUBSCRIBE}\nPreferences: {PREFERENCES}"
    )
    assert rendered.html == (
        f'<a href="https://shop.example/t?id=1&amp;v=2&amp;{suffix.replace("&", "&amp;")}">'
        "Track</a>"
        '<a href="https://app.linkstar.example/u/abc123?sig=f00&amp;t=1">Unsubscribe</a>'
        f"<a href='{PREFERENCES}'>Preferences</a>"
        '<a href="mailto:help@shop.example">Help</a><a href="#top">Top</a>'
    )


def test_utm_stops_at_chinese_punctuation() -> None:
    # Given a link directly followed by a full-width full stop
    text = "点击https://shop.example/cn。退订回T"

    # When
    tagged = add_utm(text, {"source": "linkstar", "medium": "sms"}, set(), html=False)

    # Then
    assert tagged == "点击https://shop.example/cn?utm_source=linkstar&utm_medium=sms。退订回T"


def test_unknown_utm_keys_are_a_programming_error() -> None:
    # Given / When / Then
    with pytest.raises(ValueError, match="not a UTM parameter"):
        add_utm("https://x.example", {"ref": "x"}, set(), html=False)
