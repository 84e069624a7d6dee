"""The OpenAPI 3.1 document, generated from the app's routes and what each declared through
:func:`linkstar.api.http.route` (its request and response models, query parameters, auth and
tags), so it can't drift from the code: a route that changes its models changes the document.

Built once per process on first use (``GET /openapi.json`` and ``GET /docs``), never at cold
start: the models it reads are imported only here. Every operation shares one :class:`Error`
body for any status of 400 and over unless it declares its own (an HTML page, say). Routes of
the local stack only (``/_local/...``) are not part of the API and are left out.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import re
from collections.abc import Iterable
from typing import Any

from chalice import Chalice
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import core_schema

from linkstar.api.http import ROUTES, Auth, Body, Content, RouteDoc

TITLE = "LinkStar API"
REF = "#/components/schemas/{model}"
LOCAL_ONLY_PREFIX = "/_local"
SCHEMAS_MODULE = "linkstar.api.schemas"
SECURITY: dict[Auth, list[dict[str, list[str]]]] = {
    Auth.API_KEY: [{"apiKey": []}],
    Auth.ADMIN_TOKEN: [{"adminToken": []}],
    Auth.NONE: [],
    Auth.PLATFORM_SIGNATURE: [],
}
SECURITY_SCHEMES = {
    "apiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A tenant's API key (`Authorization: Bearer <key>`): POST /tenants gives "
        "the owner's, POST /api-keys mints more. Its role (viewer < operator < manager < admin "
        "< owner) decides what it may change.",
    },
    "adminToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The operator's admin token (`Authorization: Bearer <token>`), kept in "
        "Secrets Manager: creates tenants and runs the operator's routes.",
    },
}
SIGNED = (
    "Called by the platform itself, which proves it: a signature over the raw body (with the "
    "store's webhook secret, or Meta's app secret), or Meta's verify token."
)
# Decimal as Python writes it: "12.30", "-0.5", and exponents such as "0E-8" or "1E+2".
DECIMAL_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_PATH_PARAM = re.compile(r"{([^}]+)}")


class LinkStarJsonSchema(GenerateJsonSchema):
    """pydantic's schemas, except a Decimal answer: pydantic's own pattern refuses the exponent
    form (``str(Decimal)`` of ``0E-8``) that its serializer writes."""

    def decimal_schema(self, schema: core_schema.DecimalSchema) -> dict[str, Any]:
        if self.mode == "serialization":
            return {"type": "string", "format": "decimal", "pattern": DECIMAL_PATTERN}
        return super().decimal_schema(schema)


def resolve(body: Body) -> type[BaseModel] | Content:
    """A declared body as a model or content: a name is looked up in linkstar.api.schemas, or
    ``module:Model`` in that module."""
    if not isinstance(body, str):
        return body
    module, _, name = body.rpartition(":")
    found = getattr(importlib.import_module(module or SCHEMAS_MODULE), name)
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise TypeError(f"{body} is not a pydantic model")
    return found


def app_routes(app: Chalice) -> list[tuple[str, str]]:
    """Every (METHOD, path) the app serves, in the app's order, less the local stack's own."""
    return [
        (method.upper(), path)
        for path, entries in app.routes.items()
        if not path.startswith(LOCAL_ONLY_PREFIX)
        for method in entries
    ]


class _Schemas:
    """Collects the models an operation names and hands out their ``$ref`` once built."""

    def __init__(self) -> None:
        self.wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}

    def want(self, model: type[BaseModel], mode: JsonSchemaMode) -> None:
        self.wanted[(model, mode)] = None

    def build(self) -> tuple[dict[Any, Any], dict[str, Any]]:
        refs, top = models_json_schema(
            list(self.wanted), ref_template=REF, schema_generator=LinkStarJsonSchema
        )
        return dict(refs), dict(top.get("$defs", {}))


# Every answer writes its sentences (errors, reasons, workings) in the language asked for.
ACCEPT_LANGUAGE: dict[str, Any] = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "zh-CN (any zh range) or en, with q-values as RFC 9110 has them; sentences the "
    "API writes follow it, codes never do. Anything else: English. The answer's "
    "Content-Language says which it used.",
}


def _error_model() -> type[BaseModel]:
    found = resolve("Error")
    assert isinstance(found, type)
    return found


def _content(
    bodies: Iterable[type[BaseModel] | Content],
    mode: JsonSchemaMode,
    refs: dict[Any, Any],
) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for body in bodies:
        if isinstance(body, Content):
            content[body.media_type] = {"schema": body.schema}
        else:
            content["application/json"] = {"schema": refs[(body, mode)]}
    return content


def _description(bodies: Iterable[type[BaseModel] | Content], status: int) -> str:
    said = [b.description for b in bodies if isinstance(b, Content) and b.description]
    if said:
        return "; ".join(said)
    for body in bodies:
        if not isinstance(body, Content):
            return " ".join((body.__doc__ or "").split()).replace("``", "`") or body.__name__
    return {201: "Created", 202: "Accepted", 204: "No content"}.get(status, "OK")


def _operation(
    doc: RouteDoc | None,
    method: str,
    path: str,
    refs: dict[Any, Any],
    error: type[BaseModel],
) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(path)
    ]
    if doc is None or not doc.documented:
        # Listed so the document still covers every route; the unit test names what is missing.
        return {
            "operationId": (doc.view if doc else f"{method.lower()}_{path}"),
            "summary": doc.summary if doc else path,
            "tags": list(doc.tags) if doc and doc.tags else ["undocumented"],
            "parameters": parameters,
            "responses": {"200": {"description": "not documented yet"}},
            "x-linkstar-undocumented": True,
        }
    parameters += [
        {
            "name": param.name,
            "in": "query",
            "required": param.required,
            "schema": param.schema,
            **({"description": param.description} if param.description else {}),
        }
        for param in doc.params
    ]
    parameters.append(ACCEPT_LANGUAGE)
    operation: dict[str, Any] = {
        "operationId": doc.view,
        "summary": doc.summary,
        "tags": list(doc.tags),
        "security": SECURITY[doc.auth or Auth.NONE],
        # OpenAPI has no scheme for "the caller signs the body": say which kind of caller it is.
        "x-linkstar-auth": (doc.auth or Auth.NONE).value,
    }
    description = doc.description
    if doc.auth is Auth.PLATFORM_SIGNATURE:
        description = f"{description} {SIGNED}".strip()
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    if doc.request:
        operation["requestBody"] = {
            "required": True,
            "content": _content((resolve(b) for b in doc.request), "validation", refs),
        }
    responses: dict[str, Any] = {}
    for status, declared in sorted(doc.responses.items()):
        bodies = [resolve(b) for b in declared]
        answer: dict[str, Any] = {"description": _description(bodies, status)}
        if bodies:
            answer["content"] = _content(bodies, "serialization", refs)
        responses[str(status)] = answer
    error_content = {"application/json": {"schema": refs[(error, "serialization")]}}
    if not any(400 <= status < 500 for status in doc.responses):
        responses["4XX"] = {
            "description": "The request can't be served as it is (see code)",
            "content": error_content,
        }
    responses["500"] = {"description": "Something went wrong on our side", "content": error_content}
    operation["responses"] = responses
    return operation


def build(routes: Iterable[tuple[str, str]], server_url: str | None = None) -> dict[str, Any]:
    """The document for ``routes`` ((METHOD, path) pairs), from what :data:`ROUTES` holds."""
    routes = list(routes)
    error = _error_model()
    schemas = _Schemas()
    schemas.want(error, "serialization")
    for key in routes:
        doc = ROUTES.get(key)
        if doc is None or not doc.documented:
            continue
        for body in doc.request:
            if not isinstance(model := resolve(body), Content):
                schemas.want(model, "validation")
        for bodies in doc.responses.values():
            for body in bodies:
                if not isinstance(model := resolve(body), Content):
                    schemas.want(model, "serialization")
    refs, components = schemas.build()
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    tags: dict[str, None] = {}
    for method, path in routes:
        operation = _operation(ROUTES.get((method, path)), method, path, refs, error)
        if operation["operationId"] in used_ids:
            operation["operationId"] = f"{operation['operationId']}_{method.lower()}"
        used_ids.add(operation["operationId"])
        tags.update(dict.fromkeys(operation.get("tags", [])))
        paths.setdefault(path, {})[method.lower()] = operation
    schemas_by_name = dict(sorted(components.items()))
    shape = json.dumps({"paths": paths, "schemas": schemas_by_name}, sort_keys=True)
    version = hashlib.sha256(shape.encode()).hexdigest()[:12]
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            # The document's own hash: it changes exactly when the API's shape does.
            "version": version,
            "description": "Multi-tenant backend for cross-border e-commerce sellers: stores "
            "and their orders, customers, reports, KPIs, outreach and billing. Generated from "
            "the routes and their models. Every error is a JSON object with a machine-readable "
            "`code` and a `message`.",
        },
        "servers": [{"url": server_url or "/"}],
        "tags": [{"name": name} for name in tags],
        "paths": paths,
        "components": {
            "schemas": schemas_by_name,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
    return document


@functools.cache
def _cached(routes: tuple[tuple[str, str], ...]) -> str:
    return json.dumps(build(routes), sort_keys=False)


def document(app: Chalice, server_url: str | None = None) -> dict[str, Any]:
    """The app's document (built once per process; the server URL is the caller's)."""
    built: dict[str, Any] = json.loads(_cached(tuple(app_routes(app))))
    if server_url:
        built["servers"] = [{"url": server_url}]
    return built
