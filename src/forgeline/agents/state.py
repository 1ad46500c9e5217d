"""The state of one agent run and the types the loop shares with its callers.

A run that ends early raises an `AgentStop` carrying its `Outcome` (`LimitsExceeded`,
`LoopDetected`); the loop turns it into an `AgentResult`. Durability is injected
through a `StepRunner`; the workflow takes part through `Hooks`, and the project's
shared budget through `Spend`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, Field

from forgeline.agents.window import ContextPolicy
from forgeline.domain.events import EventSink, EventType, NewEvent
from forgeline.domain.messages import Message, ToolSpec, Usage
from forgeline.llm.base import Model
from forgeline.llm.pricing import DEFAULT_CONTEXT_WINDOW
from forgeline.tools.base import CommandRecord, Report, TodoItem, ToolContext

T = TypeVar("T")

EVENT_TEXT_CAP = 8_000
"""Characters of model text and tool results an event carries."""


class StepRunner(Protocol):
    """Runs one unit of work; a durable runner checkpoints its result."""

    async def __call__(self, name: str, fn: Callable[[], Awaitable[T]]) -> T: ...


async def run_directly(name: str, fn: Callable[[], Awaitable[T]]) -> T:
    """The default `StepRunner`: no durability."""
    return await fn()


class Outcome(StrEnum):
    COMPLETED = "completed"
    LIMIT = "limit"
    LOOP = "loop"


class AgentStop(Exception):
    """Ends the run early; carries the outcome and the reason."""

    outcome: Outcome = Outcome.LIMIT

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LimitsExceeded(AgentStop):
    outcome = Outcome.LIMIT


class LoopDetected(AgentStop):
    outcome = Outcome.LOOP


@dataclass(frozen=True)
class Budget:
    """Limits of one agent run; None means unlimited."""

    max_steps: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None


@dataclass(frozen=True)
class Reservation:
    """A model call's estimated cost, held against the project's budget until it is paid.

    Attributes:
        key: Identifies the reservation in its ledger.
        spent_usd: The project's recorded spend when the reservation was made.
        max_cost_usd: The project's budget.
    """

    key: int
    spent_usd: float
    max_cost_usd: float | None


class Spend(Protocol):
    """A budget shared by every agent of a project, checked before each model call."""

    async def reserve(self, *, model: str, prompt_tokens: int, max_tokens: int) -> Reservation:
        """Reserve a call's estimated cost; stops the run (pauses) when over the budget."""
        ...

    def release(self, reservation: Reservation) -> None:
        """Drop the reservation (its real cost is recorded by then, or never incurred)."""
        ...


class Hooks(Protocol):
    """How the workflow takes part in the loop."""

    async def before_model_call(self, run: AgentRun) -> str:
        """Text to add to the conversation before the next call (e.g. findings); "" for none."""
        ...

    async def after_turn(self, run: AgentRun) -> None:
        """Called after each turn's tool calls (e.g. to make a checkpoint commit)."""
        ...


class AgentResult(BaseModel):
    """How an agent run ended and what it produced."""

    outcome: Outcome
    reason: str = ""
    final_text: str = ""
    steps: int = 0
    usage: Usage = Field(default_factory=Usage)
    messages: list[Message] = Field(default_factory=list)
    reports: list[Report] = Field(default_factory=list)
    commands: list[CommandRecord] = Field(default_factory=list)
    todos: list[TodoItem] = Field(default_factory=list)


@dataclass
class AgentRun:
    """The state of one run, visible to hooks."""

    agent: str
    model: Model
    system: str
    tools: list[str]
    ctx: ToolContext
    sink: EventSink
    steps: StepRunner
    messages: list[Message]
    budget: Budget
    policy: ContextPolicy = field(default_factory=lambda: ContextPolicy(DEFAULT_CONTEXT_WINDOW))
    spend: Spend | None = None
    usage: Usage = field(default_factory=Usage)
    specs: list[ToolSpec] = field(default_factory=list)
    fixed_tokens: int = 0
    step_count: int = 0
    files_changed: bool = False
    _repeats: int = 0
    _last_signature: str = ""


async def emit(run: AgentRun, type_: EventType, data: dict[str, Any]) -> None:
    """Emit one event of the run, named by its agent."""
    data = {"agent": run.agent, **data}
    await run.sink.emit(NewEvent(type=type_, task_id=run.ctx.task_id, data=data))
