"""The API's repository `setup` field: stored with the repository, run before the first agent."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from api.server import Server, make_git_repo


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("home"))
    yield running
    running.stop()


def _wait_finished(client: httpx2.Client, project_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tasks: list[dict[str, Any]] = client.get(f"/api/projects/{project_id}/tasks").json()
        if tasks and all(t["status"] in {"completed", "failed", "cancelled"} for t in tasks):
            return tasks
        time.sleep(0.3)
    raise AssertionError(f"tasks did not finish: {tasks}")


def test_the_setup_field_is_stored_and_runs_before_the_first_agent(
    server: Server, tmp_path: Path
) -> None:
    repo = make_git_repo(tmp_path / "repo")
    body = {
        "project_id": "api-setup",
        "feature_request": "Anything",
        "repositories": [{"url": str(repo), "setup": "echo from the api; exit 5"}],
    }
    with server.client() as client:
        created = client.post("/projects/initialize", json=body)
        assert created.status_code == 200, created.text
        assert created.json()["repositories"][0]["setup"] == "echo from the api; exit 5"
        started = client.post("/agents/research/start", json={"project_id": "api-setup"})
        assert started.status_code in (200, 201, 202), started.text
        [task] = _wait_finished(client, "api-setup")
    assert task["status"] == "failed"
    assert "exited with 5" in task["error"] and "from the api" in task["error"]


def test_a_setup_with_a_nul_character_is_a_clear_4xx(server: Server, tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo")
    body = {"feature_request": "x", "repositories": [{"url": str(repo), "setup": "a\u0000b"}]}
    with server.client() as client:
        response = client.post("/api/projects", json=body)
    assert response.status_code == 422
    assert "NUL" in response.text
