"""The paths of a project's workspace (DESIGN §2, Contract); see `layout` for the tree."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from forgeline.domain.errors import UserError
from forgeline.workspace.metadata import check_name, check_project_id
from forgeline.workspace.repo import GitRepo, workspace_git_dir

WORKSPACES_DIRNAME = "workspaces"
META_DIRNAME = ".forgeline"
RESEARCH_FILENAME = "research.md"
PLANNING_FILENAME = "planning.md"
# Names a repository directory may not take: the workspace's own files.
RESERVED_NAMES = frozenset({RESEARCH_FILENAME, PLANNING_FILENAME, META_DIRNAME})


@dataclass(frozen=True)
class Workspace:
    """Paths of one project's workspace. Creating the object creates nothing on disk.

    Attributes:
        home: `FORGELINE_HOME`, made absolute with symlinks resolved.
        project_id: The project's id (validated: one safe path component).
    """

    home: Path
    project_id: str

    def __post_init__(self) -> None:
        check_project_id(self.project_id)
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())

    @property
    def root(self) -> Path:
        """The workspace directory, where every tool runs (`home` is resolved already)."""
        return self.home / WORKSPACES_DIRNAME / self.project_id

    @property
    def research_md(self) -> Path:
        return self.root / RESEARCH_FILENAME

    @property
    def planning_md(self) -> Path:
        return self.root / PLANNING_FILENAME

    @property
    def meta_dir(self) -> Path:
        return self.root / META_DIRNAME

    @property
    def metadata_path(self) -> Path:
        return self.meta_dir / "metadata.json"

    @property
    def session_path(self) -> Path:
        return self.meta_dir / "session.json"

    @property
    def logs_dir(self) -> Path:
        return self.meta_dir / "logs"

    @property
    def worktrees_dir(self) -> Path:
        return self.meta_dir / "worktrees"

    def document_path(self, kind: Literal["research", "planning"]) -> Path:
        """`research.md` or `planning.md`."""
        if kind not in ("research", "planning"):
            raise UserError(f"unknown document {kind!r}: use 'research' or 'planning'")
        return self.research_md if kind == "research" else self.planning_md

    def log_path(self, task_id: str) -> Path:
        """`.forgeline/logs/<task_id>.jsonl`."""
        return self.logs_dir / f"{check_name(task_id, kind='task id')}.jsonl"

    def worktree_path(self, name: str) -> Path:
        """`.forgeline/worktrees/<name>/`, for an overwatcher's detached work tree."""
        return self.worktrees_dir / check_name(name, kind="worktree name")

    def repo_path(self, name: str) -> Path:
        """`<repo-name>/`, the clone of one repository."""
        check_name(name, kind="repository name")
        if name in RESERVED_NAMES:
            raise UserError(f"invalid repository name {name!r}: reserved by the workspace")
        return self.root / name

    def git_dir(self, name: str) -> Path:
        """`.forgeline/git/<repo-name>/`, the git directory of one repository."""
        self.repo_path(name)
        return workspace_git_dir(self.root, name)

    def repo(self, name: str) -> GitRepo:
        """One repository for host git: its work tree and its protected git directory."""
        return GitRepo(work_tree=self.repo_path(name), git_dir=self.git_dir(name))


def workspaces_dir(home: Path) -> Path:
    """`$FORGELINE_HOME/workspaces`."""
    return Path(home).expanduser().resolve() / WORKSPACES_DIRNAME
