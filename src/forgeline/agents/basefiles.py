"""Reading a repository's files as of a commit, through Forgeline's git wrapper.

A repository is untrusted input, and its working tree is what the agents write: the
files Forgeline itself acts on (`.forgeline/agents/*.md`, `AGENTS.md`, `CLAUDE.md`) are
read from the base commit instead, so nothing an agent writes during a run changes them.
Reading git objects also means no symlink is ever followed: a symlink is a blob of mode
120000 here, and is reported as such.

A commit's tree and a blob never change (their ids are their content's hash), and every
task of a project reads the same base commit's files when it starts, so what was read is
remembered per git directory (`_Recent`): one `ls-tree` and one `cat-file` per file and
process instead of per task.
"""

from __future__ import annotations

import collections
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Generic, TypeVar

from forgeline.workspace import git
from forgeline.workspace.repo import GitRepo

K = TypeVar("K")
V = TypeVar("V")

_SHA: Final = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_REGULAR_MODES: Final = ("100644", "100755")
SYMLINK_MODE: Final = "120000"


class _Recent(Generic[K, V]):
    """The `size` most recently used values by key (an LRU memo for immutable git data)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: collections.OrderedDict[K, V] = collections.OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


@dataclass(frozen=True)
class RepositorySource:
    """A repository whose files are read as of its base commit.

    Attributes:
        name: The repository's directory name in the workspace.
        path: Its checkout.
        base_sha: The commit the feature branch was made from; None reads nothing.
        git_dir: Its git directory (a workspace's is `.forgeline/git/<name>`); by default
            `<path>/.git`. Git is always pointed at it, never left to discover one.
    """

    name: str
    path: Path
    base_sha: str | None
    git_dir: Path | None = None

    @property
    def git(self) -> GitRepo:
        """The repository for git: its checkout and its git directory, both explicit."""
        if self.git_dir is None:
            return GitRepo.standard(self.path)
        return GitRepo(work_tree=self.path, git_dir=self.git_dir)


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a commit's tree.

    Attributes:
        path: Its path in the repository.
        mode: Git's file mode (`100644`, `100755`, `120000` for a symlink, ...).
        kind: `blob`, `tree` or `commit` (a submodule).
        obj: The object's id.
        size: The blob's size in bytes (0 for other kinds).
    """

    path: str
    mode: str
    kind: str
    obj: str
    size: int

    @property
    def is_regular_file(self) -> bool:
        """Whether it is a plain (possibly executable) file, not a symlink or directory."""
        return self.kind == "blob" and self.mode in _REGULAR_MODES

    @property
    def is_symlink(self) -> bool:
        """Whether it is a symlink."""
        return self.mode == SYMLINK_MODE


MAX_REMEMBERED_BLOB = 1 << 20
"""Largest blob (bytes) kept once read; the callers' own caps are far below it."""
_TREES: _Recent[tuple[str, str, tuple[str, ...]], tuple[TreeEntry, ...]] = _Recent(256)
_BLOBS: _Recent[tuple[str, str], str] = _Recent(256)


def check_commit_id(sha: str) -> str:
    """Check that `sha` is a full commit id (a base commit is recorded as one).

    Raises:
        git.GitError: It is not 40 (or 64) lowercase hex digits.
    """
    if not _SHA.fullmatch(sha):
        raise git.GitError(f"not a full commit id: {sha!r}")
    return sha


async def tree_entries(repo: GitRepo, sha: str, paths: list[str]) -> list[TreeEntry]:
    """The entries `paths` name in commit `sha` (a directory path ending in `/` lists its
    direct children); missing paths are simply absent.

    Raises:
        git.GitError: Git failed, e.g. the commit is not in the repository.
    """
    key = (str(repo.git_dir), check_commit_id(sha), tuple(paths))
    known = _TREES.get(key)
    if known is None:
        result = await git.run("ls-tree", "-z", "-l", "--full-name", sha, "--", *paths, repo=repo)
        known = tuple(_entry(item) for item in result.stdout.split("\0") if item)
        _TREES.put(key, known)
    return list(known)


def _entry(item: str) -> TreeEntry:
    meta, _, path = item.partition("\t")
    mode, kind, obj, size = meta.split()
    return TreeEntry(
        path=path, mode=mode, kind=kind, obj=obj, size=int(size) if size.isdigit() else 0
    )


async def blob_text(repo: GitRepo, entry: TreeEntry) -> str:
    """A blob's content as text (invalid UTF-8 replaced).

    Raises:
        git.GitError: Git could not read it.
    """
    key = (str(repo.git_dir), entry.obj)
    known = _BLOBS.get(key)
    if known is None:
        known = (await git.run("cat-file", "blob", entry.obj, repo=repo)).stdout
        if entry.size <= MAX_REMEMBERED_BLOB:
            _BLOBS.put(key, known)
    return known


async def followed(repo: GitRepo, sha: str, entry: TreeEntry) -> TreeEntry | None:
    """The regular file `entry` is, or points to when it is a symlink to a file inside the
    repository (one level; e.g. `CLAUDE.md -> AGENTS.md`); None for anything else."""
    if entry.is_regular_file:
        return entry
    if not entry.is_symlink or entry.size > 4096:
        return None
    target = (await blob_text(repo, entry)).strip("\n")
    path = posixpath.normpath(posixpath.join(posixpath.dirname(entry.path), target))
    if target.startswith("/") or path == ".." or path.startswith("../") or "\0" in path:
        return None
    found = await tree_entries(repo, sha, [path])
    return found[0] if len(found) == 1 and found[0].is_regular_file else None
