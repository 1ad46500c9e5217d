"""Routes the web UI needs beyond DESIGN §7's list: change a project's model, delete a project,
and the server's settings (providers and whether their keys are present, never the values)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from forgeline.api.deps import ServiceDep, SettingsDep
from forgeline.api.projects import project_view, untrusted_model
from forgeline.llm import validate_model_spec
from forgeline.web.settingsview import settings_view

router = APIRouter(prefix="/api", tags=["api"])


class ProjectChange(BaseModel):
    """`PATCH /api/projects/{id}`: the project's model (null: the server's default)."""

    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(default=None, max_length=300)


@router.patch("/projects/{project_id}")
async def change_project(
    project_id: str, body: ProjectChange, service: ServiceDep
) -> dict[str, Any]:
    """Change the model the project's next tasks use."""
    await service.store.get_project(project_id)
    model = untrusted_model(body.model, settings=service.runtime.settings)
    if model is not None:
        validate_model_spec(model)
    await service.store.update_project(project_id, model=model)
    return await project_view(service, project_id)


@router.delete("/projects/{project_id}")
async def delete_project(project_id: str, service: ServiceDep) -> dict[str, Any]:
    """Cancel the project's tasks and delete its workspace and records."""
    await service.delete_workspace(project_id)
    return {"project_id": project_id, "deleted": True}


@router.get("/settings")
async def get_settings(settings: SettingsDep) -> dict[str, Any]:
    """Providers (keys present or not), default model, sandbox, network and budgets."""
    return settings_view(settings)
