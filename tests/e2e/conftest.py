"""End-to-end tier: the local stack (moto, the API server, one runtime per function) started from
template.yaml in a temporary state directory, reached over HTTP like a user would.

Every test in this directory is marked ``e2e`` and, under pytest-xdist, kept on one worker so the
session shares a single stack.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.local import LocalStack
from infra.local.template import DEFAULT_TEMPLATE, load_template

E2E_DIR = Path(__file__).parent


def missing_handlers() -> list[str]:
    """Handler modules template.yaml names that do not exist yet in the working tree."""
    template = load_template(DEFAULT_TEMPLATE)
    missing = []
    for spec in template.functions.values():
        module = spec.handler.rpartition(".")[0].replace(".", "/")
        if not (template.root / spec.code_dir / f"{module}.py").exists():
            missing.append(f"{spec.code_dir}/{module}.py")
    return missing


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    grouped = config.pluginmanager.hasplugin("xdist")
    for item in items:
        if E2E_DIR in item.path.parents:
            item.add_marker(pytest.mark.e2e)
            if grouped:
                item.add_marker(pytest.mark.xdist_group("e2e"))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The running local stack's stack.json: api_url, aws_endpoint_url, admin_token, ..."""
    missing = missing_handlers()
    if missing:
        pytest.skip(f"handlers not written yet: {', '.join(missing)}")
    with LocalStack(state_dir=tmp_path_factory.mktemp("local-stack")) as local:
        yield local.info
