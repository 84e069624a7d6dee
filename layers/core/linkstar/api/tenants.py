"""Tenants (operator only) and API keys (owner/admin); and the service's own public routes: its
health, its OpenAPI document and the reference page rendered from it."""

from __future__ import annotations

from chalice import Blueprint, Response

from linkstar.api.auth import principal, require_admin
from linkstar.api.http import Auth, Content, json_response, parse_body, public_base_url, route
from linkstar.errors import NotFound
from linkstar.store import tenants as tenant_repo
from linkstar.tenants import service
from linkstar.tenants.models import ApiKey, ApiKeyCreate, Role, TenantCreate
from linkstar.text import Text

bp = Blueprint(__name__)


def _key_view(key: ApiKey) -> dict:
    return key.model_dump(mode="json", exclude={"tenant_id"})


@route(bp, "/health", methods=["GET"], response="Health", auth=Auth.NONE, tags=["service"])
def health() -> dict:
    """Whether the API answers."""
    return {"status": "ok"}


@route(
    bp,
    "/openapi.json",
    methods=["GET"],
    response=Content("application/json", "The OpenAPI 3.1 document", {"type": "object"}),
    auth=Auth.NONE,
    tags=["service"],
)
def openapi_document() -> Response:
    """This API's OpenAPI 3.1 document, generated from its routes and models."""
    from linkstar.api import openapi

    return json_response(openapi.document(bp.current_app, public_base_url(bp)))


@route(
    bp,
    "/docs",
    methods=["GET"],
    response=Content("text/html; charset=utf-8", "The API reference as one HTML page"),
    auth=Auth.NONE,
    tags=["service"],
)
def reference_page() -> Response:
    """The API reference: every operation by tag, with its parameters, bodies and answers
    (rendered here from the OpenAPI document: nothing is fetched from elsewhere)."""
    from linkstar.api import docs, openapi

    page = docs.render(openapi.document(bp.current_app, public_base_url(bp)))
    return Response(
        body=page,
        status_code=200,
        headers={"Content-Type": "text/html; charset=utf-8", **docs.HEADERS},
    )


@route(
    bp,
    "/tenants",
    methods=["POST"],
    request=TenantCreate,
    response={201: "TenantCreated"},
    auth=Auth.ADMIN_TOKEN,
    tags=["tenants"],
)
def create_tenant() -> Response:
    """Create a tenant and its owner's API key (shown once)."""
    require_admin(bp)
    tenant, api_key = service.create_tenant(parse_body(bp, TenantCreate))
    body = {**tenant.model_dump(mode="json"), "api_key": api_key, "role": Role.OWNER.value}
    return json_response(body, 201)


@route(
    bp,
    "/api-keys",
    methods=["POST"],
    request=ApiKeyCreate,
    response={201: "ApiKeyCreated"},
    auth=Auth.API_KEY,
    tags=["tenants"],
)
def create_api_key() -> Response:
    """Mint an API key with a role (admin or owner; the key is shown once)."""
    who = principal(bp, Role.ADMIN)
    key, plaintext = service.mint_key(who, parse_body(bp, ApiKeyCreate))
    return json_response({**_key_view(key), "api_key": plaintext}, 201)


@route(bp, "/api-keys", methods=["GET"], response="ApiKeyList", auth=Auth.API_KEY, tags=["tenants"])
def list_api_keys() -> dict:
    """The tenant's API keys, revoked ones included (admin or owner)."""
    who = principal(bp, Role.ADMIN)
    return {"api_keys": [_key_view(k) for k in tenant_repo.list_keys(who.tenant_id)]}


@route(bp, "/me", methods=["GET"], response="Me", auth=Auth.API_KEY, tags=["tenants"])
def me() -> dict:
    """Who the calling key is: its tenant, role, KPI owner and the tenant's reporting currency
    (any role; the key itself is never shown)."""
    return service.whoami(principal(bp))


@route(
    bp,
    "/api-keys/{key_id}",
    methods=["DELETE"],
    response="ApiKeyView",
    auth=Auth.API_KEY,
    tags=["tenants"],
)
def revoke_api_key(key_id: str) -> dict:
    """Revoke an API key at once (admin or owner)."""
    who = principal(bp, Role.ADMIN)
    try:
        key = service.revoke_key(who, key_id)
    except LookupError as exc:
        raise NotFound(Text("tenant.api_key_not_found"), code="api_key_not_found") from exc
    return _key_view(key)
