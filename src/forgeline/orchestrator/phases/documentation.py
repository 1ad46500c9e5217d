"""Documentation: the agent updates docs and changelog; its work is committed separately."""

from __future__ import annotations

from forgeline.domain.results import DocumentationResult
from forgeline.orchestrator.agent_task import run_agent_task
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.phases.checkpoints import Checkpoints
from forgeline.orchestrator.phases.common import agent_task, check_outcome, repo_paths, user
from forgeline.workspace import git

DIFF_CAP = 40_000


async def run(ctx: PhaseContext) -> DocumentationResult:
    """The documentation phase's body (a child of the implementation task)."""
    task = agent_task(ctx, "documentation", writable=repo_paths(ctx))
    diff = await ctx.step("diff", lambda: _whole_diff(ctx))
    task.messages.append(
        user(
            f"Feature request:\n\n{ctx.project.feature_request}\n\n"
            f"The change so far:\n\n{diff}\n\n"
            "Update the documentation and changelog for this change. Do not change code."
        )
    )
    hooks = Checkpoints(ctx, review=False)
    result = await run_agent_task(ctx.runtime, ctx.engine, task, sink=ctx.sink, hooks=hooks)
    check_outcome(result, "documentation")
    await hooks.commit(result.final_text or "Document the change")
    return DocumentationResult(commits=hooks.commits, summary=result.final_text[:2000])


async def _whole_diff(ctx: PhaseContext) -> str:
    parts = []
    for repo in ctx.repos:
        base = repo.base_sha or "HEAD"
        text = await git.diff(ctx.ws.repo(repo.name), base)
        parts.append(f"### {repo.name}\n{text}")
    joined = "\n".join(parts)
    return joined if len(joined) <= DIFF_CAP else joined[:DIFF_CAP] + "\n[... diff cut ...]"
