"""What phase logic needs from the durable engine, as protocols.

Phases depend on these, never on DBOS: `workflows.DurableEngine` implements them with
durable steps and child workflows; a test can pass an in-process implementation that
runs each step directly and answers each child from a script.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from forgeline.domain.results import OverwatchSpec, TaskOutcome

T = TypeVar("T")

ChildBody = Literal["overwatcher", "documentation"]


@dataclass(frozen=True)
class ChildTask:
    """A child task to run as its own (durable) workflow.

    Attributes:
        project_id: Its project.
        task_id: The child's task id (its row exists already).
        body: What it runs: an overwatcher, or the documentation phase.
        spec: The overwatcher's spec (overwatchers only).
    """

    project_id: str
    task_id: str
    body: ChildBody
    spec: OverwatchSpec | None = None


class PhaseEngine(Protocol):
    """Durable steps, messages and child tasks, as a phase sees them."""

    async def step(self, name: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Run `fn` once; after a crash or pause its recorded result is returned instead."""
        ...

    async def recv(self, topic: str, *, timeout_s: float) -> object | None:
        """The next message sent to this task on `topic`, or None after `timeout_s`."""
        ...

    async def start_child(self, child: ChildTask) -> None:
        """Start a child task without waiting for it (idempotent on replay)."""
        ...

    async def outcome(self, task_id: str) -> TaskOutcome:
        """Wait for a child task started with `start_child` and return its outcome."""
        ...
