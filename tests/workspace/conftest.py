"""Real git repositories for the workspace tests, made with the git CLI in tmp_path."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

AUTHOR_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def sh_git(cwd: Path, *args: str) -> str:
    """Run git in a test fixture repository and return its stdout (fails the test on error)."""
    env = {**os.environ, **AUTHOR_ENV}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"git {' '.join(args)} failed: {done.stderr}"
    return done.stdout


def commit_file(repo: Path, name: str, content: str, message: str) -> str:
    """Write a file, commit it, return the new sha."""
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    sh_git(repo, "add", "--", name)
    sh_git(repo, "commit", "-q", "-m", message)
    return sh_git(repo, "rev-parse", "HEAD").strip()


MakeRepo = Callable[..., Path]


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """Factory: `make_repo("name", branches={"dev": {...}})` -> a non-bare repo on `main`."""

    def factory(
        name: str = "src-repo",
        *,
        files: dict[str, str] | None = None,
        branches: dict[str, dict[str, str]] | None = None,
        parent: Path | None = None,
    ) -> Path:
        repo = (parent or tmp_path / "sources") / name
        repo.mkdir(parents=True)
        sh_git(repo, "init", "-q", "-b", "main")
        for path, content in (files or {"README.md": "# hello\n"}).items():
            commit_file(repo, path, content, f"add {path}")
        for branch, branch_files in (branches or {}).items():
            sh_git(repo, "switch", "-q", "-c", branch)
            for path, content in branch_files.items():
                commit_file(repo, path, content, f"{branch}: {path}")
            sh_git(repo, "switch", "-q", "main")
        return repo

    return factory


@pytest.fixture
def bare_origin(make_repo: MakeRepo, tmp_path: Path) -> Path:
    """A bare repository (cloned from a small one), usable as a push target."""
    source = make_repo("seed", files={"app.py": "print('hi')\n", "README.md": "# app\n"})
    bare = tmp_path / "remotes" / "app.git"
    bare.parent.mkdir(parents=True)
    sh_git(tmp_path, "clone", "-q", "--bare", str(source), str(bare))
    return bare


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    """A fresh FORGELINE_HOME."""
    path = tmp_path / "home"
    path.mkdir()
    yield path
