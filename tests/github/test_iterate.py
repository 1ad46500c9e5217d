"""`forgeline iterate`: a review comment on the pull request becomes another round on the same
branch; the same pull request is refreshed, the branch gets a new commit, the thread a reply."""

from __future__ import annotations

import json
from pathlib import Path

from e2e.helpers import cli_env, forgeline, git, make_repo, summary, write_script
from forgeline.testing.fake_github import FakeGitHub

from .scripts import api_rounds_script
from .test_pull_requests import assert_no_token_on_disk


def test_iterate_from_a_review_comment(
    fake_github: FakeGitHub, app_env: dict[str, str], tmp_path: Path
) -> None:
    seed = make_repo(tmp_path / "seed", {"README.md": "# api\n"})
    url = fake_github.add_repo("acme", "api", seed)
    script = write_script(tmp_path / "script.yaml", api_rounds_script())
    env = cli_env(tmp_path / "home", **app_env)
    first = forgeline(
        "run", "Describe the api", "--repo", url, "--model", f"scripted:{script}",
        "--phases", "implementation", "--json", env=env,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-4000:]
    project = summary(first)["project_id"]
    branch = summary(first)["repositories"][0]["branch"]
    comment = fake_github.add_review_comment(
        "acme/api", 1, path="README.md", line=3, body="Say which port it listens on."
    )
    proc = forgeline("iterate", project, "--json", env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = summary(proc)
    repo = fake_github.repos["acme/api"]
    assert len(repo.pulls) == 1 and result["repositories"][0]["pull_request"]["number"] == 1
    bare = fake_github.root / "acme" / "api.git"
    head = git(bare, "rev-parse", branch).strip()
    assert "port 8080" in git(bare, "show", f"{branch}:README.md")  # the new round was pushed
    assert git(bare, "log", "--format=%s", "-1", branch).strip() == "Name the port"
    replies = [c for c in repo.comments if c.get("in_reply_to_id") == comment["id"]]
    assert len(replies) == 1 and head[:12] in replies[0]["body"]
    assert "Name the port" in replies[0]["body"]
    body = repo.pulls[0]["body"]
    assert "Review comments addressed" in body and "Say which port it listens on." in body
    assert result["gate"]["passed"] is True
    again = forgeline("iterate", project, "--json", env=env)  # the thread is answered now
    assert again.returncode == 1
    assert "no unresolved review comments" in json.loads(again.stdout)["error"]
    assert_no_token_on_disk(fake_github, tmp_path / "home")
