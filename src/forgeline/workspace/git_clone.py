"""Cloning a repository with its git directory apart from its work tree.

The clone's git directory is `repo.git_dir` (in a workspace, outside every directory a
sandboxed command may write); the work tree gets a `.git` file pointing there, relative,
for the user's and the agents' own (read-only) git. Nothing is copied from templates, the
config is checked to hold nothing that runs a program, and Forgeline's ignore patterns
(environments, caches) go to `info/exclude` so a checkpoint never commits them.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from forgeline.workspace.git_errors import GitError, clone_error_message
from forgeline.workspace.git_run import NETWORK_TIMEOUT_S, run
from forgeline.workspace.refs import check_branch_name
from forgeline.workspace.repo import GitRepo
from forgeline.workspace.urls import redact_url

FORGELINE_EXCLUDES = (
    ".venv/",
    "venv/",
    "node_modules/",
    "__pycache__/",
    "*.pyc",
    ".pytest_cache/",
    ".mypy_cache/",
    ".ruff_cache/",
    ".tox/",
    ".nox/",
    "*.egg-info/",
)
"""Untracked files no checkpoint commits (tracked files are never affected)."""

# Config keys that name a program git (or a remote) would run, or pull in other config.
_RUNS_A_PROGRAM = re.compile(
    r"^(filter\..*|diff\..*\.(textconv|command)|diff\.external|merge\..*\.driver"
    r"|core\.(fsmonitor|hookspath|sshcommand|pager|editor|askpass|gitproxy"
    r"|alternaterefscommand)|include\..*|includeif\..*|alias\..*|gpg\..*"
    r"|sequence\.editor|credential\..*|remote\..*\.(uploadpack|receivepack|vcs)"
    r"|uploadpack\..*|pager\..*|submodule\..*\.update)$",
    re.IGNORECASE,
)


async def clone(
    url: str, repo: GitRepo, *, branch: str | None = None, timeout_s: float = NETWORK_TIMEOUT_S
) -> None:
    """Clone a repository: files into `repo.work_tree`, git data into `repo.git_dir`.

    Args:
        url: A URL or path already checked by `validate_repo_url`.
        repo: Where to put it; neither directory may exist.
        branch: Check out this branch (or tag) instead of the remote's default.
        timeout_s: Wall-clock limit for the whole clone.

    Raises:
        GitError: With one of "repository not found or not readable: URL",
            "branch 'x' not found in URL", "authentication failed for URL", or git's words.
    """
    if branch is not None:
        check_branch_name(branch)
    work_tree, git_dir = prepare_new_dir(repo.work_tree), prepare_new_dir(repo.git_dir)
    args = ["clone", "--no-hardlinks", "--origin", "origin", "--template="]
    args += [f"--separate-git-dir={git_dir}"]
    if branch is not None:
        args += ["--branch", branch]
    args += ["--", url, work_tree]
    try:
        result = await run(*args, cwd=repo.git_dir.parent, check=False, timeout_s=timeout_s)
        if result.ok:
            await _finish(repo)
    except BaseException:  # failure, timeout or cancellation: leave nothing behind
        _remove_clone(repo)
        raise
    if not result.ok:
        _remove_clone(repo)
        raise GitError(
            clone_error_message(url, branch, result.stderr, result.code),
            command=tuple(redact_url(arg) for arg in args),
            stderr=result.stderr,
            code=result.code,
        )


async def _finish(repo: GitRepo) -> None:
    write_gitfile(repo)
    write_excludes(repo.git_dir)
    await check_config(repo)


def write_gitfile(repo: GitRepo) -> None:
    """Point the work tree's `.git` file at the git directory, by a relative path.

    Host git never reads it (it names the git directory itself); it serves the user's
    `git` in the work tree, and the agents' (read-only) git inside the sandbox.
    """
    target = os.path.relpath(repo.git_dir.absolute(), repo.work_tree.absolute())
    (repo.work_tree / ".git").write_text(f"gitdir: {target}\n", encoding="utf-8")


def write_excludes(git_dir: Path) -> None:
    """Add `FORGELINE_EXCLUDES` to `<git_dir>/info/exclude` (once)."""
    path = git_dir / "info" / "exclude"
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    missing = [p for p in FORGELINE_EXCLUDES if p not in existing.splitlines()]
    if missing:
        header = "# Forgeline: environments and caches are never committed\n"
        text = existing + ("" if not existing or existing.endswith("\n") else "\n")
        path.write_text(text + header + "\n".join(missing) + "\n", encoding="utf-8")


async def check_config(repo: GitRepo) -> None:
    """Refuse a repository config that could make git run a program.

    Raises:
        GitError: The config sets such a key (named in the message).
    """
    config = str(repo.git_dir / "config")
    listed = await run("config", "--file", config, "--null", "--list", "--name-only", repo=repo)
    bad = sorted({k for k in listed.stdout.split("\x00") if k and _RUNS_A_PROGRAM.match(k)})
    if bad:
        raise GitError(f"refusing repository config that runs programs: {', '.join(bad)}")


def prepare_new_dir(path: Path) -> str:
    """Check `path` does not exist, create its parent, return it absolute."""
    if path.exists() or path.is_symlink():
        raise GitError(f"destination already exists: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path.absolute())


def remove_path(path: Path) -> None:
    """Remove a file, symlink or directory tree (symlinks are never followed)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _remove_clone(repo: GitRepo) -> None:
    remove_path(repo.work_tree)
    remove_path(repo.git_dir)
