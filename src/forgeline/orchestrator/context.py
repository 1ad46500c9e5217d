"""What every phase body gets: the project, its workspace, the task, its events and engine."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from forgeline.domain.events import EventType, NewEvent
from forgeline.orchestrator.durable import DurableSink
from forgeline.orchestrator.ports import PhaseEngine
from forgeline.orchestrator.runtime import Runtime
from forgeline.store.schemas import ProjectRecord, RepositoryRecord, TaskRecord
from forgeline.workspace.layout import Workspace, open_workspace

T = TypeVar("T")


@dataclass
class PhaseContext:
    """One task's world.

    Attributes:
        runtime: The process's runtime (settings, store, events, models).
        project: The project, as read when the task started.
        repos: Its repositories.
        task: The task being run.
        ws: The project's workspace.
        sink: The task's exactly-once event sink.
        engine: Durable steps, messages and child tasks.
    """

    runtime: Runtime
    project: ProjectRecord
    repos: list[RepositoryRecord]
    task: TaskRecord
    ws: Workspace
    sink: DurableSink
    engine: PhaseEngine

    @property
    def project_id(self) -> str:
        return self.project.id

    @property
    def task_id(self) -> str:
        return self.task.id

    @property
    def agent(self) -> str:
        return self.task.agent

    async def step(self, name: str, fn: Callable[[], Awaitable[T]]) -> T:
        """A durable step of this task (see `PhaseEngine.step`)."""
        return await self.engine.step(name, fn)

    async def emit(self, type_: EventType, data: dict[str, object]) -> None:
        await self.sink.emit(NewEvent(type=type_, task_id=self.task_id, data=data))


async def load_context(
    runtime: Runtime, engine: PhaseEngine, project_id: str, task_id: str
) -> PhaseContext:
    """Read the project, repositories and task (a durable step: stable across replays)."""
    store = runtime.store

    async def read() -> tuple[ProjectRecord, list[RepositoryRecord], TaskRecord]:
        project = await store.get_project(project_id)
        repos = await store.list_repositories(project_id)
        return project, repos, await store.get_task(task_id)

    project, repos, task = await engine.step("load", read)
    ws = open_workspace(runtime.settings.home, project_id)
    sink = DurableSink(runtime, project_id=project_id, workflow_id=task_id, ws=ws)
    return PhaseContext(runtime, project, repos, task, ws, sink, engine)
