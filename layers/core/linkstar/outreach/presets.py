"""Ready-made flows a seller switches on in one call: welcome series, abandoned checkout, order
confirmation, shipping update, review request, win-back and refund follow-up.

Each :class:`Preset` gives a flow definition (the same JSON a seller could save by hand, so it
goes through :func:`linkstar.outreach.flows.validate_flow` like any other) and the templates it
sends, in English and Simplified Chinese, as the JSON the template API accepts
(:class:`linkstar.outreach.templates.Template`). Enabling a preset stores copies: the seller then
edits them like their own, and a later change here never rewrites a live flow.

Copy rules the tests hold every template to:

- marketing email ends with a footer carrying ``{{ links.unsubscribe_url }}``;
- marketing SMS and WhatsApp end with an opt-out line ("Reply STOP to opt out" / "回复退订取消",
  keywords the inbound handler honours);
- an English SMS fits one GSM-7 segment (160 characters: plain ASCII, no curly quotes or dashes)
  and a Chinese one two UCS-2 segments (134 characters), for a store name of up to 30
  characters and links of up to 60 (a longer platform link costs another segment);
- Chinese SMS open with the 【sender】 signature Chinese carriers expect.

Pure data: no I/O.
"""

# Chinese copy uses full-width punctuation on purpose: it is correct Chinese, not a typo.
# Paragraphs are one line each (marked noqa: E501): mail clients wrap text, and a hard line
# break in the source would become one in the email.

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from linkstar.text import Text

Document = dict[str, Any]

LOCALES: Final = ("en", "zh-CN")
SMS_OPT_OUT: Final[Mapping[str, str]] = {"en": "Reply STOP to opt out", "zh-CN": "回复退订取消"}

# Markets where WhatsApp, not SMS, is how shoppers expect a brand to message them; anywhere
# else (and when the country is unknown) the win-back nudge goes by SMS, which every tenant has.
WHATSAPP_FIRST_COUNTRIES: Final = (
    "AE", "AR", "BR", "CL", "CO", "DE", "ES", "ID", "IN", "IT",
    "MX", "MY", "NG", "NL", "PE", "SA", "TR", "ZA",
)  # fmt: skip


@dataclass(frozen=True)
class Preset:
    """One ready-made flow. ``definition()`` and ``templates()`` return fresh copies, so a
    caller may adjust them (e.g. rename the flow) without changing the preset."""

    key: str
    name: str
    description: Text  # what it does, for the seller choosing one
    _definition: Document
    _templates: tuple[Document, ...]

    def definition(self) -> Document:
        """The flow definition, as accepted by ``linkstar.outreach.flows.parse_flow``."""
        return copy.deepcopy(self._definition)

    def templates(self) -> list[Document]:
        """Every template the flow sends, one document per template id, channel and locale."""
        return [copy.deepcopy(template) for template in self._templates]


# ------------------------------------------------------------------ copy building blocks

_HI: Final = {
    "en": "Hi {{ contact.first_name | default('there') }},",
    # An expression rather than {% if %}: a block tag at the end of a line eats its newline.
    "zh-CN": "{{ contact.first_name ~ '，您好！' if contact.first_name else '您好！' }}",
}
_SIGNATURE: Final = {"en": "The {{ tenant.name }} team", "zh-CN": "{{ tenant.name }} 团队"}
_MARKETING_FOOTER: Final = {
    "en": (
        "--\n"
        "You're receiving this email because you subscribed to emails from {{ tenant.name }}.\n"
        "Unsubscribe: {{ links.unsubscribe_url }}\n"
        "Email preferences: {{ links.preferences_url }}"
    ),
    "zh-CN": (
        "--\n"
        "您收到这封邮件，是因为您订阅了 {{ tenant.name }} 的邮件。\n"
        "退订：{{ links.unsubscribe_url }}\n"
        "邮件偏好设置：{{ links.preferences_url }}"
    ),
}


def _email(
    template_id: str, purpose: str, copy_by_locale: Mapping[str, tuple[str, str]]
) -> list[Document]:
    """Email documents from (subject, middle of the body) per locale; greeting, signature and,
    for marketing, the unsubscribe footer are added here so no preset can forget them."""
    documents = []
    for locale, (subject, middle) in copy_by_locale.items():
        parts = [_HI[locale], middle.strip(), _SIGNATURE[locale]]
        if purpose == "marketing":
            parts.append(_MARKETING_FOOTER[locale])
        documents.append(
            {
                "template_id": template_id,
                "channel": "email",
                "locale": locale,
                "purpose": purpose,
                "subject": subject,
                "body": "\n\n".join(parts) + "\n",
            }
        )
    return documents


