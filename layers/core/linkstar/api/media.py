"""Media API: the tenant's media folder, whose files email templates attach and SMS templates send
as MMS (``linkstar.outreach.providers.media`` owns the folder; this module maps it to HTTP).

``POST /media/uploads`` answers a signed form (an S3 presigned POST) that the browser posts the
file with, straight to S3 and not through the API (Lambda takes no body above 6 MB); the form
allows only a fresh key in the caller's folder, the declared type and the size its channels
send. ``GET /media`` lists the folder, ``DELETE /media/{key}`` removes one file.

Roles: uploading is for whoever may save the templates that use the files (``manager``), as is
deleting; anyone with a key lists.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from chalice import Blueprint, Response

from linkstar.api.auth import principal
from linkstar.api.http import (
    Auth,
    Param,
    int_param,
    json_response,
    parse_body,
    query_params,
    route,
)
from linkstar.tenants.models import Role

bp = Blueprint(__name__)

_MAX_PAGE = 100
_DEFAULT_PAGE = 50


@route(
    bp,
    "/media/uploads",
    methods=["POST"],
    request="UploadRequest",
    response={201: "UploadForm"},
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def create_upload() -> Response:
    """Get a signed form to upload a file to your media folder (manager). Types and sizes are
    those some channel sends: email attachments (10 MiB for all of an email's files) and MMS
    media (2 MB images, 600 KB other types)."""
    from linkstar.api.schemas import UploadForm, UploadRequest
    from linkstar.outreach.providers import media

    who = principal(bp, Role.MANAGER)
    asked = parse_body(bp, UploadRequest)
    form = media.new_upload(who.tenant_id, asked.filename, asked.content_type, asked.size)
    answer = UploadForm(
        key=form.key,
        url=form.url,
        fields=form.fields,
        expires_at=form.expires_at,
        max_bytes=form.max_bytes,
    )
    return json_response(answer, 201)


@route(
    bp,
    "/media",
    methods=["GET"],
    response="MediaPage",
    params=(
        Param(
            "limit",
            "at most",
            {"type": "integer", "minimum": 1, "maximum": _MAX_PAGE, "default": _DEFAULT_PAGE},
        ),
        Param("next_token", "the previous page's next_token"),
    ),
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def list_media() -> dict[str, Any]:
    """A page of the files in your media folder, by key."""
    from linkstar.api.schemas import MediaFileView, MediaPage
    from linkstar.outreach.providers import media

    who = principal(bp)
    params = query_params(bp)
    limit = int_param(params, "limit", _DEFAULT_PAGE, 1, _MAX_PAGE)
    files, token = media.list_files(who.tenant_id, limit, params.get("next_token"))
    page = MediaPage(
        files=[
            MediaFileView(
                key=f.key, size=f.size, content_type=f.content_type, last_modified=f.last_modified
            )
            for f in files
        ],
        next_token=token,
    )
    return page.model_dump(mode="json")


@route(
    bp,
    "/media/{key}",
    methods=["DELETE"],
    response={204: None},
    auth=Auth.API_KEY,
    tags=["outreach"],
)
def delete_media(key: str) -> Response:
    """Delete a file from your media folder (manager); ``key`` URL-encoded (``/`` as ``%2F``).
    Templates that name it fail their messages until they are saved naming another file."""
    from linkstar.outreach.providers import media

    who = principal(bp, Role.MANAGER)
    # API Gateway passes a path parameter as it was sent, still encoded; a key has no "%" of
    # its own (see MediaFile), so decoding an already decoded key changes nothing.
    media.delete_file(who.tenant_id, unquote(key))
    return Response(body="", status_code=204)
