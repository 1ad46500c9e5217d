"""session.json is written off the event loop, and an older snapshot never wins."""

from __future__ import annotations

from pathlib import Path

from forgeline.orchestrator.lifecycle import _SessionWriter
from forgeline.workspace.layout import Workspace, read_session


def test_a_late_older_snapshot_does_not_overwrite_a_newer_one(tmp_path: Path) -> None:
    ws = Workspace(home=tmp_path, project_id="p1")
    writer = _SessionWriter()
    older, newer = writer.number(), writer.number()
    writer.write(ws, {"status": "running"}, newer)
    writer.write(ws, {"status": "created"}, older)  # a slow write finishing last
    assert read_session(ws) == {"status": "running"}
    writer.write(ws, {"status": "completed"}, writer.number())
    assert read_session(ws) == {"status": "completed"}