def _short_text(
    template_id: str,
    channel: str,
    purpose: str,
    text_by_locale: Mapping[str, str],
    whatsapp_name: str | None = None,
) -> list[Document]:
    """SMS or WhatsApp documents; marketing ones get the opt-out line as their last line."""
    documents = []
    for locale, text in text_by_locale.items():
        body = text if purpose != "marketing" else f"{text}\n{SMS_OPT_OUT[locale]}"
        document: Document = {
            "template_id": template_id,
            "channel": channel,
            "locale": locale,
            "purpose": purpose,
            "body": body,
        }
        if whatsapp_name:
            # Outside the 24-hour service window WhatsApp delivers only templates Meta has
            # approved; the seller registers this name (body as below) in their WhatsApp account.
            document["whatsapp_template"] = {
                "name": whatsapp_name,
                "language": locale.replace("-", "_"),
            }
        documents.append(document)
    return documents


def _preset(key: str, description: Text, definition: Document, templates: list[Document]) -> Preset:
    return Preset(
        key=key,
        name=definition["name"],
        description=description,
        _definition=definition,
        _templates=tuple(templates),
    )


def _tid(preset: str, name: str) -> str:
    return f"preset.{preset}.{name}"


# ------------------------------------------------------------------ welcome

_WELCOME = _preset(
    "welcome",
    Text("outreach.preset_welcome"),
    {
        "name": "Welcome series",
        "enabled": True,
        "trigger": {"event": "contact.subscribed"},
        "steps": [
            {
                "id": "welcome_email",
                "type": "send",
                "channel": "email",
                "template": _tid("welcome", "email"),
                "purpose": "marketing",
            },
            {"id": "wait_2d", "type": "wait", "duration": "P2D"},
            {
                "id": "tip_email",
                "type": "send",
                "channel": "email",
                "template": _tid("welcome", "tip_email"),
                "purpose": "marketing",
            },
        ],
        "reentry": {"policy": "once"},
    },
    [
        *_email(
            _tid("welcome", "email"),
            "marketing",
            {
                "en": (
                    "Welcome to {{ tenant.name }}",
                    """
Thanks for subscribing to {{ tenant.name }}! You'll be the first to hear about new arrivals, restocks and special offers.

We only write when we have something worth sharing.
""",  # noqa: E501
                ),
                "zh-CN": (
                    "欢迎加入 {{ tenant.name }}",
                    """
感谢您订阅 {{ tenant.name }}！新品上架、补货和专属优惠，我们都会第一时间通知您。

我们只在有值得分享的内容时才会给您写信。
""",
                ),
            },
        ),
        *_email(
            _tid("welcome", "tip_email"),
            "marketing",
            {
                "en": (
                    "A quick tip from {{ tenant.name }}",
                    """
Here's a tip to make shopping with us easier: if you're unsure about a size, a colour or how long delivery to your country takes, just reply to this email. A real person on our team reads every message and will get back to you.

Happy shopping!
""",  # noqa: E501
                ),
                "zh-CN": (
                    "{{ tenant.name }} 的购物小贴士",
                    """
分享一个让购物更省心的小贴士：如果您对尺码、颜色，或寄往您所在国家/地区需要多久有任何疑问，直接回复这封邮件即可。我们的团队会认真阅读每一封来信，并尽快回复您。

祝您购物愉快！
""",
                ),
            },
        ),
    ],
)

# ------------------------------------------------------------------ abandoned checkout

