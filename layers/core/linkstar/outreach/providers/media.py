"""Tenant media: the files templates attach to email and send as MMS, read from the media bucket.

Where a file lives: ``s3://<MEDIA_BUCKET_NAME>/<tenant id>/<key>``. A template names only
``key``, relative to the tenant's folder (``linkstar.outreach.templates.MediaFile`` checks its
shape when the template is saved); :func:`object_key` puts the tenant's id in front here, when
the file is used, so one tenant's template can never reach another tenant's folder. The key is
checked again on the way out: a message is data in the table, and a key that was edited there
must not climb out of the folder either.

Sizes are checked before anything is read or sent: an email's attachments together against
``MAX_ATTACHMENT_BYTES`` (from S3's ``ContentLength``, before the body is read), an MMS file
against its type's limit (``HeadObject``; End User Messaging SMS reads the file itself).

Errors, by the S3 ``ClientError`` code: a missing file or a file too large is the message's
fault (:class:`PermanentProviderError`, scope ``message``: fix the template, no retry helps); a
missing bucket or denied access is the account's; throttling and 5xx are retryable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, TypeVar

from linkstar import aws
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
from linkstar.outreach.templates import MAX_ATTACHMENT_BYTES, Attachment, MediaFile, MmsMedia
from linkstar.settings import get_settings, require

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


def object_key(tenant_id: str, key: str) -> str:
    """The object key of a tenant's file: ``<tenant id>/<key>``."""
    if not tenant_id or "/" in tenant_id:
        raise ValueError(f"not a tenant id: {tenant_id!r}")
    try:
        # Re-validated here, not trusted: see the module docstring.
        MediaFile.model_validate({"key": key, "content_type": "application/octet-stream"})
    except ValueError as exc:
        raise PermanentProviderError(
            "not a key inside the tenant's media folder", provider=PROVIDER, code="media_bad_key"
        ) from exc
    return f"{tenant_id}/{key}"


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
