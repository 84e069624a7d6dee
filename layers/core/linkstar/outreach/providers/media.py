"""Tenant media: the files templates attach to email and send as MMS, in the media bucket —
uploaded (a presigned POST), listed and deleted by the tenant, checked when a template naming
them is saved, and read when a message is sent.

Where a file lives: ``s3://<MEDIA_BUCKET_NAME>/<tenant id>/<key>``. A template names only
``key``, relative to the tenant's folder (``linkstar.outreach.templates.MediaFile`` checks its
shape when the template is saved); :func:`object_key` puts the tenant's id in front here, when
the file is used, so one tenant's template can never reach another tenant's folder. The key is
checked again on the way out: a message is data in the table, and a key that was edited there
must not climb out of the folder either.

Sizes are checked before anything is read or sent: an email's attachments together against
``MAX_ATTACHMENT_BYTES`` (from S3's ``ContentLength``, before the body is read), an MMS file
against its type's limit (``HeadObject``; End User Messaging SMS reads the file itself).

Uploads: the tenant's browser posts the file straight to S3 with a form this module signs
(:func:`new_upload`): the key is made here, inside the tenant's folder, never chosen by the
caller; the form's policy pins that key, the ``Content-Type`` and a ``content-length-range`` up to
the largest size any channel sends that type at (``templates.upload_limit``), for
:data:`UPLOAD_EXPIRES`. What a template then uses of it is checked when the template is saved
(:func:`check_template_files`), against the same limits the send uses.

Errors at send time, by the S3 ``ClientError`` code: a missing file or a file too large is the
message's fault (:class:`PermanentProviderError`, scope ``message``: fix the template, no retry
helps); a missing bucket or denied access is the account's; throttling and 5xx are retryable.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import unicodedata
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from linkstar import aws
from linkstar.errors import BadRequest, NotFound
from linkstar.outreach import templates
from linkstar.outreach.providers.errors import (
    ACCOUNT,
    MESSAGE,
    PermanentProviderError,
    RetryableProviderError,
    Scope,
    aws_send_errors,
    classify_aws_error,
)
from linkstar.outreach.providers.ses import EmailAttachment
from linkstar.outreach.templates import (
    ATTACHMENT_TYPES,
    MAX_ATTACHMENT_BYTES,
    MMS_MEDIA_TYPES,
    Attachment,
    MediaFile,
    MmsMedia,
    Template,
    TemplateError,
)
from linkstar.settings import get_settings, require
from linkstar.text import Text

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

PROVIDER = "s3"

File = TypeVar("File", bound=MediaFile)

_THROTTLED = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded"})
# A HeadObject error has no body: its code is the HTTP status, and a 5xx is judged by that.
_UNAVAILABLE = frozenset({"InternalError", "ServiceUnavailable", "RequestTimeout"})
_PERMANENT: dict[str, tuple[str, Scope]] = {
    "NoSuchKey": ("media_not_found", MESSAGE),  # GetObject
    "404": ("media_not_found", MESSAGE),  # HeadObject answers with no body, only the status
    "NotFound": ("media_not_found", MESSAGE),
    "NoSuchBucket": ("media_bucket_not_found", ACCOUNT),
    "AccessDenied": ("media_access_denied", ACCOUNT),
    "403": ("media_access_denied", ACCOUNT),
    "InvalidObjectState": ("media_archived", MESSAGE),  # moved to Glacier: not readable now
}


def declared(model: type[File], stored: Mapping[str, str]) -> File:
    """A file as a stored message names it. One its template could not have been saved with was
    edited in the table: the message's fault, and no retry mends it."""
    try:
        return model.model_validate(stored)
    except ValueError as exc:
        raise PermanentProviderError(
            "the message names a file its template could not have",
            provider=PROVIDER,
            code="media_invalid",
        ) from exc


def bucket() -> str:
    return require(get_settings().media_bucket_name, "MEDIA_BUCKET_NAME")


def folder(tenant_id: str) -> str:
    """The prefix of a tenant's files: ``<tenant id>/``."""
    if not tenant_id or "/" in tenant_id:
        raise ValueError(f"not a tenant id: {tenant_id!r}")
    return f"{tenant_id}/"


def object_key(tenant_id: str, key: str) -> str:
    """The object key of a tenant's file: ``<tenant id>/<key>``."""
    prefix = folder(tenant_id)
    try:
        # Re-validated here, not trusted: see the module docstring.
        MediaFile.model_validate({"key": key, "content_type": "application/octet-stream"})
    except ValueError as exc:
        raise PermanentProviderError(
            "not a key inside the tenant's media folder", provider=PROVIDER, code="media_bad_key"
        ) from exc
    return prefix + key