_ABANDONED_CHECKOUT = _preset(
    "abandoned_checkout",
    Text("outreach.preset_abandoned_checkout"),
    {
        "name": "Abandoned checkout",
        "enabled": True,
        "trigger": {"event": "checkout.started"},
        "steps": [
            {"id": "wait_1h", "type": "wait", "duration": "PT1H"},
            {
                "id": "reminder_email",
                "type": "send",
                "channel": "email",
                "template": _tid("abandoned_checkout", "email"),
                "purpose": "marketing",
            },
            {"id": "wait_23h", "type": "wait", "duration": "PT23H"},
            {
                "id": "still_open",
                "type": "branch",
                # Belt and braces: the checkout.completed exit normally ends the run first.
                "if": {"field": "checkout.completed", "op": "ne", "value": True},
                "then": "reminder_sms",
                "else": "end",
            },
            {
                "id": "reminder_sms",
                "type": "send",
                "channel": "sms",
                "template": _tid("abandoned_checkout", "sms"),
                "purpose": "marketing",
            },
        ],
        "exit": [
            {"event": "checkout.completed", "match": "checkout_id"},
            {"event": "order.paid", "match": "email"},
        ],
        "reentry": {"policy": "once_per_trigger"},
    },
    [
        *_email(
            _tid("abandoned_checkout", "email"),
            "marketing",
            {
                "en": (
                    "You left something in your cart",
                    """
You left some items in your cart at {{ tenant.name }}. We've saved them for you, so you can pick up right where you left off.

Cart total: {{ checkout.total | money(checkout.currency) }}

Complete your order: {{ checkout.recovery_url }}

Questions about sizing, shipping or payment? Just reply to this email.
""",  # noqa: E501
                ),
                "zh-CN": (
                    "您的购物车还在等您",
                    """
您在 {{ tenant.name }} 的购物车里还有商品没有结算。我们已为您保留，随时可以从上次离开的地方继续。

购物车金额：{{ checkout.total | money(checkout.currency) }}

继续结算：{{ checkout.recovery_url }}

对尺码、配送或付款有任何疑问？直接回复这封邮件即可。
""",
                ),
            },
        ),
        *_short_text(
            _tid("abandoned_checkout", "sms"),
            "sms",
            "marketing",
            {
                "en": "{{ tenant.name }}: your cart is saved. "
                "Finish checkout: {{ checkout.recovery_url }}",
                "zh-CN": "【{{ tenant.name }}】您的购物车还在等您，点击继续结算："
                "{{ checkout.recovery_url }}",
            },
        ),
    ],
)

# ------------------------------------------------------------------ order confirmation

_ORDER_CONFIRMATION = _preset(
    "order_confirmation",
    Text("outreach.preset_order_confirmation"),
    {
        "name": "Order confirmation",
        "enabled": True,
        "trigger": {"event": "order.paid"},
        "steps": [
            {
                "id": "confirmation_email",
                "type": "send",
                "channel": "email",
                "template": _tid("order_confirmation", "email"),
                "purpose": "transactional",
            }
        ],
        "reentry": {"policy": "once_per_trigger"},
    },
    _email(
        _tid("order_confirmation", "email"),
        "transactional",
        {
            "en": (
                "Order {{ order.name }} confirmed",
                """
Thank you for your order! We've received your payment and are getting order {{ order.name }} ready.

Items: {{ order.items_count }}
Total paid: {{ order.total | money(order.currency) }}

We'll email you again as soon as it ships. If anything looks wrong, just reply to this email.
""",
            ),
            "zh-CN": (
                "订单 {{ order.name }} 已确认",
                """
感谢您的购买！我们已收到您的付款，正在为您准备订单 {{ order.name }}。

商品数量：{{ order.items_count }} 件
实付金额：{{ order.total | money(order.currency) }}

订单发货后，我们会再发邮件通知您。如有任何问题，直接回复这封邮件即可。
""",
            ),
        },
    ),
)

# ------------------------------------------------------------------ shipping update

_SHIPPING_UPDATE = _preset(
    "shipping_update",
    Text("outreach.preset_shipping_update"),
    {
        "name": "Shipping update",
        "enabled": True,
        "trigger": {"event": "fulfillment.created"},
        "steps": [
            {
                "id": "shipped_email",
                "type": "send",
                "channel": "email",
                "template": _tid("shipping_update", "email"),
                "purpose": "transactional",
                "fallback": ["sms"],
                "fallback_templates": {"sms": _tid("shipping_update", "sms")},
            }
        ],
        "reentry": {"policy": "once_per_trigger"},
    },
    [
        *_email(
            _tid("shipping_update", "email"),
            "transactional",
            {
                "en": (
                    "Your order {{ order.name }} is on its way",
                    """
Good news: your order {{ order.name }} has shipped.

{% if shipment.tracking_company %}
Carrier: {{ shipment.tracking_company }}
{% endif %}
{% if shipment.tracking_number %}
Tracking number: {{ shipment.tracking_number }}
{% endif %}
{% if shipment.tracking_url %}
Track your package: {{ shipment.tracking_url }}
{% endif %}

International deliveries can take a little longer, and tracking may need a day or two to show the first update.
""",  # noqa: E501
                ),
                "zh-CN": (
                    "您的订单 {{ order.name }} 已发货",
                    """
好消息！您的订单 {{ order.name }} 已经发货。

{% if shipment.tracking_company %}
承运商：{{ shipment.tracking_company }}
{% endif %}
{% if shipment.tracking_number %}
运单号：{{ shipment.tracking_number }}
{% endif %}
{% if shipment.tracking_url %}
查看物流：{{ shipment.tracking_url }}
{% endif %}

跨境包裹的运输时间可能稍长，物流信息通常会在发货后一到两天内开始更新。
""",
                ),
            },
        ),
        *_short_text(
            _tid("shipping_update", "sms"),
            "sms",
            "transactional",
            {
                "en": "{{ tenant.name }}: your order {{ order.name }} has shipped."
                "{% if shipment.tracking_url %} Track it: {{ shipment.tracking_url }}{% endif %}",
                "zh-CN": "【{{ tenant.name }}】您的订单 {{ order.name }} 已发货"
                "{% if shipment.tracking_url %}，查看物流：{{ shipment.tracking_url }}"
                "{% else %}。{% endif %}",
            },
        ),
    ],
)

