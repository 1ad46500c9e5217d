"""One overwatcher run: a read-only agent on its own worktree at a commit."""

from __future__ import annotations

import shutil
from pathlib import Path

from forgeline.domain.events import EventType
from forgeline.domain.findings import CommandRecord, Finding, Report
from forgeline.domain.messages import Message
from forgeline.domain.results import AgentFinding, OverwatchResult, OverwatchSpec
from forgeline.orchestrator.agent_task import AgentTask, run_agent_task
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.evidence import approval_findings
from forgeline.orchestrator.phases.common import PhaseError, check_outcome, read_document
from forgeline.orchestrator.testsuite import repository_tests
from forgeline.workspace import git

DIFF_CAP = 60_000


async def run(ctx: PhaseContext, spec: OverwatchSpec) -> OverwatchResult:
    """Review `spec.commits` ({repo: sha}) and record the findings.

    A checkpoint run reviews each commit's own change; a gate run reviews the whole
    diff from the base branch.
    """
    agent = spec.agent
    root = ctx.ws.root / ".forgeline" / "worktrees" / ctx.task_id
    commits = spec.commits
    diff = await ctx.step("worktrees", lambda: _prepare(ctx, root, commits, spec.kind))
    try:
        task = _task(ctx, agent, root, commits)
        task.messages.append(Message(role="user", text=_message(ctx, spec, diff)))
        result = await run_agent_task(ctx.runtime, ctx.engine, task, sink=ctx.sink)
        check_outcome(result, agent)
    finally:
        await ctx.step("cleanup", lambda: _cleanup(ctx, root, commits))
    report = _merge(result.reports)
    if report is None:
        raise PhaseError(f"the {agent} overwatcher ended without calling Report")
    findings = report.findings + await _evidence_findings(
        ctx, agent, report, result.commands, commits
    )
    sha = ",".join(f"{k}@{v[:10]}" for k, v in commits.items())
    # Findings keep round 0 for checkpoints (the review page's "Checkpoints"); the task's
    # own `round` is the checkpoint number.
    round_ = 0 if spec.kind == "checkpoint" else spec.round
    await ctx.step("store_findings", lambda: _store(ctx, agent, sha, round_, findings))
    for finding in findings:
        await ctx.emit(EventType.FINDING, {"agent": agent, "commit": sha, **finding.model_dump()})
    return OverwatchResult(
        agent=agent,
        verdict=report.verdict,
        findings=[AgentFinding(agent=agent, **f.model_dump()) for f in findings],
        commands=result.commands,
    )


def _task(ctx: PhaseContext, agent: str, root: Path, commits: dict[str, str]) -> AgentTask:
    git_dirs = tuple(ctx.ws.git_dir(name) for name in commits)
    return AgentTask(
        project=ctx.project,
        repos=[r for r in ctx.repos if r.name in commits],
        ws=ctx.ws,
        task=ctx.task,
        agent=agent,
        root=root,
        writable=(),
        sandbox_writable=(root,),
        sandbox_readable=git_dirs,
    )


async def _prepare(ctx: PhaseContext, root: Path, commits: dict[str, str], kind: str) -> str:
    parts = []
    for name, sha in commits.items():
        repo = ctx.ws.repo(name)
        target = root / name
        if not target.exists():
            await git.worktree_add(repo, target, sha)
        base = f"{sha}~1" if kind == "checkpoint" else _base(ctx, name)
        parts.append(
            f"### {name} ({base[:12]}..{sha[:12]})\n" + await git.diff(repo, base, head=sha)
        )
    text = "\n".join(parts)
    return text if len(text) <= DIFF_CAP else text[:DIFF_CAP] + "\n[... diff cut ...]"


def _base(ctx: PhaseContext, name: str) -> str:
    repo = next(r for r in ctx.repos if r.name == name)
    return repo.base_sha or "HEAD~1"


async def _cleanup(ctx: PhaseContext, root: Path, commits: dict[str, str]) -> None:
    for name in commits:
        await git.worktree_remove(ctx.ws.repo(name), root / name)
    shutil.rmtree(root, ignore_errors=True)


def _message(ctx: PhaseContext, spec: OverwatchSpec, diff: str) -> str:
    scope = "this checkpoint commit" if spec.kind == "checkpoint" else "the whole change"
    plan = read_document(ctx.ws.planning_md) or "(no planning.md)"
    return (
        f"Feature request:\n\n{ctx.project.feature_request}\n\nplanning.md:\n\n{plan}\n\n"
        f"Review {scope}. The repositories in your workspace are checked out at the commit "
        f"under review. The diff:\n\n```diff\n{diff}\n```\n\n"
        "Finish by calling Report exactly once."
    )


def _merge(reports: list[Report]) -> Report | None:
    if not reports:
        return None
    findings = [f for r in reports for f in r.findings]
    return Report(verdict=reports[-1].verdict, findings=findings)


async def _evidence_findings(
    ctx: PhaseContext,
    agent: str,
    report: Report,
    commands: list[CommandRecord],
    commits: dict[str, str],
) -> list[Finding]:
    """The test overwatcher's approval is checked against the commands it really ran."""
    if agent != "test" or report.verdict != "approve":
        return []
    tested = await ctx.step("detect_tests", lambda: _tested_repos(ctx, commits))
    return approval_findings(report.verdict, commands, tested)


async def _tested_repos(ctx: PhaseContext, commits: dict[str, str]) -> dict[str, str]:
    found = {}
    for name, sha in commits.items():
        reason = await repository_tests(ctx.ws.repo(name), sha)
        if reason:
            found[name] = reason
    return found


async def _store(
    ctx: PhaseContext, agent: str, sha: str, round_: int, findings: list[Finding]
) -> None:
    store = ctx.runtime.store
    for f in findings:
        await store.add_finding(ctx.project_id, ctx.task_id, agent, f, commit_sha=sha, round=round_)
