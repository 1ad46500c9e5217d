"""Events: every step of a task, persisted then published (DESIGN §8)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, Field


class EventType(StrEnum):
    """The event types of DESIGN §8, plus a few of our own."""

    PHASE_STARTED = "phase_started"
    TASK_STARTED = "task_started"
    MODEL_TEXT = "model_text"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    QUESTION_ASKED = "question_asked"
    QUESTION_ANSWERED = "question_answered"
    FINDING = "finding"
    COMMIT = "commit"
    TASK_PAUSED = "task_paused"
    TASK_RESUMED = "task_resumed"
    TASK_COMPLETED = "task_completed"
    TASK_FAILED = "task_failed"
    TASK_CANCELLED = "task_cancelled"
    USAGE = "usage"
    PHASE_COMPLETED = "phase_completed"
    # Extensions
    TODOS = "todos"
    WARNING = "warning"
    GATE = "gate"
    PUSH = "push"
    COMMAND = "command"
    PULL_REQUEST = "pull_request"
    DOCUMENT_UPDATED = "document_updated"
    CONTEXT_COMPACTED = "context_compacted"
    BUDGET_EXCEEDED = "budget_exceeded"
    AGENT_OVERRIDE = "agent_override"
    SETUP_STARTED = "setup_started"
    SETUP_OUTPUT = "setup_output"
    SETUP_COMPLETED = "setup_completed"
    SETUP_FAILED = "setup_failed"


class NewEvent(BaseModel):
    """An event before it is given its sequence number."""

    type: EventType
    task_id: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    # Stable key making persistence idempotent when a durable step is re-run.
    dedup_key: str | None = None


class Event(BaseModel):
    """A persisted event: `{seq, project_id, task_id?, type, ts, data}`."""

    seq: int
    project_id: str
    task_id: str | None = None
    type: str
    ts: datetime = Field(default_factory=lambda: datetime.now(UTC))
    data: dict[str, Any] = Field(default_factory=dict)


class EventSink(Protocol):
    """Where the agent loop sends its events. The workflow persists them."""

    async def emit(self, event: NewEvent) -> None:
        """Record one event."""
        ...


class ListSink:
    """An in-memory sink, for tests and simple embedding."""

    def __init__(self) -> None:
        self.events: list[NewEvent] = []

    async def emit(self, event: NewEvent) -> None:
        self.events.append(event)

    def of_type(self, type_: EventType) -> list[NewEvent]:
        return [e for e in self.events if e.type == type_]
