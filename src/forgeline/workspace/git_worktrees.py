"""Linked worktrees (one per overwatcher and repository), created and removed one at a time.

Git names a worktree's administrative directory after the new path's last component, so
concurrent `git worktree add` calls on one repository (three overwatchers, each with a
`<task>/<repo>` worktree) race for `worktrees/<repo>` and fail with "could not open
'…/gitdir' for writing". Every add and prune on a git directory is serialised by a lock
keyed by that directory, and a failed add is retried once the lock is free again.

The administrative directory is found from git's own records in the main git directory
(`worktrees/*/gitdir`), never from the worktree's `.git` file, which an agent may rewrite.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from forgeline.workspace.git_clone import prepare_new_dir, remove_path
from forgeline.workspace.git_errors import GitError
from forgeline.workspace.git_run import run
from forgeline.workspace.refs import check_revision
from forgeline.workspace.repo import GitRepo

ADD_ATTEMPTS = 3
_locks: dict[Path, asyncio.Lock] = {}


def _lock(git_dir: Path) -> asyncio.Lock:
    key = git_dir.resolve()
    if key not in _locks:
        _locks[key] = asyncio.Lock()
    return _locks[key]


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

    The files are deleted without running git in them, then git forgets the worktree.
    """
    remove_path(path)
    async with _lock(repo.git_dir):
        await run("worktree", "prune", repo=repo)


def _admin_dir(repo: GitRepo, path: Path) -> Path:
    wanted = (path / ".git").resolve()
    for gitdir_file in sorted((repo.git_dir / "worktrees").glob("*/gitdir")):
        recorded = gitdir_file.read_text(encoding="utf-8", errors="replace").strip()
        if Path(recorded).resolve() == wanted:
            return gitdir_file.parent
    raise GitError(f"git did not record the worktree {path}")
