"""The credential helper and the pieces of pull request bodies and review rounds, in isolation."""

from __future__ import annotations

import os
import subprocess

import pytest

from forgeline.domain.errors import UserError
from forgeline.github.body import BodyInput, Sibling, plan_summary, pull_body, pull_title
from forgeline.github.models import GitHubRepo, ReviewComment
from forgeline.github.review import REPLY_MARKER, unresolved
from forgeline.workspace import credentials
from forgeline.workspace.credentials import CredentialRegistry, strip_credentials


def fill(options: list[str], env: dict[str, str], url: str) -> str:
    """What `git credential fill` answers for `url` with Forgeline's options."""
    proc = subprocess.run(
        ["git", *options, "credential", "fill"],
        input=f"url={url}\n\n",
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "/bin/true", **env},
        capture_output=True,
        text=True,
    )
    return proc.stdout


def test_strip_credentials_forms() -> None:
    clean, cred = strip_credentials("https://bob:p%40ss@example.com:8443/org/r.git")
    assert clean == "https://example.com:8443/org/r.git"
    assert cred is not None and (cred.username, cred.password) == ("bob", "p@ss")
    clean, cred = strip_credentials("https://ghp_abc@github.com/o/r")
    assert clean == "https://github.com/o/r" and cred is not None
    assert (cred.username, cred.password) == ("x-access-token", "ghp_abc")
    assert strip_credentials("git@github.com:o/r.git") == ("git@github.com:o/r.git", None)
    assert "secret" not in repr(cred)
    with pytest.raises(UserError):
        strip_credentials("https://u:a%0Ab@example.com/r")


async def test_helper_answers_only_for_the_remotes_origin() -> None:
    registry = credentials.registry()
    saved = dict(registry.remembered)
    try:
        clean = credentials.remember("http://robot:hunter2@127.0.0.1:9/app.git")
        options, env = await credentials.git_auth(clean)
        assert "hunter2" not in " ".join(options)  # never on git's command line
        assert "password=hunter2" in fill(options, env, "http://127.0.0.1:9/app.git")
        assert "hunter2" not in fill(options, env, "http://127.0.0.2:9/app.git")
        assert "hunter2" not in fill(options, env, "https://127.0.0.1:9/app.git")
    finally:
        registry.remembered = saved


async def test_no_credential_still_resets_inherited_helpers() -> None:
    options, env = await CredentialRegistry().credential_for("http://h/r"), {}
    assert options is None and env == {}
    reset, extra = await credentials.git_auth("http://nobody.invalid/r.git")
    assert reset == ["-c", "credential.helper="] and extra == {}


def test_network_target() -> None:
    target = credentials.network_target
    assert target(("clone", "--origin", "origin", "--", "http://h/r", "/tmp/x")) == "http://h/r"
    assert target(("push", "--no-verify", "--porcelain", "origin", "a:b")) == "origin"
    assert target(("fetch",)) == "origin"
    assert target(("status", "--porcelain")) is None


def test_plan_summary_and_body() -> None:
    plan = "# Plan\n\nDo the thing.\n\n## Steps\n\n1. a\n\n## Risks\n\nnone\n"
    assert plan_summary(plan) == "Do the thing.\n\n## Steps\n\n1. a"
    assert plan_summary("") == "(no plan: planning was skipped)"
    assert pull_title("\n  Add x\nmore") == "Add x" and len(pull_title("y" * 500)) == 120
    gate = {"passed": True, "rounds": 2, "verdicts": {"test": "approve"}, "test_commands": []}
    body = pull_body(
        BodyInput(project_id="p1", plan="P", gate=gate, siblings=[Sibling("o/w", 3, "u://3")])
    )
    assert "passed after 2 round(s)" in body and "Tests not run" in body and "o/w#3: u://3" in body


def test_unresolved_skips_answered_threads_and_replies() -> None:
    def comment(cid: int, body: str, reply_to: int | None = None) -> ReviewComment:
        return ReviewComment(cid, "a.py", 3, body, "octo", reply_to, "")

    comments = [
        comment(1, "fix this"),
        comment(2, f"{REPLY_MARKER}\nAddressed", reply_to=1),
        comment(3, "and this"),
        comment(4, "agreed", reply_to=3),
    ]
    threads = unresolved(comments, repo="api", github=GitHubRepo("o", "api"), number=1)
    assert [t.comment_id for t in threads] == [3]
    assert threads[0].replies == ("octo: agreed",)


def test_the_terminal_summary_shows_the_pull_request_or_why_not() -> None:
    from rich.console import Console

    from forgeline.github.summary import print_pull_request

    console = Console(record=True, width=200)
    url = "https://github.com/o/r/pull/7"
    print_pull_request(console, {"pull_request": {"url": url, "number": 7, "draft": True}})
    failed = {"status": "failed", "detail": "GitHub answered 422: Validation Failed"}
    print_pull_request(console, {"pull_request": failed})
    print_pull_request(console, {"pull_request": None})
    text = console.export_text()
    assert f"draft pull request #7: {url}" in text
    assert "pull request failed: GitHub answered 422: Validation Failed" in text


def test_which_urls_are_on_github() -> None:
    from forgeline.github.repos import github_repo

    base = "https://github.com"
    expected = GitHubRepo("acme", "api")
    for url in (
        "https://github.com/acme/api.git",
        "https://github.com/acme/api/",
        "git@github.com:acme/api.git",
        "ssh://git@github.com/acme/api",
    ):
        assert github_repo(url, github_url=base) == expected, url
    for url in (
        "https://github.com/acme",
        "https://github.com/acme/api/tree/main",
        "https://gitlab.com/acme/api.git",
        "git@gitlab.com:acme/api.git",
        "/home/me/api",
    ):
        assert github_repo(url, github_url=base) is None, url
    assert (
        github_repo("http://127.0.0.1:9/acme/api.git", github_url="http://127.0.0.1:9") == expected
    )


def test_commits_can_be_authored_by_the_projects_github_user() -> None:
    from forgeline.github.authorship import commit_author
    from forgeline.settings import Settings
    from forgeline.store.schemas import ProjectRecord

    mine = ProjectRecord.model_construct(owner="github:alice")
    nobody = ProjectRecord.model_construct(owner=None)
    on = Settings(github_commit_as_user=True, commit_author_name="F", commit_author_email="f@x")
    assert commit_author(on, mine) == ("alice", "alice@users.noreply.github.com")
    assert commit_author(on, nobody) == ("F", "f@x")
    off = on.model_copy(update={"github_commit_as_user": False})
    assert commit_author(off, mine) == ("F", "f@x")
