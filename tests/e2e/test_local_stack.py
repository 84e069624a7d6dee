"""The local stack comes up from template.yaml, serves the API, and goes away completely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from infra.local import LocalStack
from infra.local.control import alive, processes_of
from tests.e2e.conftest import missing_handlers

pytestmark = pytest.mark.e2e


def test_stack_is_up_with_everything_a_client_needs(stack: dict[str, Any]) -> None:
    for key in (
        "api_url",
        "aws_endpoint_url",
        "admin_token",
        "region",
        "resources",
        "functions",
        "amazon_notifications_queue_url",
        "marketplaces_url",
    ):
        assert stack[key], key
    assert stack["api_url"].startswith("http://127.0.0.1:")
    assert set(stack["pids"]) >= {
        "ApiFunction",
        "IngestFunction",
        "PublisherFunction",
        "EnrichFunction",
        "ImportFunction",
    }
    # Enrichment is pointed at the local marketplace APIs through the template's parameters.
    assert stack["functions"]["EnrichFunction"]["TIKTOK_API_BASE"].startswith(
        stack["marketplaces_url"]
    )


def test_health_answers_200(stack: dict[str, Any]) -> None:
    response = requests.get(f"{stack['api_url']}/health", timeout=10)

    assert response.status_code == 200


def test_down_leaves_nothing_running(tmp_path: Path) -> None:
    # Given: a second stack of its own, so the session's stack is left alone
    missing = missing_handlers()
    if missing:
        pytest.skip(f"handlers not written yet: {', '.join(missing)}")
    state = tmp_path / "stack"
    local = LocalStack(state_dir=state)
    info = local.start()
    try:
        assert requests.get(f"{info['api_url']}/health", timeout=10).status_code == 200
        assert processes_of(state)
    finally:
        # When: it is stopped
        local.stop()

    # Then: no process of it remains and nothing says it is running
    assert processes_of(state) == set()
    assert alive([info["supervisor_pid"], *info["pids"].values()]) == set()
    assert not (state / "stack.json").exists()


def test_down_stops_a_stack_whose_pid_files_were_lost(tmp_path: Path) -> None:
    # Given: a running stack whose state files are gone (a killed demo, a deleted directory)
    from infra.local import control

    state = tmp_path / "orphan"
    info = LocalStack(state_dir=state).start()
    for name in ("supervisor.pid", "stack.json"):
        (state / name).unlink()

    # When: the directory's stack is stopped
    stopped = control.down(state)

    # Then: it was found by its processes' command lines, and nothing of it remains
    assert stopped
    assert processes_of(state) == set()
    assert alive([info["supervisor_pid"], *info["pids"].values()]) == set()
