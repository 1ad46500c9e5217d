"""The web UI's server-rendered pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from forgeline.api.deps import ServiceDep, SettingsDep, StoreDep
from forgeline.api.documents import DOCUMENT_KINDS, read_document
from forgeline.api.projects import public_task
from forgeline.domain.tasks import TreeTask, depth
from forgeline.github.ownership import visible
from forgeline.orchestrator.service import UNFINISHED, Service
from forgeline.store import TaskRecord
from forgeline.web import reviewpage
from forgeline.web.agentmodels import agent_model_context
from forgeline.web.controls import controls
from forgeline.web.providers import default_model, model_choices, shown_model
from forgeline.web.settingsview import settings_view
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
    by_id: dict[str, TreeTask] = {t.id: t for t in tasks}
    unfinished = [t for t in tasks if t.status in UNFINISHED]
    unfinished.sort(key=lambda t: (depth(t, by_id), t.created_at))
    return unfinished[0] if unfinished else None


def task_tree(tasks: list[TaskRecord]) -> list[dict[str, Any]]:
    """Each task's place in the tree, for the live log to group its events by."""
    fields = {"id", "parent_id", "kind", "round", "agent"}
    return [t.model_dump(mode="json", include=fields) for t in tasks]


def _model_context(settings: Any, current: str | None) -> dict[str, Any]:
    return {
        "default_model": shown_model(default_model(settings)),
        "model_choices": model_choices(settings, current),
    }


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, store: StoreDep, settings: SettingsDep) -> HTMLResponse:
    """Projects list (with a filter and Delete) and the New project form."""
    projects = [p for p in await store.list_projects() if visible(p)]
    context = {
        "projects": projects,
        **_model_context(settings, None),
        **agent_model_context(settings, None),
    }
    return TEMPLATES.TemplateResponse(request, "index.html", context)


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Providers and whether their keys are present, sandbox, network, budgets."""
    context = {"settings": settings_view(settings)}
    return TEMPLATES.TemplateResponse(request, "settings.html", context)


async def _review_context(service: Service, project_id: str) -> dict[str, Any]:
    store = service.store
    findings = await store.list_findings(project_id)
    home = service.runtime.settings.home
    reviews, placed = await reviewpage.repo_reviews(store, home, project_id, findings)
    return {
        "reviews": reviews,
        "placed": placed,
        "findings": findings,
        "rounds": reviewpage.finding_rounds(findings),
        "resolutions": await reviewpage.resolutions(store, project_id, findings),
        "gate": await reviewpage.latest_gate(store, project_id),
        "evidence": await reviewpage.evidence(store, project_id),
        "models": await reviewpage.models_by_agent(store, project_id),
        "usage": await store.usage_summary(project_id),
    }


async def _project_context(service: Service, project_id: str) -> dict[str, Any]:
    store = service.store
    settings = service.runtime.settings
    project = await store.get_project(project_id)
    tasks = [public_task(service, t) for t in await store.list_tasks(project_id)]
    questions = await store.list_questions(project_id)
    return {
        "project": project,
        "project_model": shown_model(project.model),
        "repositories": await store.list_repositories(project_id),
        "tasks": tasks,
        "steps": phase_steps(project.phases, tasks),
        "task": current_task(tasks),
        "task_tree": task_tree(tasks),
        "controls": controls(project, tasks),
        "questions": [q for q in questions if q.pending],
        "answered": [q for q in questions if not q.pending],
        "documents": {k: await read_document(settings.home, project_id, k) for k in DOCUMENT_KINDS},
        **_model_context(settings, project.model),
        **agent_model_context(settings, project),
        **await _review_context(service, project_id),
    }


@router.get("/projects/{project_id}", response_class=HTMLResponse)
async def project_page(request: Request, project_id: str, service: ServiceDep) -> HTMLResponse:
    """One project as a review: phases, controls, live log, questions, documents, the change."""
    context = await _project_context(service, project_id)
    return TEMPLATES.TemplateResponse(request, "project.html", context)
