"""Each repository's `info/exclude`, as ignore rules ripgrep applies from the workspace root.

git ignores what `<git dir>/info/exclude` lists (Forgeline puts environments and caches
there), but ripgrep does not find that file when the work tree's `.git` is a file that
points to a git directory elsewhere, as Forgeline's clones and worktrees have. So `Grep`
and `Glob` read it themselves, for each repository at the top of the workspace, and give
ripgrep its patterns anchored to that repository (`--ignore-file`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

MAX_EXCLUDE_BYTES: Final = 64 * 1024


def excluded_patterns(root: Path) -> list[str]:
    """The `info/exclude` patterns of every repository directly under `root` (or `root`
    itself), rewritten to be anchored at `root`."""
    patterns: list[str] = []
    for directory in [root, *_children(root)]:
        exclude = _exclude_file(directory)
        if exclude is not None:
            prefix = directory.relative_to(root).as_posix()
            patterns += [_anchored(line, prefix) for line in _pattern_lines(exclude)]
    return patterns


@contextmanager
def ignore_file_args(root: Path) -> Iterator[list[str]]:
    """`--ignore-file` arguments for `excluded_patterns(root)`, valid inside the block."""
    patterns = excluded_patterns(root)
    if not patterns:
        yield []
        return
    fd, name = tempfile.mkstemp(prefix="forgeline-exclude-", suffix=".gitignore")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(patterns) + "\n")
        yield [f"--ignore-file={name}"]
    finally:
        os.unlink(name)


def _children(root: Path) -> list[Path]:
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return []


def _exclude_file(directory: Path) -> Path | None:
    """`info/exclude` of the repository whose work tree is `directory`, if it has one."""
    dot_git = directory / ".git"
    if dot_git.is_symlink():
        return None
    git_dir = dot_git if dot_git.is_dir() else _pointed_git_dir(dot_git)
    if git_dir is None:
        return None
    common = _read_small(git_dir / "commondir")
    base = git_dir / common.strip() if common and common.strip() else git_dir
    path = base / "info" / "exclude"
    return path if path.is_file() else None


def _pointed_git_dir(dot_git: Path) -> Path | None:
    """The git directory a `.git` file names (`gitdir: PATH`, relative to its directory)."""
    if not dot_git.is_file():
        return None
    text = _read_small(dot_git) or ""
    first = text.splitlines()[0] if text else ""
    if not first.startswith("gitdir:"):
        return None
    return dot_git.parent / first.removeprefix("gitdir:").strip()


def _read_small(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_EXCLUDE_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None


def _pattern_lines(path: Path) -> list[str]:
    text = _read_small(path) or ""
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _anchored(line: str, prefix: str) -> str:
    """A gitignore pattern of the repository at `prefix`, anchored at the workspace root."""
    negate = "!" if line.startswith("!") else ""
    pattern = line.removeprefix("!").rstrip()
    base = f"/{prefix}/" if prefix != "." else "/"
    if "/" in pattern.rstrip("/"):
        return f"{negate}{base}{pattern.lstrip('/')}"
    return f"{negate}{base}**/{pattern}"
