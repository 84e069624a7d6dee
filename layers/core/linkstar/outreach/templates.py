"""Message templates: their per-channel shape, locale fallback, checking at save time, and
rendering in a sandbox with UTM tagging.

Templates are written by tenants, so a template is untrusted code. It is compiled by a jinja2
sandbox that cannot reach Python internals (no ``_``-attributes), cannot change its data, has
no loader (so no ``{% import %}``/``{% include %}``/``{% extends %}``) and no ``range``/
``lipsum`` globals. Errors a tenant can fix are reported when the template is saved
(:func:`validate`): syntax, forbidden constructs and variables outside :data:`CONTEXT_FIELDS`.
What only the data can break (a field absent for one contact) fails that one message at render
time with ``template_render_failed`` instead of sending a half-filled message.

The render context is plain dicts under the names in :data:`CONTEXT_FIELDS` (``contact``,
``order``…). ``None`` renders as an empty string; a *missing* key is an error. Pure: no I/O.

Rich content is declared, not rendered: an email template may list ``attachments`` and an SMS
template one ``media`` file (which makes it an MMS). Each names a file in the tenant's media
folder by a ``key`` *relative to that folder* (``catalogue/2026.pdf``); the tenant's id is put in
front only when the file is read (``linkstar.outreach.providers.media``), so no template can
name another tenant's file. What can be checked without reading the file is checked here: the
key's shape, the content type (and that an attachment's file name ends as that type does), and
how many files. When a template is saved through the API each file is also looked up in the
folder (``linkstar.outreach.providers.media.check_template_files``) and judged here
(:func:`stored_file_problem`, :func:`attachments_problem`): it must be there, stored as the type
the template declares, within its limit. Sizes are checked again when the file is read, before
it is sent (a file may be replaced after the template is saved). The same limits decide what
may be uploaded at all (:func:`upload_limit`).
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from jinja2 import StrictUndefined, Undefined, meta, nodes
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linkstar.errors import BadRequest
from linkstar.money import is_currency, parse_amount
from linkstar.outreach.models import Channel, Purpose
from linkstar.outreach.sms import SmsEncoding, encoding_of
from linkstar.text import Text, reason_of

__all__ = [
    "ATTACHMENT_TYPES",
    "CONTEXT_FIELDS",
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "MMS_MEDIA_TYPES",
    "Attachment",
    "Channel",
    "MediaFile",
    "MediaProblem",
    "MmsMedia",
    "Purpose",
    "Rendered",
    "Template",
    "TemplateError",
    "WhatsAppTemplate",
    "add_utm",
    "attachments_problem",
    "check_variables",
    "fallback_chain",
    "media_type",
    "normalise_locale",
    "pick",
    "referenced_variables",
    "render",
    "stored_file_problem",
    "upload_limit",
    "validate",
]

Part = Literal["subject", "body", "html"]

# The variables a template may use, by context. Adding a field here is a promise that every
# producer of that context (flows, the test-send API) fills it, with None when unknown.
CONTEXT_FIELDS: dict[str, frozenset[str]] = {
    "contact": frozenset(
        {"first_name", "last_name", "email", "phone", "country", "locale", "time_zone"}
    ),
    "tenant": frozenset({"name"}),
    "order": frozenset(
        {
            "order_id",
            "name",
            "total",
            "currency",
            "status",
            "created_at",
            "items_count",
            "market",
        }
    ),
    "checkout": frozenset({"checkout_id", "recovery_url", "total", "currency"}),
    "shipment": frozenset({"tracking_company", "tracking_number", "tracking_url"}),
    "refund": frozenset({"amount", "currency", "reason"}),
    "links": frozenset({"unsubscribe_url", "preferences_url"}),
}

UTM_PARAMETERS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
# Links the recipient uses to withdraw consent are left exactly as issued: they are signed or
# tokenised, and an unsubscribe link must not count as campaign engagement.
_UNTAGGED_LINKS = ("unsubscribe_url", "preferences_url")

# A rendered part larger than this is a runaway loop, not a message (Gmail clips at ~100 KB).
MAX_RENDERED_CHARS = 1_000_000


class TemplateError(BadRequest):
    """A template that can't be saved or rendered; ``code`` says why, ``details`` where."""

    code = "template_invalid"


