"""A project's documents (research.md, planning.md), Markdown rendering and diffs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

from markdown_it import MarkdownIt

from forgeline.api.diffcap import cap_diff
from forgeline.domain.errors import UserError
from forgeline.store import RepositoryRecord
from forgeline.workspace import git
from forgeline.workspace.layout import open_workspace

DocumentKind = Literal["research", "planning"]
DOCUMENT_KINDS: tuple[DocumentKind, ...] = ("research", "planning")

# "js-default": raw HTML in the Markdown is escaped, and unsafe link schemes refused.
_MARKDOWN = MarkdownIt("js-default")


def render_markdown(text: str) -> str:
    """Markdown to HTML, with any HTML in the source escaped."""
    html: str = _MARKDOWN.render(text)
    return html


def document_kind(kind: str) -> DocumentKind:
    """Validate a document name.

    Raises:
        NotFoundError-like UserError: The name is not `research` or `planning`.
    """
    for known in DOCUMENT_KINDS:
        if kind == known:
            return known
    raise UserError(f"unknown document '{kind}': use research or planning")


def _document_path(home: Path, project_id: str, kind: DocumentKind) -> Path:
    return open_workspace(home, project_id).document_path(kind)


async def read_document(home: Path, project_id: str, kind: DocumentKind) -> dict[str, Any]:
    """The document's text and HTML; empty (with `exists: false`) before it is written."""
    path = _document_path(home, project_id, kind)
    exists = path.is_file()
    content = await asyncio.to_thread(path.read_text, encoding="utf-8") if exists else ""
    return {"kind": kind, "exists": exists, "content": content, "html": render_markdown(content)}


async def write_document(home: Path, project_id: str, kind: DocumentKind, content: str) -> None:
    """Replace the document's text (the user's edit)."""
    path = _document_path(home, project_id, kind)
    await asyncio.to_thread(path.write_text, content, encoding="utf-8")


async def repository_diffs(
    home: Path, project_id: str, repositories: list[RepositoryRecord]
) -> list[dict[str, Any]]:
    """Per repository: the diff of its work tree against the base commit, size-capped.

    Each entry has `repo`, `base_sha`, `branch`, `diff`, and `truncated` with `cut`
    (the files not shown whole) and `note` (a sentence saying so) when the cap applied.
    """
    ws = open_workspace(home, project_id)
    diffs = []
    for repo in repositories:
        text = ""
        if repo.base_sha:
            text = await git.diff(ws.repo(repo.name), repo.base_sha, head=None)
        capped = cap_diff(text)
        diffs.append(
            {
                "repo": repo.name,
                "base_sha": repo.base_sha,
                "branch": repo.branch,
                "diff": capped.text,
                "truncated": bool(capped.cut),
                "cut": [c.model_dump() for c in capped.cut],
                "note": capped.note,
            }
        )
    return diffs
