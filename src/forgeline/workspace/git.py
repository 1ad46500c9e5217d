"""Git operations Forgeline needs, on top of `git_run.run` (the git CLI, never a shell).

All take the repository first, as a `GitRepo` (work tree and git directory named
explicitly: host git never discovers a repository, see `git_run`); revisions and branch
names are checked before they reach git's command line, and failures raise `GitError`
with one clear line. Submodules and nested repositories are never entered.
"""

from __future__ import annotations

from dataclasses import dataclass

from forgeline.workspace.git_clone import FORGELINE_EXCLUDES, clone
from forgeline.workspace.git_errors import GitError, failure_detail, push_error_message
from forgeline.workspace.git_run import (
    DEFAULT_TIMEOUT_S,
    NETWORK_TIMEOUT_S,
    GitResult,
    git_env,
    run,
)
from forgeline.workspace.git_stage import Staged, stage_all
from forgeline.workspace.git_worktrees import worktree_add, worktree_remove
from forgeline.workspace.refs import check_branch_name, check_revision
from forgeline.workspace.repo import GitRepo
from forgeline.workspace.urls import redact_url

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "FORGELINE_EXCLUDES",
    "NETWORK_TIMEOUT_S",
    "Commit",
    "GitError",
    "GitRepo",
    "GitResult",
    "Staged",
    "changed_files",
    "clone",
    "commit_all",
    "commit_staged",
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
    "stage_all",
    "worktree_add",
    "worktree_remove",
]


_NO_SUBMODULES = ("--ignore-submodules=all",)


@dataclass(frozen=True)
class Commit:
    """One commit as shown by `log`."""

    sha: str
    author_name: str
    author_email: str
    date: str
    subject: str


async def current_branch(repo: GitRepo) -> str | None:
    """The checked-out branch, or None when HEAD is detached."""
    result = await run("symbolic-ref", "--quiet", "--short", "HEAD", repo=repo, check=False)
    if not result.ok:
        return None
    return result.stdout.strip() or None


async def head_sha(repo: GitRepo, ref: str = "HEAD") -> str:
    """The full sha of the commit a revision names.

    Raises:
        GitError: The revision does not name a commit (e.g. a repository with no commits).
    """
    check_revision(ref)
    result = await run(
        "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", repo=repo, check=False
    )
    if not result.ok:
        raise GitError(f"unknown revision '{ref}' in {repo}", stderr=result.stderr)
    return result.stdout.strip()


async def ref_exists(repo: GitRepo, ref: str) -> bool:
    """Whether a full ref (e.g. `refs/heads/main`, `refs/remotes/origin/x`) exists."""
    check_revision(ref)
    result = await run("show-ref", "--verify", "--quiet", ref, repo=repo, check=False)
    return result.ok


async def create_branch(
    repo: GitRepo, name: str, *, from_ref: str = "HEAD", checkout: bool = True
) -> None:
    """Create a branch at a revision, and by default check it out."""
    check_branch_name(name)
    check_revision(from_ref)
    if checkout:
        await run("switch", "--quiet", "--no-track", "-c", name, from_ref, repo=repo)
    else:
        await run("branch", "--no-track", name, from_ref, repo=repo)


async def has_changes(repo: GitRepo) -> bool:
    """Whether the work tree has uncommitted changes, untracked (not ignored) files included."""
    result = await run(
        "status", "--porcelain=v1", "-z", "--untracked-files=all", *_NO_SUBMODULES, repo=repo
    )
    return bool(result.stdout)


async def commit_all(
    repo: GitRepo, message: str, *, author_name: str, author_email: str
) -> str | None:
    """Stage every change (see `stage_all`) and commit it.

    Returns:
        The new commit's sha, or None when there was nothing to commit.
    """
    if not message.strip():
        raise GitError("commit message is empty")
    staged = await stage_all(repo)
    if not staged.files:
        return None
    return await commit_staged(
        repo, message + staged.note(), author_name=author_name, author_email=author_email
    )


async def commit_staged(repo: GitRepo, message: str, *, author_name: str, author_email: str) -> str:
    """Commit what is staged. Hooks are not run (`--no-verify`), the commit is never signed.

    Args:
        repo: The repository.
        message: The commit message, passed on stdin.
        author_name: Author and committer name.
        author_email: Author and committer email.

    Returns:
        The new commit's sha.
    """
    if not message.strip():
        raise GitError("commit message is empty")
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
        repo=repo,
        stdin=message,
    )
    return await head_sha(repo)


async def diff(
    repo: GitRepo, base_ref: str, *, head: str | None = "HEAD", stat: bool = False
) -> str:
    """The diff from `base_ref` to `head` (to the work tree when `head` is None).

    Args:
        repo: The repository.
        base_ref: The base revision (e.g. the base sha from the metadata).
        head: The revision to compare to; None compares the work tree (tracked files).
        stat: Return the `--stat` summary instead of the patch.
    """
    args = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", *_NO_SUBMODULES, "-M"]
    if stat:
        args.append("--stat")
    args += _revisions(base_ref, head)
    result = await run(*args, repo=repo)
    return result.stdout


async def changed_files(repo: GitRepo, base: str, *, head: str | None = "HEAD") -> list[str]:
    """Paths changed between `base` and `head`, sorted.

    With `head=None` the work tree is compared, and untracked (not ignored) files count.
    """
    args = ["diff", "--name-only", "-z", "--no-ext-diff", *_NO_SUBMODULES, *_revisions(base, head)]
    names = set(_split_nul((await run(*args, repo=repo)).stdout))
    if head is None:
        untracked = await run("ls-files", "--others", "--exclude-standard", "-z", repo=repo)
        names.update(_split_nul(untracked.stdout))
    return sorted(names)


async def log(
    repo: GitRepo, n: int = 20, *, ref: str = "HEAD", since: str | None = None
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
        repo=repo, check=False,
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


async def _has_commits(repo: GitRepo) -> bool:
    result = await run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", repo=repo, check=False)
    return result.ok


async def remote_url(repo: GitRepo, name: str = "origin") -> str | None:
    """The URL of a remote, or None when the repository has no such remote."""
    check_revision(name)
    result = await run("remote", "get-url", name, repo=repo, check=False)
    if not result.ok:
        return None
    return result.stdout.strip() or None


async def push(
    repo: GitRepo, *, branch: str, remote: str = "origin", timeout_s: float = NETWORK_TIMEOUT_S
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
    result = await run(*args, repo=repo, check=False, timeout_s=timeout_s)
    if not result.ok:
        raise GitError(
            push_error_message(url, branch, result.stderr + result.stdout, result.code),
            command=args,
            stderr=result.stderr,
            code=result.code,
        )
    return f"pushed {branch} to {remote} ({redact_url(url)})"


async def merge_base(repo: GitRepo, a: str, b: str) -> str:
    """The best common ancestor of two revisions.

    Raises:
        GitError: The revisions have no common ancestor, or one does not exist.
    """
    check_revision(a)
    check_revision(b)
    result = await run("merge-base", a, b, repo=repo, check=False)
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