def _either(options: Sequence[str]) -> Text | str:
    """``".jpg or .jpeg"``, joined the reader's way."""
    if len(options) == 1:
        return options[0]
    return Text("outreach.template.either", options=list(options[:-1]), last=options[-1])


# ---------------------------------------------------------------- the template model


_LOCALE = re.compile(
    r"^(?P<language>[A-Za-z]{2,3})(?:[-_](?P<script>[A-Za-z]{4}))?"
    r"(?:[-_](?P<region>[A-Za-z]{2}|[0-9]{3}))?$"
)


def normalise_locale(value: str) -> str:
    """``"zh_cn"`` -> ``"zh-CN"``: BCP 47 language[-Script][-REGION] in canonical case.

    Variants and extensions aren't accepted: no template set is that fine-grained.
    """
    match = _LOCALE.match(value.strip())
    if not match:
        raise ValueError(Text("outreach.template.not_a_locale", value=repr(value)))
    language, script, region = match.group("language", "script", "region")
    return "-".join(
        part
        for part in (language.lower(), script and script.title(), region and region.upper())
        if part
    )


class WhatsAppTemplate(BaseModel):
    """The pre-approved WhatsApp template to use when the business starts the conversation
    (outside the 24-hour customer-service window only approved templates are delivered)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Meta's own rules: lowercase letters, digits and underscores; languages like "en_US".
    name: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,512}$")]
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")]
    # The category Meta approved the template in; it prices the message (marketing costs several
    # times utility). Unset: marketing for a marketing step, utility otherwise.
    category: Literal["marketing", "utility", "authentication"] | None = None


# ---------------------------------------------------------------- rich content

# What an email may carry, with the file name endings each type may have: what a shop sends
# (invoices, catalogues, calendar entries, pictures). SES refuses executables and scripts by
# their file name ending; an ending that doesn't match the declared type would slip a file past
# that and past the recipient's own checks.
ATTACHMENT_TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/gif": (".gif",),
    "text/calendar": (".ics",),
    "text/csv": (".csv",),
    "text/plain": (".txt",),
}
MAX_ATTACHMENTS = 5
# All of one email's attachments together. SES takes 40 MB (after base64, which adds a third),
# but many receiving servers refuse mail above 10-25 MB.
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024

# The media an MMS may carry and each type's size limit: AWS End User Messaging SMS, "MMS file
# types, size and character limits" (2 MB for images, 600 KB for the rest; decimal, the safe
# reading of "MB").
_IMAGE_LIMIT = 2_000_000
_OTHER_LIMIT = 600_000
MMS_MEDIA_TYPES: dict[str, int] = {
    "image/gif": _IMAGE_LIMIT,
    "image/jpeg": _IMAGE_LIMIT,
    "image/png": _IMAGE_LIMIT,
    **dict.fromkeys(
        (
            "image/tiff",
            "audio/3gpp",
            "video/3gpp",
            "audio/3gpp2",
            "video/3gpp2",
            "audio/amr",
            "audio/mp4",
            "video/mp4",
            "audio/mpeg",
            "audio/ogg",
            "video/quicktime",
            "video/webm",
            "text/calendar",
            "text/vcard",
            "text/x-vcard",
            "application/pdf",
        ),
        _OTHER_LIMIT,
    ),
}

# S3's "safe characters" for object keys, "/" between non-empty parts, no "." or ".." parts:
# a key that needs no escaping anywhere (an s3:// URL, an IAM resource, a log line).
_KEY_PART = re.compile(r"^[A-Za-z0-9!_.*'()-]+$")
_MAX_KEY = 512  # of S3's 1024 bytes, leaving room for the tenant's folder
_FILENAME_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f/\\]")


class MediaFile(BaseModel):
    """A file in the tenant's media folder. ``key`` is relative to that folder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    content_type: str

    @field_validator("key")
    @classmethod
    def _relative_key(cls, value: str) -> str:
        parts = value.split("/")
        if (
            not value
            or len(value) > _MAX_KEY
            or any(part in ("", ".", "..") or not _KEY_PART.match(part) for part in parts)
        ):
            raise ValueError(Text("outreach.template.media_key", limit=_MAX_KEY))
        return value

    @field_validator("content_type")
    @classmethod
    def _lower_case_type(cls, value: str) -> str:
        return value.strip().lower()


