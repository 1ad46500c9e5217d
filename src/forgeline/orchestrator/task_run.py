"""One task's run from start to end: statuses, events, and a failure the user can read.

Every workflow runs its phase body through `run_task`, so every task starts, completes
and fails the same way. A failure the user should see (a `ForgelineError`) ends the task
as `failed` with its message, never a traceback; a pause or cancel is not a failure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from forgeline.domain.errors import ForgelineError
from forgeline.domain.events import EventType
from forgeline.domain.results import TaskOutcome
from forgeline.orchestrator import engine, lifecycle
from forgeline.orchestrator.context import PhaseContext, load_context
from forgeline.orchestrator.ports import PhaseEngine
from forgeline.orchestrator.runtime import Runtime
from forgeline.store.schemas import ProjectStatus

log = logging.getLogger("forgeline.tasks")

PhaseBody = Callable[[PhaseContext], Awaitable[BaseModel]]

# The parts of a result the `task_completed` event repeats.
_BRIEF = ("summary", "gate", "document", "commits", "verdict")


async def run_task(
    runtime: Runtime,
    durable: PhaseEngine,
    ids: tuple[str, str],
    phase: str,
    body: PhaseBody,
    *,
    quiet: bool = False,
) -> TaskOutcome:
    """Start, run and finish one task with its events, statuses and the session file.

    Args:
        runtime: The process's runtime.
        durable: The engine the task's steps and children go through.
        ids: (project id, task id).
        phase: The phase the task belongs to (named in its events).
        body: The phase's logic.
        quiet: For a child (overwatcher): the project's status and phase events stay.
    """
    project_id, task_id = ids
    track(runtime, task_id)
    ctx = await load_context(runtime, durable, project_id, task_id)
    await _started(ctx, phase, quiet=quiet)
    try:
        output = await body(ctx)
    except ForgelineError as exc:
        return await _failed(ctx, phase, str(exc), quiet=quiet)
    except engine.STOPPED:
        raise  # paused or cancelled: `control` has set the status
    except Exception as exc:
        log.exception("task %s failed", task_id)
        message = f"internal error: {type(exc).__name__}: {exc}"
        return await _failed(ctx, phase, message, quiet=quiet)
    return await _completed(ctx, phase, TaskOutcome.of(output), quiet=quiet)


async def _started(ctx: PhaseContext, phase: str, *, quiet: bool) -> None:
    project: ProjectStatus | None = None if quiet else "running"
    await lifecycle.task_status(
        ctx.runtime, ctx.task_id, "running", workflow_id=ctx.task_id, project=project, phase=phase
    )
    if not quiet:
        await ctx.emit(EventType.PHASE_STARTED, {"phase": phase})
    await ctx.emit(EventType.TASK_STARTED, {"phase": phase, "agent": ctx.agent, **_place(ctx)})


def _place(ctx: PhaseContext) -> dict[str, object]:
    """Where the task sits in the tree (the live log groups by it)."""
    task = ctx.task
    return {"kind": task.kind, "parent_id": task.parent_id, "round": task.round}


async def _completed(
    ctx: PhaseContext, phase: str, outcome: TaskOutcome, *, quiet: bool
) -> TaskOutcome:
    result = outcome.to_json()
    project: ProjectStatus | None = None if quiet else "completed"
    await lifecycle.task_status(
        ctx.runtime, ctx.task_id, "completed", result=result, project=project, phase=phase
    )
    brief = {k: result[k] for k in _BRIEF if k in result}
    await ctx.emit(EventType.TASK_COMPLETED, {"phase": phase, "agent": ctx.agent, **brief})
    if not quiet:
        await ctx.emit(EventType.PHASE_COMPLETED, {"phase": phase})
    return outcome


async def _failed(ctx: PhaseContext, phase: str, message: str, *, quiet: bool) -> TaskOutcome:
    outcome = TaskOutcome.failure(message)
    project: ProjectStatus | None = None if quiet else "failed"
    await lifecycle.task_status(
        ctx.runtime,
        ctx.task_id,
        "failed",
        error=message,
        result=outcome.to_json(),
        project=project,
        phase=phase,
    )
    await ctx.emit(EventType.TASK_FAILED, {"phase": phase, "agent": ctx.agent, "error": message})
    return outcome


def track(runtime: Runtime, task_id: str) -> None:
    """Remember the asyncio task running `task_id` here, so a pause can cancel it at once."""
    task = asyncio.current_task()
    if task is not None:
        runtime.running[task_id] = task
        task.add_done_callback(lambda _t: runtime.running.pop(task_id, None))
