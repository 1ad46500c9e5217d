"""Keep the project's status and `.forgeline/session.json` current."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

from forgeline.orchestrator.runtime import Runtime
from forgeline.store.schemas import ProjectStatus
from forgeline.workspace.layout import Workspace, open_workspace, write_session


class _SessionWriter:
    """Writes one project's session.json in worker threads; the newest snapshot wins.

    The write (with its fsync) runs off the event loop. Snapshots are numbered in
    the order they were read; a write whose snapshot is older than one already
    written is skipped, so a slow or abandoned write never puts back older content.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issued = 0
        self._written = 0

    def number(self) -> int:
        """The next snapshot's number (called on the event loop)."""
        self._issued += 1
        return self._issued

    def write(self, ws: Workspace, data: dict[str, Any], number: int) -> None:
        with self._lock:
            if number > self._written:
                write_session(ws, data)
                self._written = number


_writers: dict[str, _SessionWriter] = {}


async def sync_session(
    runtime: Runtime,
    project_id: str,
    *,
    status: ProjectStatus | None = None,
    phase: str | None = None,
) -> dict[str, Any]:
    """Update the project's status/phase and rewrite session.json from the store."""
    store = runtime.store
    fields: dict[str, Any] = {}
    if status is not None:
        fields["status"] = status
    if phase is not None:
        fields["current_phase"] = phase
    if fields:
        await store.update_project(project_id, **fields)
    project = await store.get_project(project_id)
    tasks = await store.list_tasks(project_id)
    session = {
        "project_id": project_id,
        "status": project.status,
        "current_phase": project.current_phase,
        "updated_at": datetime.now(UTC).isoformat(),
        "tasks": [
            {
                "id": t.id,
                "phase": t.phase,
                "agent": t.agent,
                "status": t.status,
                "error": t.error,
            }
            for t in tasks
        ],
    }
    writer = _writers.setdefault(project_id, _SessionWriter())
    ws = open_workspace(runtime.settings.home, project_id)
    await asyncio.to_thread(writer.write, ws, session, writer.number())
    return session
