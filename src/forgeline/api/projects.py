"""Shared route logic: create a project, describe it, start a phase."""

from __future__ import annotations

from typing import Any

from forgeline.api.models import InitializeRequest
from forgeline.orchestrator.service import Service
from forgeline.store import ProjectRecord
from forgeline.workspace.metadata import RepoSpec


async def create_project(service: Service, body: InitializeRequest) -> ProjectRecord:
    """Create a project (clone its repositories) from a request body."""
    return await service.create_project(
        feature_request=body.feature_request,
        repositories=[
            RepoSpec(url=r.url.strip(), branch=r.branch or None) for r in body.repositories
        ],
        name=body.name,
        project_id=body.project_id,
        phases=body.phases,
        model=body.model or None,
    )


async def project_view(service: Service, project_id: str) -> dict[str, Any]:
    """A project with its repositories and tasks, JSON-ready."""
    project = await service.store.get_project(project_id)
    repositories = await service.store.list_repositories(project_id)
    tasks = await service.store.list_tasks(project_id)
    return {
        **project.model_dump(mode="json"),
        "repositories": [r.model_dump(mode="json") for r in repositories],
        "tasks": [t.model_dump(mode="json") for t in tasks],
    }
