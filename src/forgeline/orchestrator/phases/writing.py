"""A phase whose agent's job is one document (research.md, planning.md)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from forgeline.domain.events import EventType
from forgeline.domain.results import DocumentResult
from forgeline.orchestrator.agent_task import run_agent_task
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.phases.common import PhaseError, agent_task, check_outcome, user


async def write_document_phase(
    ctx: PhaseContext, *, agent: str, doc: Path, message: str
) -> DocumentResult:
    """Run the agent; remind it once if it ends without writing `doc`.

    Raises:
        PhaseError: The agent stopped early, or ended twice without writing `doc`.
    """
    before = await ctx.step("doc_before", lambda: _document_state(doc))
    task = agent_task(ctx, agent, writable=(doc,))
    task.messages.append(user(message))
    result = await run_agent_task(ctx.runtime, ctx.engine, task, sink=ctx.sink)
    check_outcome(result, agent)
    after = await ctx.step("doc_after", lambda: _document_state(doc))
    if _unwritten(before, after):
        task.messages.append(user(_reminder(doc)))
        result = await run_agent_task(ctx.runtime, ctx.engine, task, sink=ctx.sink)
        check_outcome(result, agent)
        after = await ctx.step("doc_after_reminder", lambda: _document_state(doc))
        if _unwritten(before, after):
            raise PhaseError(f"the {agent} agent ended without writing {doc.name}")
    await ctx.emit(EventType.DOCUMENT_UPDATED, {"document": doc.stem, "size": after[1]})
    return DocumentResult(document=doc.name, summary=result.final_text[:2000], steps=result.steps)


def _unwritten(before: tuple[int, int], after: tuple[int, int]) -> bool:
    return after == before or after[1] == 0


def _stat(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


async def _document_state(path: Path) -> tuple[int, int]:
    return await asyncio.to_thread(_stat, path)


def _reminder(doc: Path) -> str:
    return (
        f"You ended without writing {doc.name}. Your task is not done until it is written: "
        f"write {doc.name} at the workspace root now with the Write tool, then stop."
    )
