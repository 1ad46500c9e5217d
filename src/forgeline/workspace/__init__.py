"""Workspaces: the project's directory, its repository clones, and the git CLI wrapper."""

from forgeline.workspace.git_errors import GitError
from forgeline.workspace.layout import (
    Workspace,
    append_log,
    create_workspace,
    delete_workspace,
    open_workspace,
    push_branch,
    read_log,
    read_metadata,
    read_session,
    write_metadata,
    write_session,
)
from forgeline.workspace.metadata import RepositoryMetadata, RepoSpec, WorkspaceMetadata
from forgeline.workspace.slug import branch_name, slugify
from forgeline.workspace.urls import repo_name, validate_repo_url

__all__ = [
    "GitError",
    "RepoSpec",
    "RepositoryMetadata",
    "Workspace",
    "WorkspaceMetadata",
    "append_log",
    "branch_name",
    "create_workspace",
    "delete_workspace",
    "open_workspace",
    "push_branch",
    "read_log",
    "read_metadata",
    "read_session",
    "repo_name",
    "slugify",
    "validate_repo_url",
    "write_metadata",
    "write_session",
]
