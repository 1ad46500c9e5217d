"""The web UI's server-rendered pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from forgeline.api.deps import ServiceDep, SettingsDep, StoreDep
from forgeline.api.documents import DOCUMENT_KINDS, read_document, repository_diffs
from forgeline.api.paths import scrub
from forgeline.api.projects import public_task
from forgeline.domain.errors import ForgelineError
from forgeline.github.ownership import visible
from forgeline.orchestrator.service import UNFINISHED, Service
from forgeline.store import TaskRecord
from forgeline.web.templating import TEMPLATES

STEPS = ("research", "planning", "implementation", "documentation")

router = APIRouter(include_in_schema=False)


def phase_steps(phases: list[str], tasks: list[TaskRecord]) -> list[dict[str, str]]:
    """Each step of the stepper with its state (the latest task's status)."""
    steps = []
    for name in STEPS:
        mine = [t for t in tasks if t.phase == name or t.agent == name]
        owner = "implementation" if name == "documentation" else name
        state: str
        if mine:
            state = max(mine, key=lambda t: t.created_at).status
        elif owner not in phases:
            state = "skipped"
        else:
            state = "not started"
        steps.append({"name": name, "state": state})
    return steps


def current_task(tasks: list[TaskRecord]) -> TaskRecord | None:
    """The task the Pause/Resume/Cancel buttons act on: the newest unfinished phase task."""
    unfinished = [t for t in tasks if t.status in UNFINISHED]
    unfinished.sort(key=lambda t: (len(t.id), t.created_at))
    return unfinished[0] if unfinished else None


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, store: StoreDep, settings: SettingsDep) -> HTMLResponse:
    """Projects list and the New project form."""
    projects = [p for p in await store.list_projects() if visible(p)]
    context = {"projects": projects, "default_model": settings.model or ""}
    return TEMPLATES.TemplateResponse(request, "index.html", context)


async def _project_context(service: Service, project_id: str) -> dict[str, Any]:
    store = service.store
    home = service.runtime.settings.home
    project = await store.get_project(project_id)
    tasks = [public_task(service, t) for t in await store.list_tasks(project_id)]
    repositories = await store.list_repositories(project_id)
    documents = {kind: await read_document(home, project_id, kind) for kind in DOCUMENT_KINDS}
    try:
        diffs = await repository_diffs(home, project_id, repositories)
    except ForgelineError as exc:
        diffs = [{"repo": "(workspace)", "diff": "", "error": scrub(home, str(exc))}]
    return {
        "project": project,
        "repositories": repositories,
        "tasks": tasks,
        "steps": phase_steps(project.phases, tasks),
        "task": current_task(tasks),
        "questions": await store.list_questions(project_id, pending=True),
        "documents": documents,
        "diffs": diffs,
        "findings": await store.list_findings(project_id),
        "usage": await store.usage_summary(project_id),
    }


@router.get("/projects/{project_id}", response_class=HTMLResponse)
async def project_page(request: Request, project_id: str, service: ServiceDep) -> HTMLResponse:
    """One project: phases, controls, live log, questions, documents, diff, findings, usage."""
    context = await _project_context(service, project_id)
    return TEMPLATES.TemplateResponse(request, "project.html", context)
