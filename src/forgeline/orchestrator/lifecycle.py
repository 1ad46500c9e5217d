"""The one writer of task and project status, and of `.forgeline/session.json`.

Every status change goes through here, so the store, the session file and the allowed
transitions (`domain.status`) never disagree. Statuses are deliberately not durable
steps: a replay (after a pause or a crash) re-applies each one in order, so the stored
status always says where the run really is; a move the current status does not allow
(e.g. anything after `cancelled`) is ignored.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel

from forgeline.domain.results import JsonObject
from forgeline.orchestrator.runtime import Runtime
from forgeline.store.schemas import ProjectStatus, TaskRecord, TaskStatus, TaskUpdate
from forgeline.workspace.layout import Workspace, open_workspace, write_session


class SessionTask(BaseModel):
    id: str
    phase: str
    agent: str
    status: TaskStatus
    error: str | None


class Session(BaseModel):
    """What `.forgeline/session.json` holds."""

    project_id: str
    status: ProjectStatus
    current_phase: str | None
    updated_at: str
    tasks: list[SessionTask]


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

    def write(self, ws: Workspace, data: JsonObject, number: int) -> None:
        with self._lock:
            if number > self._written:
                write_session(ws, data)
                self._written = number


_writers: dict[str, _SessionWriter] = {}


async def task_status(
    runtime: Runtime,
    task_id: str,
    status: TaskStatus,
    *,
    result: JsonObject | None = None,
    error: str | None = None,
    workflow_id: str | None = None,
    project: ProjectStatus | None = None,
    phase: str | None = None,
) -> TaskRecord:
    """Move a task to `status` (if allowed) and rewrite the session file.

    Args:
        runtime: The process's runtime.
        task_id: The task.
        status: Its new status.
        result: Its result (a finished task's `TaskOutcome` as JSON).
        error: Why it failed.
        workflow_id: The workflow running it.
        project: The project's new status too (same session write), with `phase`.
        phase: The project's current phase (with `project`).
    """
    fields: TaskUpdate = {"status": status}
    if result is not None:
        fields["result"] = result
    if error is not None:
        fields["error"] = error
    if workflow_id is not None:
        fields["workflow_id"] = workflow_id
    task = await runtime.store.update_task(task_id, guarded=True, **fields)
    await sync_session(runtime, task.project_id, status=project, phase=phase)
    return task


async def tasks_status(
    runtime: Runtime,
    tasks: Sequence[TaskRecord],
    status: TaskStatus,
    *,
    project: ProjectStatus | None = None,
) -> None:
    """Move several tasks of one project (pause, cancel, resume), one session write.

    `project`, when given, is the project's new status (written before that one write).
    """
    for task in tasks:
        await runtime.store.update_task(task.id, guarded=True, status=status)
    if tasks:
        await sync_session(runtime, tasks[0].project_id, status=project)


async def project_status(
    runtime: Runtime, project_id: str, status: ProjectStatus, *, phase: str | None = None
) -> None:
    """Set the project's status (and current phase) and rewrite the session file."""
    await sync_session(runtime, project_id, status=status, phase=phase)


async def sync_session(
    runtime: Runtime,
    project_id: str,
    *,
    status: ProjectStatus | None = None,
    phase: str | None = None,
) -> Session:
    """Update the project's status/phase if given, then rewrite session.json from the store."""
    store = runtime.store
    if status is not None and phase is not None:
        await store.update_project(project_id, status=status, current_phase=phase)
    elif status is not None:
        await store.update_project(project_id, status=status)
    project = await store.get_project(project_id)
    tasks = await store.list_tasks(project_id)
    session = Session(
        project_id=project_id,
        status=project.status,
        current_phase=project.current_phase,
        updated_at=datetime.now(UTC).isoformat(),
        tasks=[SessionTask.model_validate(t, from_attributes=True) for t in tasks],
    )
    writer = _writers.setdefault(project_id, _SessionWriter())
    ws = open_workspace(runtime.settings.home, project_id)
    data = session.model_dump(mode="json")
    await asyncio.to_thread(writer.write, ws, data, writer.number())
    return session
