"""Public outreach routes (no API key): the unsubscribe link and WhatsApp's webhook.

``GET /unsubscribe/{token}`` shows a small preference page; ``POST`` unsubscribes at once —
both RFC 8058 one-click (``List-Unsubscribe=One-Click``, sent by the mailbox provider) and the
page's own button. The signed token is the only credential, and it can only withdraw consent
(or give it back, from the page) for the one contact and channel it names.

``POST /webhooks/whatsapp`` checks Meta's ``X-Hub-Signature-256`` over the raw body in constant
time and queues the body for the feedback function; ``GET`` answers Meta's subscription check.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs

from chalice import Blueprint, Response

from linkstar import aws, clock
from linkstar.api.http import Auth, Content, Param, route
from linkstar.errors import BadRequest, LinkStarError, Unauthorized
from linkstar.secrets import secret_value
from linkstar.settings import get_settings, require

if TYPE_CHECKING:
    from linkstar.outreach.unsubscribe import UnsubscribeToken

bp = Blueprint(__name__)
_FORMS = [
    "application/x-www-form-urlencoded",
    "application/json",
    "text/plain",
    "multipart/form-data",
]
HTML = "text/html; charset=utf-8"
PAGE = Content(HTML, "A small bilingual page")
NOT_VALID = Content(HTML, "The link is not valid (a page saying so)")
_CHANNEL_NAMES = {
    "email": ("email", "邮件"),
    "sms": ("text messages", "短信"),
    "whatsapp": ("WhatsApp messages", "WhatsApp 消息"),
    "in_app": ("in-app messages", "站内消息"),
}


def _page(title: str, body: str, status: int = 200) -> Response:
    document = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;"
        "padding:0 1rem;color:#222}button{font-size:1rem;padding:.6rem 1.2rem;margin:.3rem 0}"
        "</style></head><body>" + body + "</body></html>"
    )
    return Response(
        body=document, status_code=status, headers={"Content-Type": "text/html; charset=utf-8"}
    )


def _token(text: str) -> UnsubscribeToken:
    from linkstar.outreach import unsubscribe

    try:
        return unsubscribe.verify(text)
    except LinkStarError:
        raise
    except Exception as exc:  # a token that decodes to garbage is the same as a forged one
        raise BadRequest("the unsubscribe link is not valid", code="invalid_token") from exc


@route(
    bp,
    "/unsubscribe/{token}",
    methods=["GET"],
    response={200: PAGE, 400: NOT_VALID},
    auth=Auth.NONE,
    tags=["unsubscribe"],
)
def preference_page(token: str) -> Response:
    """The preference page an unsubscribe link opens (the signed token is the credential)."""
    from linkstar.store import outreach as repo

    try:
        claim = _token(token)
    except LinkStarError:
        return _page("Link not valid", "<h1>This link is not valid</h1><p>链接无效。</p>", 400)
    contact = repo.load_contact(claim.tenant_id, claim.contact_id)
    consent = contact.consent_for(claim.channel, "marketing") if contact else None
    subscribed = consent is not None and consent.status == "subscribed"
    english, chinese = _CHANNEL_NAMES.get(claim.channel, (claim.channel, claim.channel))
    state = (
        f"<p>You are subscribed to marketing {english}. 您已订阅营销{chinese}。</p>"
        if subscribed
        else f"<p>You are not subscribed to marketing {english}. 您未订阅营销{chinese}。</p>"
    )
    action = "unsubscribe" if subscribed else "subscribe"
    label = (
        f"Unsubscribe from {english} / 退订{chinese}"
        if subscribed
        else f"Subscribe again / 重新订阅{chinese}"
    )
    form = (
        "<form method='post'>"
        f"<input type='hidden' name='action' value='{action}'>"
        f"<button type='submit'>{html.escape(label)}</button></form>"
    )
    return _page("Email preferences", "<h1>Preferences / 订阅设置</h1>" + state + form)


@route(
    bp,
    "/unsubscribe/{token}",
    methods=["POST"],
    content_types=_FORMS,
    request=(
        Content(
            "application/x-www-form-urlencoded",
            "List-Unsubscribe=One-Click (RFC 8058), or the page's action=unsubscribe|subscribe",
            {"type": "object", "properties": {"action": {"enum": ["unsubscribe", "subscribe"]}}},
        ),
    ),
    response={200: PAGE, 400: NOT_VALID},
    auth=Auth.NONE,
    tags=["unsubscribe"],
)
def unsubscribe_now(token: str) -> Response:
    """Unsubscribe at once (one-click), or subscribe again from the preference page."""
    from linkstar.outreach import contacts as contact_service
    from linkstar.store import outreach as repo

    try:
        claim = _token(token)
    except LinkStarError:
        return _page("Link not valid", "<h1>This link is not valid</h1><p>链接无效。</p>", 400)
    body = bp.current_request.raw_body or b""
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    form = {k: v[-1] for k, v in parse_qs(raw).items()}
    # RFC 8058 sends "List-Unsubscribe=One-Click"; the page sends action=…; anything else from
    # this signed link is read as the safe choice: unsubscribe.
    action = form.get("action", "unsubscribe")
    status: Literal["subscribed", "unsubscribed"] = (
        "subscribed" if action == "subscribe" else "unsubscribed"
    )
    source = "one_click" if form.get("List-Unsubscribe") == "One-Click" else "unsubscribe_link"
    headers = bp.current_request.headers
    proof = {
        "message_id": claim.message_id,
        "user_agent": (headers.get("user-agent") or "")[:200],
        "ip": ((bp.current_request.context or {}).get("identity") or {}).get("sourceIp"),
    }
    updated = contact_service.set_consent(
        claim.tenant_id,
        claim.contact_id,
        claim.channel,
        "marketing",
        status,
        source,
        proof,
        clock.now(),  # type: ignore[arg-type]
    )
    if updated is None:
        return _page("Done", "<h1>You are unsubscribed</h1><p>您已退订。</p>")
    if status == "unsubscribed" and claim.message_id:
        message = repo.load_message(claim.tenant_id, claim.message_id)
        if message is not None and message.flow_id:
            from linkstar.store import dynamo

            dynamo.transact([repo.stats_op(claim.tenant_id, message.flow_id, {"unsubscribed": 1})])
    if status == "subscribed":
        return _page("Subscribed", "<h1>You are subscribed again</h1><p>您已重新订阅。</p>")
    return _page(
        "Unsubscribed", "<h1>You are unsubscribed</h1><p>您已退订。您不会再收到此类消息。</p>"
    )


# ---------------------------------------------------------------- WhatsApp webhooks


def _app_secret() -> str:
    return secret_value(require(get_settings().whatsapp_app_secret_arn, "WHATSAPP_APP_SECRET_ARN"))


def verify_token() -> str:
    """What to enter as the "Verify token" in Meta's webhook settings (derived, not stored)."""
    return hmac.new(
        _app_secret().encode(), b"linkstar-whatsapp-verify", hashlib.sha256
    ).hexdigest()[:32]


