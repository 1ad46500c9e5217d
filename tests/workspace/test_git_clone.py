"""git.clone and the clear errors it raises, against real repositories and servers."""

from __future__ import annotations

import asyncio
import pickle
import subprocess
import time
from pathlib import Path

import pytest

from forgeline.domain.errors import UserError
from forgeline.workspace import git
from forgeline.workspace.git import GitError
from forgeline.workspace.git_clone import check_config
from forgeline.workspace.git_errors import clone_error_message
from forgeline.workspace.repo import GitRepo

from .conftest import MakeRepo
from .servers import http_status_server, silent_server


def C(path: Path) -> GitRepo:
    """A clone's place: the work tree at `path`, its git directory apart from it."""
    return GitRepo(work_tree=path, git_dir=path.parent / "gitdirs" / path.name)


async def test_clone_local_path_and_file_url(make_repo: MakeRepo, tmp_path: Path) -> None:
    source = make_repo("proj", files={"a.txt": "A\n"})
    for index, url in enumerate((str(source), f"file://{source}")):
        dest = tmp_path / f"clone{index}"
        await git.clone(url, C(dest))
        assert (dest / "a.txt").read_text() == "A\n"
        assert await git.current_branch(C(dest)) == "main"
        assert await git.remote_url(C(dest)) == url
        assert await git.head_sha(C(dest)) == await git.head_sha(GitRepo.standard(source))


async def test_clone_base_branch(make_repo: MakeRepo, tmp_path: Path) -> None:
    source = make_repo("proj", branches={"dev": {"dev.txt": "dev\n"}})
    dest = tmp_path / "clone"
    await git.clone(str(source), C(dest), branch="dev")
    assert await git.current_branch(C(dest)) == "dev"
    assert (dest / "dev.txt").read_text() == "dev\n"


async def test_clone_missing_branch_is_a_clear_error(make_repo: MakeRepo, tmp_path: Path) -> None:
    source = make_repo("proj")
    dest = tmp_path / "clone"
    with pytest.raises(GitError) as info:
        await git.clone(str(source), C(dest), branch="nope")
    assert str(info.value) == f"branch 'nope' not found in {source}"
    assert not dest.exists()


async def test_clone_missing_repository(tmp_path: Path) -> None:
    dest = tmp_path / "clone"
    url = f"file://{tmp_path}/missing.git"
    with pytest.raises(GitError) as info:
        await git.clone(url, C(dest))
    assert str(info.value) == f"repository not found or not readable: {url}"
    assert "\n" not in str(info.value)
    assert not dest.exists()


async def test_clone_http_authentication_failure(tmp_path: Path) -> None:
    with http_status_server(401) as base:
        url = f"{base}/org/private.git"
        with pytest.raises(GitError) as info:
            await git.clone(url, C(tmp_path / "clone"))
    assert str(info.value) == f"authentication failed for {url}"
    assert not (tmp_path / "clone").exists()


async def test_clone_http_not_found(tmp_path: Path) -> None:
    with http_status_server(404) as base:
        url = f"{base}/org/missing.git"
        with pytest.raises(GitError) as info:
            await git.clone(url, C(tmp_path / "clone"))
    assert str(info.value) == f"repository not found or not readable: {url}"


async def test_clone_credentials_never_appear_in_errors(tmp_path: Path) -> None:
    with http_status_server(401) as base:
        url = base.replace("http://", "http://alice:s3cret@") + "/org/private.git"
        with pytest.raises(GitError) as info:
            await git.clone(url, C(tmp_path / "clone"))
    assert "s3cret" not in str(info.value)
    assert "s3cret" not in info.value.stderr
    assert "authentication failed for http://***@127.0.0.1" in str(info.value)


async def test_clone_timeout_kills_git(tmp_path: Path) -> None:
    started = time.monotonic()
    with silent_server() as base, pytest.raises(GitError, match=r"timed out after 0\.5s"):
        await git.clone(f"{base}/repo.git", C(tmp_path / "clone"), timeout_s=0.5)
    assert time.monotonic() - started < 10
    assert not (tmp_path / "clone").exists()


