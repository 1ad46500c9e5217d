"""What makes an agent run durable: DBOS steps, exactly-once events, durable questions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

from dbos import DBOS

from forgeline.domain.errors import ConflictError
from forgeline.domain.events import EventType, NewEvent
from forgeline.domain.messages import Usage
from forgeline.domain.tasks import TaskKind
from forgeline.orchestrator.runtime import Runtime
from forgeline.store.schemas import TaskRecord, TaskStatus
from forgeline.store.usage import NewUsage
from forgeline.tools.base import Answer, Question
from forgeline.workspace.layout import Workspace, append_log

T = TypeVar("T")

ANSWER_WAIT_S = 24 * 3600


async def durable_step(name: str, fn: Callable[[], Awaitable[T]]) -> T:
    """A `StepRunner` making each call a DBOS step: done once, replayed after a crash."""

    async def call() -> T:
        return await fn()

    result: T = await DBOS.run_step_async({"name": name}, call)
    return result


async def create_child_task(
    runtime: Runtime,
    project_id: str,
    phase: str,
    agent: str,
    *,
    task_id: str,
    parent_id: str,
    kind: TaskKind,
    round: int | None = None,
) -> TaskRecord:
    """Create a child task under `parent_id`, durably and idempotently.

    A pause can cancel the workflow after the row was written but before the step was
    recorded; the step then runs again on resume and finds the task already there.
    """

    async def create() -> TaskRecord:
        try:
            return await runtime.store.create_task(
                project_id,
                phase,
                agent,
                task_id=task_id,
                parent_id=parent_id,
                kind=kind,
                round=round,
            )
        except ConflictError:
            return await runtime.store.get_task(task_id)

    return await durable_step("create_task", create)


class DurableSink:
    """Persists a workflow's events exactly once, then publishes them and logs them.

    Each event gets a key from the workflow id and its position among the events that
    workflow emits. A replayed workflow emits the same events in the same order, so
    the store recognises them and nothing is duplicated or published twice.
    """

    def __init__(self, runtime: Runtime, *, project_id: str, workflow_id: str, ws: Workspace):
        self._runtime = runtime
        self._project_id = project_id
        self._workflow_id = workflow_id
        self._ws = ws
        self._count = 0

    async def emit(self, event: NewEvent) -> None:
        self._count += 1
        if event.dedup_key is None:
            event = event.model_copy(update={"dedup_key": f"{self._workflow_id}:{self._count}"})
        usage = _usage_of(event) if event.type == EventType.USAGE else None
        stored, created = await self._runtime.events.emit_once(self._project_id, event, usage=usage)
        if not created:
            return
        task = stored.task_id or self._workflow_id
        record = {"seq": stored.seq, "type": stored.type, "data": stored.data}
        append_log(self._ws, task, record)


def _usage_of(event: NewEvent) -> NewUsage:
    """The usage row a `usage` event records (written in the event's transaction)."""
    data = event.data
    usage = Usage.model_validate(data)
    return NewUsage(agent=str(data.get("agent", "")), model=str(data.get("model", "")), usage=usage)


class DurableQuestions:
    """`AskUser` inside a workflow: store the questions, wait durably for the answers."""

    def __init__(self, runtime: Runtime, *, project_id: str, task_id: str, sink: DurableSink):
        self._runtime = runtime
        self._project_id = project_id
        self._task_id = task_id
        self._sink = sink
        self._asked = 0

    async def __call__(self, questions: list[Question]) -> list[Answer]:
        self._asked += 1
        batch = f"{self._task_id}:q{self._asked}"
        store = self._runtime.store
        records = await durable_step(
            "store_questions",
            lambda: store.add_questions(self._project_id, self._task_id, batch, questions),
        )
        data = {"batch": batch, "questions": [r.model_dump(mode="json") for r in records]}
        await self._sink.emit(
            NewEvent(type=EventType.QUESTION_ASKED, task_id=self._task_id, data=data)
        )
        await self._status("waiting")
        answers = await _wait_for_answers(batch)
        await self._status("running")
        rendered = [{"question": a.question, "answer": a.render()} for a in answers]
        answered = NewEvent(
            type=EventType.QUESTION_ANSWERED,
            task_id=self._task_id,
            data={"batch": batch, "answers": rendered},
        )
        await self._sink.emit(answered)
        return answers

    async def _status(self, status: Literal["waiting", "running"]) -> None:
        """The task and its project wait for the user together (the UI shows it)."""
        await self._runtime.store.update_project(self._project_id, status=status)
        await set_task_status(self._runtime, self._task_id, status)


async def _wait_for_answers(batch: str) -> list[Answer]:
    while True:
        message = await DBOS.recv_async(batch, timeout_seconds=ANSWER_WAIT_S)
        if message is not None:
            return [Answer.model_validate(a) for a in message]


async def set_task_status(
    runtime: Runtime, task_id: str, status: TaskStatus, **fields: Any
) -> None:
    """Update a task's status and the session file.

    Deliberately not a durable step: a replay (after a pause or a crash) re-applies each
    status in order, so the stored status always says where the run really is.
    """
    from forgeline.orchestrator.session import sync_session

    task = await runtime.store.update_task(task_id, status=status, **fields)
    await sync_session(runtime, task.project_id)
