"""Repository URL validation and clone directory names."""

from __future__ import annotations

from pathlib import Path

import pytest

from forgeline.domain.errors import UserError
from forgeline.workspace.urls import redact_url, repo_name, validate_repo_url

from .conftest import MakeRepo


def test_local_path_becomes_absolute(make_repo: MakeRepo, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo("proj")
    monkeypatch.chdir(repo.parent)
    assert validate_repo_url("proj") == str(repo.resolve())
    assert validate_repo_url(f"  {repo}/  ") == str(repo.resolve())


def test_bare_local_repository_is_accepted(bare_origin: Path) -> None:
    assert validate_repo_url(str(bare_origin)) == str(bare_origin.resolve())


def test_file_url_is_checked_and_kept(make_repo: MakeRepo) -> None:
    repo = make_repo("proj")
    assert validate_repo_url(f"file://{repo}") == f"file://{repo}"
    with pytest.raises(UserError, match="no such repository"):
        validate_repo_url(f"file://{repo}-missing")


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/org/repo.git",
        "http://127.0.0.1:8080/repo",
        "ssh://git@example.com:2222/org/repo.git",
        "git@github.com:org/repo.git",
        "example.com:org/repo",
        "https://user:token@example.com/org/repo.git",
    ],
)
def test_remote_urls_are_accepted_unchanged(url: str) -> None:
    assert validate_repo_url(url) == url


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("-uhttps://evil", "must not start with '-'"),
        ("--upload-pack=touch /tmp/x", "whitespace"),
        ("--upload-pack=/bin/sh", "must not start with '-'"),
        ("ext::sh -c touch% /tmp/pwned", "whitespace"),
        ("ext::sh", "'ext::' transport"),
        ("fd::3", "'fd::' transport"),
        ("fd::17,18", "'fd::' transport"),
        ("git-remote-x::foo", "transport"),
        ("ftp://example.com/repo.git", "unsupported URL scheme 'ftp'"),
        ("git://example.com/repo.git", "unsupported URL scheme 'git'"),
        ("https://exa mple.com/r", "whitespace"),
        ("https://example.com/r\x00", "control"),
        ("https://example.com/r\nx", "control"),
        ("https://example.com/r\x1b[0m", "control"),
        ("https:///repo.git", "no valid host"),
        ("https://example.com", "no repository path"),
        ("ssh://-oProxyCommand=touch/x", "no valid host"),
        ("-oProxyCommand=x:repo", "must not start with '-'"),
        ("host:-repo", "no valid repository path"),
        ("evil host:repo", "whitespace"),
    ],
)
def test_dangerous_or_malformed_urls_are_rejected(url: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        validate_repo_url(url)


def test_missing_and_non_git_local_paths(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"no such repository: .*nowhere"):
        validate_repo_url(str(tmp_path / "nowhere"))
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(UserError, match="not a git repository"):
        validate_repo_url(str(plain))
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(UserError, match="not a git repository"):
        validate_repo_url(str(a_file))


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("https://github.com/org/repo.git", "repo"),
        ("https://github.com/org/repo/", "repo"),
        ("git@github.com:org/my.repo.git", "my.repo"),
        ("ssh://git@host/org/Project_X.git", "Project_X"),
        ("/home/me/work/app", "app"),
        ("/home/me/work/app/.git", "app"),
        ("file:///srv/git/lib%20core.git", "lib-core"),
        ("https://host/org/we!rd$name", "we-rd-name"),
        ("https://host/org/.hidden.git", "hidden"),
        ("host:..", "repo"),
    ],
)
def test_repo_name(url: str, name: str) -> None:
    assert repo_name(url) == name


def test_redact_url_hides_credentials() -> None:
    assert redact_url("https://user:tok@host/x") == "https://***@host/x"
    assert redact_url("https://ghp_secret@host/x") == "https://***@host/x"
    assert redact_url("ssh://git:pw@host/x") == "ssh://git:***@host/x"
    assert redact_url("ssh://git@host/x") == "ssh://git@host/x"
    assert redact_url("fatal: unable to access 'https://a:b@h/r/'") == (
        "fatal: unable to access 'https://***@h/r/'"
    )


def test_overlong_local_path_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="no such repository"):
        validate_repo_url("0" * 4000)