@route(
    bp,
    "/webhooks/whatsapp",
    methods=["GET"],
    response=Content("text/plain", "hub.challenge, echoed"),
    params=(
        Param("hub.mode", "subscribe", {"enum": ["subscribe"]}, required=True),
        Param("hub.verify_token", "the verify token entered in Meta's settings", required=True),
        Param("hub.challenge", "echoed back when the token matches", required=True),
    ),
    auth=Auth.PLATFORM_SIGNATURE,
    tags=["webhooks"],
)
def whatsapp_subscribe() -> Response:
    """Meta's subscription check for the WhatsApp webhook."""
    params: dict[str, Any] = dict(bp.current_request.query_params or {})
    given = params.get("hub.verify_token") or ""
    if params.get("hub.mode") != "subscribe" or not hmac.compare_digest(given, verify_token()):
        raise Unauthorized("verify token does not match", code="invalid_verify_token")
    return Response(
        body=params.get("hub.challenge", ""),
        status_code=200,
        headers={"Content-Type": "text/plain"},
    )


@route(
    bp,
    "/webhooks/whatsapp",
    methods=["POST"],
    request=Content("application/json", "Meta's webhook body", {"type": "object"}),
    response="WhatsAppQueued",
    auth=Auth.PLATFORM_SIGNATURE,
    tags=["webhooks"],
)
def whatsapp_webhook() -> dict:
    """WhatsApp delivery and reply events (signed with X-Hub-Signature-256), queued."""
    from linkstar.outreach.feedback_events import verify_whatsapp_signature

    given = bp.current_request.raw_body or b""
    raw = given if isinstance(given, bytes) else given.encode()
    header = bp.current_request.headers.get("x-hub-signature-256")
    if not verify_whatsapp_signature(_app_secret(), raw, header):
        raise Unauthorized("signature does not match", code="invalid_signature")
    try:
        payload = json.loads(raw)
    except ValueError as exc:
        raise BadRequest("the body is not JSON", code="invalid_json") from exc
    body = json.dumps({"source": "whatsapp_webhook", "payload": payload})
    aws.client("sqs").send_message(
        QueueUrl=require(get_settings().feedback_queue_url, "FEEDBACK_QUEUE_URL"), MessageBody=body
    )
    return {"status": "queued"}
