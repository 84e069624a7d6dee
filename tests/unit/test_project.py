"""Promises about the project itself: pins, template and app agree."""

from __future__ import annotations

import tomllib

from samtranslator.yaml_helper import yaml_parse

from tests.support import REPO


def _template() -> dict:
    return yaml_parse((REPO / "template.yaml").read_text())


def test_layer_requirements_match_the_pins() -> None:
    pins = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = (REPO / "layers/core/requirements.txt").read_text().splitlines()
    required = [line for line in lines if line and not line.startswith("#")]
    assert required == pins, "run `make requirements`"
    assert all("==" in pin for pin in pins)


def test_chalice_routes_and_template_api_events_are_the_same() -> None:
    from functions.api.app import app

    chalice_routes = {
        (method.upper(), path) for path, entries in app.routes.items() for method in entries
    }
    events = _template()["Resources"]["ApiFunction"]["Properties"]["Events"]
    template_routes = {
        (e["Properties"]["Method"].upper(), e["Properties"]["Path"])
        for e in events.values()
        if e["Type"] == "Api"
    }
    assert chalice_routes == template_routes
    assert not any("{proxy+}" in path for _, path in template_routes)