class Attachment(MediaFile):
    """A file attached to an email, shown to the recipient as ``filename`` (by default the last
    part of its key)."""

    filename: Annotated[str, Field(min_length=1, max_length=255)] | None = None

    @model_validator(mode="after")
    def _known_type(self) -> Attachment:
        endings = ATTACHMENT_TYPES.get(self.content_type)
        if endings is None:
            raise ValueError(
                Text(
                    "outreach.template.attachment_type",
                    types=list(ATTACHMENT_TYPES),
                    given=repr(self.content_type),
                )
            )
        name = self.name
        if _FILENAME_FORBIDDEN.search(name) or not name.strip():
            raise ValueError(Text("outreach.template.filename_characters"))
        if not name.lower().endswith(endings):
            raise ValueError(
                Text(
                    "outreach.template.attachment_ending",
                    type=self.content_type,
                    endings=_either(endings),
                    name=repr(name),
                )
            )
        return self

    @property
    def name(self) -> str:
        return self.filename if self.filename is not None else self.key.rsplit("/", 1)[-1]


class MmsMedia(MediaFile):
    """The media file of an MMS, of a type End User Messaging SMS sends."""

    @field_validator("content_type")
    @classmethod
    def _mms_type(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in MMS_MEDIA_TYPES:
            raise ValueError(
                Text("outreach.template.mms_type", types=list(MMS_MEDIA_TYPES), given=repr(value))
            )
        return value

    @property
    def size_limit(self) -> int:
        return MMS_MEDIA_TYPES[self.content_type]


def upload_limit(content_type: str) -> int | None:
    """The most bytes a file of ``content_type`` may have to be sendable by some channel: as an
    email attachment (all of an email's attachments together) or as an MMS file; ``None`` when no
    channel sends that type."""
    kind = media_type(content_type)
    limits = [MAX_ATTACHMENT_BYTES] if kind in ATTACHMENT_TYPES else []
    if kind in MMS_MEDIA_TYPES:
        limits.append(MMS_MEDIA_TYPES[kind])
    return max(limits) if limits else None


def media_type(content_type: str) -> str:
    """``"Text/Plain; charset=utf-8"`` -> ``"text/plain"``: a stored file's type as compared."""
    return content_type.split(";", 1)[0].strip().lower()


class MediaProblem(NamedTuple):
    """What is wrong with a template's stored file: a machine-readable ``code`` and the reason."""

    code: str
    reason: Text


def stored_file_problem(file: MediaFile, content_type: str, size: int) -> MediaProblem | None:
    """Why the file a template names, found stored as ``content_type`` with ``size`` bytes,
    can't be sent as the template declares it; ``None`` when it can."""
    stored = media_type(content_type)
    if stored != file.content_type:
        return MediaProblem(
            "template_media_type_mismatch",
            Text(
                "outreach.template.media_stored_type",
                key=file.key,
                stored=stored or "—",
                declared=file.content_type,
            ),
        )
    limit = file.size_limit if isinstance(file, MmsMedia) else MAX_ATTACHMENT_BYTES
    if size > limit:
        return MediaProblem(
            "template_media_too_large",
            Text("outreach.template.media_stored_size", key=file.key, size=size, limit=limit),
        )
    return None


def attachments_problem(sizes: Sequence[tuple[str, int]]) -> MediaProblem | None:
    """Why an email's attachments (``(key, bytes)`` each, as the email carries them) can't go
    out together; ``None`` when they can."""
    total = sum(size for _, size in sizes)
    if total > MAX_ATTACHMENT_BYTES:
        return MediaProblem(
            "template_media_too_large",
            Text(
                "outreach.template.attachments_total",
                keys=list(dict.fromkeys(key for key, _ in sizes)),
                size=total,
                limit=MAX_ATTACHMENT_BYTES,
            ),
        )
    return None


class Template(BaseModel):
    """One template in one locale for one channel. ``body`` is the text that is sent as SMS,
    WhatsApp and in-app text, and the plain-text part of an email."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    template_id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.:-]{0,63}$")]
    channel: Channel
    locale: str
    purpose: Purpose
    subject: str | None = None  # email: required; in_app: optional title; sms: forbidden
    body: str
    html: str | None = None  # email only
    whatsapp_template: WhatsAppTemplate | None = None  # whatsapp only
    attachments: Annotated[tuple[Attachment, ...], Field(max_length=MAX_ATTACHMENTS)] = ()  # email
    # sms only, and it makes the message an MMS. One file: End User Messaging sends one per MMS.
    media: Annotated[tuple[MmsMedia, ...], Field(max_length=1)] = ()

    @field_validator("locale")
    @classmethod
    def _canonical_locale(cls, value: str) -> str:
        return normalise_locale(value)

    @model_validator(mode="after")
    def _channel_rules(self) -> Template:
        if not self.body.strip():
            raise ValueError(Text("outreach.template.body_empty"))
        if self.subject is not None and not self.subject.strip():
            raise ValueError(Text("outreach.template.subject_blank"))
        if self.channel == "email" and self.subject is None:
            raise ValueError(Text("outreach.template.subject_required"))
        if self.channel in ("sms", "whatsapp") and self.subject is not None:
            raise ValueError(Text("outreach.template.no_subject", channel=self.channel))
        if self.html is not None and self.channel != "email":
            raise ValueError(Text("outreach.template.html_email_only"))
        if self.whatsapp_template is not None and self.channel != "whatsapp":
            raise ValueError(Text("outreach.template.whatsapp_template_only"))
        if self.attachments and self.channel != "email":
            raise ValueError(Text("outreach.template.attachments_email_only"))
        if self.media and self.channel != "sms":
            raise ValueError(Text("outreach.template.media_sms_only"))
        return self

    def parts(self) -> dict[Part, str]:
        """The template sources that are rendered, by part."""
        found: dict[Part, str] = {"body": self.body}
        if self.subject is not None:
            found["subject"] = self.subject
        if self.html is not None:
            found["html"] = self.html
        return found


# ---------------------------------------------------------------- locale fallback


def _lenient_locale(value: str | None) -> str | None:
    """A contact's locale as data: ``en_US.UTF-8`` or ``en-US-u-ca-gregory`` still mean
    ``en-US``, and junk means "unknown" rather than an error that would block the send."""
    if not value:
        return None
    subtags = re.split(r"[-_]", value.split(".")[0].split("@")[0].strip())
    for size in range(min(len(subtags), 3), 0, -1):
        try:
            return normalise_locale("-".join(subtags[:size]))
        except ValueError:
            continue
    return None


def _truncations(locale: str) -> list[str]:
    # RFC 4647 lookup: drop subtags from the right, "zh-Hant-TW" -> "zh-Hant" -> "zh".
    subtags = locale.split("-")
    return ["-".join(subtags[:size]) for size in range(len(subtags), 0, -1)]


def fallback_chain(locale: str | None, default_locale: str) -> list[str]:
    """The locales to try, best first: ``("de-DE", "en-US")`` ->
    ``["de-DE", "de", "en-US", "en"]``. No language is implied beyond the tenant's default."""
    try:
        default = normalise_locale(default_locale)
    except ValueError as exc:
        raise TemplateError(
            reason_of(exc) or str(exc), code="template_locale_invalid", locale=default_locale
        ) from exc
    requested = _lenient_locale(locale)
    chain = (_truncations(requested) if requested else []) + _truncations(default)
    return list(dict.fromkeys(chain))


def pick(templates: Sequence[Template], locale: str | None, default_locale: str) -> Template:
    """The template for a contact's ``locale``, falling back along :func:`fallback_chain`."""
    chain = fallback_chain(locale, default_locale)
    by_locale: dict[str, Template] = {}
    for template in templates:
        by_locale.setdefault(template.locale, template)
    for candidate in chain:
        if candidate in by_locale:
            return by_locale[candidate]
    raise TemplateError(
        Text(
            "outreach.template.no_locale",
            locale=repr(locale),
            default=repr(default_locale),
        ),
        code="template_locale_missing",
        tried=chain,
        available=sorted(by_locale),
    )


# ---------------------------------------------------------------- the sandbox


class _MessageSandbox(ImmutableSandboxedEnvironment):
    """The jinja2 sandbox (no ``_``-attributes, no mutation of the data) tightened for
    messages: dict fields are looked up as keys only, and string/number blow-ups are refused
    before they allocate."""

    # Intercepting them also stops jinja2 folding ``'x' * 10**9`` at compile time (at save).
    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        # The contexts are plain dicts: ``order.items`` must mean the field, never the bound
        # dict method, and no dict method is any template's business.
        if isinstance(obj, Mapping):
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError("exponent too large")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | list | tuple)
                    and isinstance(count, int)
                    and len(sequence) * count > MAX_RENDERED_CHARS
                ):
                    raise SecurityError("repetition too large")
        return super().call_binop(context, operator, left, right)


