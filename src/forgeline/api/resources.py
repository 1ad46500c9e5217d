"""The resource API under `/api` that the web UI uses (DESIGN §7)."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from forgeline.api.deps import ServiceDep, SettingsDep, StoreDep
from forgeline.api.documents import (
    document_kind,
    read_document,
    repository_diffs,
    write_document,
)
from forgeline.api.models import (
    AnswerRequest,
    BudgetRequest,
    DocumentIn,
    InitializeRequest,
    ModelsRequest,
    UsageWithBudget,
)
from forgeline.api.projects import (
    create_project,
    project_view,
    public_project,
    public_task,
    untrusted_agent_models,
    untrusted_model,
)
from forgeline.api.sse import event_stream, parse_after
from forgeline.domain.events import EventType, NewEvent
from forgeline.github.ownership import visible
from forgeline.store import FindingRecord, QuestionRecord, TaskRecord
from forgeline.tools.base import Answer

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/projects")
async def list_projects(service: ServiceDep) -> list[dict[str, Any]]:
    """Every project, newest first."""
    projects = await service.store.list_projects()
    return [public_project(service, p) for p in projects if visible(p)]


@router.post("/projects", status_code=201)
async def new_project(body: InitializeRequest, service: ServiceDep) -> dict[str, Any]:
    """Create a project (same body as `/projects/initialize`)."""
    project = await create_project(service, body)
    return await project_view(service, project.id)


@router.get("/projects/{project_id}")
async def get_project(project_id: str, service: ServiceDep) -> dict[str, Any]:
    """A project with its repositories and tasks."""
    return await project_view(service, project_id)


@router.get("/projects/{project_id}/tasks")
async def list_tasks(project_id: str, service: ServiceDep) -> list[TaskRecord]:
    """A project's tasks."""
    await service.store.get_project(project_id)
    return [public_task(service, t) for t in await service.store.list_tasks(project_id)]


@router.get("/projects/{project_id}/questions")
async def list_questions(
    project_id: str, store: StoreDep, pending: bool | None = None
) -> list[QuestionRecord]:
    """A project's questions (`?pending=true` for the unanswered ones)."""
    await store.get_project(project_id)
    return await store.list_questions(project_id, pending=pending)


@router.post("/questions/{question_id}/answer")
async def answer_question(
    question_id: str, body: AnswerRequest, service: ServiceDep
) -> QuestionRecord:
    """Answer a question; the waiting task continues once its batch is answered."""
    question = await service.store.get_question(question_id)
    answer = Answer(question=question.question, selected=body.selected, other=body.other)
    return await service.answer(question_id, answer)


@router.get("/projects/{project_id}/documents/{kind}")
async def get_document(
    project_id: str, kind: str, store: StoreDep, settings: SettingsDep
) -> dict[str, Any]:
    """research.md or planning.md: text and rendered HTML."""
    await store.get_project(project_id)
    return await read_document(settings.home, project_id, document_kind(kind))


@router.put("/projects/{project_id}/documents/{kind}")
async def put_document(
    project_id: str, kind: str, body: DocumentIn, service: ServiceDep, settings: SettingsDep
) -> dict[str, Any]:
    """Replace research.md or planning.md with the user's edit."""
    await service.store.get_project(project_id)
    doc = document_kind(kind)
    await write_document(settings.home, project_id, doc, body.content)
    event = NewEvent(
        type=EventType.DOCUMENT_UPDATED,
        data={"document": doc, "size": len(body.content.encode()), "by": "user"},
    )
    await service.runtime.events.emit(project_id, event)
    return await read_document(settings.home, project_id, doc)


@router.get("/projects/{project_id}/diff")
async def get_diff(project_id: str, store: StoreDep, settings: SettingsDep) -> list[dict[str, Any]]:
    """Per repository, the diff against its base commit."""
    await store.get_project(project_id)
    repositories = await store.list_repositories(project_id)
    return await repository_diffs(settings.home, project_id, repositories)


@router.get("/projects/{project_id}/findings")
async def list_findings(project_id: str, store: StoreDep) -> list[FindingRecord]:
    """The overwatchers' findings."""
    await store.get_project(project_id)
    return await store.list_findings(project_id)


@router.get("/projects/{project_id}/usage")
async def get_usage(project_id: str, store: StoreDep) -> UsageWithBudget:
    """Tokens and cost: total, per agent and per model; and the project's budget."""
    project = await store.get_project(project_id)
    usage = await store.usage_summary(project_id)
    return UsageWithBudget(**usage.model_dump(), max_cost_usd=project.max_cost_usd)


@router.put("/projects/{project_id}/budget")
async def put_budget(project_id: str, body: BudgetRequest, service: ServiceDep) -> dict[str, Any]:
    """Set the project's budget (DESIGN §15); a project its budget paused can then resume."""
    return public_project(service, await service.set_budget(project_id, body.max_cost_usd))


@router.put("/projects/{project_id}/models")
async def put_models(project_id: str, body: ModelsRequest, service: ServiceDep) -> dict[str, Any]:
    """Set the project's model and its model per agent; later agent runs take them."""
    settings = service.runtime.settings
    project = await service.set_models(
        project_id,
        model=untrusted_model(body.model, settings=settings),
        agent_models=untrusted_agent_models(body.agent_models, settings=settings),
    )
    return public_project(service, project)


@router.post("/projects/{project_id}/phases/{phase}/start")
async def start_phase(project_id: str, phase: str, service: ServiceDep) -> TaskRecord:
    """Start a phase (`research`, `planning`, `implementation`)."""
    return await service.start_phase(project_id, phase)


@router.get("/projects/{project_id}/events")
async def events(
    project_id: str, request: Request, service: ServiceDep, after: str | None = None
) -> StreamingResponse:
    """Server-Sent Events: stored events after `Last-Event-ID` (or `?after=`), then live."""
    await service.store.get_project(project_id)
    after_seq = parse_after(request.headers.get("last-event-id"), after)
    return StreamingResponse(
        event_stream(
            request,
            service.runtime.events,
            project_id,
            after_seq,
            idle=partial(service.is_idle, project_id),
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
