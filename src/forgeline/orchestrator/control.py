"""Pause, resume and cancel: stopping and continuing a task with the tasks run with it.

A task's family is the task itself and every unfinished task of its project (a phase
and its children run together, and stop together). Statuses go through `lifecycle`;
workflows through `engine`.
"""

from __future__ import annotations

import asyncio

from forgeline.domain.errors import ConflictError, NotFoundError
from forgeline.domain.events import EventType, NewEvent
from forgeline.domain.tasks import depth
from forgeline.orchestrator import engine, lifecycle
from forgeline.orchestrator.runtime import Runtime, executor_alive
from forgeline.store.schemas import ProjectStatus, TaskRecord, TaskStatus

ACTIVE = frozenset({"pending", "running", "waiting"})
UNFINISHED = ACTIVE | {"paused"}
STRAGGLER_CHECKS, STRAGGLER_WAIT_S = 3, 0.1


async def family(runtime: Runtime, task_id: str) -> list[TaskRecord]:
    """The task and every unfinished task of its project (a phase and its children)."""
    task = await runtime.store.get_task(task_id)
    tasks = await runtime.store.list_tasks(task.project_id)
    return [t for t in tasks if t.status in UNFINISHED or t.id == task.id]


async def pause(runtime: Runtime, task_id: str) -> TaskRecord:
    """Stop the task (and its project's other running tasks) at once; resumable.

    Raises:
        ConflictError: The task is not running.
    """
    running = [t for t in await family(runtime, task_id) if t.status in ACTIVE]
    if not running:
        raise ConflictError(f"task {task_id} is not running")
    await stop(runtime, running, "paused")
    await _stop_late_children(runtime, task_id)
    return await runtime.store.get_task(task_id)


async def _stop_late_children(runtime: Runtime, task_id: str) -> None:
    """Pause children a parent started while it was being paused (else left running)."""
    for _ in range(STRAGGLER_CHECKS):
        await asyncio.sleep(STRAGGLER_WAIT_S)
        late = [t for t in await family(runtime, task_id) if t.status in ACTIVE]
        if not late:
            return
        await stop(runtime, late, "paused")


async def cancel(runtime: Runtime, task_id: str) -> TaskRecord:
    """Stop the task for good.

    Raises:
        ConflictError: The task has already finished.
    """
    unfinished = [t for t in await family(runtime, task_id) if t.status in UNFINISHED]
    if not unfinished:
        raise ConflictError(f"task {task_id} has already finished")
    await stop(runtime, unfinished, "cancelled")
    return await runtime.store.get_task(task_id)


async def stop(runtime: Runtime, tasks: list[TaskRecord], status: TaskStatus) -> None:
    """Cancel the tasks' workflows, then record them (and their project) as `status`."""
    for task in tasks:
        await engine.cancel(task.workflow_id or task.id)
        local = runtime.running.get(task.id)
        if local is not None:
            local.cancel()
    project: ProjectStatus = "paused" if status == "paused" else "cancelled"
    await lifecycle.tasks_status(runtime, tasks, status, project=project)
    event = EventType.TASK_PAUSED if status == "paused" else EventType.TASK_CANCELLED
    for task in tasks:
        await _emit(runtime, task, event)


async def resume(runtime: Runtime, task_id: str) -> TaskRecord:
    """Continue a paused task (and the tasks paused with it) where it stopped.

    Children resume before their parents, so a parent finds them running.

    Raises:
        ConflictError: The task is not paused.
    """
    paused = [t for t in await family(runtime, task_id) if t.status == "paused"]
    if not paused:
        raise ConflictError(f"task {task_id} is not paused")
    tasks = await runtime.store.list_tasks(paused[0].project_id)
    by_id = {t.id: t for t in tasks}
    for task in sorted(paused, key=lambda t: depth(t, by_id), reverse=True):
        await _resume_one(runtime, task)
    await lifecycle.project_status(runtime, paused[0].project_id, "running")
    return await runtime.store.get_task(task_id)


async def _resume_one(runtime: Runtime, task: TaskRecord) -> None:
    """Resume one workflow; a child its paused parent never started waits for it."""
    await lifecycle.tasks_status(runtime, [task], "running")
    try:
        await engine.resume(task.workflow_id or task.id)
    except NotFoundError:
        await lifecycle.tasks_status(runtime, [task], "pending")
        return
    await _emit(runtime, task, EventType.TASK_RESUMED)


async def resume_interrupted(runtime: Runtime) -> list[str]:
    """Resume every workflow whose process died mid-run (kill -9, power loss)."""
    orphans = [wid for wid, executor in await engine.pending() if not executor_alive(executor)]
    for workflow_id in orphans:
        await engine.resume(workflow_id)
    return orphans


async def _emit(runtime: Runtime, task: TaskRecord, type_: EventType) -> None:
    data = {"phase": task.phase, "agent": task.agent}
    await runtime.events.emit(task.project_id, NewEvent(type=type_, task_id=task.id, data=data))
