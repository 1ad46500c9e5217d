"""`GET /api/projects/{id}/evidence`: every command the agents ran, with its exit code and
output tail (DESIGN §12), oldest first, so the UI can show what the gate rests on."""

from __future__ import annotations

from fastapi import APIRouter

from forgeline.api.deps import StoreDep
from forgeline.orchestrator.evidence import Evidence, list_evidence

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/projects/{project_id}/evidence")
async def get_evidence(project_id: str, store: StoreDep) -> list[Evidence]:
    """The project's recorded commands: `{repo, agent, task_id, command, exit_code, ...}`."""
    await store.get_project(project_id)
    return await list_evidence(store, project_id)
