"""The HTTP API on a real server: projects, phases, errors, answers and documents."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx2

from .server import Server


def _wait_task(client: httpx2.Client, project_id: str, phase: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    tasks: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        tasks = client.get(f"/api/projects/{project_id}/tasks").json()
        mine = [t for t in tasks if t["phase"] == phase]
        if mine and mine[-1]["status"] == status:
            return mine[-1]
        if mine and mine[-1]["status"] == "failed":
            raise AssertionError(f"{phase} failed: {mine[-1]['error']}")
        time.sleep(0.1)
    raise AssertionError(f"{phase} never became {status}: {tasks}")


def _initialize(client: httpx2.Client, repo: Path, project_id: str) -> dict[str, Any]:
    body = {
        "project_id": project_id,
        "feature_request": "Add a greeting option",
        "repositories": [{"url": str(repo), "branch": "main"}],
    }
    response = client.post("/projects/initialize", json=body)
    assert response.status_code == 200, response.text
    project: dict[str, Any] = response.json()
    return project


def test_health(client: httpx2.Client) -> None:
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert set(body["sandbox"]) >= {"mode", "available", "detail"}


def test_initialize_lists_and_deletes_a_project(
    client: httpx2.Client, repo: Path, server: Server
) -> None:
    project = _initialize(client, repo, "init-1")
    assert project["id"] == "init-1"
    assert project["branch"] == "forgeline/add-a-greeting-option"
    [repository] = project["repositories"]
    assert repository["name"] == "repo" and repository["base_branch"] == "main"
    assert project["workspace"] == "workspaces/init-1"  # no absolute host path
    workspace = server.home / project["workspace"]
    assert (workspace / "repo" / "app.py").is_file()
    assert "init-1" in [p["id"] for p in client.get("/api/projects").json()]
    assert client.get("/api/projects/init-1").json()["tasks"] == []

    again = client.post(
        "/projects/initialize",
        json={"project_id": "init-1", "feature_request": "x", "repositories": [{"url": str(repo)}]},
    )
    assert again.status_code == 409

    assert client.delete("/projects/init-1/workspace").json()["deleted"] is True
    assert not workspace.exists()
    assert client.get("/api/projects/init-1").status_code == 404


def test_bad_input_is_a_clear_4xx(client: httpx2.Client, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-repo"
    response = client.post(
        "/api/projects", json={"feature_request": "x", "repositories": [{"url": str(missing)}]}
    )
    assert 400 <= response.status_code < 500
    assert str(missing) in response.json()["detail"]

    response = client.post("/api/projects", json={"feature_request": "x", "repositories": []})
    assert response.status_code == 422
    assert "repositories" in response.json()["detail"]

    response = client.post(
        "/api/projects", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422

    response = client.post("/api/projects", content=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_unknown_resources_are_404(client: httpx2.Client) -> None:
    for path in (
        "/api/projects/nope",
        "/api/projects/nope/tasks",
        "/api/projects/nope/events",
        "/api/projects/nope/documents/research",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "nope" in response.json()["detail"]
    assert client.post("/agents/no-such-task/pause").status_code == 404
    assert client.post("/agents/research/start", json={"project_id": "nope"}).status_code == 404


def test_phases_run_in_order_and_questions_are_validated(client: httpx2.Client, repo: Path) -> None:
    _initialize(client, repo, "flow-1")
    early = client.post("/agents/planning/start", json={"project_id": "flow-1"})
    assert early.status_code == 409
    assert "research" in early.json()["detail"]

    task = client.post("/agents/research/start", json={"project_id": "flow-1"}).json()
    assert task["phase"] == "research"
    _wait_task(client, "flow-1", "research", "completed")
    research = client.get("/api/projects/flow-1/documents/research").json()
    assert research["exists"] and "<code>app.py</code>" in research["html"]

    client.post("/api/projects/flow-1/phases/planning/start").raise_for_status()
    _wait_task(client, "flow-1", "planning", "waiting")
    [question] = client.get("/api/projects/flow-1/questions?pending=true").json()
    assert question["header"] == "Approach"

    url = f"/api/questions/{question['id']}/answer"
    wrong = client.post(url, json={"selected": ["Nonexistent"]})
    assert wrong.status_code == 422
    assert "not one of the options" in wrong.json()["detail"]
    both = client.post(url, json={"selected": ["Simple", "Thorough"]})
    assert both.status_code == 422

    answered = client.post(url, json={"selected": ["Simple"]})
    assert answered.status_code == 200, answered.text
    assert answered.json()["answer"]["selected"] == ["Simple"]
    _wait_task(client, "flow-1", "planning", "completed")
    assert client.get("/api/projects/flow-1/questions?pending=true").json() == []


def test_documents_can_be_edited_and_markdown_is_escaped(client: httpx2.Client, repo: Path) -> None:
    _initialize(client, repo, "docs-1")
    assert client.get("/api/projects/docs-1/documents/research").json()["exists"] is False
    content = "# Notes\n\n<script>alert(1)</script>\n\n- item"
    saved = client.put("/api/projects/docs-1/documents/research", json={"content": content})
    assert saved.status_code == 200
    html = saved.json()["html"]
    assert "<script>" not in html and "&lt;script&gt;" in html and "<li>item</li>" in html
    assert client.get("/api/projects/docs-1/documents/research").json()["content"] == content
    bad = client.put("/api/projects/docs-1/documents/secrets", json={"content": "x"})
    assert bad.status_code == 422


def test_diff_usage_and_findings(client: httpx2.Client, repo: Path, server: Server) -> None:
    project = _initialize(client, repo, "diff-1")
    assert client.get("/api/projects/diff-1/diff").json()[0]["diff"] == ""
    (server.home / project["workspace"] / "repo" / "app.py").write_text("print('hi')\n")
    [entry] = client.get("/api/projects/diff-1/diff").json()
    assert entry["repo"] == "repo" and "+print('hi')" in entry["diff"]
    assert entry["truncated"] is False and entry["note"] is None
    assert client.get("/api/projects/diff-1/usage").json()["total"]["calls"] == 0
    assert client.get("/api/projects/diff-1/findings").json() == []


def test_pages_render(client: httpx2.Client, repo: Path) -> None:
    _initialize(client, repo, "page-1")
    index = client.get("/")
    assert index.status_code == 200 and "New project" in index.text
    page = client.get("/projects/page-1")
    assert page.status_code == 200
    for name in ("Start research", "Start planning", "Start implementation", "Pause", "Resume"):
        assert f">{name}</button>" in page.text
    assert client.get("/static/app.js").status_code == 200
