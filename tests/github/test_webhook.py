"""The server's GitHub routes on a real `forgeline serve`: a signed `pull_request_review`
delivery starts one review round (once per delivery), a forged or unsigned one is refused,
`POST /api/projects/{id}/iterate` starts another, and the project's JSON and page show the
pull request. The server runs with an API token: the webhook needs none (its signature
proves it), everything else still does."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx2
import yaml

from api.server import Server
from e2e.helpers import make_repo
from forgeline.testing.fake_github import FakeGitHub

from .scripts import api_rounds_script

SECRET = "whsec-test-1"
TOKEN = "api-token-1"


def delivery(payload: dict[str, Any], *, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request_review",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": signature,
        "User-Agent": "GitHub-Hookshot/test",
    }
    return body, headers


def review_payload(fake: FakeGitHub, number: int) -> dict[str, Any]:
    pull = fake.repos["acme/api"].pulls[number - 1]
    return {
        "action": "submitted",
        "review": {
            "id": 80, "user": {"login": "octo", "type": "User"}, "body": "See comments",
            "state": "changes_requested", "html_url": pull["html_url"] + "#pullrequestreview-80",
        },
        "pull_request": {"number": number, "html_url": pull["html_url"], "head": pull["head"]},
        "repository": {"full_name": "acme/api", "name": "api", "owner": {"login": "acme"}},
        "sender": {"login": "octo", "type": "User"},
    }  # fmt: skip


def wait_for(check: Callable[[], bool], *, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)


def replies_to(fake: FakeGitHub, comment: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in fake.repos["acme/api"].comments if c.get("in_reply_to_id") == comment["id"]]


def _status(http: httpx2.Client, task_id: str) -> str:
    for project in http.get("/api/projects").json():
        for task in http.get(f"/api/projects/{project['id']}/tasks").json():
            if task["id"] == task_id:
                return str(task["status"])
    return "missing"


def test_signed_webhook_and_api_start_review_rounds(
    fake_github: FakeGitHub, app_env: dict[str, str], tmp_path: Path
) -> None:
    seed = make_repo(tmp_path / "seed", {"README.md": "# api\n"})
    url = fake_github.add_repo("acme", "api", seed)
    env = {**app_env, "FORGELINE_GITHUB_WEBHOOK_SECRET": SECRET}
    script = yaml.safe_dump({"agents": api_rounds_script()})
    server = Server(tmp_path / "home", token=TOKEN, script=script, env=env)
    try:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with server.client(headers=auth) as http, server.client() as anonymous:
            created = http.post(
                "/api/projects",
                json={"feature_request": "Describe the api", "repositories": [{"url": url}],
                      "phases": ["implementation"]},
            )  # fmt: skip
            assert created.status_code == 201, created.text
            project = created.json()["id"]
            started = http.post(f"/api/projects/{project}/phases/implementation/start")
            assert started.status_code == 200, started.text
            wait_for(lambda: _status(http, started.json()["id"]) == "completed")
            shown = http.get(f"/api/projects/{project}").json()["repositories"][0]["pull_request"]
            assert shown["number"] == 1 and shown["draft"] is True
            page = http.get(f"/projects/{project}", headers={"Accept": "text/html"}).text
            assert f'href="{shown["url"]}"' in page and "Draft pull request #1" in page

            first = fake_github.add_review_comment(
                "acme/api", 1, path="README.md", line=3, body="Name the port."
            )
            body, headers = delivery(review_payload(fake_github, 1))
            forged = dict(headers, **{"X-Hub-Signature-256": "sha256=" + "0" * 64})
            assert (
                anonymous.post("/webhooks/github", content=body, headers=forged).status_code == 401
            )
            unsigned = {k: v for k, v in headers.items() if k != "X-Hub-Signature-256"}
            assert (
                anonymous.post("/webhooks/github", content=body, headers=unsigned).status_code
                == 401
            )
            accepted = anonymous.post("/webhooks/github", content=body, headers=headers)
            assert accepted.status_code == 202, accepted.text
            again = anonymous.post("/webhooks/github", content=body, headers=headers)
            assert again.json()["status"] == "duplicate"
            busy_body, busy_headers = delivery(review_payload(fake_github, 1))
            busy = anonymous.post("/webhooks/github", content=busy_body, headers=busy_headers)
            assert busy.status_code == 409, busy.text  # the round above still runs
            task_id = accepted.json()["task_id"]
            wait_for(lambda: _status(http, task_id) in ("completed", "failed"))
            redelivered = anonymous.post(
                "/webhooks/github", content=busy_body, headers=busy_headers
            )
            assert redelivered.json()["status"] == "ignored"  # not "duplicate": it was forgotten
            assert _status(http, task_id) == "completed"
            assert len(replies_to(fake_github, first)) == 1

            second = fake_github.add_review_comment(
                "acme/api", 1, path="README.md", line=3, body="Name the protocol too."
            )
            assert anonymous.post(f"/api/projects/{project}/iterate").status_code == 401
            round_ = http.post(f"/api/projects/{project}/iterate")
            assert round_.status_code == 202, round_.text
            wait_for(lambda: _status(http, round_.json()["id"]) in ("completed", "failed"))
            assert _status(http, round_.json()["id"]) == "completed"
            assert len(replies_to(fake_github, second)) == 1
            assert len(replies_to(fake_github, first)) == 1  # answered threads stay answered
            assert len(fake_github.repos["acme/api"].pulls) == 1
    finally:
        server.stop()
