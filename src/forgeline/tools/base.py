"""What every tool is, and the context it runs in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from forgeline.domain.events import EventSink, ListSink
from forgeline.domain.findings import CommandRecord as CommandRecord
from forgeline.domain.findings import Finding as Finding
from forgeline.domain.findings import Report as Report
from forgeline.domain.questions import Answer as Answer
from forgeline.domain.questions import Question as Question
from forgeline.domain.questions import QuestionOption as QuestionOption

if TYPE_CHECKING:
    from forgeline.sandbox.limits import ResourceLimits


class TodoItem(BaseModel):
    content: str
    status: Literal["pending", "in_progress", "completed"]


AskUserFn = Callable[[list[Question]], Awaitable[list[Answer]]]


@dataclass(frozen=True)
class Bind:
    """A directory shown at another path inside the sandbox.

    Attributes:
        source: The host directory.
        target: Where the command sees it (created inside hidden trees as needed).
        writable: Whether the command may write through it (git metadata stays read-only).
    """

    source: Path
    target: Path
    writable: bool = False


DEFAULT_NETWORK_PORTS: tuple[int, ...] = (53, 80, 443)
"""With the network on, the TCP ports a command may connect to by default: DNS, HTTP, HTTPS."""


@dataclass(frozen=True)
class SandboxPolicy:
    """What a sandboxed command may see and touch.

    Attributes:
        workspace: The workspace root; the command's working directory.
        writable: Directories the command may write (everything else is read-only).
        readable: Extra paths made visible read-only after hiding (e.g. a worktree's
            git directory inside a hidden tree, a repository environment, a toolchain).
        hidden: Directories made invisible (e.g. `$FORGELINE_HOME`, other workspaces).
        network: Whether the command may use the network.
        network_ports: With the network, the only TCP ports it may connect to (Landlock;
            `sandbox.netports`); None: every port.
        enabled: False only when the operator set `FORGELINE_SANDBOX=off`.
        path_prepend: Directories put first on the command's `PATH`, in this order
            (e.g. an environment's `bin`); add them to `readable` if they are hidden.
        limits: Resource limits (processes, memory, ...); None means the defaults.
        binds: Directories shown at another path (a repository's environment alias).
        environment: Extra variables for the command (`VIRTUAL_ENV`...); secret-looking
            names are still dropped.
    """

    workspace: Path
    writable: tuple[Path, ...] = ()
    readable: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = ()
    network: bool = False
    network_ports: tuple[int, ...] | None = DEFAULT_NETWORK_PORTS
    enabled: bool = True
    path_prepend: tuple[str, ...] = ()
    limits: ResourceLimits | None = None
    binds: tuple[Bind, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()


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
