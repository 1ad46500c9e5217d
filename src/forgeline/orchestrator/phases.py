"""Phase bodies: research and planning write a document; documentation updates the docs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from forgeline.agents.loop import AgentResult, Outcome
from forgeline.domain.errors import ForgelineError
from forgeline.domain.events import EventType
from forgeline.domain.messages import Message
from forgeline.orchestrator.agent_task import AgentTask, run_agent_task
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.durable import durable_step

DOC_CAP = 60_000


class PhaseError(ForgelineError):
    """A phase could not do its job; the message says why."""


def agent_task(
    ctx: PhaseContext, agent: str, *, writable: tuple[Path, ...], run_index: int
) -> AgentTask:
    repos = tuple(ctx.ws.repo_path(r.name) for r in ctx.repos)
    return AgentTask(
        project=ctx.project,
        repos=ctx.repos,
        ws=ctx.ws,
        task_id=ctx.task_id,
        agent=agent,
        root=ctx.ws.root,
        writable=writable,
        sandbox_writable=repos if agent in {"implementation", "documentation"} else (),
        run_index=run_index,
    )


async def run_index(ctx: PhaseContext, agent: str) -> int:
    """How many earlier tasks ran this agent in the project (a durable step)."""

    async def count() -> int:
        tasks = await ctx.runtime.store.list_tasks(ctx.project_id)
        earlier = [t for t in tasks if t.agent == agent and t.created_at < ctx.task.created_at]
        return len(earlier)

    return await durable_step("run_index", count)


def read_document(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    if len(text) > DOC_CAP:
        return text[:DOC_CAP] + f"\n\n[... {len(text) - DOC_CAP} characters cut ...]"
    return text


def check_outcome(result: AgentResult, agent: str) -> None:
    if result.outcome != Outcome.COMPLETED:
        raise PhaseError(result.reason or f"the {agent} agent stopped early")


def _stat(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


async def _document_state(path: Path) -> tuple[int, int]:
    return await asyncio.to_thread(_stat, path)


async def write_document_phase(
    ctx: PhaseContext, *, agent: str, doc: Path, message: str
) -> dict[str, Any]:
    """Run an agent whose job is one document; remind it once if it ends without writing it."""
    before = await durable_step("doc_before", lambda: _document_state(doc))
    task = agent_task(ctx, agent, writable=(doc,), run_index=await run_index(ctx, agent))
    task.messages.append(Message(role="user", text=message))
    result = await run_agent_task(ctx.runtime, task, sink=ctx.sink)
    check_outcome(result, agent)
    after = await durable_step("doc_after", lambda: _document_state(doc))
    if after == before or after[1] == 0:
        task.messages.append(Message(role="user", text=_reminder(doc)))
        result = await run_agent_task(ctx.runtime, task, sink=ctx.sink)
        check_outcome(result, agent)
        after = await durable_step("doc_after_reminder", lambda: _document_state(doc))
        if after == before or after[1] == 0:
            raise PhaseError(f"the {agent} agent ended without writing {doc.name}")
    await ctx.emit(EventType.DOCUMENT_UPDATED, {"document": doc.stem, "size": after[1]})
    return {"document": doc.name, "summary": result.final_text[:2000], "steps": result.steps}


def _reminder(doc: Path) -> str:
    return (
        f"You ended without writing {doc.name}. Your task is not done until it is written: "
        f"write {doc.name} at the workspace root now with the Write tool, then stop."
    )


async def research(ctx: PhaseContext) -> dict[str, Any]:
    message = (
        f"Feature request:\n\n{ctx.project.feature_request}\n\n"
        "Study the repositories in the workspace for this request and write research.md at "
        "the workspace root."
    )
    return await write_document_phase(
        ctx, agent="research", doc=ctx.ws.research_md, message=message
    )


async def planning(ctx: PhaseContext) -> dict[str, Any]:
    research_text = read_document(ctx.ws.research_md) or "(no research.md: research was skipped)"
    message = (
        f"Feature request:\n\n{ctx.project.feature_request}\n\n"
        f"research.md:\n\n{research_text}\n\n"
        "Ask the user the clarifying questions that change the plan (AskUser), then write "
        "planning.md at the workspace root."
    )
    return await write_document_phase(
        ctx, agent="planning", doc=ctx.ws.planning_md, message=message
    )


async def implementation(ctx: PhaseContext) -> dict[str, Any]:
    from forgeline.orchestrator.implementation import implement

    return await implement(ctx)


async def documentation(ctx: PhaseContext) -> dict[str, Any]:
    from forgeline.orchestrator.implementation import document

    return await document(ctx)
