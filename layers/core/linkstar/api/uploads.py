"""Uploaded files (a settlement report, a batch of actual costs): the body's bytes, its media
type and charset, its text, and the recost of the orders an upload changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from linkstar.errors import BadRequest
from linkstar.text import Text

MAX_BODY_BYTES = 6 * 1024 * 1024  # Lambda's synchronous payload limit


def body_bytes(raw: bytes | str | None) -> bytes:
    return raw if isinstance(raw, bytes) else (raw or "").encode()


def content_type(header: str | None) -> tuple[str, str]:
    """The media type and charset (UTF-8, a byte-order mark allowed, unless one is named)."""
    parts = (header or "").split(";")
    charset = "utf-8-sig"
    for param in parts[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return parts[0].strip().lower(), charset


def decode(body: bytes, charset: str, *, what: Text, example: str) -> str:
    """``body`` as text; ``what`` names it and ``example`` is a Content-Type naming a charset
    in the error."""
    try:
        return body.decode(charset)
    except (LookupError, UnicodeDecodeError) as exc:
        raise BadRequest(
            Text("cost.upload.invalid_encoding", what=what, charset=charset, example=example),
            code="invalid_encoding",
        ) from exc


def recost_touched(tenant_id: str, reason: str, order_ids: Sequence[str]) -> dict[str, Any] | None:
    """Queue a background recost of the orders an upload may have changed (None when none): the
    sums in ``GET /costs`` were worked out without the upload's costs."""
    if not order_ids:
        return None
    from linkstar.costs import recost

    return recost.request(tenant_id, reason, order_ids=list(order_ids))
