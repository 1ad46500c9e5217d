"""Durable steps in Forgeline's own database: done once, replayed after a crash or pause.

A workflow's steps are numbered in the order it starts them (steps a turn runs side
by side are numbered when they start, which a replay repeats). A step that finishes,
with a value or an exception, is recorded as its pickled outcome in `steps` before
the workflow goes on; when the workflow runs again (after kill -9, or resumed from a
pause) each recorded step returns or raises its outcome without running. A step
started inside another step runs as part of it (as in DBOS). A step cut short by a
cancellation is not recorded, so it runs again on resume; once a run is stopped it
starts no further step (as DBOS refuses a cancelled workflow's steps).

Each record is one write through the store's writer (group-committed with the
events), instead of a DBOS step's two system-database transactions, and it reads the
task's status in the same transaction: a workflow paused or cancelled by another
process stops at its next step.
"""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from forgeline.domain.errors import ForgelineError
from forgeline.store import Store
from forgeline.store.journal import NewStep, RecordedStep

T = TypeVar("T")

STOPPED_STATUSES = frozenset({"paused", "cancelled"})
"""A task in one of these stops at its next step (it was stopped from elsewhere)."""

_inside_step: ContextVar[bool] = ContextVar("forgeline_inside_step", default=False)


class ReplayMismatch(ForgelineError):
    """A replayed workflow started a different step than it had recorded at that place."""


@dataclass(frozen=True)
class _Outcome(Generic[T]):
    value: T | None = None
    error: BaseException | None = None

    def unwrap(self) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class Journal:
    """The durable steps of one run of one workflow.

    Args:
        store: Where the steps are recorded.
        project_id: The workflow's project.
        workflow_id: The workflow (its task's id).
    """

    def __init__(self, store: Store, *, project_id: str, workflow_id: str) -> None:
        self._store = store
        self._project_id = project_id
        self._workflow_id = workflow_id
        self._count = 0
        self._stopped = False
        self._recorded: asyncio.Task[dict[int, RecordedStep]] | None = None

    async def step(self, name: str, fn: Callable[[], Awaitable[T]]) -> T:
        """Run `fn` once as a durable step; after a crash or pause, its recorded outcome.

        Raises:
            ReplayMismatch: A replay started another step at this place (the workflow
                is not deterministic).
            asyncio.CancelledError: The task was paused or cancelled meanwhile.
            Exception: What `fn` raised (then, or recorded).
        """
        if _inside_step.get():
            return await fn()
        self._check_running()
        number = self._count
        self._count += 1
        try:
            return await self._step(number, name, fn)
        except asyncio.CancelledError:
            self._stopped = True
            raise

    def _check_running(self) -> None:
        """A stopped run starts no step (a `finally` after a pause must not record one:
        the resumed run would find it where its next real step belongs)."""
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            self._stopped = True
        if self._stopped:
            raise asyncio.CancelledError(f"task {self._workflow_id} was stopped")

    async def _step(self, number: int, name: str, fn: Callable[[], Awaitable[T]]) -> T:
        recorded = (await self._recorded_steps()).get(number)
        if recorded is not None:
            replayed: _Outcome[T] = self._replay(number, name, recorded)
            return replayed.unwrap()
        started = datetime.now(UTC)
        outcome = await _run(fn)
        output = _pickled(outcome)
        status = await self._store.record_step(
            NewStep(self._project_id, self._workflow_id, number, name, output, started)
        )
        if status in STOPPED_STATUSES:
            raise asyncio.CancelledError(f"task {self._workflow_id} is {status}")
        return outcome.unwrap()

    async def _recorded_steps(self) -> dict[int, RecordedStep]:
        """The steps recorded before this run (read once, shared by concurrent steps)."""
        if self._recorded is None:
            self._recorded = asyncio.ensure_future(self._store.recorded_steps(self._workflow_id))
        return await asyncio.shield(self._recorded)

    def _replay(self, number: int, name: str, recorded: RecordedStep) -> _Outcome[Any]:
        if recorded.name != name:
            raise ReplayMismatch(
                f"workflow {self._workflow_id} replayed step {number} as '{name}', "
                f"but it was recorded as '{recorded.name}'"
            )
        try:
            # Written only by Forgeline, in its own database (as DBOS pickles its steps).
            outcome: _Outcome[Any] = pickle.loads(recorded.output)  # noqa: S301
        except Exception as exc:  # recorded by another version of Forgeline
            raise ReplayMismatch(
                f"step {number} ('{name}') of workflow {self._workflow_id} cannot be "
                f"read back ({type(exc).__name__}: {exc})"
            ) from None
        return outcome


async def _run(fn: Callable[[], Awaitable[T]]) -> _Outcome[T]:
    """Run a step's body with nested steps inline; its value or its exception."""
    token = _inside_step.set(True)
    try:
        return _Outcome(value=await fn())
    except Exception as exc:
        return _Outcome(error=exc)
    finally:
        _inside_step.reset(token)


def _pickled(outcome: _Outcome[T]) -> bytes:
    """The outcome as recorded; an exception that does not read back, as a plain error."""
    if outcome.error is None:
        return pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    error = outcome.error
    try:
        data = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.loads(data)  # noqa: S301 (our own bytes: does the error read back?)
    except Exception:
        plain = ForgelineError(f"{type(error).__name__}: {error}")
        return pickle.dumps(_Outcome[T](error=plain), protocol=pickle.HIGHEST_PROTOCOL)
    return data
