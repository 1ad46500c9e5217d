"""What makes an agent run durable: exactly-once events, durable questions, child tasks."""

from __future__ import annotations

from typing import Literal

from forgeline.domain.errors import ConflictError
from forgeline.domain.events import EventType, NewEvent
from forgeline.domain.messages import Usage
from forgeline.domain.questions import Answer, Question
from forgeline.domain.tasks import TaskKind
from forgeline.orchestrator import lifecycle
from forgeline.orchestrator.ports import PhaseEngine
from forgeline.orchestrator.runtime import Runtime
from forgeline.store.schemas import TaskRecord
from forgeline.store.usage import NewUsage
from forgeline.workspace.layout import Workspace, append_log

ANSWER_WAIT_S = 24 * 3600


async def create_child_task(
    runtime: Runtime,
    engine: PhaseEngine,
    parent: TaskRecord,
    *,
    task_id: str,
    phase: str,
    agent: str,
    kind: TaskKind,
    round: int | None = None,
) -> TaskRecord:
    """Create a child task of `parent`, durably and idempotently.

    A pause can cancel the workflow after the row was written but before the step was
    recorded; the step then runs again on resume and finds the task already there.
    """
    store = runtime.store

    async def create() -> TaskRecord:
        try:
            return await store.create_task(
                parent.project_id,
                phase,
                agent,
                task_id=task_id,
                parent_id=parent.id,
                kind=kind,
                round=round,
            )
        except ConflictError:
            return await store.get_task(task_id)

    return await engine.step("create_task", create)


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

    def __init__(
        self,
        runtime: Runtime,
        engine: PhaseEngine,
        *,
        project_id: str,
        task_id: str,
        sink: DurableSink,
    ):
        self._runtime = runtime
        self._engine = engine
        self._project_id = project_id
        self._task_id = task_id
        self._sink = sink
        self._asked = 0

    async def __call__(self, questions: list[Question]) -> list[Answer]:
        self._asked += 1
        batch = f"{self._task_id}:q{self._asked}"
        store = self._runtime.store
        records = await self._engine.step(
            "store_questions",
            lambda: store.add_questions(self._project_id, self._task_id, batch, questions),
        )
        data = {"batch": batch, "questions": [r.model_dump(mode="json") for r in records]}
        await self._sink.emit(
            NewEvent(type=EventType.QUESTION_ASKED, task_id=self._task_id, data=data)
        )
        await self._status("waiting")
        answers = await self._wait_for_answers(batch)
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
        await lifecycle.project_status(self._runtime, self._project_id, status)
        await lifecycle.task_status(self._runtime, self._task_id, status)

    async def _wait_for_answers(self, batch: str) -> list[Answer]:
        while True:
            message = await self._engine.recv(batch, timeout_s=ANSWER_WAIT_S)
            if isinstance(message, list):
                return [Answer.model_validate(a) for a in message]
