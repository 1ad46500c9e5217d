"""Git operations Forgeline needs, on top of `git_run.run` (the git CLI, never a shell).

All take the repository directory first; revisions and branch names are checked before
they reach git's command line, and failures raise `GitError` with one clear line.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from forgeline.workspace.git_errors import (
    GitError,
    clone_error_message,
    failure_detail,
    push_error_message,
)
from forgeline.workspace.git_run import (
    DEFAULT_TIMEOUT_S,
    NETWORK_TIMEOUT_S,
    GitResult,
    git_env,
    run,
)
from forgeline.workspace.refs import check_branch_name, check_revision
from forgeline.workspace.urls import redact_url

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "NETWORK_TIMEOUT_S",
    "Commit",
    "GitError",
    "GitResult",
    "changed_files",
    "clone",
    "commit_all",
    "create_branch",
    "current_branch",
    "diff",
    "git_env",
    "has_changes",
    "head_sha",
    "log",
    "merge_base",
    "push",
    "ref_exists",
    "remote_url",
    "run",
    "worktree_add",
    "worktree_remove",
]


@dataclass(frozen=True)
class Commit:
    """One commit as shown by `log`."""

    sha: str
    author_name: str
    author_email: str
    date: str
    subject: str


async def clone(
    url: str, dest: Path, *, branch: str | None = None, timeout_s: float = NETWORK_TIMEOUT_S
) -> None:
    """Clone a repository into a new directory.

    Args:
        url: A URL or path already checked by `validate_repo_url`.
        dest: The directory to create; it must not exist.
        branch: Check out this branch (or tag) instead of the remote's default.
        timeout_s: Wall-clock limit for the whole clone.

    Raises:
        GitError: With one of "repository not found or not readable: URL",
            "branch 'x' not found in URL", "authentication failed for URL", or git's words.
    """
    if branch is not None:
        check_branch_name(branch)
    args = ["clone", "--no-hardlinks", "--origin", "origin"]
    if branch is not None:
        args += ["--branch", branch]
    args += ["--", url, _prepare_new_dir(dest)]
    try:
        result = await run(*args, cwd=dest.parent, check=False, timeout_s=timeout_s)
    except BaseException:  # failure, timeout or cancellation: leave nothing behind
        _remove_tree(dest)
        raise
    if not result.ok:
        _remove_tree(dest)
        raise GitError(
            clone_error_message(url, branch, result.stderr, result.code),
            command=tuple(redact_url(arg) for arg in args),
            stderr=result.stderr,
            code=result.code,
        )


async def current_branch(repo: Path) -> str | None:
    """The checked-out branch, or None when HEAD is detached."""
    result = await run("symbolic-ref", "--quiet", "--short", "HEAD", cwd=repo, check=False)
    if not result.ok:
        return None
    return result.stdout.strip() or None


async def head_sha(repo: Path, ref: str = "HEAD") -> str:
    """The full sha of the commit a revision names.

    Raises:
        GitError: The revision does not name a commit (e.g. a repository with no commits).
    """
    check_revision(ref)
    result = await run(
        "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=repo, check=False
    )
    if not result.ok:
        raise GitError(f"unknown revision '{ref}' in {repo}", stderr=result.stderr)
    return result.stdout.strip()


async def ref_exists(repo: Path, ref: str) -> bool:
    """Whether a full ref (e.g. `refs/heads/main`, `refs/remotes/origin/x`) exists."""
    check_revision(ref)
    result = await run("show-ref", "--verify", "--quiet", ref, cwd=repo, check=False)
    return result.ok


async def create_branch(
    repo: Path, name: str, *, from_ref: str = "HEAD", checkout: bool = True
) -> None:
    """Create a branch at a revision, and by default check it out."""
    check_branch_name(name)
    check_revision(from_ref)
    if checkout:
        await run("switch", "--quiet", "--no-track", "-c", name, from_ref, cwd=repo)
    else:
        await run("branch", "--no-track", name, from_ref, cwd=repo)


async def has_changes(repo: Path) -> bool:
    """Whether the work tree has uncommitted changes, untracked (not ignored) files included."""
    result = await run("status", "--porcelain=v1", "-z", "--untracked-files=all", cwd=repo)
    return bool(result.stdout)


async def commit_all(
    repo: Path, message: str, *, author_name: str, author_email: str
) -> str | None:
    """Stage everything (new files included, `.gitignore` respected) and commit it.

    Hooks are not run (`--no-verify`) and the commit is never signed.

    Args:
        repo: The repository.
        message: The commit message, passed on stdin.
        author_name: Author and committer name.
        author_email: Author and committer email.

    Returns:
        The new commit's sha, or None when there was nothing to commit.
    """
    if not message.strip():
        raise GitError("commit message is empty")
    await run("add", "--all", cwd=repo)
    staged = await run("diff", "--cached", "--quiet", cwd=repo, check=False)
    if staged.ok:
        return None
    await run(
        "-c",
        f"user.name={author_name}",
        "-c",
        f"user.email={author_email}",
        "commit",
        "--quiet",
        "--no-verify",
        "--no-gpg-sign",
        "--file=-",
        cwd=repo,
        stdin=message,
    )
    return await head_sha(repo)


async def diff(repo: Path, base_ref: str, *, head: str | None = "HEAD", stat: bool = False) -> str:
    """The diff from `base_ref` to `head` (to the work tree when `head` is None).

    Args:
        repo: The repository.
        base_ref: The base revision (e.g. the base sha from the metadata).
        head: The revision to compare to; None compares the work tree (tracked files).
        stat: Return the `--stat` summary instead of the patch.
    """
    args = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "-M"]
    if stat:
        args.append("--stat")
    args += _revisions(base_ref, head)
    result = await run(*args, cwd=repo)
    return result.stdout


async def changed_files(repo: Path, base: str, *, head: str | None = "HEAD") -> list[str]:
    """Paths changed between `base` and `head`, sorted.

    With `head=None` the work tree is compared, and untracked (not ignored) files count.
    """
    args = ["diff", "--name-only", "-z", "--no-ext-diff", *_revisions(base, head)]
    names = set(_split_nul((await run(*args, cwd=repo)).stdout))
    if head is None:
        untracked = await run("ls-files", "--others", "--exclude-standard", "-z", cwd=repo)
        names.update(_split_nul(untracked.stdout))
    return sorted(names)


async def log(
    repo: Path, n: int = 20, *, ref: str = "HEAD", since: str | None = None
) -> list[Commit]:
    """The last `n` commits reachable from `ref` (and not from `since`), newest first.

    Returns:
        The commits; an empty list for a repository without commits.
    """
    check_revision(ref)
    spec = f"{check_revision(since)}..{ref}" if since else ref
    fields = "%H%x00%an%x00%ae%x00%aI%x00%s"
    result = await run(
        "log", "-z", f"--max-count={max(n, 0)}", f"--format={fields}", spec, "--",
        cwd=repo, check=False,
    )  # fmt: skip
    if not result.ok:
        if ref == "HEAD" and not await _has_commits(repo):
            return []
        raise GitError(f"git log failed: {failure_detail(result.stderr, result.code)}")
    values = result.stdout.split("\x00")
    return [
        Commit(*(value.strip("\n") for value in values[i : i + 5]))
        for i in range(0, len(values) - 4, 5)
    ]


async def _has_commits(repo: Path) -> bool:
    result = await run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", cwd=repo, check=False)
    return result.ok


async def remote_url(repo: Path, name: str = "origin") -> str | None:
    """The URL of a remote, or None when the repository has no such remote."""
    check_revision(name)
    result = await run("remote", "get-url", name, cwd=repo, check=False)
    if not result.ok:
        return None
    return result.stdout.strip() or None


async def push(
    repo: Path, *, branch: str, remote: str = "origin", timeout_s: float = NETWORK_TIMEOUT_S
) -> str:
    """Push a local branch to the same name on a remote.

    Returns:
        A one-line description of what was pushed where.

    Raises:
        GitError: No such remote, or the push failed (checked-out branch on a non-bare
            remote, rejected non-fast-forward, authentication, unreachable...).
    """
    check_branch_name(branch)
    url = await remote_url(repo, remote)
    if url is None:
        raise GitError(f"no remote named '{remote}' in {repo}")
    refspec = f"refs/heads/{branch}:refs/heads/{branch}"
    args = ("push", "--no-verify", "--porcelain", remote, refspec)
    result = await run(*args, cwd=repo, check=False, timeout_s=timeout_s)
    if not result.ok:
        raise GitError(
            push_error_message(url, branch, result.stderr + result.stdout, result.code),
            command=args,
            stderr=result.stderr,
            code=result.code,
        )
    return f"pushed {branch} to {remote} ({redact_url(url)})"


async def worktree_add(repo: Path, path: Path, commit: str) -> None:
    """Add a detached work tree of `repo` at `path`, checked out at `commit`."""
    check_revision(commit)
    target = _prepare_new_dir(path)
    await run("worktree", "add", "--detach", "--quiet", target, commit, cwd=repo)


async def worktree_remove(repo: Path, path: Path) -> None:
    """Remove a work tree added by `worktree_add` (local changes are discarded)."""
    target = _existing(path)
    if target is not None:
        result = await run(
            "worktree", "remove", "--force", "--force", target, cwd=repo, check=False
        )
        if not result.ok:
            _remove_tree(path)
    await run("worktree", "prune", cwd=repo)


async def merge_base(repo: Path, a: str, b: str) -> str:
    """The best common ancestor of two revisions.

    Raises:
        GitError: The revisions have no common ancestor, or one does not exist.
    """
    check_revision(a)
    check_revision(b)
    result = await run("merge-base", a, b, cwd=repo, check=False)
    if result.ok:
        return result.stdout.strip()
    if result.code == 1 and not result.stderr.strip():
        raise GitError(f"'{a}' and '{b}' have no common ancestor")
    raise GitError(f"git merge-base failed: {failure_detail(result.stderr, result.code)}")


def _revisions(base: str, head: str | None) -> list[str]:
    check_revision(base)
    if head is None:
        return [base, "--"]
    return [base, check_revision(head), "--"]


def _split_nul(text: str) -> list[str]:
    return [part for part in text.split("\x00") if part]


def _remove_tree(path: Path) -> None:
    if path.is_symlink():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _prepare_new_dir(path: Path) -> str:
    """Check `path` does not exist, create its parent, return it absolute."""
    if path.exists() or path.is_symlink():
        raise GitError(f"destination already exists: {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path.absolute())


def _existing(path: Path) -> str | None:
    return str(path.absolute()) if path.exists() else None
