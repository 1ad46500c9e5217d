"""The operations the CLI and the HTTP API share: projects, phases, pause/resume/cancel,
answers. Routes and commands stay thin by calling these."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from forgeline.domain.errors import ConflictError, NotFoundError, UserError
from forgeline.domain.events import EventType, NewEvent
from forgeline.domain.questions import Answer, validate_answer
from forgeline.llm import validate_model_spec
from forgeline.orchestrator import control, engine, lifecycle
from forgeline.orchestrator.budget import check_budget, check_resumable
from forgeline.orchestrator.control import ACTIVE, UNFINISHED
from forgeline.orchestrator.runtime import Runtime
from forgeline.orchestrator.workflows import workflow_for
from forgeline.store.schemas import (
    NewRepository,
    ProjectRecord,
    PullRequestMode,
    QuestionRecord,
    TaskRecord,
)
from forgeline.workspace.clone_extras import clone_warnings
from forgeline.workspace.layout import RepoSpec, create_workspace, delete_workspace, read_metadata
from forgeline.workspace.metadata import RepositoryMetadata
from forgeline.workspace.slug import branch_name, slugify

PHASES = ("research", "planning", "implementation")
__all__ = ["ACTIVE", "PHASES", "UNFINISHED", "Service", "parse_phases", "parse_pr_mode"]


def parse_phases(text: str | Sequence[str] | None) -> list[str]:
    """`research,planning` -> ["research", "planning"], in workflow order; validated."""
    if text is None:
        return list(PHASES)
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [p.strip() for p in items if p.strip()]
    unknown = [p for p in names if p not in PHASES]
    if unknown or not names:
        raise UserError(
            f"unknown phase(s) {', '.join(unknown) or '(none)'}: use {', '.join(PHASES)}"
        )
    return [p for p in PHASES if p in names]


def parse_pr_mode(text: str) -> PullRequestMode:
    """`draft`, `ready` or `off` (DESIGN §13), validated."""
    modes: dict[str, PullRequestMode] = {"draft": "draft", "ready": "ready", "off": "off"}
    mode = modes.get(text.strip().lower())
    if mode is not None:
        return mode
    raise UserError(f"unknown pull request mode '{text}': use draft, ready or off")


class Service:
    """Project and task operations over one started `Runtime`."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.store = runtime.store

    async def create_project(
        self,
        *,
        feature_request: str,
        repositories: Sequence[RepoSpec],
        name: str | None = None,
        project_id: str | None = None,
        phases: Sequence[str] | None = None,
        model: str | None = None,
        allow_network: bool = False,
        pr_mode: str = "draft",
        owner: str | None = None,
        max_cost_usd: float | None = None,
        agent_models: Mapping[str, str] | None = None,
    ) -> ProjectRecord:
        """Validate, clone into a new workspace, and record the project.

        `max_cost_usd` is the project's budget; None takes `FORGELINE_MAX_COST_USD`.
        `agent_models` maps agent names to the model each runs on, over `model`.
        """
        budget = check_budget(
            max_cost_usd if max_cost_usd is not None else self.runtime.settings.max_cost_usd
        )
        if not feature_request.strip():
            raise UserError("the feature request is empty")
        if not repositories:
            raise UserError("give at least one repository")
        if model:
            validate_model_spec(model)
        per_agent = self.check_agent_models(agent_models or {})
        mode = parse_pr_mode(pr_mode)
        pid = project_id or uuid.uuid4().hex[:12]
        if await self._exists(pid):
            raise ConflictError(f"project {pid} already exists")
        ws = await create_workspace(
            home=self.runtime.settings.home,
            project_id=pid,
            feature_request=feature_request,
            repositories=list(repositories),
            created_at=datetime.now(UTC),
        )
        slug = slugify(feature_request)
        meta = read_metadata(ws)
        warnings = await clone_warnings(
            [ws.repo(r.name) for r in meta.repositories],
            [r.url for r in repositories],
            submodules=self.runtime.settings.submodules,
        )
        repos = [
            NewRepository(**r.model_dump(), setup=spec.setup)
            for r, spec in zip(meta.repositories, repositories, strict=True)
        ]
        project = await self.store.create_project(
            project_id=pid,
            repositories=repos,
            name=name or feature_request.strip().splitlines()[0][:80],
            feature_request=feature_request,
            phases=parse_phases(phases),
            model=model,
            workspace=str(ws.root),
            slug=slug,
            branch=_project_branch(meta.repositories, slug),
            allow_network=allow_network,
            pr_mode=mode,
            owner=owner,
            max_cost_usd=budget,
            agent_models=per_agent,
        )
        await lifecycle.project_status(self.runtime, pid, "created")
        for message in warnings:
            event = NewEvent(type=EventType.WARNING, data={"message": message})
            await self.runtime.events.emit(pid, event)
        return project

    async def _exists(self, project_id: str) -> bool:
        try:
            await self.store.get_project(project_id)
        except NotFoundError:
            return False
        return True

    async def start_phase(self, project_id: str, phase: str) -> TaskRecord:
        """Start one phase's task; refused while another task runs or out of order."""
        project = await self.store.get_project(project_id)
        if phase not in PHASES:
            raise UserError(f"unknown phase '{phase}'")
        await self._check_can_start(project, phase)
        task = await self.store.create_task(
            project_id, phase, phase, task_id=_task_id(phase), kind="phase"
        )
        await self._launch(task, phase)
        return task

    async def start_pipeline(self, project_id: str, phases: Sequence[str]) -> TaskRecord:
        """Run the given phases in order as one task (what `forgeline run` does)."""
        project = await self.store.get_project(project_id)
        await self._check_can_start(project, phases[0])
        task = await self.store.create_task(
            project_id, "run", "pipeline", task_id=_task_id("run"), kind="pipeline"
        )
        await self._launch(task, list(phases))
        return task

    async def continue_pipeline(
        self, project_id: str, phases: Sequence[str], *, max_cost_usd: float | None = None
    ) -> TaskRecord:
        """Run more phases of an existing project in its own workspace (`run --project`).

        The project's phase list grows to include them, so its pages show every phase;
        `max_cost_usd`, when given, first becomes the project's budget.

        Raises:
            UserError: There is no such project (a clear message naming `forgeline list`).
        """
        try:
            project = await self.store.get_project(project_id)
        except NotFoundError:
            raise UserError(
                f"no project '{project_id}': `forgeline list` shows the projects and their ids"
            ) from None
        wanted = set(project.phases) | set(phases)
        extended = [p for p in PHASES if p in wanted]
        await self._check_can_start(project.model_copy(update={"phases": extended}), phases[0])
        await self.store.update_project(project_id, phases=extended)
        if max_cost_usd is not None:
            await self.set_budget(project_id, max_cost_usd)
        return await self.start_pipeline(project_id, phases)

    async def start_iteration(self, project_id: str) -> TaskRecord:
        """Start a GitHub review round (DESIGN §13); refused while the project has work
        or no pull request.

        Raises:
            NotFoundError: No such project.
            ConflictError: A task of the project is unfinished, or no pull request is open.
        """
        await self.store.get_project(project_id)
        if not await self.is_idle(project_id):
            raise ConflictError(f"project {project_id} has a task that has not finished")
        repos = await self.store.list_repositories(project_id)
        if not any(r.pull_request and r.pull_request.number for r in repos):
            raise ConflictError(
                f"project {project_id} has no pull request to iterate on: run the "
                "implementation on a GitHub repository first"
            )
        task = await self.store.create_task(
            project_id,
            "implementation",
            "implementation",
            task_id=_task_id("iterate"),
            kind="iterate",
        )
        await self._launch(task)
        return task

    async def _launch(self, task: TaskRecord, *extra: str | list[str]) -> None:
        await self.store.update_task(task.id, workflow_id=task.id)
        workflow = workflow_for(task.kind)
        await engine.start(workflow, task.id, task.project_id, task.id, *extra)

    async def wait(self, task_id: str) -> None:
        """Wait until the task's workflow ends (completed, failed, paused or cancelled)."""
        task = await self.store.get_task(task_id)
        with contextlib.suppress(Exception):  # paused, cancelled or failed: its status says
            await engine.result(task.workflow_id or task.id)

    async def _check_can_start(self, project: ProjectRecord, phase: str) -> None:
        tasks = await self.store.list_tasks(project.id)
        busy = [t for t in tasks if t.status in UNFINISHED]
        if busy:
            raise ConflictError(
                f"task {busy[0].id} ({busy[0].phase}) is {busy[0].status}; "
                "wait for it, or resume or cancel it first"
            )
        done = {t.phase for t in tasks if t.status == "completed"}
        for earlier in PHASES[: PHASES.index(phase)]:
            if earlier in project.phases and earlier not in done:
                raise ConflictError(f"start {earlier} before {phase} (phases run in order)")

    async def is_idle(self, project_id: str) -> bool:
        """No task of the project is pending, running, waiting or paused."""
        tasks = await self.store.list_tasks(project_id)
        return not any(t.status in UNFINISHED for t in tasks)

    async def get_task(self, task_id: str) -> TaskRecord:
        return await self.store.get_task(task_id)

    async def pause(self, task_id: str) -> TaskRecord:
        """Stop the task (and its project's other running tasks) at once; resumable."""
        return await control.pause(self.runtime, task_id)

    async def cancel(self, task_id: str) -> TaskRecord:
        """Stop the task for good."""
        return await control.cancel(self.runtime, task_id)

    async def set_budget(self, project_id: str, max_cost_usd: float | None) -> ProjectRecord:
        """Change the project's budget (None: no budget); a paused project may then resume."""
        return await self.store.update_project(project_id, max_cost_usd=check_budget(max_cost_usd))

    def check_agent_models(self, models: Mapping[str, str]) -> dict[str, str]:
        """Each name a known agent (built-in or the operator's), each model valid.

        Raises:
            UserError: An unknown agent name or an invalid model, named.
        """
        from forgeline.agents.loader import load_agents

        known = load_agents(home=self.runtime.settings.home)
        unknown = sorted(name for name in models if name not in known)
        if unknown:
            raise UserError(
                f"unknown agent(s) {', '.join(unknown)} in the model per agent: "
                f"use {', '.join(sorted(known))}"
            )
        return {name: validate_model_spec(spec) for name, spec in models.items()}

    async def set_models(
        self, project_id: str, *, model: str | None, agent_models: Mapping[str, str]
    ) -> ProjectRecord:
        """Change the project's model and its model per agent; later agent runs use them."""
        await self.store.get_project(project_id)
        per_agent = self.check_agent_models(agent_models)
        spec = validate_model_spec(model) if model else None
        return await self.store.update_project(project_id, model=spec, agent_models=per_agent)

    async def resume(self, task_id: str) -> TaskRecord:
        """Continue a paused task (and the tasks paused with it) where it stopped.

        A project its budget paused resumes only once the budget is raised.
        """
        paused = [t for t in await control.family(self.runtime, task_id) if t.status == "paused"]
        if paused:
            await check_resumable(self.runtime, paused[0].project_id)
        return await control.resume(self.runtime, task_id)

    async def answer(self, question_id: str, answer: Answer) -> QuestionRecord:
        """Record an answer; when its whole batch is answered, wake the waiting task."""
        question = await self.store.get_question(question_id)
        validate_answer(answer, options=question.options, multi_select=question.multi_select)
        record = await self.store.answer_question(question_id, answer)
        batch = [
            q
            for q in await self.store.list_questions(question.project_id)
            if q.batch == question.batch
        ]
        if all(q.answer is not None for q in batch):
            ordered = sorted(batch, key=lambda q: q.position)
            message = [q.answer.model_dump() for q in ordered if q.answer is not None]
            await engine.send(question.task_id or "", message, question.batch)
        return record

    async def delete_workspace(self, project_id: str) -> None:
        """Cancel the project's tasks, remove its workspace directory and its records."""
        await self.store.get_project(project_id)
        tasks = await self.store.list_tasks(project_id)
        active = [t for t in tasks if t.status in UNFINISHED]
        if active:
            await control.stop(self.runtime, active, "cancelled")
        await asyncio.to_thread(delete_workspace, self.runtime.settings.home, project_id)
        await self.store.delete_project(project_id)

    async def resume_interrupted(self) -> list[str]:
        """Resume every task whose process died mid-run (kill -9, power loss)."""
        return await control.resume_interrupted(self.runtime)


def _project_branch(repos: Sequence[RepositoryMetadata], slug: str) -> str:
    """The feature branch the clones are really on (`forgeline/<slug>-2` when taken)."""
    branches = [r.branch for r in repos if r.branch]
    return branches[0] if branches else branch_name(slug)


def _task_id(phase: str) -> str:
    return f"{phase}-{uuid.uuid4().hex[:10]}"