def _finalize(value: Any) -> Any:
    # A known field with no data (a contact without a first name) prints as nothing.
    return "" if value is None else value


def _default_filter(value: Any, default_value: Any = "", boolean: bool = False) -> Any:
    """Like jinja2's ``default``, but a ``None`` or empty field counts as missing too, which is
    what ``Hi {{ contact.first_name | default('there') }}`` means."""
    if isinstance(value, Undefined) or value is None or value == "":
        return default_value
    if boolean and not value:
        return default_value
    return value


def _money_filter(amount: Any, currency: Any) -> str:
    """``{{ order.total | money(order.currency) }}`` -> ``"USD 12.50"``: code first, minor
    units of the currency, no grouping (grouping and symbols differ by locale)."""
    if amount is None or amount == "":
        return ""
    code = str(currency or "").strip().upper()
    if not is_currency(code):
        raise ValueError(Text("outreach.template.money_currency", currency=repr(currency)))
    value: Decimal = parse_amount(amount, code)
    return f"{code} {value:f}"


def _date_filter(value: Any, time_zone: Any = None) -> str:
    """ISO date or timestamp -> ``YYYY-MM-DD``; with a time zone (``date(contact.time_zone)``)
    the day it was *there*. Naive timestamps are UTC, as everything LinkStar stores."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).isoformat()  # a date has no zone to convert
        except ValueError:
            value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        zone = _zone(time_zone)
        if zone is not None:
            aware = value if value.tzinfo else value.replace(tzinfo=ZoneInfo("UTC"))
            value = aware.astimezone(zone)
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(Text("outreach.template.date_value", type=type(value).__name__))


def _zone(name: Any) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        # A contact's time zone is enriched data; a bad one shows the date as recorded rather
        # than failing the message.
        return None


@lru_cache(maxsize=2)
def _environment(html: bool) -> _MessageSandbox:
    env = _MessageSandbox(
        undefined=StrictUndefined,
        autoescape=html,  # only the html part is markup; text and subjects are sent as is
        finalize=_finalize,
        # Text messages are laid out line by line: a line holding only a tag leaves no trace.
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.clear()  # range/lipsum/cycler/…: no message needs them and range invites loops
    filters: dict[str, Callable[..., Any]] = {
        "money": _money_filter,
        "date": _date_filter,
        "default": _default_filter,
        "d": _default_filter,
    }
    env.filters.update(filters)
    return env


# Tags that would need a loader (and read other templates) or reach outside the message.
_FORBIDDEN_NODES: dict[type[nodes.Node], str] = {
    nodes.Import: "import",
    nodes.FromImport: "from … import",
    nodes.Include: "include",
    nodes.Extends: "extends",
}
_SCANNED_NODES: tuple[type[nodes.Node], ...] = (*_FORBIDDEN_NODES, nodes.Getattr, nodes.Getitem)


def _parse(source: str, part: Part) -> nodes.Template:
    """Parse one part and refuse what the sandbox would only refuse at render time."""
    try:
        tree = _environment(False).parse(source)
    except TemplateSyntaxError as exc:
        raise _syntax_error(exc, part) from exc
    for node in tree.find_all(_SCANNED_NODES):
        if type(node) in _FORBIDDEN_NODES:
            raise _syntax_error(
                Text("outreach.template.tag_not_allowed", tag=_FORBIDDEN_NODES[type(node)]),
                part,
                node.lineno,
            )
        name = _accessed_name(node)
        if name is not None and name.startswith("_"):
            # The sandbox refuses these at render time too; saying so at save time is kinder.
            raise _syntax_error(
                Text("outreach.template.internal_attribute", name=repr(name)),
                part,
                node.lineno,
            )
    return tree


def _accessed_name(node: nodes.Node) -> str | None:
    """The field name of ``x.name`` or ``x["name"]``; None for anything else."""
    if isinstance(node, nodes.Getattr):
        return node.attr
    if (
        isinstance(node, nodes.Getitem)
        and isinstance(node.arg, nodes.Const)
        and isinstance(node.arg.value, str)
    ):
        return node.arg.value
    return None


def _syntax_error(
    problem: TemplateSyntaxError | Text, part: Part, line: int | None = None
) -> TemplateError:
    message: Text | str
    if isinstance(problem, TemplateSyntaxError):
        # jinja2's own sentence, in English: it is not ours to translate.
        message, line = problem.message or str(problem), problem.lineno
    else:
        message = problem
    return TemplateError(
        Text("outreach.template.syntax", part=part, line=str(line), why=message),
        code="template_syntax",
        part=part,
        line=line,
    )


@lru_cache(maxsize=512)
def _compile(source: str, part: Part, html: bool) -> jinja2.Template:
    # Cached: a campaign renders one template for thousands of contacts.
    tree = _parse(source, part)
    try:
        return _environment(html).from_string(tree)
    except TemplateSyntaxError as exc:  # e.g. an unknown filter, found when compiling
        raise _syntax_error(exc, part) from exc


# ---------------------------------------------------------------- checking at save time


def _dotted_names(tree: nodes.Template) -> set[str]:
    free = _free_names(tree)
    found: set[str] = set()
    accessed: set[int] = set()  # Name nodes already reported as part of "name.field"
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        target = getattr(node, "node", None)
        field = _accessed_name(node)
        if isinstance(target, nodes.Name) and target.name in free and field is not None:
            found.add(f"{target.name}.{field}")
            accessed.add(id(target))
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name in free and id(name) not in accessed:
            found.add(name.name)  # used whole: `{% if refund %}` or a dynamic `order[key]`
    return found


def _free_names(tree: nodes.Template) -> set[str]:
    # jinja2's own analysis knows loop variables, {% set %}, macro arguments, `loop`, `caller`.
    return set(meta.find_undeclared_variables(tree))


def referenced_variables(template: Template) -> set[str]:
    """The context variables the template reads, as ``"order.total"`` (or ``"refund"`` when a
    context is used whole), across subject, body and html."""
    found: set[str] = set()
    for part, source in template.parts().items():
        found |= _dotted_names(_parse(source, part))
    return found


def check_variables(template: Template, contexts: AbstractSet[str]) -> None:
    """Raise ``template_variables_missing`` if the template reads a context the sender won't
    provide (``contexts``, e.g. ``{"contact", "tenant", "links", "order"}`` for an order flow)
    or a field that isn't documented in :data:`CONTEXT_FIELDS`."""
    missing = sorted(
        name for name in referenced_variables(template) if not _available(name, contexts)
    )
    if missing:
        raise TemplateError(
            Text("outreach.template.variables_missing", variables=missing),
            code="template_variables_missing",
            missing=missing,
            available=sorted(contexts & CONTEXT_FIELDS.keys()),
        )


