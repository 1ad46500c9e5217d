"""The GitHub client on the wire against the fake: App tokens, pull requests, rate limits."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from e2e.helpers import git, make_repo
from forgeline.github.auth import TokenProvider
from forgeline.github.client import github_client
from forgeline.github.models import GitHubError, GitHubRepo
from forgeline.github.rest import retry_wait
from forgeline.settings import Settings
from forgeline.testing.fake_github import FakeGitHub

REPO = GitHubRepo(owner="acme", name="api")


def served(fake: FakeGitHub, tmp_path: Path, *, branch: str = "feature") -> None:
    seed = make_repo(tmp_path / "seed", {"README.md": "# api\n"})
    git(seed, "branch", branch)
    fake.add_repo("acme", "api", seed)


async def test_app_jwt_installation_token_and_pull_request(
    fake_github: FakeGitHub, app_settings: Settings, tmp_path: Path
) -> None:
    served(fake_github, tmp_path)
    tokens = TokenProvider(app_settings)
    async with github_client(app_settings, tokens) as gh:
        assert await gh.find_open_pull(REPO, "feature") is None
        pull = await gh.create_pull(
            REPO, title="Add x", head="feature", base="main", body="b", draft=True
        )
        again = await gh.find_open_pull(REPO, "feature")
        updated = await gh.update_pull(REPO, pull.number, body="new body")
    assert pull.number == 1 and pull.draft and again == pull
    assert updated.body == "new body"
    paths = [(r.method, r.path) for r in fake_github.requests]
    assert paths[:2] == [
        ("GET", "/repos/acme/api/installation"),
        ("POST", "/app/installations/501/access_tokens"),
    ]
    assert paths.count(("POST", "/app/installations/501/access_tokens")) == 1  # cached
    created = next(
        r for r in fake_github.requests if r.method == "POST" and r.path.endswith("pulls")
    )
    assert created.body["draft"] is True


async def test_a_forged_jwt_gets_no_token(
    fake_github: FakeGitHub, app_settings: Settings, tmp_path: Path
) -> None:
    served(fake_github, tmp_path)
    other = FakeGitHub(tmp_path / "other")  # a different key: the signature cannot verify
    forged = tmp_path / "forged.pem"
    forged.write_bytes(other.private_key_pem())
    settings = app_settings.model_copy(update={"github_private_key_file": forged})
    async with github_client(settings, TokenProvider(settings)) as gh:
        with pytest.raises(GitHubError, match="401"):
            await gh.find_open_pull(REPO, "feature")


async def test_expired_token_is_refreshed_on_401(
    fake_github: FakeGitHub, app_settings: Settings, tmp_path: Path
) -> None:
    served(fake_github, tmp_path)
    tokens = TokenProvider(app_settings)
    async with github_client(app_settings, tokens) as gh:
        await gh.find_open_pull(REPO, "feature")
        fake_github.expire_tokens()
        assert await gh.find_open_pull(REPO, "feature") is None
    issued = [r for r in fake_github.requests if r.path.endswith("/access_tokens")]
    assert len(issued) == 2


async def test_rate_limit_waits_for_retry_after_then_succeeds(
    fake_github: FakeGitHub, app_settings: Settings, tmp_path: Path
) -> None:
    served(fake_github, tmp_path)
    fake_github.fail(
        "GET", r"/pulls$", 403, {"message": "You have exceeded a secondary rate limit"},
        headers={"retry-after": "1"},
    )  # fmt: skip
    started = time.monotonic()
    async with github_client(app_settings, TokenProvider(app_settings)) as gh:
        assert await gh.find_open_pull(REPO, "feature") is None
    assert time.monotonic() - started >= 1.0


async def test_refusals_carry_githubs_reason(
    fake_github: FakeGitHub, app_settings: Settings, tmp_path: Path
) -> None:
    served(fake_github, tmp_path)
    async with github_client(app_settings, TokenProvider(app_settings)) as gh:
        await gh.create_pull(REPO, title="t", head="feature", base="main", body="", draft=False)
        with pytest.raises(GitHubError, match=r"422.*already exists"):
            await gh.create_pull(REPO, title="t", head="feature", base="main", body="", draft=False)
        fake_github.fail(
            "GET", r"/pulls$", 403, {"message": "Resource not accessible by integration"}
        )
        with pytest.raises(GitHubError, match=r"403.*not accessible"):
            await gh.find_open_pull(REPO, "feature")


async def test_no_credentials_is_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, github_token=None)
    with pytest.raises(GitHubError, match="set GITHUB_TOKEN"):
        await TokenProvider(settings).token(REPO)


def test_retry_wait_reads_both_rate_limit_headers() -> None:
    assert retry_wait(429, {"retry-after": "3"}, now=0) == 3
    assert retry_wait(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "100"}, now=90) == 11
    assert retry_wait(403, {"x-ratelimit-remaining": "10"}, now=0) is None
    assert retry_wait(422, {"retry-after": "3"}, now=0) is None
