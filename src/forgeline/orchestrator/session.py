"""Keep the project's status and `.forgeline/session.json` current."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from forgeline.orchestrator.runtime import Runtime
from forgeline.store.schemas import ProjectStatus
from forgeline.workspace.layout import open_workspace, write_session


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
    write_session(open_workspace(runtime.settings.home, project_id), session)
    return session
