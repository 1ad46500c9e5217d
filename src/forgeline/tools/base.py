"""What every tool is, and the context it runs in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from forgeline.domain.events import EventSink, ListSink
from forgeline.domain.findings import CommandRecord as CommandRecord
from forgeline.domain.findings import Finding as Finding
from forgeline.domain.findings import Report as Report
from forgeline.domain.questions import Answer as Answer
from forgeline.domain.questions import Question as Question
from forgeline.domain.questions import QuestionOption as QuestionOption
from forgeline.sandbox.spec import SandboxPolicy


class TodoItem(BaseModel):
    content: str
    status: Literal["pending", "in_progress", "completed"]


AskUserFn = Callable[[list[Question]], Awaitable[list[Answer]]]


@dataclass
class ToolContext:
    """Everything a tool call may use. One per agent run.

    Attributes:
        workspace: Resolved workspace root; relative paths are relative to it.
        agent: The agent's name (for messages).
        writable: Files and directories the agent may write with Write/Edit.
        sandbox: The policy `Bash` runs under.
        sink: Where tools send their own events (e.g. todos).
        ask_user: How `AskUser` reaches the user; None refuses the tool.
        task_id: The task this agent runs in, for events.
        max_output_chars: Cap on every result.
    """

    workspace: Path
    agent: str = "agent"
    writable: tuple[Path, ...] = ()
    sandbox: SandboxPolicy | None = None
    sink: EventSink = field(default_factory=ListSink)
    ask_user: AskUserFn | None = None
    task_id: str | None = None
    max_output_chars: int = 30_000
    bash_default_timeout_ms: int = 120_000
    bash_max_timeout_ms: int = 600_000
    # Files read in this run, by resolved path -> mtime_ns when read (Edit requires it).
    read_files: dict[Path, int] = field(default_factory=dict)
    todos: list[TodoItem] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    # Every Bash command run, with its exit code and output tail: the gate's evidence.
    commands: list[CommandRecord] = field(default_factory=list)


class Tool(Protocol):
    """A tool the model can call. `run` raises `ToolError` for a refused or failed call."""

    name: ClassVar[str]
    description: ClassVar[str]
    input_model: ClassVar[type[BaseModel]]
    read_only: ClassVar[bool]

    async def run(self, args: Any, ctx: ToolContext) -> str:
        """Run the call with validated `args` (an `input_model` instance)."""
        ...


class ToolInput(BaseModel):
    """Base of every tool's input model: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
