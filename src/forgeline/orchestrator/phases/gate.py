"""The final gate: the three overwatchers over the whole diff, and what their reports mean.

Before it runs, every checkpoint overwatcher is waited for (a failed one is a warning:
the gate runs it again). Any open blocker fails the round; an overwatcher that failed
fails the phase. When the round passes, the task's open findings are resolved.
"""

from __future__ import annotations

from collections.abc import Sequence

from forgeline.domain.events import EventType
from forgeline.domain.results import GateResult, OverwatchResult, TaskOutcome
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.phases.checkpoints import OVERWATCHERS, Checkpoints
from forgeline.orchestrator.phases.common import PhaseError
from forgeline.workspace import git


async def run_gate(ctx: PhaseContext, hooks: Checkpoints, round_: int) -> GateResult:
    """Wait for checkpoint overwatchers, then run all three over the whole diff."""
    await _warn_failed_checkpoints(ctx, hooks)
    heads = await ctx.step("heads", lambda: _heads(ctx))
    ids = await hooks.start_overwatchers("gate", heads, round_=round_)
    outcomes = [await ctx.engine.outcome(task_id) for task_id in ids]
    gate = decide(round_, outcomes)
    if gate.passed:
        await ctx.step("resolve_findings", lambda: _resolve_all(ctx))
    await ctx.emit(EventType.GATE, gate.model_dump(mode="json"))
    return gate


def decide(round_: int, outcomes: Sequence[TaskOutcome]) -> GateResult:
    """The gate's verdict from the three overwatchers' outcomes (in `OVERWATCHERS` order).

    Raises:
        PhaseError: An overwatcher failed (its error named).
    """
    for agent, outcome in zip(OVERWATCHERS, outcomes, strict=True):
        if not outcome.completed:
            raise PhaseError(f"an overwatcher failed at the final gate ({agent}): {outcome.error}")
    reports = [o.output(OverwatchResult) for o in outcomes]
    blockers = [f for r in reports for f in r.findings if f.severity == "blocker"]
    tests = next((r.commands for r in reports if r.agent == "test"), [])
    return GateResult(
        round=round_,
        rounds=round_,
        passed=not blockers,
        blockers=blockers,
        verdicts={r.agent: r.verdict for r in reports},
        test_commands=tests,
    )


async def _warn_failed_checkpoints(ctx: PhaseContext, hooks: Checkpoints) -> None:
    """Wait for the checkpoint overwatchers; each one that failed is a warning, once."""
    for task_id in hooks.children:
        outcome = await ctx.engine.outcome(task_id)
        if outcome.completed or task_id in hooks.warned:
            continue
        hooks.warned.add(task_id)
        message = (
            f"overwatcher {task_id} failed on its checkpoint: {outcome.error} "
            "(the final gate runs it again)"
        )
        await ctx.emit(EventType.WARNING, {"message": message})


async def _heads(ctx: PhaseContext) -> dict[str, str]:
    return {r.name: await git.head_sha(ctx.ws.repo(r.name)) for r in ctx.repos}


async def _resolve_all(ctx: PhaseContext) -> None:
    """Resolve the open findings of this task's overwatchers (the gate passed)."""
    store = ctx.runtime.store
    rows = await store.list_findings(ctx.project_id, status="open")
    tasks = await store.list_tasks(ctx.project_id)
    mine = {t.id for t in tasks if t.parent_id == ctx.task_id}
    ids = [f.id for f in rows if f.task_id in mine]
    if ids:
        await store.resolve_findings(ctx.project_id, ids)
