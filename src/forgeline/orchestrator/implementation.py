"""Implementation: checkpoint commits, overwatchers at each checkpoint, the final gate,
documentation and the push.

The implementation agent works; after each turn that changed files Forgeline commits a
checkpoint and starts the review, security and test overwatchers on it (child
workflows, concurrent). Their findings reach the agent before its next model call.
When the agent ends, the three run over the whole diff; open blockers send it back
for another round, at most `max_gate_rounds` times.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from forgeline.agents.loop import AgentRun
from forgeline.domain.events import EventType
from forgeline.domain.messages import Message
from forgeline.domain.tasks import children_of, subtree
from forgeline.github.authorship import commit_author
from forgeline.github.pulls import publish_pull_requests
from forgeline.orchestrator.agent_task import run_agent_task
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.durable import create_child_task, durable_step
from forgeline.orchestrator.environments import refresh_environments
from forgeline.orchestrator.phases import (
    PhaseError,
    agent_task,
    check_outcome,
    read_document,
    run_index,
)
from forgeline.orchestrator.push import failed_pushes_message, push_all
from forgeline.store.schemas import FindingRecord
from forgeline.workspace import git

OVERWATCHERS = ("review", "security", "test")
# How often a finished child's result is polled until DBOS has recorded it.
POLL_S = 0.1
# DBOS's own poll interval: for children not awaited here, or cancelled or failed.
CANCELLED_POLL_S = 1.0


@dataclass
class Checkpoints:
    """The implementation agent's hooks: commit, start overwatchers, deliver findings."""

    ctx: PhaseContext
    run_base: dict[str, int]
    commits: list[dict[str, str]] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    # Handles of the children this process started (awaited, not polled; see wait_for).
    handles: dict[str, Any] = field(default_factory=dict)
    warned: set[str] = field(default_factory=set)
    last_finding: int = 0
    runs: int = 0
    checkpoints: int = 0
    review: bool = True

    async def before_model_call(self, run: AgentRun) -> str:
        if not self.review:
            return ""  # documentation: no overwatchers, so no findings to deliver
        findings = await durable_step("collect_findings", self._new_findings)
        if not findings:
            return ""
        self.last_finding = max(f.id for f in findings)
        return format_findings("Overwatcher findings on your latest checkpoint", findings)

    async def _new_findings(self) -> list[FindingRecord]:
        store = self.ctx.runtime.store
        tasks = children_of(await store.list_tasks(self.ctx.project_id), self.ctx.task_id)
        checkpoints = {t.id for t in tasks if t.kind == "checkpoint"}
        rows = await store.list_findings(self.ctx.project_id)
        return [f for f in rows if f.task_id in checkpoints and f.id > self.last_finding]

    async def after_turn(self, run: AgentRun) -> None:
        if not run.files_changed:
            return
        run.files_changed = False
        shas = await self.commit(_turn_text(run.messages))
        if shas and self.review:
            await refresh_environments(self.ctx)  # a changed manifest: set up again first
            await self.start_overwatchers("checkpoint", shas, round_=0)

    async def commit(self, text: str) -> dict[str, str]:
        """Commit every repository with changes; returns {repo: sha} of the new commits."""
        shas: dict[str, str] = {}
        for repo in self.ctx.repos:
            target = self.ctx.ws.repo(repo.name)
            made = await durable_step("checkpoint_commit", partial(self._commit, target, text))
            if made is None:
                continue
            sha, message, files = made
            shas[repo.name] = sha
            self.commits.append({"repo": repo.name, "sha": sha, "message": message})
            data = {"repo": repo.name, "sha": sha, "message": message, "files": files}
            await self.ctx.emit(EventType.COMMIT, data)
        return shas

    async def _commit(self, repo: git.GitRepo, text: str) -> tuple[str, str, list[str]] | None:
        staged = await git.stage_all(repo)
        files = list(staged.files)
        if not files:
            return None
        settings = self.ctx.runtime.settings
        message = commit_message(
            text,
            files,
            self.ctx.project.feature_request,
            template=settings.commit_template,
            agent=self.ctx.agent,
        )
        message += staged.note()
        author_name, author_email = commit_author(settings, self.ctx.project)
        sha = await git.commit_staged(
            repo, message, author_name=author_name, author_email=author_email
        )
        return sha, message, files

    async def start_overwatchers(
        self, kind: str, shas: dict[str, str], *, round_: int
    ) -> list[str]:
        """Start the three overwatchers on `shas`; returns their task ids."""
        from forgeline.orchestrator.workflows import overwatcher_workflow, start_child

        self.runs += 1
        if kind == "checkpoint":
            self.checkpoints += 1
        tree_round = self.checkpoints if kind == "checkpoint" else round_
        ids = []
        for agent in OVERWATCHERS:
            child = (
                f"{self.ctx.task_id}-{'cp' if kind == 'checkpoint' else 'gate'}{self.runs}-{agent}"
            )
            index = self.run_base[agent]
            self.run_base[agent] += 1
            spec = {
                "agent": agent,
                "kind": kind,
                "round": round_,
                "run_index": index,
                "commits": shas,
            }
            await create_child_task(
                self.ctx.runtime,
                self.ctx.project_id,
                "implementation",
                agent,
                task_id=child,
                parent_id=self.ctx.task_id,
                kind="checkpoint" if kind == "checkpoint" else "gate",
                round=tree_round,
            )
            self.handles[child] = await start_child(
                overwatcher_workflow, child, self.ctx.project_id, child, spec
            )
            ids.append(child)
        self.children.extend(ids)
        return ids