def _available(name: str, contexts: AbstractSet[str]) -> bool:
    root, _, field = name.partition(".")
    if root not in contexts or root not in CONTEXT_FIELDS:
        return False
    return not field or field in CONTEXT_FIELDS[root]


def validate(template: Template, contexts: AbstractSet[str]) -> None:
    """Everything that can be checked when a template is saved: every part parses and compiles
    (syntax, unknown filters, forbidden tags and attributes) and uses only available variables.
    """
    for part, source in template.parts().items():
        _compile(source, part, part == "html")
    check_variables(template, contexts)


# ---------------------------------------------------------------- rendering


class Rendered(BaseModel):
    """A template filled in for one recipient, links tagged."""

    model_config = ConfigDict(frozen=True)

    subject: str | None = None
    text: str
    html: str | None = None
    sms: SmsEncoding | None = None  # for SMS: what it costs to send ``text``


def render(
    template: Template, context: Mapping[str, Any], utm: Mapping[str, str] | None = None
) -> Rendered:
    """Fill ``template`` with ``context`` (plain dicts by context name) and tag its links."""
    skip = _untagged_links(context)
    rendered: dict[Part, str] = {}
    for part, source in template.parts().items():
        output = _render_part(_compile(source, part, part == "html"), context, part)
        if utm and part != "subject":
            output = add_utm(output, utm, skip, html=part == "html")
        rendered[part] = output
    subject = rendered.get("subject")
    if subject is not None:
        # A subject is one header line: a newline from the data must not reach the headers.
        subject = " ".join(subject.split())
    text = rendered["body"]
    return Rendered(
        subject=subject,
        text=text,
        html=rendered.get("html"),
        sms=encoding_of(text) if template.channel == "sms" else None,
    )


