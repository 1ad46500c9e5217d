"""Shared route logic: create a project, describe it, start a phase."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from forgeline.api.models import InitializeRequest
from forgeline.api.paths import relative_to_home, scrub
from forgeline.domain.errors import UserError
from forgeline.github.ownership import request_owner
from forgeline.llm import validate_model_spec
from forgeline.orchestrator.service import Service
from forgeline.settings import Settings
from forgeline.store import ProjectRecord, TaskRecord
from forgeline.workspace.metadata import RepoSpec

SCRIPTED_REFUSED = (
    "a scripted model (a file the server would read) cannot be chosen through the API or a "
    "form; the operator may allow it with FORGELINE_ALLOW_SCRIPTED=1"
)


def untrusted_model(spec: str | None, *, settings: Settings) -> str | None:
    """A model named by a client (API, form): never `scripted:` unless the operator allows it.

    Raises:
        UserError: The model is scripted and `FORGELINE_ALLOW_SCRIPTED` is not set.
    """
    if not spec or not spec.strip():
        return None
    provider = spec.partition(":")[0].strip().lower()
    if provider == "scripted" and not settings.allow_scripted:
        raise UserError(SCRIPTED_REFUSED)
    return spec


def untrusted_agent_models(models: Mapping[str, str], *, settings: Settings) -> dict[str, str]:
    """A client's model per agent: each one under the `untrusted_model` rule; blanks dropped.

    Raises:
        UserError: A model is refused or malformed; the message starts `agent_models.<agent>:`
            (as a validation error's would), so a form can show it beside that agent's control.
    """
    chosen = {name: _agent_model(name, spec, settings=settings) for name, spec in models.items()}
    return {name: spec for name, spec in chosen.items() if spec}


def _agent_model(agent: str, spec: str, *, settings: Settings) -> str | None:
    try:
        model = untrusted_model(spec, settings=settings)
        return validate_model_spec(model) if model else None
    except UserError as exc:
        raise UserError(f"agent_models.{agent}: {exc}") from exc


async def create_project(service: Service, body: InitializeRequest) -> ProjectRecord:
    """Create a project (clone its repositories) from a request body."""
    model = untrusted_model(body.model, settings=service.runtime.settings)
    per_agent = untrusted_agent_models(body.agent_models or {}, settings=service.runtime.settings)
    return await service.create_project(
        feature_request=body.feature_request,
        repositories=[
            RepoSpec(url=r.url.strip(), branch=r.branch or None, setup=r.setup)
            for r in body.repositories
        ],
        name=body.name,
        project_id=body.project_id,
        phases=body.phases,
        model=model,
        owner=request_owner.get(),
        max_cost_usd=body.max_cost_usd,
        agent_models=per_agent,
    )


def public_project(service: Service, project: ProjectRecord) -> dict[str, Any]:
    """A project as JSON, its workspace relative to FORGELINE_HOME (`workspaces/<id>`)."""
    home = service.runtime.settings.home
    return {
        **project.model_dump(mode="json"),
        "workspace": relative_to_home(home, project.workspace),
    }


def public_task(service: Service, task: TaskRecord) -> TaskRecord:
    """A task with no absolute host path in its error."""
    if not task.error:
        return task
    return task.model_copy(update={"error": scrub(service.runtime.settings.home, task.error)})


async def project_view(service: Service, project_id: str) -> dict[str, Any]:
    """A project with its repositories and tasks, JSON-ready."""
    project = await service.store.get_project(project_id)
    repositories = await service.store.list_repositories(project_id)
    tasks = await service.store.list_tasks(project_id)
    return {
        **public_project(service, project),
        "repositories": [r.model_dump(mode="json") for r in repositories],
        "tasks": [public_task(service, t).model_dump(mode="json") for t in tasks],
    }
