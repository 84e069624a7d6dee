"""Typed domain errors. The API maps each to an HTTP status and a machine-readable ``code`` in one
place (``linkstar.api.errors``); the ingest function maps :class:`PermanentError` to the DLQ."""

from __future__ import annotations

from typing import Any

from linkstar.text import Text


class LinkStarError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str | Text, *, code: str | None = None, **details: Any) -> None:
        # A Text stays one until the error is answered: it renders in the request's language.
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class BadRequest(LinkStarError):
    status = 400
    code = "bad_request"


class Unauthorized(LinkStarError):
    status = 401
    code = "unauthorized"


class Forbidden(LinkStarError):
    status = 403
    code = "forbidden"


class NotFound(LinkStarError):
    status = 404
    code = "not_found"


class Conflict(LinkStarError):
    status = 409
    code = "conflict"


class PayloadTooLarge(LinkStarError):
    status = 413
    code = "payload_too_large"


class PermanentError(LinkStarError):
    """A delivery that verified but can never be processed as it is (dead-lettered at once)."""

    status = 422
    code = "unprocessable_delivery"


class IgnoredEvent(PermanentError):
    """A verified event that changes nothing LinkStar tracks (e.g. a return request that is
    still open): counted on the store as ignored, neither applied nor dead-lettered."""

    code = "ignored_status"


class ConcurrentUpdate(LinkStarError):
    """An optimistic-lock write lost a race; the caller re-reads and tries again."""

    status = 409
    code = "concurrent_update"