def read_attachments(tenant_id: str, files: Sequence[Attachment]) -> list[EmailAttachment]:
    """The bytes of an email's attachments, refused when together they exceed
    ``MAX_ATTACHMENT_BYTES``."""
    found: list[EmailAttachment] = []
    left = MAX_ATTACHMENT_BYTES
    s3 = aws.client("s3")
    for file in files:
        with _s3_errors():
            answer = s3.get_object(Bucket=bucket(), Key=object_key(tenant_id, file.key))
        size = int(answer["ContentLength"])
        if size > left:
            answer["Body"].close()
            raise _too_large(
                f"the email's attachments are larger than {MAX_ATTACHMENT_BYTES:,} bytes",
                file,
                size,
            )
        with _s3_errors():
            data = answer["Body"].read()
        left -= len(data)
        found.append(EmailAttachment(file.name, file.content_type, data))
    return found


def mms_media_url(tenant_id: str, file: MmsMedia) -> str:
    """The ``s3://`` URL End User Messaging SMS fetches the MMS file from, once the file is
    known to exist and to be within its type's size limit."""
    key = object_key(tenant_id, file.key)
    with _s3_errors():
        head = aws.client("s3").head_object(Bucket=bucket(), Key=key)
    size = int(head["ContentLength"])
    if size > file.size_limit:
        raise _too_large(
            f"a {file.content_type} MMS file may be {file.size_limit:,} bytes at most", file, size
        )
    return f"s3://{bucket()}/{key}"


def _too_large(message: str, file: MediaFile, size: int) -> PermanentProviderError:
    return PermanentProviderError(
        message, provider=PROVIDER, code="media_too_large", key=file.key, size=size
    )


def _s3_errors() -> AbstractContextManager[None]:
    return aws_send_errors(classify_client_error, provider=PROVIDER, prefix="media")


def classify_client_error(exc: ClientError) -> RetryableProviderError | PermanentProviderError:
    """Map a botocore ``ClientError`` from ``GetObject``/``HeadObject`` to a provider error."""
    return classify_aws_error(
        exc.response,
        provider=PROVIDER,
        prefix="media",
        refused="the media file",
        throttled=_THROTTLED,
        unavailable=_UNAVAILABLE,
        permanent=_PERMANENT,
    )


# ---------------------------------------------------------------- the tenant's folder

UPLOAD_EXPIRES = timedelta(minutes=15)
# HeadObject calls at once when a page of the folder is listed (ListObjectsV2 has no types).
_LIST_WORKERS = 8
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 100


@dataclass(frozen=True)
class UploadForm:
    """A signed form the tenant's browser posts the file with: ``fields`` first, then ``file``."""

    key: str  # relative to the tenant's folder: what a template names
    url: str
    fields: dict[str, str]
    expires_at: datetime
    max_bytes: int


@dataclass(frozen=True)
class StoredFile:
    key: str  # relative to the tenant's folder
    size: int
    content_type: str
    last_modified: datetime


def new_upload(tenant_id: str, filename: str, content_type: str, size: int) -> UploadForm:
    """A presigned POST for a fresh key in the tenant's folder, for a file of ``content_type``
    that some channel can send, of ``size`` bytes (as the browser reports it; S3 enforces the
    limit itself through the policy's ``content-length-range``)."""
    kind = templates.media_type(content_type)
    limit = templates.upload_limit(kind)
    if limit is None:
        raise BadRequest(
            Text(
                "media.type_not_allowed",
                given=repr(kind),
                types=sorted({*ATTACHMENT_TYPES, *MMS_MEDIA_TYPES}),
            ),
            code="media_type_not_allowed",
            content_type=kind,
        )
    if size > limit:
        raise BadRequest(
            Text("media.too_large", type=kind, size=size, limit=limit),
            code="media_too_large",
            size=size,
            max_bytes=limit,
        )
    key = f"{secrets.token_hex(8)}/{_file_name(filename, kind)}"
    form = aws.client("s3").generate_presigned_post(
        Bucket=bucket(),
        Key=object_key(tenant_id, key),
        Fields={"Content-Type": kind},
        Conditions=[{"Content-Type": kind}, ["content-length-range", 1, limit]],
        ExpiresIn=int(UPLOAD_EXPIRES.total_seconds()),
    )
    fields = {str(name): str(value) for name, value in form["fields"].items()}
    return UploadForm(
        key=key,
        url=str(form["url"]),
        fields=fields,
        expires_at=_policy_expiry(fields["policy"]),
        max_bytes=limit,
    )


