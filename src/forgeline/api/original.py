"""The endpoints of the original specification (DESIGN §7), kept exactly."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from sqlalchemy.exc import SQLAlchemyError

from forgeline.api.deps import ServiceDep, SettingsDep, StoreDep
from forgeline.api.models import InitializeRequest, StartPhaseRequest, StartResearchRequest
from forgeline.api.paths import scrub
from forgeline.api.projects import create_project, project_view
from forgeline.domain.errors import UserError
from forgeline.sandbox import sandbox_status
from forgeline.store.schemas import TaskRecord

router = APIRouter(tags=["original"])


@router.get("/health")
async def health(store: StoreDep, settings: SettingsDep) -> dict[str, Any]:
    """Liveness, database reachability and the sandbox's availability."""
    try:
        await store.list_events("-health-", limit=1)
        database = "ok"
    except (SQLAlchemyError, OSError) as exc:
        database = f"error: {exc.__class__.__name__}"
    status = await asyncio.to_thread(sandbox_status)
    return {
        "status": "ok",
        "database": database,
        "sandbox": {
            "mode": settings.sandbox,
            "available": status.available,
            "detail": scrub(settings.home, status.detail),
        },
    }


@router.post("/projects/initialize")
async def initialize(body: InitializeRequest, service: ServiceDep) -> dict[str, Any]:
    """Create a project: clone its repositories into a new workspace."""
    project = await create_project(service, body)
    return await project_view(service, project.id)


@router.delete("/projects/{project_id}/workspace")
async def delete_workspace(project_id: str, service: ServiceDep) -> dict[str, Any]:
    """Cancel the project's tasks and delete its workspace and records."""
    await service.delete_workspace(project_id)
    return {"project_id": project_id, "deleted": True}


@router.post("/agents/research/start")
async def start_research(body: StartResearchRequest, service: ServiceDep) -> TaskRecord:
    """Start the research phase (optionally replacing the feature request first)."""
    if body.feature_request is not None:
        if not body.feature_request.strip():
            raise UserError("the feature request is empty")
        await service.store.get_project(body.project_id)
        await service.store.update_project(body.project_id, feature_request=body.feature_request)
    return await service.start_phase(body.project_id, "research")


@router.post("/agents/planning/start")
async def start_planning(body: StartPhaseRequest, service: ServiceDep) -> TaskRecord:
    """Start the planning phase."""
    return await service.start_phase(body.project_id, "planning")


@router.post("/agents/implementation/start")
async def start_implementation(body: StartPhaseRequest, service: ServiceDep) -> TaskRecord:
    """Start the implementation phase (with its overwatchers and documentation)."""
    return await service.start_phase(body.project_id, "implementation")


@router.post("/agents/{task_id}/pause")
async def pause(task_id: str, service: ServiceDep) -> TaskRecord:
    """Pause a running task."""
    return await service.pause(task_id)


@router.post("/agents/{task_id}/resume")
async def resume(task_id: str, service: ServiceDep) -> TaskRecord:
    """Resume a paused task."""
    return await service.resume(task_id)


@router.post("/agents/{task_id}/cancel")
async def cancel(task_id: str, service: ServiceDep) -> TaskRecord:
    """Cancel a task for good."""
    return await service.cancel(task_id)