async def test_clone_refuses_existing_destination(make_repo: MakeRepo, tmp_path: Path) -> None:
    source = make_repo("proj")
    dest = tmp_path / "taken"
    dest.mkdir()
    with pytest.raises(GitError, match="already exists"):
        await git.clone(str(source), C(dest))
    assert dest.is_dir()


async def test_ext_transport_is_blocked_even_without_validation(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(GitError):
        await git.clone(f"ext::sh -c touch% {marker}", C(tmp_path / "clone"))
    assert not marker.exists()


async def test_option_like_branch_is_refused(make_repo: MakeRepo, tmp_path: Path) -> None:
    source = make_repo("proj")
    with pytest.raises(UserError, match="invalid branch name"):
        await git.clone(str(source), C(tmp_path / "clone"), branch="--upload-pack=touch x")
    assert not (tmp_path / "clone").exists()


async def test_cancelled_clone_kills_git_and_cleans_up(tmp_path: Path) -> None:
    dest = tmp_path / "clone"
    with silent_server() as base:
        task = asyncio.create_task(git.clone(f"{base}/repo.git", C(dest), timeout_s=30))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
    assert not dest.exists()
    leftovers = subprocess.run(
        ["pgrep", "-f", f"git.*{dest}"], capture_output=True, text=True, check=False
    )
    assert leftovers.stdout.strip() == ""


def test_git_error_survives_pickling() -> None:
    error = GitError("branch 'x' not found in /r", command=("clone",), stderr="fatal: x", code=128)
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, GitError)
    assert (str(copy), copy.command, copy.stderr, copy.code) == (
        "branch 'x' not found in /r",
        ("clone",),
        "fatal: x",
        128,
    )


def test_unreachable_host_messages_name_the_cause() -> None:
    ssh_stderr = (
        "Cloning into 'r'...\n"
        "ssh: Could not resolve hostname nowhere.invalid: Name or service not known\n"
        "fatal: Could not read from remote repository.\n"
    )
    assert clone_error_message("git@nowhere.invalid:o/r.git", None, ssh_stderr, 128) == (
        "could not reach git@nowhere.invalid:o/r.git: "
        "Could not resolve hostname nowhere.invalid: Name or service not known"
    )
    denied = (
        "git@h: Permission denied (publickey).\nfatal: Could not read from remote repository.\n"
    )
    assert clone_error_message("git@h:o/r.git", None, denied, 128) == (
        "authentication failed for git@h:o/r.git"
    )
    missing = "ERROR: Repository not found.\nfatal: Could not read from remote repository.\n"
    assert clone_error_message("git@h:o/r.git", None, missing, 128) == (
        "repository not found or not readable: git@h:o/r.git"
    )


async def test_clone_connection_refused(tmp_path: Path) -> None:
    with silent_server() as base:
        url = f"{base}/r.git"
    with pytest.raises(GitError, match=r"^could not reach http://127\.0\.0\.1:\d+/r\.git: "):
        await git.clone(url, C(tmp_path / "clone"))


async def test_clone_keeps_git_data_apart_and_its_config_runs_nothing(
    make_repo: MakeRepo, tmp_path: Path
) -> None:
    source = make_repo("proj")
    repo = C(tmp_path / "clone")
    await git.clone(str(source), repo)
    assert (repo.work_tree / ".git").read_text() == "gitdir: ../gitdirs/clone\n"
    assert not (repo.git_dir / "hooks").exists()  # no templates copied
    with (repo.git_dir / "config").open("a") as config:
        config.write('[filter "x"]\n\tclean = touch /tmp/never\n[alias]\n\tst = !touch x\n')
    with pytest.raises(GitError, match=r"runs programs: alias\.st, filter\.x\.clean"):
        await check_config(repo)
