"""The workspace of a project on disk (DESIGN §2, Contract).

```
$FORGELINE_HOME/workspaces/<project_id>/
  research.md, planning.md
  .forgeline/metadata.json, session.json, logs/<task_id>.jsonl, worktrees/<name>/
  .forgeline/git/<repo-name>/   each repository's git directory (never sandbox-writable)
  <repo-name>/          one clone per repository, on forgeline/<slug>; its `.git` is a file
                        pointing at `.forgeline/git/<repo-name>`
```
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from forgeline.domain.errors import ConflictError, NotFoundError, UserError
from forgeline.workspace.credentials import remember
from forgeline.workspace.files import (
    append_log,
    read_log,
    read_metadata,
    read_session,
    write_metadata,
    write_session,
)
from forgeline.workspace.git import (
    GitError,
    clone,
    create_branch,
    current_branch,
    head_sha,
    push,
    ref_exists,
    remote_url,
)
from forgeline.workspace.metadata import (
    RepositoryMetadata,
    RepoSpec,
    WorkspaceMetadata,
)
from forgeline.workspace.paths import (
    META_DIRNAME,
    PLANNING_FILENAME,
    RESEARCH_FILENAME,
    RESERVED_NAMES,
    Workspace,
    workspaces_dir,
)
from forgeline.workspace.refs import check_branch_name
from forgeline.workspace.repo import GitRepo
from forgeline.workspace.slug import branch_name, slugify
from forgeline.workspace.urls import redact_url, repo_name, validate_repo_url

__all__ = [
    "META_DIRNAME",
    "PLANNING_FILENAME",
    "RESEARCH_FILENAME",
    "RESERVED_NAMES",
    "RepoSpec",
    "Workspace",
    "append_log",
    "create_workspace",
    "delete_workspace",
    "find_repository",
    "open_workspace",
    "push_branch",
    "read_log",
    "read_metadata",
    "read_session",
    "remove_tree",
    "workspaces_dir",
    "write_metadata",
    "write_session",
]


def open_workspace(home: Path, project_id: str) -> Workspace:
    """The existing workspace of a project.

    Raises:
        NotFoundError: There is no workspace (or no metadata) for the project.
        UserError: The id is invalid, or the workspace directory is a symlink.
    """
    ws = Workspace(home=home, project_id=project_id)
    _check_not_symlink(ws)
    if not ws.root.is_dir():
        raise NotFoundError(f"no workspace for project '{project_id}'")
    if not ws.metadata_path.is_file():
        raise NotFoundError(f"workspace of project '{project_id}' has no metadata.json")
    return ws


def delete_workspace(home: Path, project_id: str) -> Path:
    """Remove a project's workspace directory, and nothing else.

    Args:
        home: `FORGELINE_HOME`.
        project_id: The project (a single path component; anything else is refused).

    Returns:
        The directory removed.

    Raises:
        NotFoundError: There is no such workspace.
        UserError: The id is invalid or the directory is a symlink (never followed).
    """
    ws = Workspace(home=home, project_id=project_id)
    _check_not_symlink(ws)
    root = ws.root
    if not root.is_dir():
        raise NotFoundError(f"no workspace for project '{project_id}'")
    if root.resolve().parent != workspaces_dir(home).resolve():
        raise UserError(f"refusing to delete {root}: it resolves outside the workspaces directory")
    remove_tree(root)
    return root


def remove_tree(path: Path) -> None:
    """Delete a directory tree, making read-only directories writable when needed.

    Symlinks inside are removed, never followed.
    """
    if sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=_make_writable_and_retry)
    else:
        shutil.rmtree(path, onerror=_make_writable_and_retry)


def _make_writable_and_retry(func: Callable[..., Any], path: str, _exc: object) -> None:
    parent = os.path.dirname(path)
    os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
    func(path)


def _check_not_symlink(ws: Workspace) -> None:
    if ws.root.is_symlink():
        raise UserError(f"refusing workspace {ws.root}: it is a symlink")


def find_repository(ws: Workspace, repo: RepositoryMetadata | str) -> RepositoryMetadata:
    """A repository of the workspace, by metadata or directory name."""
    if isinstance(repo, RepositoryMetadata):
        return repo
    return read_metadata(ws).repository(repo)


async def create_workspace(
    *,
    home: Path,
    project_id: str,
    feature_request: str,
    repositories: Sequence[RepoSpec],
    created_at: datetime | None = None,
) -> Workspace:
    """Make a project's workspace: clone every repository and create its feature branch.

    Every URL and branch name is checked before anything is created. Each repository is
    cloned into `<repo-name>/` (clashes get `-2`, `-3`), its base branch (given, or the
    remote's default) checked out, and `forgeline/<slug>` created from it and checked out.
    When the remote already has that branch, `forgeline/<slug>-2` (etc.) is used.

    Args:
        home: `FORGELINE_HOME`.
        project_id: The project's id (`[A-Za-z0-9_-]`, at most 64 characters).
        feature_request: The user's request; the branch slug is made from it.
        repositories: The repositories, each with an optional base branch.
        created_at: Creation time written to the metadata; now (UTC) by default.

    Returns:
        The new workspace.

    Raises:
        UserError: A URL, branch or id is invalid, no repository was given, or a clone
            failed (the partly created workspace is removed first).
        ConflictError: The project already has a workspace.
    """
    ws = Workspace(home=home, project_id=project_id)
    if not repositories:
        raise UserError("a project needs at least one repository")
    # Credentials in a URL are kept in memory only; the clean URL is what git and the files see.
    urls = [remember(validate_repo_url(spec.url)) for spec in repositories]
    for spec in repositories:
        if spec.branch is not None:
            check_branch_name(spec.branch)
    names = _unique_names([repo_name(url) for url in urls])
    ws.root.parent.mkdir(parents=True, exist_ok=True)
    try:
        ws.root.mkdir()
    except FileExistsError:
        raise ConflictError(f"a workspace for project '{project_id}' already exists") from None
    try:
        slug = slugify(feature_request)
        repos = [
            await _clone_repository(ws, url=url, name=name, base=spec.branch, slug=slug)
            for url, name, spec in zip(urls, names, repositories, strict=True)
        ]
        metadata = WorkspaceMetadata(
            project_id=project_id,
            feature_request=feature_request,
            slug=slug,
            repositories=repos,
            created_at=created_at or datetime.now(UTC),
        )
        ws.logs_dir.mkdir(parents=True, exist_ok=True)
        write_metadata(ws, metadata)
        write_session(ws, {"project_id": project_id, "phase": None, "tasks": {}})
    except BaseException:
        remove_tree(ws.root)
        raise
    return ws


async def push_branch(ws: Workspace, repo: RepositoryMetadata | str) -> str | None:
    """Push a repository's feature branch to its `origin`.

    Args:
        ws: The workspace.
        repo: The repository (metadata, or its directory name).

    Returns:
        What was pushed where, or None when the clone has no `origin` remote.

    Raises:
        GitError: The push failed; the message says why (e.g. the branch is checked out
            in a non-bare origin, the push was rejected, authentication failed).
    """
    meta = find_repository(ws, repo)
    target = ws.repo(meta.name)
    if await remote_url(target, "origin") is None:
        return None
    return await push(target, branch=meta.branch, remote="origin")


def _unique_names(names: Sequence[str]) -> list[str]:
    used: set[str] = set(RESERVED_NAMES)
    result: list[str] = []
    for base in names:
        name, counter = base, 2
        while name in used:
            name, counter = f"{base}-{counter}", counter + 1
        used.add(name)
        result.append(name)
    return result


async def _clone_repository(
    ws: Workspace, *, url: str, name: str, base: str | None, slug: str
) -> RepositoryMetadata:
    repo = ws.repo(name)
    await clone(url, repo, branch=base)
    base_branch = base or await current_branch(repo) or "HEAD"
    try:
        base_sha = await head_sha(repo)
    except GitError:
        raise UserError(f"repository has no commits: {redact_url(url)}") from None
    branch = await _free_branch(repo, slug)
    await create_branch(repo, branch, from_ref=base_sha)
    return RepositoryMetadata(
        url=redact_url(url),
        name=name,
        base_branch=base_branch,
        branch=branch,
        base_sha=base_sha,
    )


async def _free_branch(repo: GitRepo, slug: str) -> str:
    candidate, counter = branch_name(slug), 2
    while await ref_exists(repo, f"refs/heads/{candidate}") or await ref_exists(
        repo, f"refs/remotes/origin/{candidate}"
    ):
        candidate, counter = branch_name(f"{slug}-{counter}"), counter + 1
    return candidate