# ------------------------------------------------------------------ review request

_REVIEW_REQUEST = _preset(
    "review_request",
    Text("outreach.preset_review_request"),
    {
        "name": "Review request",
        "enabled": True,
        "trigger": {"event": "order.delivered"},
        "steps": [
            {"id": "wait_7d", "type": "wait", "duration": "P7D"},
            {"id": "at_10am", "type": "wait_until", "local_time": "10:00"},
            {
                "id": "review_email",
                "type": "send",
                "channel": "email",
                "template": _tid("review_request", "email"),
                "purpose": "marketing",
            },
        ],
        "exit": [{"event": "order.refunded", "match": "order_id"}],
        "reentry": {"policy": "once_per_trigger"},
    },
    _email(
        _tid("review_request", "email"),
        "marketing",
        {
            "en": (
                "How is your order from {{ tenant.name }}?",
                """
Your order {{ order.name }} arrived about a week ago, and we'd love to know what you think.

Would you take a minute to leave us a review? Just reply to this email with a few words about what you bought, and a rating from 1 to 5 stars if you like. Honest feedback helps other shoppers choose, and helps us do better.

Thank you!
""",  # noqa: E501
            ),
            "zh-CN": (
                "您对这次购物还满意吗？",
                """
您的订单 {{ order.name }} 已送达一周左右，想听听您的使用感受。

能否花一分钟给我们写条评价？直接回复这封邮件，说说您对商品的看法；如果愿意，也可以打个 1 到 5 星的评分。您的真实反馈能帮助其他顾客做出选择，也能帮助我们做得更好。

非常感谢！
""",  # noqa: E501
            ),
        },
    ),
)

# ------------------------------------------------------------------ win-back

_WIN_BACK = _preset(
    "win_back",
    Text("outreach.preset_win_back"),
    {
        "name": "Win-back",
        "enabled": True,
        "trigger": {"segment": {"type": "dormant", "days": 90}},
        "steps": [
            {
                "id": "offer_email",
                "type": "send",
                "channel": "email",
                "template": _tid("win_back", "email"),
                "purpose": "marketing",
            },
            {"id": "wait_5d", "type": "wait", "duration": "P5D"},
            {
                "id": "unopened",
                "type": "branch",
                # "Delivered" as well as "not opened": the nudge points at the email, which
                # makes no sense to someone it never reached (no address, bounced, suppressed).
                "if": {
                    "all": [
                        {"message": "offer_email", "is": "delivered"},
                        {"message": "offer_email", "is": "not_opened"},
                    ]
                },
                "then": "pick_channel",
                "else": "end",
            },
            {
                "id": "pick_channel",
                "type": "branch",
                "if": {
                    "field": "contact.country",
                    "op": "in",
                    "value": list(WHATSAPP_FIRST_COUNTRIES),
                },
                "then": "whatsapp_nudge",
                "else": "sms_nudge",
            },
            {
                "id": "whatsapp_nudge",
                "type": "send",
                "channel": "whatsapp",
                "template": _tid("win_back", "whatsapp"),
                "purpose": "marketing",
            },
            {"id": "done", "type": "exit"},
            {
                "id": "sms_nudge",
                "type": "send",
                "channel": "sms",
                "template": _tid("win_back", "sms"),
                "purpose": "marketing",
            },
        ],
        "exit": [{"event": "order.placed", "match": "email"}],
        "reentry": {"policy": "cooldown", "seconds": 180 * 86_400},
    },
    [
        *_email(
            _tid("win_back", "email"),
            "marketing",
            {
                "en": (
                    "We miss you at {{ tenant.name }}",
                    """
It's been a while since your last order{% if order.name %} ({{ order.name }}){% endif %}, and we'd love to see you again.

As a thank-you for shopping with us before, just reply to this email and we'll send you a personal welcome-back discount code.
""",  # noqa: E501
                ),
                "zh-CN": (
                    "好久不见，我们很想念您",
                    """
距离您上次下单{% if order.name %}（订单 {{ order.name }}）{% endif %}已经有一段时间了，我们很期待再次为您服务。

为感谢您一直以来的支持，直接回复这封邮件，我们就会为您送上一张专属回归优惠码。
""",  # noqa: E501
                ),
            },
        ),
        *_short_text(
            _tid("win_back", "sms"),
            "sms",
            "marketing",
            {
                "en": "{{ tenant.name }}: we miss you! We emailed you a welcome-back offer - "
                "check your inbox.",
                "zh-CN": "【{{ tenant.name }}】好久不见！我们给您发了一封回归专属优惠邮件，"
                "记得查收哦。",
            },
        ),
        *_short_text(
            _tid("win_back", "whatsapp"),
            "whatsapp",
            "marketing",
            {
                "en": "Hi {{ contact.first_name | default('there') }}, it's {{ tenant.name }}. "
                "We miss you! We've emailed you a welcome-back offer - have a look in your "
                "inbox.",
                "zh-CN": "{{ contact.first_name ~ '，您好！' if contact.first_name else '您好！' }}"
                "这里是 {{ tenant.name }}。好久不见！我们给您发了一封回归专属优惠邮件，"
                "记得查收哦。",
            },
            whatsapp_name="linkstar_win_back",
        ),
    ],
)

