"""What `.forgeline/metadata.json` holds, and the identifiers that name workspace paths."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from forgeline.domain.errors import UserError

METADATA_VERSION = 1

_PROJECT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class RepoSpec:
    """A repository asked for by the user.

    Attributes:
        url: Local path, `file://`, `http(s)://`, `ssh://` or scp-like URL.
        branch: The base branch; None means the remote's default branch.
        setup: Its setup command (DESIGN §11); None for the default, "none" for no setup.
    """

    url: str
    branch: str | None = None
    setup: str | None = None


class RepositoryMetadata(BaseModel):
    """One cloned repository of a workspace.

    Attributes:
        url: The URL it was cloned from (credentials redacted).
        name: Its directory in the workspace.
        base_branch: The branch the work starts from.
        branch: The feature branch checked out (`forgeline/<slug>`, `-N` on a clash).
        base_sha: The commit the feature branch was created at.
    """

    url: str
    name: str
    base_branch: str
    branch: str
    base_sha: str


class WorkspaceMetadata(BaseModel):
    """The content of `.forgeline/metadata.json` (DESIGN §2)."""

    version: int = METADATA_VERSION
    project_id: str
    feature_request: str
    slug: str
    repositories: list[RepositoryMetadata] = Field(default_factory=list)
    created_at: datetime

    def repository(self, name: str) -> RepositoryMetadata:
        """The repository with this directory name.

        Raises:
            UserError: The workspace has no such repository.
        """
        for repo in self.repositories:
            if repo.name == name:
                return repo
        known = ", ".join(repo.name for repo in self.repositories) or "none"
        raise UserError(f"no repository named '{name}' in this workspace (have: {known})")


def check_project_id(project_id: str) -> str:
    """Validate a project id so that it is one safe path component.

    Args:
        project_id: The id: 1 to 64 characters of `[A-Za-z0-9_-]`.

    Returns:
        The id, unchanged.

    Raises:
        UserError: The id is empty, too long, or holds other characters (`/`, `.`...).
    """
    if not isinstance(project_id, str) or not _PROJECT_ID.match(project_id):
        raise UserError(
            f"invalid project id {project_id!r}: use 1 to 64 characters of A-Z, a-z, 0-9, _ or -"
        )
    return project_id


def check_name(name: str, *, kind: str) -> str:
    """Validate a task id, worktree or repository name used as a file or directory name.

    Args:
        name: The name: up to 128 characters of `[A-Za-z0-9._-]`, not starting with `.`.
        kind: What the name is, for the error message.

    Returns:
        The name, unchanged.

    Raises:
        UserError: The name could not be used safely as one path component.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise UserError(
            f"invalid {kind} {name!r}: use up to 128 characters of A-Z, a-z, 0-9, ., _ or - "
            "(not starting with '.')"
        )
    return name
