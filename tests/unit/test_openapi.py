"""The OpenAPI document: valid OpenAPI 3.1, generated for every route the app serves, each route
documented (auth and a 2xx answer), every ``$ref`` resolvable, and served with its reference
page at ``/openapi.json`` and ``/docs``."""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client
from linkstar.api import docs, openapi
from linkstar.api.http import ROUTES
from openapi_spec_validator import validate


@pytest.fixture(scope="module")
def app() -> Any:
    from functions.api.app import app

    return app


@pytest.fixture(scope="module")
def document(app: Any) -> dict[str, Any]:
    return openapi.document(app)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield method.upper(), path, operation


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    # Given the document generated from the app's routes
    # When it is validated against the OpenAPI 3.1 schema
    validate(document)
    # Then it is 3.1 and names both ways to authenticate
    assert document["openapi"] == "3.1.0"
    assert set(document["components"]["securitySchemes"]) == {"apiKey", "adminToken"}


def test_every_route_has_an_operation(app: Any, document: dict[str, Any]) -> None:
    served = {(m.upper(), path) for path, entries in app.routes.items() for m in entries}
    in_document = {(method, path) for method, path, _ in _operations(document)}
    assert in_document == served


def test_every_route_documents_its_auth_and_a_2xx_answer(app: Any) -> None:
    # Given every route the app serves
    missing = []
    for method, path in openapi.app_routes(app):
        doc = ROUTES.get((method, path))
        # Then each declared who may call it and a success body
        if doc is None or not doc.documented:
            where = f"{doc.module}.{doc.view}" if doc else "not declared through route()"
            missing.append(f"{method} {path} ({where})")
    assert not missing, "routes without auth= and a 2xx response=: " + ", ".join(missing)


def test_every_documented_2xx_answer_has_a_body_or_says_it_has_none(
    document: dict[str, Any],
) -> None:
    for method, path, operation in _operations(document):
        if operation.get("x-linkstar-undocumented"):
            continue
        successes = {s: a for s, a in operation["responses"].items() if s.startswith("2")}
        assert successes, f"{method} {path}"
        for status, answer in successes.items():
            assert answer.get("content") or status == "204", f"{method} {path} {status}"


def test_routes_that_read_the_query_string_declare_their_parameters(app: Any) -> None:
    for method, path in openapi.app_routes(app):
        doc = ROUTES.get((method, path))
        if doc is None or not doc.documented:
            continue
        view = app.routes[path][method].view_function
        source = inspect.getsource(inspect.unwrap(view))
        if "query_params" in source:
            assert doc.params, f"{method} {path} reads the query string: declare params="


def test_path_parameters_are_the_views_arguments(app: Any, document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == set(app.routes[path][method].view_args), f"{method} {path}"


def test_grouping_parameters_list_what_the_services_accept(document: dict[str, Any]) -> None:
    # The routes spell each `by` enum so that declaring it imports no service at cold start
    from linkstar.costs import report
    from linkstar.funnel import service as funnel

    def enum(path: str) -> list[str]:
        (by,) = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "by"]
        return list(by["schema"]["enum"])

    assert enum("/costs") == list(report.GROUPINGS)
    assert enum("/unit-economics") == list(report.UE_GROUPINGS)
    assert enum("/funnel") == list(funnel.GROUPINGS)
    # and each answer's `by` says the same
    schemas = document["components"]["schemas"]
    assert schemas["CostReport"]["properties"]["by"]["enum"] == list(report.GROUPINGS)
    assert schemas["UnitEconomicsReport"]["properties"]["by"]["enum"] == list(report.UE_GROUPINGS)
    assert schemas["FunnelView"]["properties"]["by"]["enum"] == list(funnel.GROUPINGS)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_every_ref_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    refs = set(_refs(document))
    assert refs, "the document names no schema"
    for ref in refs:
        assert ref.startswith("#/components/schemas/"), ref
        assert ref.rsplit("/", 1)[1] in schemas, f"{ref} does not resolve"


def test_errors_share_one_model(document: dict[str, Any]) -> None:
    error = document["components"]["schemas"]["Error"]
    assert {"code", "message"} <= set(error["required"])
    for method, path, operation in _operations(document):
        if operation.get("x-linkstar-undocumented"):
            continue
        answer = operation["responses"]["500"]["content"]["application/json"]["schema"]
        assert answer == {"$ref": "#/components/schemas/Error"}, f"{method} {path}"


def test_the_document_and_the_reference_page_are_served(app: Any) -> None:
    # Given the API
    with Client(app) as client:
        # When the document and the page are asked for, with no credentials
        spec = client.http.get("/openapi.json")
        page = client.http.get("/docs")
    # Then both answer, and the page shows every operation and links the document
    assert spec.status_code == 200
    served = json.loads(spec.body)
    assert served["openapi"] == "3.1.0"
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    text = page.body.decode()
    assert "href='openapi.json'" in text
    for method, path, operation in _operations(served):
        assert f"id='op-{operation['operationId']}'" in text, f"{method} {path}"
    # Nothing on the page is fetched: no script, stylesheet link or image source
    assert "<script" not in text and "<link" not in text and "src=" not in text


def test_the_page_renders_types_and_links_schemas() -> None:
    assert docs.type_text({"type": "array", "items": {"$ref": "#/components/schemas/X"}}) == (
        "array of <a href='#schema-X'>X</a>"
    )
    assert docs.type_text({"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]}) == (
        "string (date) | null"
    )