def _render_part(compiled: jinja2.Template, context: Mapping[str, Any], part: Part) -> str:
    chunks: list[str] = []
    size = 0
    try:
        for chunk in compiled.generate(dict(context)):
            size += len(chunk)
            if size > MAX_RENDERED_CHARS:
                raise SecurityError(f"output longer than {MAX_RENDERED_CHARS} characters")
            chunks.append(chunk)
    # The template is tenant code and the data is anyone's: whatever goes wrong inside (an
    # absent field, a refused attribute, a bad amount, 1/0) fails this message, not the batch.
    except Exception as exc:
        raise TemplateError(
            Text("outreach.template.not_rendered", part=part, why=reason_of(exc) or str(exc)),
            code="template_render_failed",
            part=part,
            reason=str(exc),
        ) from exc
    return "".join(chunks)


def _untagged_links(context: Mapping[str, Any]) -> set[str]:
    links = context.get("links")
    if not isinstance(links, Mapping):
        return set()
    return {str(links[key]) for key in _UNTAGGED_LINKS if links.get(key)}


# ---------------------------------------------------------------- UTM tagging

# http(s) URLs in plain text: RFC 3986 characters only, so Chinese punctuation or a closing
# quote right after a link ends it. ' is left out: in prose it is far likelier a quote mark.
_TEXT_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&()*+,;=%]+", re.IGNORECASE)
_TRAILING_PUNCTUATION = ".,;:!?"
_HREF = re.compile(
    r"""(?P<lead>(?<![\w-])href\s*=\s*)(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'<>`]+))""",
    re.IGNORECASE,
)


