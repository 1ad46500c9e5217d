"""Path containment: every path a tool touches stays inside the workspace.

Paths may be absolute or relative to the workspace root. They are resolved with
symlinks followed (for a file that does not exist yet, its existing parents are
resolved), and the result must lie inside the workspace. Writes are further limited
to the files and directories the agent may write, and never inside a `.git`
directory.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath

from forgeline.domain.errors import ToolError
from forgeline.tools.base import ToolContext

_ROOTS: dict[Path, Path] = {}
_MAX_ROOTS = 1024


def workspace_root(ctx: ToolContext) -> Path:
    """The resolved workspace root of `ctx` (resolved once per root: every call of every
    file tool needs it, and `Path.resolve` walks each component with `lstat`).

    Only a root that exists as a directory is remembered. The sandbox cannot move or
    replace it: it is the mount point of the agent's workspace.
    """
    root = _ROOTS.get(ctx.workspace)
    if root is None:
        root = ctx.workspace.resolve()
        if root.is_dir():
            if len(_ROOTS) >= _MAX_ROOTS:
                _ROOTS.clear()
            _ROOTS[ctx.workspace] = root
    return root


def resolve_in_workspace(path: str, ctx: ToolContext) -> Path:
    """Resolve `path` (absolute or relative to the workspace) and check it stays inside.

    Args:
        path: The path the model gave.
        ctx: The tool context; its workspace is the root.

    Returns:
        The resolved absolute path, symlinks followed.

    Raises:
        ToolError: When the path is empty, malformed, or resolves outside the workspace.
    """
    if not path or not path.strip():
        raise ToolError("the path is empty; give a file path relative to the workspace root")
    if "\x00" in path:
        raise ToolError("the path contains a NUL byte")
    root = workspace_root(ctx)
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = root / candidate
    try:
        resolved = candidate.resolve(strict=False)
    except (OSError, RuntimeError) as exc:
        raise ToolError(f"cannot resolve path {path}: {exc}") from exc
    if not resolved.is_relative_to(root):
        raise ToolError(
            f"path {path} is outside the workspace ({root}); "
            "only files inside the workspace can be used"
        )
    return resolved


def display_path(path: Path, ctx: ToolContext) -> str:
    """`path` relative to the workspace root, for messages ("." for the root itself)."""
    root = workspace_root(ctx)
    try:
        relative = path.relative_to(root)
    except ValueError:
        return str(path)
    return relative.as_posix() or "."


def _writable_entries(ctx: ToolContext) -> list[Path]:
    root = workspace_root(ctx)
    entries: list[Path] = []
    for entry in ctx.writable:
        absolute = entry if entry.is_absolute() else root / entry
        entries.append(absolute.resolve(strict=False))
    return entries


def _allows(entry: Path, path: Path) -> bool:
    if path == entry:
        return True
    return entry.is_dir() and path.is_relative_to(entry)


def _describe_scope(entries: list[Path], ctx: ToolContext) -> str:
    names: list[str] = []
    for entry in entries:
        name = display_path(entry, ctx)
        if entry.is_dir():
            name = "anything in the workspace" if name == "." else f"files under {name}/"
        names.append(name)
    return ", ".join(names)


PROTECTED_NAMES = frozenset({".git", ".forgeline"})
"""Entries under which no agent writes: git data, and a repository's Forgeline files."""


def protected_part(path: PurePath, *roots: Path) -> str | None:
    """The `.git` or `.forgeline` component of `path` below the first root it is under."""
    for root in roots:
        if path.is_relative_to(root):
            parts = path.relative_to(root).parts
            return next((part for part in parts if part in PROTECTED_NAMES), None)
    return None


def nested_repository(path: Path, root: Path) -> str | None:
    """The directory (relative to `root`) of a repository nested in a workspace repository
    that holds `path`, such as a submodule's checkout; None when there is none."""
    if not path.is_relative_to(root):
        return None
    parts = path.relative_to(root).parts
    for depth in range(2, len(parts)):
        if os.path.lexists(root.joinpath(*parts[:depth], ".git")):
            return "/".join(parts[:depth])
    return None


def check_writable(path: Path, ctx: ToolContext, *, given: str | None = None) -> None:
    """Check that the agent of `ctx` may write the resolved `path`.

    Args:
        path: A path already resolved by `resolve_in_workspace`.
        ctx: The tool context; `ctx.writable` lists the allowed files and directories.
        given: The path as the model wrote it (checked too, before symlinks are followed).

    Raises:
        ToolError: When the path is under a `.git` or `.forgeline` entry, or outside the
            agent's scope.
    """
    shown = display_path(path, ctx)
    root = workspace_root(ctx)
    lexical = PurePath(root, given) if given is not None else path
    part = protected_part(path, root) or protected_part(lexical, root, ctx.workspace)
    if part is not None:
        raise ToolError(
            f"cannot write {shown}: nothing under {part}/ is ever written by an agent "
            "(git data and a repository's .forgeline/ files are protected)"
        )
    nested = nested_repository(path, root)
    if nested is not None:
        raise ToolError(
            f"cannot write {shown}: {nested}/ is a submodule (or another nested repository), "
            "which agents never change"
        )
    entries = _writable_entries(ctx)
    if not entries:
        raise ToolError(f"cannot write {shown}: the {ctx.agent} agent may not write any files")
    if not any(_allows(entry, path) for entry in entries):
        raise ToolError(
            f"cannot write {shown}: the {ctx.agent} agent may only write "
            f"{_describe_scope(entries, ctx)}"
        )
