"""What the phases share: their error, the agent task they build, documents they read."""

from __future__ import annotations

from pathlib import Path

from forgeline.agents.loop import AgentResult, Outcome
from forgeline.domain.errors import ForgelineError
from forgeline.domain.messages import Message
from forgeline.orchestrator.agent_task import AgentTask
from forgeline.orchestrator.context import PhaseContext

DOC_CAP = 60_000
WRITING_AGENTS = frozenset({"implementation", "documentation"})


class PhaseError(ForgelineError):
    """A phase could not do its job; the message says why."""


def agent_task(ctx: PhaseContext, agent: str, *, writable: tuple[Path, ...]) -> AgentTask:
    """The task's agent run over the whole workspace (phase agents, not overwatchers)."""
    repos = tuple(ctx.ws.repo_path(r.name) for r in ctx.repos)
    return AgentTask(
        project=ctx.project,
        repos=ctx.repos,
        ws=ctx.ws,
        task=ctx.task,
        agent=agent,
        root=ctx.ws.root,
        writable=writable,
        sandbox_writable=repos if agent in WRITING_AGENTS else (),
    )


def repo_paths(ctx: PhaseContext) -> tuple[Path, ...]:
    """Every repository's clone in the workspace."""
    return tuple(ctx.ws.repo_path(r.name) for r in ctx.repos)


def read_document(path: Path) -> str:
    """A workspace document (research.md, planning.md), cut at `DOC_CAP`; "" if missing."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    if len(text) > DOC_CAP:
        return text[:DOC_CAP] + f"\n\n[... {len(text) - DOC_CAP} characters cut ...]"
    return text


def check_outcome(result: AgentResult, agent: str) -> None:
    """Raises PhaseError when the agent stopped before completing."""
    if result.outcome != Outcome.COMPLETED:
        raise PhaseError(result.reason or f"the {agent} agent stopped early")


def user(text: str) -> Message:
    return Message(role="user", text=text)


def last_text(messages: list[Message]) -> str:
    """The newest non-empty thing the agent said."""
    for message in reversed(messages):
        if message.role == "assistant" and message.text.strip():
            return message.text
    return ""
