"""Checkpoint staging on a real workspace clone: only the change is committed."""

from __future__ import annotations

import os
from pathlib import Path

from forgeline.workspace import git
from forgeline.workspace.layout import create_workspace
from forgeline.workspace.metadata import RepoSpec
from forgeline.workspace.repo import GitRepo

from .conftest import MakeRepo, sh_git

AUTHOR = {"author_name": "Ada Agent", "author_email": "ada@forgeline.test"}


async def clone(home: Path, source: Path) -> GitRepo:
    ws = await create_workspace(
        home=home,
        project_id="p",
        feature_request="Change it",
        repositories=[RepoSpec(url=str(source))],
    )
    return ws.repo(source.name)


def committed(repo: GitRepo) -> list[str]:
    """Paths changed by the last commit."""
    shown = sh_git(repo.work_tree, "show", "--name-only", "--format=", "HEAD")
    return sorted(shown.split())


def write(path: Path, text: str = "x\n") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


async def test_environments_and_caches_are_never_committed(home: Path, make_repo: MakeRepo) -> None:
    source = make_repo("app", files={"app.py": "A = 1\n", "venv/keep.txt": "tracked\n"})
    repo = await clone(home, source)
    tree = repo.work_tree
    for junk in (
        ".venv/lib/site.py",
        "venv/bin/activate",
        "node_modules/left/index.js",
        "pkg/__pycache__/m.cpython-311.pyc",
        "stray.pyc",
        ".pytest_cache/v/cache",
        ".mypy_cache/3.11/x.json",
        ".ruff_cache/0.1/y",
        ".tox/py311/log",
        ".nox/tests/log",
        "app.egg-info/PKG-INFO",
    ):
        write(tree / junk)
    write(tree / "app.py", "A = 2\n")
    write(tree / "pkg" / "m.py")
    write(tree / "venv" / "keep.txt", "still tracked, still committed\n")
    sha = await git.commit_all(repo, "Change app", **AUTHOR)
    assert sha is not None
    assert committed(repo) == ["app.py", "pkg/m.py", "venv/keep.txt"]
    excludes = (repo.git_dir / "info" / "exclude").read_text().splitlines()
    assert set(git.FORGELINE_EXCLUDES) <= set(excludes)
    assert ".forgeline/" not in excludes


async def test_nested_repository_and_unindexable_paths_are_left_out_and_said(
    home: Path, make_repo: MakeRepo
) -> None:
    source = make_repo("app", files={"app.py": "A = 1\n"})
    repo = await clone(home, source)
    tree = repo.work_tree
    nested = tree / "vendor" / "lib"
    write(nested / "lib.py")
    sh_git(nested, "init", "-q")
    write(tree / ".GIT" / "config")  # git refuses this path (it would be .git elsewhere)
    write(tree / "new.py")
    staged = await git.stage_all(repo)
    assert staged.files == ("new.py",)
    assert staged.nested == ("vendor/lib/",)
    assert staged.refused == (".GIT/config",)
    sha = await git.commit_all(repo, "Add new.py", **AUTHOR)
    assert sha is not None and committed(repo) == ["new.py"]
    message = sh_git(tree, "log", "-1", "--format=%B")
    assert "- vendor/lib/ (nested repository, not committed)" in message
    assert "- .GIT/config (git could not index it)" in message


async def test_a_file_name_that_is_not_utf8_does_not_stop_a_checkpoint(
    home: Path, make_repo: MakeRepo
) -> None:
    source = make_repo("app", files={"app.py": "A = 1\n"})
    name = os.fsdecode(b"caf\xe9.txt")
    write(source / name, "one\n")
    sh_git(source, "add", "--all")
    sh_git(source, "commit", "-qm", "latin-1 name")
    repo = await clone(home, source)
    write(repo.work_tree / name, "two\n")
    write(repo.work_tree / os.fsdecode(b"na\xefve.py"))
    sha = await git.commit_all(repo, "Touch both", **AUTHOR)
    assert sha is not None
    assert len(committed(repo)) == 2
    assert not await git.has_changes(repo)


async def test_lfs_files_are_committed_as_pointers(home: Path, make_repo: MakeRepo) -> None:
    attributes = "*.bin filter=lfs diff=lfs merge=lfs -text\n"
    source = make_repo("app", files={"app.py": "A = 1\n", ".gitattributes": attributes})
    repo = await clone(home, source)
    (repo.work_tree / "blob.bin").write_bytes(b"\x00binary payload\n" * 100)
    assert await git.commit_all(repo, "Add a blob", **AUTHOR) is not None
    stored = sh_git(repo.work_tree, "cat-file", "-p", "HEAD:blob.bin")
    assert stored.startswith("version https://git-lfs.github.com/spec/v1\n")
    assert any((repo.git_dir / "lfs" / "objects").rglob("*"))
    assert not await git.has_changes(repo)