def add_utm(text_or_html: str, utm: Mapping[str, str], skip: AbstractSet[str], html: bool) -> str:
    """Add ``utm`` parameters to every http(s) link: each URL in text, each ``href`` in html.

    ``utm`` keys may be given with or without the ``utm_`` prefix. Existing query parameters
    and fragments are kept byte for byte; a ``utm_*`` the link already has wins; links in
    ``skip`` (unsubscribe and preference links) and non-http links are left alone.
    """
    params = _utm_pairs(utm)
    if not params:
        return text_or_html
    if html:
        return _HREF.sub(lambda m: _tag_href(m, params, skip), text_or_html)
    return _TEXT_URL.sub(lambda m: _tag_text_url(m.group(0), params, skip), text_or_html)


def _utm_pairs(utm: Mapping[str, str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in utm.items():
        name = key if key.startswith("utm_") else f"utm_{key}"
        if name not in UTM_PARAMETERS:
            raise ValueError(f"not a UTM parameter: {key!r}")
        if value:
            pairs.append((name, value))
    return pairs


def _tag_text_url(found: str, params: Iterable[tuple[str, str]], skip: AbstractSet[str]) -> str:
    url, trailing = _split_trailing(found)
    return _tag_url(url, params, skip) + trailing


def _split_trailing(found: str) -> tuple[str, str]:
    # "See https://x.example/a." - the full stop ends the sentence, not the URL; a ")" only
    # belongs to the URL when it closes a "(" inside it (Wikipedia-style paths).
    end = len(found)
    while end > 0:
        last = found[end - 1]
        if last in _TRAILING_PUNCTUATION or (
            last in ")]"
            and found[:end].count("(" if last == ")" else "[") < found[:end].count(last)
        ):
            end -= 1
            continue
        break
    return found[:end], found[end:]


def _tag_href(match: re.Match[str], params: list[tuple[str, str]], skip: AbstractSet[str]) -> str:
    raw = next(v for v in match.group("dq", "sq", "bare") if v is not None)
    # The html was autoescaped: the attribute holds "&amp;" where the URL has "&".
    url = html_lib.unescape(raw)
    tagged = _tag_url(url, params, skip)
    if tagged == url:
        return match.group(0)
    return f'{match.group("lead")}"{html_lib.escape(tagged, quote=True)}"'


def _tag_url(url: str, params: Iterable[tuple[str, str]], skip: AbstractSet[str]) -> str:
    if url in skip:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. a broken IPv6 host: not a link we can safely rewrite
        return url
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return url
    present = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    additions = [(key, value) for key, value in params if key not in present]
    if not additions:
        return url
    # Appended rather than re-encoded, so the link's own parameters stay exactly as written.
    query = "&".join(q for q in (parts.query, urlencode(additions, quote_via=quote)) if q)
    return urlunsplit(parts._replace(query=query))