def _file_name(filename: str, content_type: str) -> str:
    """The last part of a new key: the tenant's file name in S3's safe characters (an email
    shows it as the attachment's name unless the template names it), ending as an attachment of
    its type must."""
    ascii_name = unicodedata.normalize("NFKD", filename.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])
    ascii_name = ascii_name.encode("ascii", "ignore").decode()
    stem, dot, ending = ascii_name.rpartition(".")
    if not dot:
        stem, ending = ending, ""
    stem = _UNSAFE.sub("-", stem).strip("-._")[:_MAX_NAME] or "file"
    ending = _UNSAFE.sub("", ending).lower()[:10]
    name = f"{stem}.{ending}" if ending else stem
    endings = ATTACHMENT_TYPES.get(content_type)
    if endings and not name.lower().endswith(endings):
        name += endings[0]
    return name


def _policy_expiry(policy: str) -> datetime:
    # The moment S3 stops taking the form is the policy's own, in real time (not the stack's
    # clock, which a local stack may have moved).
    expiration = json.loads(base64.b64decode(policy))["expiration"]
    return datetime.fromisoformat(expiration.replace("Z", "+00:00"))


def list_files(
    tenant_id: str, limit: int, next_token: str | None
) -> tuple[list[StoredFile], str | None]:
    """A page of the tenant's files by key, and the token of the next page (``None`` at the
    end). The token is the last key shown: a page starts after it, inside the tenant's folder
    whatever it holds."""
    prefix = folder(tenant_id)
    kwargs: dict[str, Any] = {"Bucket": bucket(), "Prefix": prefix, "MaxKeys": limit}
    if next_token:
        kwargs["StartAfter"] = prefix + _decode_token(next_token)
    page = aws.client("s3").list_objects_v2(**kwargs)
    listed = [str(item["Key"])[len(prefix) :] for item in page.get("Contents", [])]
    # A console's zero-byte "folder" marker (a key ending in "/") is no file.
    keys = [key for key in listed if _is_key(key)]
    with ThreadPoolExecutor(max_workers=_LIST_WORKERS) as pool:
        found = list(pool.map(lambda key: _stored(tenant_id, key), keys))
    files = [file for file in found if file is not None]
    token = _encode_token(listed[-1]) if page.get("IsTruncated") and listed else None
    return files, token


def _stored(tenant_id: str, key: str) -> StoredFile | None:
    """The file at ``key`` in the tenant's folder as S3 holds it; ``None`` when there is none."""
    from botocore.exceptions import ClientError

    try:
        head = aws.client("s3").head_object(Bucket=bucket(), Key=object_key(tenant_id, key))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _MISSING:
            return None
        raise
    return StoredFile(
        key=key,
        size=int(head["ContentLength"]),
        content_type=templates.media_type(str(head.get("ContentType") or "")),
        last_modified=head["LastModified"],
    )


def _is_key(key: str) -> bool:
    try:
        MediaFile.model_validate({"key": key, "content_type": "application/octet-stream"})
    except ValueError:
        return False
    return True


def _encode_token(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode_token(token: str) -> str:
    # Only a place to start from: the listing's Prefix keeps it in the tenant's folder whatever
    # the token says.
    try:
        key = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(Text("request.invalid_next_token"), code="invalid_next_token") from exc
    if not key or len(key) > 1024 or not key.isprintable():
        raise BadRequest(Text("request.invalid_next_token"), code="invalid_next_token")
    return key


def delete_file(tenant_id: str, key: str) -> None:
    """Remove a file from the tenant's folder; :class:`NotFound` when the folder has none at
    ``key`` (another tenant's file is simply not in this folder). A template naming it fails
    its messages with ``media_not_found`` until it is saved naming another file."""
    if not _is_key(key) or _stored(tenant_id, key) is None:
        raise NotFound(Text("media.not_found", key=key), code="media_not_found", key=key)
    aws.client("s3").delete_object(Bucket=bucket(), Key=object_key(tenant_id, key))


def check_template_files(tenant_id: str, template: Template) -> None:
    """Refuse (:class:`TemplateError`, naming the key) a template whose attachments or MMS file
    are not in the tenant's folder, are stored as another type than it declares, or are larger
    than their channel sends."""
    files: list[MediaFile] = [*template.attachments, *template.media]
    sizes: list[tuple[str, int]] = []
    for file in files:
        stored = _stored(tenant_id, file.key)
        if stored is None:
            raise TemplateError(
                Text("outreach.template.media_missing", key=file.key),
                code="template_media_not_found",
                key=file.key,
            )
        problem = templates.stored_file_problem(file, stored.content_type, stored.size)
        if problem is not None:
            raise TemplateError(problem.reason, code=problem.code, key=file.key)
        if isinstance(file, Attachment):
            sizes.append((file.key, stored.size))
    problem = templates.attachments_problem(sizes)
    if problem is not None:
        raise TemplateError(problem.reason, code=problem.code, keys=[key for key, _ in sizes])
