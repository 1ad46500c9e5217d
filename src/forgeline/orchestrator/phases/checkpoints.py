"""Checkpoints: commit after each turn that changed files, and start overwatchers on it.

The implementation agent's hooks: after a turn that changed files Forgeline commits a
checkpoint and starts the review, security and test overwatchers on it (child tasks,
concurrent); their findings reach the agent before its next model call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Literal

from forgeline.agents.loop import AgentRun
from forgeline.domain.events import EventType
from forgeline.domain.messages import Message
from forgeline.domain.results import CommitRef, OverwatchSpec
from forgeline.github.authorship import commit_author
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.durable import create_child_task
from forgeline.orchestrator.environments import refresh_environments
from forgeline.orchestrator.phases.common import PhaseError
from forgeline.orchestrator.ports import ChildTask
from forgeline.store.schemas import FindingRecord
from forgeline.workspace import git

OVERWATCHERS = ("review", "security", "test")
OverwatchKind = Literal["checkpoint", "gate"]


@dataclass
class Checkpoints:
    """The implementation (or documentation) agent's hooks.

    Attributes:
        ctx: The phase's context.
        review: Whether checkpoints get overwatchers (documentation: no).
        commits: Every commit made, in order.
        children: The checkpoint overwatchers' task ids, in order.
        warned: Checkpoint overwatchers whose failure was already reported.
        last_finding: The newest finding delivered to the agent.
        checkpoints: How many checkpoints got overwatchers (their `round`).
        runs: How many overwatcher runs started, checkpoints and gates (in task ids).
    """

    ctx: PhaseContext
    review: bool = True
    commits: list[CommitRef] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    warned: set[str] = field(default_factory=set)
    last_finding: int = 0
    checkpoints: int = 0
    runs: int = 0

    async def before_model_call(self, run: AgentRun) -> str:
        """The findings that arrived since the last call, as a note for the agent."""
        if not self.review:
            return ""  # documentation: no overwatchers, so no findings to deliver
        findings = await self.ctx.step("collect_findings", self._new_findings)
        if not findings:
            return ""
        self.last_finding = max(f.id for f in findings)
        return format_findings("Overwatcher findings on your latest checkpoint", findings)

    async def _new_findings(self) -> list[FindingRecord]:
        rows = await self.ctx.runtime.store.list_findings(self.ctx.project_id)
        mine = set(self.children)
        return [f for f in rows if f.task_id in mine and f.id > self.last_finding]

    async def after_turn(self, run: AgentRun) -> None:
        """Commit a checkpoint when the turn changed files, then review it."""
        if not run.files_changed:
            return
        run.files_changed = False
        shas = await self.commit(_turn_text(run.messages))
        if shas and self.review:
            await refresh_environments(self.ctx)  # a changed manifest: set up again first
            self.checkpoints += 1
            ids = await self.start_overwatchers("checkpoint", shas, round_=self.checkpoints)
            self.children.extend(ids)

    async def commit(self, text: str) -> dict[str, str]:
        """Commit every repository with changes; returns {repo: sha} of the new commits."""
        shas: dict[str, str] = {}
        for repo in self.ctx.repos:
            target = self.ctx.ws.repo(repo.name)
            made = await self.ctx.step("checkpoint_commit", partial(self._commit, target, text))
            if made is None:
                continue
            sha, message, files = made
            shas[repo.name] = sha
            self.commits.append(CommitRef(repo=repo.name, sha=sha, message=message))
            data: dict[str, object] = {"repo": repo.name, "sha": sha, "message": message}
            data["files"] = files
            await self.ctx.emit(EventType.COMMIT, data)
        return shas

    async def _commit(self, repo: git.GitRepo, text: str) -> tuple[str, str, list[str]] | None:
        staged = await git.stage_all(repo)
        files = list(staged.files)
        if not files:
            return None
        settings, project = self.ctx.runtime.settings, self.ctx.project
        message = commit_message(
            text,
            files,
            project.feature_request,
            template=settings.commit_template,
            agent=self.ctx.agent,
        )
        message += staged.note()
        name, email = commit_author(settings, project)
        sha = await git.commit_staged(repo, message, author_name=name, author_email=email)
        return sha, message, files

    async def start_overwatchers(
        self, kind: OverwatchKind, shas: dict[str, str], *, round_: int
    ) -> list[str]:
        """Start the three overwatchers on `shas`; returns their task ids."""
        self.runs += 1
        prefix = f"{self.ctx.task_id}-{'cp' if kind == 'checkpoint' else 'gate'}{self.runs}"
        ids = []
        for agent in OVERWATCHERS:
            spec = OverwatchSpec(agent=agent, kind=kind, round=round_, commits=shas)
            ids.append(await self._start(f"{prefix}-{agent}", spec))
        return ids

    async def _start(self, child_id: str, spec: OverwatchSpec) -> str:
        ctx = self.ctx
        await create_child_task(
            ctx.runtime,
            ctx.engine,
            ctx.task,
            task_id=child_id,
            phase="implementation",
            agent=spec.agent,
            kind=spec.kind,
            round=spec.round,
        )
        child = ChildTask(ctx.project_id, child_id, "overwatcher", spec)
        await ctx.engine.start_child(child)
        return child_id


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
    """Findings as the note the implementation agent reads before its next call."""
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
