"""Staging a checkpoint: everything the agents changed, and nothing that isn't the change.

`git add --all`, with three exceptions said out loud rather than failing the task:
- a nested repository (a directory with its own `.git`, e.g. one an agent made with
  `git init`) is never entered and never committed;
- a file git refuses to index (e.g. an invalid path such as `.GIT/x`) is left out;
- untracked environments and caches are ignored through `info/exclude` (see `git_clone`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from forgeline.workspace.git_errors import GitError, failure_detail
from forgeline.workspace.git_run import run
from forgeline.workspace.repo import GitRepo

_UNABLE = re.compile(r"^error: unable to (?:add|index file) '?(.+?)'?(?: to index)?$")


@dataclass(frozen=True)
class Staged:
    """What `stage_all` put in the index.

    Attributes:
        files: Paths staged (changed from HEAD), sorted.
        nested: Nested repositories left out (each ends with `/`).
        refused: Paths git could not index, left out.
    """

    files: tuple[str, ...]
    nested: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()

    def note(self) -> str:
        """A paragraph for the commit message naming what was left out, or ''."""
        lines = [f"- {path} (nested repository, not committed)" for path in self.nested]
        lines += [f"- {path} (git could not index it)" for path in self.refused]
        return "\n\nLeft out by Forgeline:\n" + "\n".join(lines) if lines else ""


async def stage_all(repo: GitRepo) -> Staged:
    """Stage every change of the work tree except nested repositories and unindexable files.

    Raises:
        GitError: Git failed for another reason (e.g. a locked index).
    """
    await run("update-index", "-q", "--refresh", "--ignore-submodules", repo=repo, check=False)
    nested = await nested_repositories(repo)
    excludes = [f":(exclude,literal){path.rstrip('/')}" for path in nested]
    result = await run(
        "add", "--all", "--ignore-errors", "--", ".", *excludes, repo=repo, check=False
    )
    refused = _refused(result.stderr)
    if not result.ok and (result.code != 1 or not refused):
        raise GitError(
            f"git add failed: {failure_detail(result.stderr, result.code)}",
            stderr=result.stderr,
            code=result.code,
        )
    return Staged(files=tuple(await staged_files(repo)), nested=nested, refused=refused)


async def nested_repositories(repo: GitRepo) -> tuple[str, ...]:
    """Untracked directories that hold their own repository (git lists them as `dir/`)."""
    listed = await run("ls-files", "--others", "--exclude-standard", "-z", repo=repo)
    return tuple(sorted(p for p in listed.stdout.split("\x00") if p.endswith("/")))


async def staged_files(repo: GitRepo) -> list[str]:
    """Paths whose staged content differs from HEAD (all of them before the first commit)."""
    args = ("diff", "--cached", "--name-only", "-z", "--no-renames", "--ignore-submodules=all")
    head = await run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", repo=repo, check=False)
    if not head.ok:
        listed = await run("ls-files", "-z", repo=repo)
        return sorted(p for p in listed.stdout.split("\x00") if p)
    result = await run(*args, repo=repo)
    return sorted(p for p in result.stdout.split("\x00") if p)


def _refused(stderr: str) -> tuple[str, ...]:
    found = [m.group(1) for line in stderr.splitlines() if (m := _UNABLE.match(line.strip()))]
    return tuple(dict.fromkeys(found))
