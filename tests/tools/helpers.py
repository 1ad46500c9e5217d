"""Helpers for the tool tests (real files, real git)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from forgeline.tools.base import ToolContext


def git_init(path: Path) -> None:
    """Make `path` a real git repository."""
    subprocess.run(["git", "init", "-q", str(path)], check=True)


def write(path: Path, content: str | bytes, *, mtime: int | None = None) -> Path:
    """Create `path` (and parents) with `content`; optionally set its mtime (seconds)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


async def run_tool(tool: Any, ctx: ToolContext, **arguments: Any) -> str:
    """Validate `arguments` like the registry does (aliases included) and run the tool."""
    args = tool.input_model.model_validate(arguments)
    result: str = await tool.run(args, ctx)
    return result