async def wait_for(
    task_ids: list[str], handles: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The results of child workflows, in order (the same DBOS steps as a plain poll).

    A child this process started (its handle in `handles`) is awaited on its task.
    """
    from dbos import DBOS, WorkflowHandleAsync

    results: list[dict[str, Any]] = []
    for task_id in task_ids:
        stored: WorkflowHandleAsync[dict[str, Any]] = await DBOS.retrieve_workflow_async(task_id)
        local = (handles or {}).get(task_id)
        results.append(await _result(local, stored))
    return results


async def _result(local: Any, stored: Any) -> dict[str, Any]:
    """A child's result, read through DBOS: at once when its task here ended normally.

    A cancelled or failed child is read after DBOS's usual poll interval, as before: a
    pause cancels the children, then the parent, which must not see them first.
    """
    task = getattr(local, "task", None)
    if isinstance(task, asyncio.Future):
        await asyncio.wait({task})
        if not task.cancelled() and task.exception() is None:
            result: dict[str, Any] = await stored.get_result(polling_interval_sec=POLL_S)
            return result
        await asyncio.sleep(CANCELLED_POLL_S)
    result = await stored.get_result(polling_interval_sec=CANCELLED_POLL_S)
    return result


def commit_message(text: str, files: list[str], request: str, *, template: str, agent: str) -> str:
    """A message that says what changed: the agent's own summary line, then the files."""
    lines = [ln.strip(" #*-") for ln in text.splitlines() if ln.strip(" #*-")]
    subject = lines[0] if lines else f"Update {', '.join(files[:3])}"
    if len(subject) > 72:
        subject = subject[:69].rstrip() + "..."
    shown = "\n".join(f"- {f}" for f in files[:30])
    more = f"\n- ... and {len(files) - 30} more" if len(files) > 30 else ""
    fields = {"subject": subject, "files": shown + more, "request": request[:200], "agent": agent}
    try:
        return template.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        raise PhaseError(f"FORGELINE_COMMIT_TEMPLATE is not a valid template: {exc}") from exc


def format_findings(title: str, findings: list[FindingRecord]) -> str:
    lines = [f"[Forgeline] {title}:"]
    for f in findings:
        where = f" {f.path}:{f.line}" if f.path and f.line else (f" {f.path}" if f.path else "")
        lines.append(f"- [{f.severity}] {f.agent}{where}: {f.message}")
    lines.append("Fix every blocker. For any finding you believe is wrong, say precisely why.")
    return "\n".join(lines)


def _turn_text(messages: list[Message]) -> str:
    """The text of the latest assistant turn: what the agent said it was doing."""
    for message in reversed(messages):
        if message.role == "assistant":
            return message.text
    return ""


def _last_text(messages: list[Message]) -> str:
    for message in reversed(messages):
        if message.role == "assistant" and message.text.strip():
            return message.text
    return ""


async def implement(
    ctx: PhaseContext, *, review: str = "", review_notes: str = ""
) -> dict[str, Any]:
    """The implementation phase: rounds of work and gates, then documentation, push and PRs.

    Args:
        ctx: The phase's context.
        review: Review comments to address (an `iterate` round, DESIGN §13), added to the
            agent's first message.
        review_notes: Markdown for the pull request body about what this round addressed.
    """
    settings = ctx.runtime.settings
    repos = tuple(ctx.ws.repo_path(r.name) for r in ctx.repos)
    task = agent_task(
        ctx, "implementation", writable=repos, run_index=await run_index(ctx, "implementation")
    )
    task.messages.append(Message(role="user", text=_implementation_message(ctx) + review))
    bases = {agent: await run_index(ctx, agent) for agent in OVERWATCHERS}
    hooks = Checkpoints(ctx, run_base=bases)
    gate: dict[str, Any] = {}
    for round_ in range(1, settings.max_gate_rounds + 1):
        result = await run_agent_task(ctx.runtime, task, sink=ctx.sink, hooks=hooks)
        check_outcome(result, "implementation")
        await hooks.commit(result.final_text)
        gate = await run_gate(ctx, hooks, round_)
        if gate["passed"]:
            break
        if round_ == settings.max_gate_rounds:
            raise PhaseError(
                f"the final gate still has {len(gate['blockers'])} open blocker(s) after "
                f"{round_} round(s): " + "; ".join(b["message"] for b in gate["blockers"][:5])
            )
        task.messages.append(Message(role="user", text=gate["feedback"]))
    docs = await _documentation_task(ctx)
    pushes = await push_all(ctx)
    error = failed_pushes_message(pushes)
    if error:
        raise PhaseError(error)
    pushed = [p.repo for p in pushes if p.ok and not p.skipped]
    pulls = await publish_pull_requests(ctx, pushed=pushed, gate=gate, extra=review_notes)
    return {
        "pull_requests": {name: info.model_dump() for name, info in pulls.items()},
        "gate": gate,
        "commits": hooks.commits,
        "documentation": docs,
        "pushes": [p.model_dump() for p in pushes],
        "summary": _last_text(task.messages)[:2000],
    }


async def run_gate(ctx: PhaseContext, hooks: Checkpoints, round_: int) -> dict[str, Any]:
    """Wait for checkpoint overwatchers, then run all three over the whole diff."""
    await _warn_failed_checkpoints(ctx, hooks)
    heads = await durable_step("heads", lambda: _heads(ctx))
    gate_ids = await hooks.start_overwatchers("gate", heads, round_=round_)
    results = await wait_for(gate_ids, hooks.handles)
    failed = [
        (a, r) for a, r in zip(OVERWATCHERS, results, strict=True) if r.get("status") != "completed"
    ]
    if failed:
        agent, result = failed[0]
        raise PhaseError(
            f"an overwatcher failed at the final gate ({agent}): {result.get('error')}"
        )
    blockers = [f for r in results for f in r.get("findings", []) if f["severity"] == "blocker"]
    gate = {
        "round": round_,
        "rounds": round_,
        "passed": not blockers,
        "blockers": blockers,
        "verdicts": {r["agent"]: r["verdict"] for r in results},
        "test_commands": next((r["commands"] for r in results if r["agent"] == "test"), []),
    }
    lines = [
        f"- [{b['severity']}] {b['agent']} {b.get('path') or ''}: {b['message']}" for b in blockers
    ]
    gate["feedback"] = (
        "[Forgeline] The final gate over the whole diff found blockers. Fix them, run the "
        "tests, then stop:\n" + "\n".join(lines)
    )
    if gate["passed"]:
        await durable_step("resolve_findings", lambda: _resolve_all(ctx))
    await ctx.emit(EventType.GATE, {k: v for k, v in gate.items() if k != "feedback"})
    return gate


async def _warn_failed_checkpoints(ctx: PhaseContext, hooks: Checkpoints) -> None:
    """Wait for the checkpoint overwatchers; each one that failed is a warning, once."""
    results = await wait_for(hooks.children, hooks.handles)
    for task_id, result in zip(hooks.children, results, strict=True):
        if result.get("status") == "completed" or task_id in hooks.warned:
            continue
        hooks.warned.add(task_id)
        message = (
            f"overwatcher {task_id} failed on its checkpoint: {result.get('error')} "
            "(the final gate runs it again)"
        )
        await ctx.emit(EventType.WARNING, {"message": message})


async def _heads(ctx: PhaseContext) -> dict[str, str]:
    return {r.name: await git.head_sha(ctx.ws.repo(r.name)) for r in ctx.repos}


async def _resolve_all(ctx: PhaseContext) -> None:
    store = ctx.runtime.store
    tree = {t.id for t in subtree(await store.list_tasks(ctx.project_id), ctx.task_id)}
    rows = await store.list_findings(ctx.project_id, status="open")
    ids = [f.id for f in rows if f.task_id in tree]
    if ids:
        await store.resolve_findings(ctx.project_id, ids)


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


async def _documentation_task(ctx: PhaseContext) -> dict[str, Any]:
    from forgeline.orchestrator.workflows import phase_workflow, run_child

    child = f"{ctx.task_id}-docs"
    await create_child_task(
        ctx.runtime,
        ctx.project_id,
        "documentation",
        "documentation",
        task_id=child,
        parent_id=ctx.task_id,
        kind="documentation",
    )
    result = await run_child(phase_workflow, child, ctx.project_id, child, "documentation")
    if result.get("status") != "completed":
        raise PhaseError(f"documentation failed: {result.get('error')}")
    return result


async def document(ctx: PhaseContext) -> dict[str, Any]:
    """The documentation agent updates docs; its work is committed separately."""
    repos = tuple(ctx.ws.repo_path(r.name) for r in ctx.repos)
    task = agent_task(
        ctx, "documentation", writable=repos, run_index=await run_index(ctx, "documentation")
    )
    diff = await durable_step("diff", lambda: _whole_diff(ctx))
    task.messages.append(
        Message(
            role="user",
            text=(
                f"Feature request:\n\n{ctx.project.feature_request}\n\n"
                f"The change so far:\n\n{diff}\n\n"
                "Update the documentation and changelog for this change. Do not change code."
            ),
        )
    )
    hooks = Checkpoints(ctx, run_base={}, review=False)
    result = await run_agent_task(ctx.runtime, task, sink=ctx.sink, hooks=hooks)
    check_outcome(result, "documentation")
    await hooks.commit(result.final_text or "Document the change")
    return {"commits": hooks.commits, "summary": result.final_text[:2000]}


async def _whole_diff(ctx: PhaseContext, cap: int = 40_000) -> str:
    parts = []
    for repo in ctx.repos:
        base = repo.base_sha or "HEAD"
        text = await git.diff(ctx.ws.repo(repo.name), base)
        parts.append(f"### {repo.name}\n{text}")
    joined = "\n".join(parts)
    return joined if len(joined) <= cap else joined[:cap] + "\n[... diff cut ...]"
