"""The fake GitHub's records, and GitHub's JSON shapes (pull requests, repositories, ...)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Json = Any


DOCS = "https://docs.github.com/rest"


@dataclass(frozen=True)
class ApiRequest:
    """One REST request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Json


@dataclass
class Failure:
    """An injected error for the next `times` requests matching `method` and `path`."""

    method: str
    path: re.Pattern[str]
    status: int
    body: Json
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


@dataclass
class FakeRepo:
    """A repository the fake serves, with its pull requests and review comments."""

    owner: str
    name: str
    id: int
    installation: int
    pulls: list[dict[str, Json]] = field(default_factory=list)
    comments: list[dict[str, Json]] = field(default_factory=list)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


def not_found() -> Json:
    """GitHub's 404 body."""
    return {"message": "Not Found", "documentation_url": DOCS}


def invalid(errors: list[Json]) -> Json:
    """GitHub's 422 body."""
    return {"message": "Validation Failed", "errors": errors, "documentation_url": DOCS}


def iso(epoch: float) -> str:
    """A timestamp as GitHub writes it."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def repo_json(repo: FakeRepo, *, base_url: str) -> Json:
    """A repository."""
    return {
        "id": repo.id, "name": repo.name, "full_name": repo.full_name, "private": True,
        "owner": {"login": repo.owner, "id": repo.id, "type": "Organization"},
        "html_url": f"{base_url}/{repo.full_name}",
        "clone_url": f"{base_url}/{repo.full_name}.git", "default_branch": "main",
    }  # fmt: skip


def installation_json(repo: FakeRepo, app_id: str) -> Json:
    """The App's installation on a repository."""
    return {
        "id": repo.installation, "app_id": int(app_id), "target_type": "Organization",
        "account": {"login": repo.owner, "type": "Organization"},
        "permissions": {"contents": "write", "pull_requests": "write", "metadata": "read"},
        "repository_selection": "selected", "events": ["pull_request_review"],
    }  # fmt: skip


def pull_json(
    repo: FakeRepo, body: Json, *, base_url: str, api_url: str, label: str, sha: str
) -> Json:
    """A new pull request."""
    number = len(repo.pulls) + 1
    now = iso(time.time())
    info = repo_json(repo, base_url=base_url)
    return {
        "url": f"{api_url}/repos/{repo.full_name}/pulls/{number}",
        "id": repo.id * 100 + number, "node_id": f"PR_{repo.id}_{number}",
        "html_url": f"{base_url}/{repo.full_name}/pull/{number}", "number": number,
        "state": "open", "locked": False, "title": body.get("title", ""),
        "body": body.get("body", ""), "draft": bool(body.get("draft", False)),
        "user": {"login": "forgeline[bot]", "id": 2, "type": "Bot"},
        "head": {"label": label, "ref": label.split(":", 1)[1], "sha": sha, "repo": info},
        "base": {"label": f"{repo.owner}:{body['base']}", "ref": body["base"], "repo": info},
        "created_at": now, "updated_at": now, "merged": False, "mergeable": None,
    }  # fmt: skip


def rate_headers() -> dict[str, str]:
    """Rate limit headers of a request that is well within the limit."""
    reset = str(int(time.time()) + 3600)
    return {
        "X-RateLimit-Limit": "5000",
        "X-RateLimit-Remaining": "4999",
        "X-RateLimit-Reset": reset,
    }


def public(data: Json) -> Json:
    """Drop the fake's own bookkeeping keys (`_pull`) from what it sends."""
    if isinstance(data, list):
        return [public(item) for item in data]
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if not k.startswith("_")}
    return data
