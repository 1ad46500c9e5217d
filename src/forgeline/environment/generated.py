"""Files setup makes inside a repository (compiled extensions, version files, node_modules).

They are never committed (each is added to the repository's `info/exclude`), they are kept
with the shared environment so a later project with the same key gets them back, and an
overwatcher's checkpoint worktree gets them too: files are copied, directories shown
read-only at the same place.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from forgeline.sandbox.spec import Bind
from forgeline.workspace import git
from forgeline.workspace.repo import GitRepo

EXCLUDE_HEADER = "# forgeline: files made by the environment's setup (never committed)"


async def list_generated(repo: GitRepo) -> list[str]:
    """Untracked and ignored paths of the working tree; wholly untracked directories end in "/"."""
    result = await git.run("ls-files", "-z", "--others", "--directory", repo=repo)
    return sorted(p for p in result.stdout.split("\0") if p and safe_relative(p))


def safe_relative(path: str) -> bool:
    """A relative path with no `..`, `.git` or `.forgeline` component (never git's or ours)."""
    parts = Path(path.rstrip("/")).parts
    return (
        bool(parts)
        and not Path(path).is_absolute()
        and not {"..", ".git", ".forgeline"} & set(parts)
    )


async def copy_tree(source: Path, target: Path) -> None:
    """`cp -a --reflink=auto source/. target/` (merging into target)."""
    await asyncio.to_thread(target.mkdir, parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        "cp", "-a", "--reflink=auto", f"{source}/.", f"{target}/",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise OSError(f"copying {source} failed: {err.decode(errors='replace').strip()}")


async def snapshot(repo: Path, paths: list[str], target: Path) -> None:
    """Copy the generated `paths` of `repo` into `target`, keeping their relative places.

    Also restores a snapshot into a new clone (`repo` is then the snapshot). Symlinks are
    copied as symlinks, and only safe relative paths are copied.
    """
    for rel in filter(safe_relative, paths):
        source = repo / rel.rstrip("/")
        dest = target / rel.rstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir() and not source.is_symlink():
            await copy_tree(source, dest)
        elif source.exists() or source.is_symlink():
            await asyncio.to_thread(shutil.copy2, source, dest, follow_symlinks=False)


async def exclude(repo: GitRepo, paths: list[str]) -> None:
    """Add each generated path, anchored, to the repository's `info/exclude`."""
    if not paths:
        return
    path = repo.git_dir / "info" / "exclude"
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    known = set(existing.splitlines())
    lines = [f"/{p}" for p in paths if f"/{p}" not in known]
    if not lines:
        return
    header = [] if EXCLUDE_HEADER in known else [EXCLUDE_HEADER]
    sep = "" if not existing or existing.endswith("\n") else "\n"
    path.write_text(existing + sep + "\n".join([*header, *lines]) + "\n", encoding="utf-8")


def prepare_worktree(
    repo: Path, worktree: Path, paths: list[str], *, alias: Path | None
) -> list[Bind]:
    """Give a checkpoint worktree the files setup generated in the repository.

    Files are copied (unless the checkpoint has its own); each directory is shown
    read-only, at the worktree's path and at the alias (with the sandbox off, where
    nothing can be bound, it becomes a symlink instead). They come from the environment's
    snapshot, which no agent can change (the implementer's copies may have been).

    Args:
        repo: Where the generated files are: the environment's snapshot.
        worktree: The overwatcher's worktree of it.
        paths: The generated paths (directories end with "/").
        alias: Where the worktree is shown inside the sandbox; None with the sandbox off.

    Returns:
        The binds the overwatcher's sandbox needs.
    """
    binds: list[Bind] = []
    for rel in filter(safe_relative, paths):
        name = rel.rstrip("/")
        source, dest = repo / name, worktree / name
        if not (source.exists() or source.is_symlink()) or dest.exists() or dest.is_symlink():
            continue
        if not dest.parent.is_dir():
            continue  # the checkpoint has no such directory any more
        if source.is_dir() and not source.is_symlink():
            binds += _show_directory(source, dest, alias, name)
        else:
            shutil.copy2(source, dest, follow_symlinks=False)
    return binds


def _show_directory(source: Path, dest: Path, alias: Path | None, name: str) -> list[Bind]:
    if alias is None:
        dest.symlink_to(source, target_is_directory=True)
        return []
    dest.mkdir()
    return [Bind(source=source, target=dest), Bind(source=source, target=alias / name)]


def absolute_gitfile(work_tree: Path, target: Path) -> Path | None:
    """A `.git` file for `work_tree` shown elsewhere (the alias): its git directory by an
    absolute path, since the work tree's own `.git` file points there relatively.

    Returns:
        `target`, written; None when the work tree has no `.git` file (a `.git` directory
        works at any path).
    """
    dot = work_tree / ".git"
    if dot.is_symlink() or not dot.is_file():
        return None
    text = dot.read_text(encoding="utf-8", errors="replace").strip()
    if not text.startswith("gitdir:"):
        return None
    git_dir = (work_tree / text.removeprefix("gitdir:").strip()).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f"gitdir: {git_dir}\n", encoding="utf-8")
    return target
