"""Linked worktrees (one per overwatcher and repository), created and removed one at a time.

Git names a worktree's administrative directory after the new path's last component, so
concurrent `git worktree add` calls on one repository (three overwatchers, each with a
`<task>/<repo>` worktree) race for `worktrees/<repo>`, and a prune (an overwatcher
cleaning up) deletes the administrative directory of an add still under way: "could not
open '…/gitdir' for writing". Every add and prune on a git directory is serialised, within
the process by an asyncio lock keyed by that directory and across processes (several
workers on one machine) by an advisory file lock in it; a failed add is retried.

The administrative directory is found from git's own records in the main git directory
(`worktrees/*/gitdir`), never from the worktree's `.git` file, which an agent may rewrite.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from collections.abc import AsyncIterator
from pathlib import Path

from forgeline.workspace.git_clone import prepare_new_dir, remove_path
from forgeline.workspace.git_errors import GitError
from forgeline.workspace.git_run import run
from forgeline.workspace.refs import check_revision
from forgeline.workspace.repo import GitRepo

ADD_ATTEMPTS = 3
LOCK_FILENAME = "forgeline-worktrees.lock"
_POLL_S = 0.02
_locks: dict[tuple[int, Path], asyncio.Lock] = {}


def _process_lock(git_dir: Path) -> asyncio.Lock:
    key = (id(asyncio.get_running_loop()), git_dir.resolve())
    if key not in _locks:
        _locks[key] = asyncio.Lock()
    return _locks[key]


@contextlib.asynccontextmanager
async def _lock(git_dir: Path) -> AsyncIterator[None]:
    """Hold the worktree lock of `git_dir` (this process's, then the file lock)."""
    async with _process_lock(git_dir):
        fd = os.open(git_dir / LOCK_FILENAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            await _flock(fd)
            yield
        finally:
            os.close(fd)  # releases the file lock


async def _flock(fd: int) -> None:
    while True:
        if _try_flock(fd):
            return
        await asyncio.sleep(_POLL_S)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


async def worktree_add(repo: GitRepo, path: Path, commit: str) -> GitRepo:
    """Add a detached work tree of `repo` at `path`, checked out at `commit`.

    Returns:
        The new worktree, with its administrative directory as `git_dir`.

    Raises:
        GitError: `path` exists, or git failed on every attempt.
    """
    check_revision(commit)
    target = prepare_new_dir(path)
    async with _lock(repo.git_dir):
        for attempt in range(1, ADD_ATTEMPTS + 1):
            args = ("worktree", "add", "--detach", "--quiet", target, commit)
            result = await run(*args, repo=repo, check=False)
            if result.ok:
                return GitRepo(work_tree=Path(target), git_dir=_admin_dir(repo, Path(target)))
            remove_path(path)
            await run("worktree", "prune", repo=repo, check=False)
            await asyncio.sleep(0.05 * attempt)
    raise GitError(f"git worktree add failed: {result.stderr.strip()}")


async def worktree_remove(repo: GitRepo, path: Path) -> None:
    """Remove a work tree added by `worktree_add` (local changes are discarded).

    The files are deleted without running git in them. Then git's administrative
    directory for it (found from git's records, as after an add) is deleted, which is
    all `git worktree prune` would do for this worktree, without starting git while
    the lock is held; when git's records name none, `git worktree prune` runs.
    """
    remove_path(path)
    async with _lock(repo.git_dir):
        admin = _recorded_admin_dir(repo, path)
        if admin is not None:
            remove_path(admin)
            if not admin.exists():
                return
        await run("worktree", "prune", repo=repo)  # says why, if it cannot remove it either


def _admin_dir(repo: GitRepo, path: Path) -> Path:
    admin = _recorded_admin_dir(repo, path)
    if admin is None:
        raise GitError(f"git did not record the worktree {path}")
    return admin


def _recorded_admin_dir(repo: GitRepo, path: Path) -> Path | None:
    """The `worktrees/<id>` directory whose `gitdir` names `path`'s `.git` (None: none)."""
    wanted = (path / ".git").resolve()
    for gitdir_file in sorted((repo.git_dir / "worktrees").glob("*/gitdir")):
        recorded = gitdir_file.read_text(encoding="utf-8", errors="replace").strip()
        if Path(recorded).resolve() == wanted:
            return gitdir_file.parent
    return None
