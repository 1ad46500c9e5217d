"""The model per agent over HTTP: chosen at creation or later, validated like the project's
model (never `scripted:` from a client unless the operator allows it), and the agent runs on it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from .server import Server, make_git_repo

OTHER_SCRIPT = """\
agents:
  research:
    - text: Another model writes this.
      tool_calls:
        - {name: Write, input: {file_path: research.md, content: "# Research by the other model"}}
    - text: Done.
"""


def _wait_done(client: httpx2.Client, project_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        tasks: list[dict[str, Any]] = client.get(f"/api/projects/{project_id}").json()["tasks"]
        if tasks and all(t["status"] in ("completed", "failed") for t in tasks):
            return tasks
        time.sleep(0.2)
    raise AssertionError(f"research did not finish: {tasks}")


def test_research_runs_on_its_own_model(server: Server, client: httpx2.Client, repo: Path) -> None:
    other = server.home / "other.yaml"
    other.write_text(OTHER_SCRIPT)
    body = {
        "project_id": "per-agent-1",
        "feature_request": "Add a greeting option",
        "repositories": [{"url": str(repo)}],
        "agent_models": {"research": f"scripted:{other}"},
    }
    created = client.post("/api/projects", json=body)
    assert created.status_code in (200, 201), created.text
    assert created.json()["agent_models"] == {"research": f"scripted:{other}"}
    started = client.post("/api/projects/per-agent-1/phases/research/start")
    assert started.status_code in (200, 201), started.text
    [task] = _wait_done(client, "per-agent-1")
    assert task["status"] == "completed", task
    assert task["model"] == f"scripted:{other}"
    research = client.get("/api/projects/per-agent-1/documents/research").json()
    assert "Research by the other model" in str(research)

    changed = client.put(
        "/api/projects/per-agent-1/models",
        json={"model": "openai:gpt-4.1", "agent_models": {"review": "anthropic:claude-haiku-4-5"}},
    )
    assert changed.status_code == 200, changed.text
    shown = client.get("/api/projects/per-agent-1").json()
    assert shown["model"] == "openai:gpt-4.1"
    assert shown["agent_models"] == {"review": "anthropic:claude-haiku-4-5"}


def test_bad_models_per_agent_are_clear_4xx(client: httpx2.Client, repo: Path) -> None:
    cases = [
        ({"nobody": "openai:gpt-4.1"}, "unknown agent(s) nobody"),
        ({"review": "gpt-4.1"}, "must be written provider:model"),
        ({"review": "mystery:x"}, "unknown model provider 'mystery'"),
    ]
    for models, message in cases:
        body = {"feature_request": "x", "repositories": [{"url": str(repo)}]}
        created = client.post("/api/projects", json={**body, "agent_models": models})
        assert created.status_code in (400, 422), created.text
        assert message in created.json()["detail"]
    assert client.put("/api/projects/nope/models", json={}).status_code == 404
    wrong = client.put("/api/projects/nope/models", json={"agent_models": {"review": 3}})
    assert wrong.status_code == 422


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server without FORGELINE_ALLOW_SCRIPTED."""
    running = Server(tmp_path_factory.mktemp("strict"), allow_scripted=False)
    yield running
    running.stop()


def test_a_scripted_model_per_agent_is_refused(strict: Server, tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo")
    spec = f"scripted:{strict.script_file}"
    body = {
        "project_id": "per-agent-2",
        "feature_request": "x",
        "repositories": [{"url": str(repo)}],
    }
    with strict.client() as client:
        refused = client.post("/api/projects", json={**body, "agent_models": {"review": spec}})
        assert refused.status_code == 422, refused.text
        assert "FORGELINE_ALLOW_SCRIPTED" in refused.json()["detail"]
        assert client.get("/api/projects/per-agent-2").status_code == 404
        assert client.post("/api/projects", json=body).status_code in (200, 201)
        later = client.put(
            "/api/projects/per-agent-2/models", json={"agent_models": {"test": spec}}
        )
        assert later.status_code == 422, later.text
        assert client.get("/api/projects/per-agent-2").json()["agent_models"] == {}
