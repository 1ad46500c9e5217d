"""`GET /api/projects/{id}/evidence` on a real server: the commands an agent really ran."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .server import Server, make_git_repo

SCRIPT = """\
agents:
  research:
    - tool_calls:
        - {name: Bash, input: {command: "cd repo && echo checking; exit 3"}}
    - tool_calls:
        - {name: Write, input: {file_path: research.md, content: "# Research"}}
    - text: Research is done.
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("home"), script=SCRIPT)
    yield running
    running.stop()


def test_evidence_lists_each_command_with_exit_code(server: Server, tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo")
    with server.client() as client:
        body = {"feature_request": "Check", "repositories": [{"url": str(repo)}]}
        project = client.post("/api/projects", json=body).json()
        pid = project["id"]
        assert client.get(f"/api/projects/{pid}/evidence").json() == []
        started = client.post(f"/api/projects/{pid}/phases/research/start")
        assert started.status_code == 200, started.text
        evidence = _wait_evidence(client, pid)
        assert client.get("/api/projects/nope/evidence").status_code == 404
    [item] = evidence
    assert item["agent"] == "research" and item["repo"] == "repo"
    assert item["command"] == "cd repo && echo checking; exit 3"
    assert (item["exit_code"], item["output_tail"], item["failed"]) == (3, "checking", True)
    assert item["task_id"] == started.json()["id"]


def _wait_evidence(client: Any, pid: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        items: list[dict[str, Any]] = client.get(f"/api/projects/{pid}/evidence").json()
        if items:
            return items
        time.sleep(0.1)
    raise AssertionError("no evidence within 30 s")
