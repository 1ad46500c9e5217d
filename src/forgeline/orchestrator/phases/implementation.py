"""Implementation: rounds of work and the final gate, then documentation, push and PRs.

The implementation agent works with checkpoint hooks (`checkpoints`); when it ends, the
final gate (`gate`) runs the three overwatchers over the whole diff. Open blockers send
it back with the gate's feedback, at most `FORGELINE_MAX_GATE_ROUNDS` times. Then the
documentation agent runs as a child task, every repository is pushed, and the pull
requests are opened or refreshed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from forgeline.domain.results import (
    DocumentationOutcome,
    DocumentationResult,
    GateResult,
    ImplementationResult,
)
from forgeline.orchestrator.agent_task import run_agent_task
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.durable import create_child_task
from forgeline.orchestrator.phases.checkpoints import Checkpoints
from forgeline.orchestrator.phases.common import (
    PhaseError,
    agent_task,
    check_outcome,
    last_text,
    read_document,
    repo_paths,
    user,
)
from forgeline.orchestrator.phases.gate import run_gate
from forgeline.orchestrator.phases.pulls import publish_pull_requests
from forgeline.orchestrator.phases.push import failed_pushes_message, push_all
from forgeline.orchestrator.ports import ChildTask


async def run(ctx: PhaseContext) -> ImplementationResult:
    """The implementation phase's body."""
    return await implement(ctx)


async def implement(
    ctx: PhaseContext, *, review: str = "", review_notes: str = ""
) -> ImplementationResult:
    """Rounds of work and gates, then documentation, push and pull requests.

    Args:
        ctx: The phase's context.
        review: Review comments to address (an `iterate` round, DESIGN §13), added to the
            agent's first message.
        review_notes: Markdown for the pull request body about what this round addressed.
    """
    task = agent_task(ctx, "implementation", writable=repo_paths(ctx))
    task.messages.append(user(_implementation_message(ctx) + review))
    hooks = Checkpoints(ctx)

    async def work() -> None:
        result = await run_agent_task(ctx.runtime, ctx.engine, task, sink=ctx.sink, hooks=hooks)
        check_outcome(result, "implementation")
        await hooks.commit(result.final_text)

    gate = await gate_rounds(
        work=work,
        gate=lambda round_: run_gate(ctx, hooks, round_),
        retry=lambda g: task.messages.append(user(g.feedback())),
        max_rounds=ctx.runtime.settings.max_gate_rounds,
    )
    docs = await _documentation_task(ctx)
    pushes = await push_all(ctx)
    error = failed_pushes_message(pushes)
    if error:
        raise PhaseError(error)
    pushed = [p.repo for p in pushes if p.ok and not p.skipped]
    pulls = await publish_pull_requests(ctx, pushed=pushed, gate=gate, extra=review_notes)
    return ImplementationResult(
        pull_requests=pulls,
        gate=gate,
        commits=hooks.commits,
        documentation=docs,
        pushes=pushes,
        summary=last_text(task.messages)[:2000],
    )


async def gate_rounds(
    *,
    work: Callable[[], Awaitable[None]],
    gate: Callable[[int], Awaitable[GateResult]],
    retry: Callable[[GateResult], None],
    max_rounds: int,
) -> GateResult:
    """Work, then gate; again with the gate's feedback until it passes or rounds run out.

    Raises:
        PhaseError: The last round's gate still has blockers (the first five named).
    """
    for round_ in range(1, max_rounds + 1):
        await work()
        result = await gate(round_)
        if result.passed:
            return result
        if round_ == max_rounds:
            named = "; ".join(b.message for b in result.blockers[:5])
            raise PhaseError(
                f"the final gate still has {len(result.blockers)} open blocker(s) after "
                f"{round_} round(s): {named}"
            )
        retry(result)
    raise PhaseError(f"FORGELINE_MAX_GATE_ROUNDS must be at least 1 (it is {max_rounds})")


def _implementation_message(ctx: PhaseContext) -> str:
    plan = read_document(ctx.ws.planning_md) or "(no planning.md: planning was skipped)"
    research = read_document(ctx.ws.research_md) or "(no research.md: research was skipped)"
    return (
        f"Feature request:\n\n{ctx.project.feature_request}\n\n"
        f"planning.md:\n\n{plan}\n\nresearch.md:\n\n{research}\n\n"
        f"Implement the plan in the repositories ({_branches(ctx)}). "
        "Forgeline commits a checkpoint after each turn in which you change files; do not "
        "commit or push yourself. Run the tests before you finish."
    )


def _branches(ctx: PhaseContext) -> str:
    """Which feature branch is checked out where (a clone may be on `forgeline/<slug>-2`)."""
    named = [f"{r.name} is on {r.branch or ctx.project.branch}" for r in ctx.repos]
    return "; ".join(named) if named else f"branch {ctx.project.branch} is checked out"


async def _documentation_task(ctx: PhaseContext) -> DocumentationOutcome:
    """Run the documentation agent as a child task; its commits come after the gate's."""
    child = f"{ctx.task_id}-docs"
    await create_child_task(
        ctx.runtime,
        ctx.engine,
        ctx.task,
        task_id=child,
        phase="documentation",
        agent="documentation",
        kind="documentation",
    )
    await ctx.engine.start_child(ChildTask(ctx.project_id, child, "documentation"))
    outcome = await ctx.engine.outcome(child)
    if not outcome.completed:
        raise PhaseError(f"documentation failed: {outcome.error}")
    return DocumentationOutcome(**outcome.output(DocumentationResult).model_dump())