# ------------------------------------------------------------------ refund follow-up

_REFUND_FOLLOWUP = _preset(
    "refund_followup",
    Text("outreach.preset_refund_followup"),
    {
        "name": "Refund follow-up",
        "enabled": True,
        "trigger": {"event": "order.refunded"},
        "steps": [
            {
                "id": "refund_email",
                "type": "send",
                "channel": "email",
                "template": _tid("refund_followup", "email"),
                "purpose": "transactional",
            },
            {"id": "wait_3d", "type": "wait", "duration": "P3D"},
            {
                "id": "feedback_email",
                "type": "send",
                "channel": "email",
                "template": _tid("refund_followup", "feedback_email"),
                "purpose": "marketing",
            },
        ],
        "reentry": {"policy": "once_per_trigger"},
    },
    [
        *_email(
            _tid("refund_followup", "email"),
            "transactional",
            {
                "en": (
                    "Your refund for order {{ order.name }}",
                    """
We've refunded {{ refund.amount | money(refund.currency) }} for your order {{ order.name }}.

Depending on your bank or payment provider, it can take 5 to 10 business days to appear on your statement. If it hasn't arrived by then, reply to this email and we'll look into it.
""",  # noqa: E501
                ),
                "zh-CN": (
                    "订单 {{ order.name }} 的退款已处理",
                    """
我们已为您的订单 {{ order.name }} 办理退款，金额为 {{ refund.amount | money(refund.currency) }}。

视您的银行或支付方式而定，款项通常需要 5 到 10 个工作日退回您的账户。如届时仍未到账，请直接回复这封邮件，我们会为您跟进。
""",  # noqa: E501
                ),
            },
        ),
        *_email(
            _tid("refund_followup", "feedback_email"),
            "marketing",
            {
                "en": (
                    "Could you tell us what went wrong?",
                    """
We noticed your order {{ order.name }} was refunded, and we'd like to understand why so we can do better.

Would you reply to this email and tell us what happened? Whether it was the product, the fit, the delivery or something else, our team reads every answer.

Thank you for your time.
""",  # noqa: E501
                ),
                "zh-CN": (
                    "能告诉我们哪里做得不够好吗？",
                    """
我们注意到您的订单 {{ order.name }} 已经退款，想了解一下原因，以便我们做得更好。

能否直接回复这封邮件，告诉我们发生了什么？无论是商品本身、尺码、物流还是其他原因，我们的团队都会认真阅读每一条反馈。

感谢您抽出宝贵的时间。
""",
                ),
            },
        ),
    ],
)


PRESETS: Final[dict[str, Preset]] = {
    preset.key: preset
    for preset in (
        _WELCOME,
        _ABANDONED_CHECKOUT,
        _ORDER_CONFIRMATION,
        _SHIPPING_UPDATE,
        _REVIEW_REQUEST,
        _WIN_BACK,
        _REFUND_FOLLOWUP,
    )
}
