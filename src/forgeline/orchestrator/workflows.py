"""The durable workflows: one per task, plus the pipeline that chains phases.

Each workflow is a thin DBOS entry point around a phase body, run by `task_run.run_task`.
This module and `engine` are the only ones that import `dbos`. `DurableEngine` is the
`PhaseEngine` phases get here: durable steps, messages, and children as workflows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from dbos import DBOS

from forgeline.domain.errors import ForgelineError
from forgeline.domain.results import (
    JsonObject,
    OverwatchResult,
    OverwatchSpec,
    PipelineResult,
    TaskOutcome,
)
from forgeline.orchestrator import engine, lifecycle
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.durable import create_child_task
from forgeline.orchestrator.journal import Journal
from forgeline.orchestrator.phases import (
    documentation,
    implementation,
    iterate,
    overwatch,
    planning,
    research,
)
from forgeline.orchestrator.ports import ChildTask
from forgeline.orchestrator.runtime import current
from forgeline.orchestrator.task_run import PhaseBody, run_task, track
from forgeline.store.schemas import TaskStatus

T = TypeVar("T")

PHASE_BODIES: dict[str, PhaseBody] = {
    "research": research.run,
    "planning": planning.run,
    "implementation": implementation.run,
    "documentation": documentation.run,
}
"""The phases by name: what `phase_workflow` runs (a new phase registers here)."""


class DurableEngine:
    """`PhaseEngine` of one workflow run: steps in the journal, children as DBOS workflows."""

    def __init__(self, project_id: str) -> None:
        store = current().store
        self._journal = Journal(store, project_id=project_id, workflow_id=engine.workflow_id())

    async def step(self, name: str, fn: Callable[[], Awaitable[T]]) -> T:
        return await self._journal.step(name, fn)

    async def recv(self, topic: str, *, timeout_s: float) -> object | None:
        return await engine.recv(topic, timeout_s=timeout_s)

    async def start_child(self, child: ChildTask) -> None:
        ids = (child.project_id, child.task_id)
        if child.body == "overwatcher" and child.spec is not None:
            spec = child.spec.model_dump(mode="json")
            await engine.start(overwatcher_workflow, child.task_id, *ids, spec, awaited=True)
        else:
            await engine.start(phase_workflow, child.task_id, *ids, child.body, awaited=True)

    async def outcome(self, task_id: str) -> TaskOutcome:
        return TaskOutcome.model_validate(await engine.result(task_id))


@DBOS.workflow()
async def phase_workflow(project_id: str, task_id: str, phase: str) -> JsonObject:
    """Run one phase's task to its end."""
    body = PHASE_BODIES[phase]
    outcome = await run_task(
        current(), DurableEngine(project_id), (project_id, task_id), phase, body
    )
    return outcome.to_json()


@DBOS.workflow()
async def overwatcher_workflow(project_id: str, task_id: str, spec: JsonObject) -> JsonObject:
    """Run one overwatcher (review, security or test) over a commit or the whole diff."""
    parsed = OverwatchSpec.model_validate(spec)

    async def body(ctx: PhaseContext) -> OverwatchResult:
        return await overwatch.run(ctx, parsed)

    ids = (project_id, task_id)
    outcome = await run_task(
        current(), DurableEngine(project_id), ids, "implementation", body, quiet=True
    )
    return outcome.to_json()


@DBOS.workflow()
async def iterate_workflow(project_id: str, task_id: str) -> JsonObject:
    """One GitHub review round of a project (DESIGN §13)."""
    ids = (project_id, task_id)
    outcome = await run_task(
        current(), DurableEngine(project_id), ids, "implementation", iterate.run
    )
    return outcome.to_json()


@DBOS.workflow()
async def pipeline_workflow(project_id: str, task_id: str, phase_list: list[str]) -> JsonObject:
    """Run phases one after another (what `forgeline run` does); stop at the first failure."""
    runtime, durable = current(), DurableEngine(project_id)
    track(runtime, task_id)
    task = await lifecycle.task_status(runtime, task_id, "running", workflow_id=task_id)
    done = PipelineResult()
    status: TaskStatus = "completed"
    for phase in phase_list:
        child_id = f"{task_id}-{phase}"
        await create_child_task(
            runtime, durable, task, task_id=child_id, phase=phase, agent=phase, kind="phase"
        )
        await engine.start(phase_workflow, child_id, project_id, child_id, phase, awaited=True)
        outcome = await durable.outcome(child_id)
        done.phases.append(phase)
        if not outcome.completed:
            status = "failed"
            break
    result = done.model_dump(mode="json")
    await lifecycle.task_status(runtime, task_id, status, result=result)
    return result


def workflow_for(kind: str) -> engine.Workflow:
    """The entry point a top-level task of `kind` is launched with.

    Raises:
        ForgelineError: An unknown kind.
    """
    found: dict[str, engine.Workflow] = {
        "phase": phase_workflow,
        "pipeline": pipeline_workflow,
        "iterate": iterate_workflow,
    }
    if kind not in found:
        raise ForgelineError(f"no workflow for a task of kind '{kind}'")
    return found[kind]
