"""Attacks on `forgeline serve` over real HTTP: DNS rebinding, CSRF, scripted models, huge diffs.

Each request is what the attack sends: a rebinding page's `Host: evil.example`, a foreign
page's `Origin` or `Sec-Fetch-Site`, a client naming a `scripted:` model (a file the server
would read). The server runs without FORGELINE_ALLOW_SCRIPTED.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

from api.server import Server, make_git_repo
from forgeline.api.headers import CONTENT_SECURITY_POLICY

EVIL_HOST = "evil.example:8000"
ALLOWED = "forgeline.test, *.corp.test"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        tmp_path_factory.mktemp("home"),
        allow_scripted=False,
        env={"FORGELINE_ALLOWED_HOSTS": ALLOWED},
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx2.Client]:
    with server.client() as http:
        yield http


@pytest.fixture(scope="module")
def project(client: httpx2.Client, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    repo = make_git_repo(tmp_path_factory.mktemp("repo") / "repo")
    body = {"project_id": "p1", "feature_request": "Do it", "repositories": [{"url": str(repo)}]}
    response = client.post("/projects/initialize", json=body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def _tasks(client: httpx2.Client, project_id: str) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = client.get(f"/api/projects/{project_id}/tasks").json()
    return tasks


@pytest.mark.parametrize("path", ["/api/projects", "/health", "/", "/api/projects/p1"])
def test_a_foreign_host_is_refused(
    client: httpx2.Client, project: dict[str, Any], path: str
) -> None:
    response = client.get(path, headers={"Host": EVIL_HOST})
    assert response.status_code == 400
    assert "FORGELINE_ALLOWED_HOSTS" in response.json()["detail"]
    assert "p1" not in response.text


def test_a_browser_gets_an_html_page_for_a_foreign_host(client: httpx2.Client) -> None:
    response = client.get("/", headers={"Host": "evil.example", "Accept": "text/html"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "FORGELINE_ALLOWED_HOSTS" in response.text


def test_a_foreign_host_cannot_start_work(client: httpx2.Client, project: dict[str, Any]) -> None:
    response = client.post(
        "/agents/research/start", json={"project_id": "p1"}, headers={"Host": EVIL_HOST}
    )
    assert response.status_code == 400
    assert _tasks(client, "p1") == []


@pytest.mark.parametrize(
    "host",
    [
        "localhost:1234",
        "127.0.0.1",
        "[::1]:8000",
        "forgeline.test:443",
        "ci.corp.test",
        "LOCALHOST",
    ],
)
def test_allowed_hosts_are_served(client: httpx2.Client, host: str) -> None:
    response = client.get("/health", headers={"Host": host})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("host", ["corp.test", "forgeline.test.evil.example", "127.0.0.2", "a@b"])
def test_near_misses_are_refused(client: httpx2.Client, host: str) -> None:
    assert client.get("/health", headers={"Host": host}).status_code == 400


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "null", "Sec-Fetch-Site": "same-site"},
        {"Origin": "http://127.0.0.1:1"},  # another port of the same site
        {"Origin": "https://127.0.0.1"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_cross_site_state_changes_are_refused(
    server: Server, client: httpx2.Client, project: dict[str, Any], headers: dict[str, str]
) -> None:
    attempts = [
        ("POST", "/agents/research/start", {"project_id": "p1"}),
        ("POST", "/api/projects/p1/phases/research/start", None),
        ("PUT", "/api/projects/p1/documents/research", {"content": "forged"}),
        ("DELETE", "/projects/p1/workspace", None),
    ]
    for method, path, body in attempts:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (method, path, response.text)
        assert "refused" in response.json()["detail"]
    assert _tasks(client, "p1") == []
    assert client.get("/api/projects/p1/documents/research").json()["exists"] is False
    assert (server.home / project["workspace"]).is_dir()


def test_a_forged_project_is_not_created(client: httpx2.Client, tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo")
    body = {"project_id": "forged", "feature_request": "x", "repositories": [{"url": str(repo)}]}
    response = client.post("/api/projects", json=body, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert client.get("/api/projects/forged").status_code == 404


def test_same_origin_requests_work(
    server: Server, client: httpx2.Client, project: dict[str, Any]
) -> None:
    same = {"Origin": server.url, "Sec-Fetch-Site": "same-origin"}
    saved = client.put(
        "/api/projects/p1/documents/planning", json={"content": "# Plan"}, headers=same
    )
    assert saved.status_code == 200, saved.text
    own_form = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}  # under no-referrer
    saved = client.put(
        "/api/projects/p1/documents/planning", json={"content": "#"}, headers=own_form
    )
    assert saved.status_code == 200, saved.text
    local = f"localhost:{server.port}"
    typed = client.put(  # the UI opened as localhost; Sec-Fetch-Site none (typed by the user)
        "/api/projects/p1/documents/planning",
        json={"content": "# Plan 2"},
        headers={"Sec-Fetch-Site": "none", "Origin": f"http://{local}", "Host": local},
    )
    assert typed.status_code == 200, typed.text
    mixed = {"Origin": f"http://{local}"}  # localhost page, 127.0.0.1 server: other origin
    assert (
        client.put(
            "/api/projects/p1/documents/planning", json={"content": "x"}, headers=mixed
        ).status_code
        == 403
    )


def test_html_carries_the_content_security_policy(
    client: httpx2.Client, project: dict[str, Any]
) -> None:
    for path in ("/", "/projects/p1"):
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "Sign out" not in response.text  # no sign-in without a token
    assert "<script>" not in client.get("/").text and " style=" not in client.get("/").text


@pytest.mark.parametrize("path", ["/projects/initialize", "/api/projects"])
@pytest.mark.parametrize("model", ["scripted:/etc/passwd", " Scripted:script.yaml"])
def test_a_scripted_model_is_refused_from_the_api(
    server: Server, client: httpx2.Client, tmp_path: Path, path: str, model: str
) -> None:
    repo = make_git_repo(tmp_path / "repo")
    body = {
        "project_id": "scripted-1",
        "feature_request": "x",
        "repositories": [{"url": str(repo)}],
        "model": model.replace("script.yaml", str(server.script_file)),
    }
    response = client.post(path, json=body)
    assert response.status_code == 422
    assert "FORGELINE_ALLOW_SCRIPTED" in response.json()["detail"]
    assert client.get("/api/projects/scripted-1").status_code == 404


def test_no_absolute_host_path_in_project_answers(
    server: Server, client: httpx2.Client, project: dict[str, Any]
) -> None:
    home = str(server.home)
    assert project["workspace"] == "workspaces/p1"
    for path in ("/api/projects", "/api/projects/p1", "/api/projects/p1/tasks"):
        assert home not in client.get(path).text, path


def test_unknown_pages_are_html_404_for_browsers(client: httpx2.Client) -> None:
    page = client.get("/no/such/page", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1" in page.text and "404" in page.text
    missing = client.get("/projects/nope", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and "nope" in missing.text
    assert missing.headers["content-type"].startswith("text/html")
    api = client.get("/api/projects/nope", headers={"Accept": "text/html"})
    assert api.status_code == 404 and "nope" in api.json()["detail"]


def _commit_big_files(repo: Path) -> None:
    line = "x" * 99 + "\n"
    (repo / "big.txt").write_text(line * 60_000)  # 6 MB
    (repo / "small.py").write_text("print('small change')\n")
    git = ["git", "-C", str(repo), "-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "big.txt", "small.py"], check=True)
    subprocess.run([*git, "commit", "-qm", "big"], check=True)


def test_a_huge_diff_is_capped_with_a_note(
    server: Server, client: httpx2.Client, project: dict[str, Any]
) -> None:
    _commit_big_files(server.home / project["workspace"] / "repo")
    response = client.get("/api/projects/p1/diff")
    assert response.status_code == 200
    assert len(response.content) < 3 * 1024 * 1024
    [entry] = response.json()
    assert entry["truncated"] is True
    assert [c["path"] for c in entry["cut"]] == ["big.txt"]
    assert entry["cut"][0]["total_bytes"] > 6_000_000
    assert "big.txt" in entry["note"] and "too large" in entry["note"]
    assert "+print('small change')" in entry["diff"]  # later files still shown
    page = client.get("/projects/p1", headers={"Accept": "text/html"})
    assert page.status_code == 200 and len(page.content) < 4 * 1024 * 1024
    assert "too large to show whole" in page.text
