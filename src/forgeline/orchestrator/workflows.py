"""The durable workflows: one per task, plus the pipeline that chains phases.

Each workflow is a thin DBOS entry point around a phase body; `task_lifecycle` gives
every task the same start, completion and failure handling. A failure the user should
see (a `ForgelineError`) ends the task as `failed` with its message, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from dbos import DBOS, SetWorkflowID
from dbos._error import DBOSAwaitedWorkflowCancelledError

from forgeline.domain.errors import ForgelineError
from forgeline.domain.events import EventType
from forgeline.orchestrator import phases
from forgeline.orchestrator.context import PhaseContext, load_context
from forgeline.orchestrator.durable import create_child_task, set_task_status
from forgeline.orchestrator.runtime import Runtime, current
from forgeline.store.schemas import ProjectStatus, TaskStatus

log = logging.getLogger("forgeline.workflows")

PhaseBody = Callable[[PhaseContext], Awaitable[dict[str, Any]]]

PHASE_BODIES: dict[str, PhaseBody] = {
    "research": phases.research,
    "planning": phases.planning,
    "implementation": phases.implementation,
    "documentation": phases.documentation,
}


@DBOS.workflow()
async def phase_workflow(project_id: str, task_id: str, phase: str) -> dict[str, Any]:
    """Run one phase's task to its end."""
    return await task_lifecycle(project_id, task_id, phase, PHASE_BODIES[phase])


@DBOS.workflow()
async def overwatcher_workflow(
    project_id: str, task_id: str, spec: dict[str, Any]
) -> dict[str, Any]:
    """Run one overwatcher (review, security or test) over a commit or the whole diff."""
    from forgeline.orchestrator.overwatch import overwatch

    async def body(ctx: PhaseContext) -> dict[str, Any]:
        return await overwatch(ctx, spec)

    return await task_lifecycle(project_id, task_id, "implementation", body, quiet=True)


@DBOS.workflow()
async def pipeline_workflow(project_id: str, task_id: str, phase_list: list[str]) -> dict[str, Any]:
    """Run phases one after another (what `forgeline run` does); stop at the first failure."""
    runtime = current()
    _track(runtime, task_id)
    await set_task_status(runtime, task_id, "running", workflow_id=task_id)
    results: dict[str, Any] = {}
    status: TaskStatus = "completed"
    for phase in phase_list:
        child_id = f"{task_id}-{phase}"
        await create_child_task(
            runtime, project_id, phase, phase, task_id=child_id, parent_id=task_id, kind="phase"
        )
        result = await run_child(phase_workflow, child_id, project_id, child_id, phase)
        results[phase] = result
        if result.get("status") != "completed":
            status = "failed"
            break
    await set_task_status(runtime, task_id, status, result={"phases": list(results)})
    return results


async def run_child(workflow: Any, child_id: str, *args: Any) -> dict[str, Any]:
    """Start a child workflow under a fixed id (idempotent on replay) and wait for it."""
    with SetWorkflowID(child_id):
        handle = await DBOS.start_workflow_async(workflow, *args)
    result: dict[str, Any] = await handle.get_result(polling_interval_sec=0.1)
    return result


async def start_child(workflow: Any, child_id: str, *args: Any) -> Any:
    """Start a child workflow under a fixed id without waiting."""
    with SetWorkflowID(child_id):
        return await DBOS.start_workflow_async(workflow, *args)


async def task_lifecycle(
    project_id: str, task_id: str, phase: str, body: PhaseBody, *, quiet: bool = False
) -> dict[str, Any]:
    """Start, run and finish one task with events, statuses and the session file."""
    runtime = current()
    _track(runtime, task_id)
    ctx = await load_context(runtime, project_id, task_id)
    if not quiet:
        await _project_status(runtime, project_id, "running", phase)
    await set_task_status(runtime, task_id, "running", workflow_id=task_id)
    if not quiet:
        await ctx.emit(EventType.PHASE_STARTED, {"phase": phase})
    await ctx.emit(EventType.TASK_STARTED, _started_data(ctx, phase))
    try:
        result = await body(ctx)
    except ForgelineError as exc:
        return await _fail(runtime, ctx, phase, str(exc), quiet=quiet)
    except (asyncio.CancelledError, DBOSAwaitedWorkflowCancelledError):
        raise  # paused or cancelled: the service has set the status
    except Exception as exc:
        log.exception("task %s failed", task_id)
        message = f"internal error: {type(exc).__name__}: {exc}"
        return await _fail(runtime, ctx, phase, message, quiet=quiet)
    result = {"status": "completed", **result}
    if not quiet:
        await _project_status(runtime, project_id, "completed", phase)
    await set_task_status(runtime, task_id, "completed", result=result)
    await ctx.emit(EventType.TASK_COMPLETED, {"phase": phase, "agent": ctx.agent, **_brief(result)})
    if not quiet:
        await ctx.emit(EventType.PHASE_COMPLETED, {"phase": phase})
    return result


def _started_data(ctx: PhaseContext, phase: str) -> dict[str, Any]:
    """A `task_started` event's data: the task's place in the tree comes with it."""
    task = ctx.task
    tree = {"kind": task.kind, "parent_id": task.parent_id, "round": task.round}
    return {"phase": phase, "agent": task.agent, **tree}


async def _fail(
    runtime: Runtime, ctx: PhaseContext, phase: str, message: str, *, quiet: bool
) -> dict[str, Any]:
    result = {"status": "failed", "error": message}
    if not quiet:
        await _project_status(runtime, ctx.project_id, "failed", phase)
    await set_task_status(runtime, ctx.task_id, "failed", error=message, result=result)
    await ctx.emit(EventType.TASK_FAILED, {"phase": phase, "agent": ctx.agent, "error": message})
    return result


async def _project_status(
    runtime: Runtime, project_id: str, status: ProjectStatus, phase: str
) -> None:
    """Set the project's status; the task status set right after rewrites session.json."""
    await runtime.store.update_project(project_id, status=status, current_phase=phase)


def _brief(result: dict[str, Any]) -> dict[str, Any]:
    keep = ("summary", "gate", "document", "commits", "verdict")
    return {k: result[k] for k in keep if k in result}


def _track(runtime: Runtime, task_id: str) -> None:
    task = asyncio.current_task()
    if task is not None:
        runtime.running[task_id] = task
        task.add_done_callback(lambda _t: runtime.running.pop(task_id, None))
