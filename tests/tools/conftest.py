"""Shared fixtures for the tool tests: a real workspace directory and a tool context."""

from __future__ import annotations

from pathlib import Path

import pytest

from forgeline.tools.base import ToolContext


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace directory (resolved), inside a temp dir that also holds outsiders."""
    root = tmp_path / "ws"
    root.mkdir()
    return root.resolve()


@pytest.fixture
def ctx(workspace: Path) -> ToolContext:
    """A context whose agent may write anywhere in the workspace."""
    return ToolContext(workspace=workspace, agent="implementation", writable=(workspace,))
