"""Which repository a git command runs on: an explicit work tree and git directory.

Forgeline's own git never discovers a repository. A work tree's `.git` entry is written by
agents' commands as much as by git, so every host-side git call names its git directory
(`GIT_DIR`) and work tree (`GIT_WORK_TREE`) explicitly. In a workspace the git directory
lives under `<workspace>/.forgeline/git/<repo-name>/`, outside every directory a sandboxed
command may write (DESIGN §2, §3).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

GIT_DIRNAME = "git"
"""`<workspace>/.forgeline/git/`: the git directories of the workspace's repositories."""


@dataclass(frozen=True)
class GitRepo:
    """One repository as host git sees it.

    Attributes:
        work_tree: The checked-out files (written by agents).
        git_dir: The git directory (never writable by a sandboxed command); for a linked
            worktree, its administrative directory inside the main git directory.
    """

    work_tree: Path
    git_dir: Path

    @classmethod
    def standard(cls, path: Path) -> GitRepo:
        """A repository whose git directory is `<path>/.git`.

        Only for repositories no agent writes (the user's own, test fixtures): for a
        workspace's repositories use `Workspace.repo`.
        """
        return cls(work_tree=Path(path).absolute(), git_dir=Path(path).absolute() / ".git")

    def environment(self) -> dict[str, str]:
        """`GIT_DIR` and `GIT_WORK_TREE` for a git process working on this repository."""
        return {"GIT_DIR": str(self.git_dir), "GIT_WORK_TREE": str(self.work_tree)}


def workspace_git_dir(root: Path, name: str) -> Path:
    """`<root>/.forgeline/git/<name>`: where the git directory of repository `name` lives."""
    return Path(root) / ".forgeline" / GIT_DIRNAME / name


def workspace_repo(root: Path, name: str) -> GitRepo:
    """The repository `<root>/<name>` of the workspace at `root`, with its protected git dir."""
    return GitRepo(work_tree=Path(root) / name, git_dir=workspace_git_dir(root, name))
