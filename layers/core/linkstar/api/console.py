"""The seller console: ``GET /console`` (one HTML page) and ``GET /console/assets/{name}`` (its
scripts, styles, translations and the vendored chart library), served by the API itself so the
console ships with the core layer and needs nothing from the internet at run time.

Files live in :mod:`linkstar.console`. Only the files found there under ``assets/``, ``i18n/``
and ``vendor/`` with a known type are served, by their bare file name: a request names a key in
that list, never a path, so ``..`` or an encoded slash finds nothing and is a 404. Bodies are
text (API Gateway passes text types through without binary media types); each answer carries a
strong ETag, and a matching ``If-None-Match`` is a 304. The page and the console's own code are
revalidated on every load (``no-cache``) so a deploy shows at once; the pinned vendor file is
cached for a day.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from chalice import Blueprint, Response

from linkstar.api.http import Auth, Content, route
from linkstar.errors import NotFound

bp = Blueprint(__name__)

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"
ASSET_DIRS = ("assets", "i18n", "vendor")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json; charset=utf-8",
}
REVALIDATE = "no-cache"
VENDOR_MAX_AGE = "public, max-age=86400"
# The page loads only its own scripts and styles and talks only to this API. ECharts sets
# inline styles on the elements it draws, hence 'unsafe-inline' for styles (never scripts).
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str
    etag: str
    cache_control: str


def _asset(path: Path, cache_control: str) -> Asset:
    body = path.read_text(encoding="utf-8")
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]
    return Asset(body, CONTENT_TYPES[path.suffix], f'"{digest}"', cache_control)


@functools.cache
def assets() -> dict[str, Asset]:
    """Every servable asset by its public name (read once per process, on first use: the API's
    cold start doesn't pay for the console)."""
    found: dict[str, Asset] = {}
    for folder in ASSET_DIRS:
        cache = VENDOR_MAX_AGE if folder == "vendor" else REVALIDATE
        for path in sorted((CONSOLE_DIR / folder).iterdir()):
            if path.is_file() and path.suffix in CONTENT_TYPES and path.suffix != ".html":
                if path.name in found:
                    raise RuntimeError(f"two console assets are named {path.name}")
                found[path.name] = _asset(path, cache)
    return found


@functools.cache
def page() -> Asset:
    return _asset(CONSOLE_DIR / "index.html", REVALIDATE)


def _serve(asset: Asset, extra: dict[str, str] | None = None) -> Response:
    headers: dict[str, str | list[str]] = {
        "Content-Type": asset.content_type,
        "Cache-Control": asset.cache_control,
        "ETag": asset.etag,
        "X-Content-Type-Options": "nosniff",
        **(extra or {}),
    }
    if bp.current_request.headers.get("if-none-match") == asset.etag:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=asset.body, status_code=200, headers=headers)


PAGE = Content("text/html; charset=utf-8", "the console's single page")
ASSET = Content(
    "text/javascript; charset=utf-8",
    "the asset: JavaScript, or text/css or application/json by its name's extension",
)
NOT_MODIFIED = {304: None}  # If-None-Match named the current ETag: no body


@route(
    bp,
    "/console",
    methods=["GET"],
    response={200: PAGE, **NOT_MODIFIED},
    auth=Auth.NONE,
    tags=["console"],
)
def console_page() -> Response:
    """The seller console: sign in with an API key, in English or Chinese."""
    return _serve(
        page(),
        {
            "Content-Security-Policy": PAGE_POLICY,
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
        },
    )


@route(
    bp,
    "/console/assets/{name}",
    methods=["GET"],
    response={200: ASSET, **NOT_MODIFIED},
    auth=Auth.NONE,
    tags=["console"],
)
def console_asset(name: str) -> Response:
    """One of the console's scripts, styles, translations or vendored libraries, by name."""
    asset = assets().get(name)
    if asset is None:
        raise NotFound("no such console asset", code="asset_not_found")
    return _serve(asset)
