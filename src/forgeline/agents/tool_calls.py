"""The tool calls of one turn: run as durable steps, grouped, watched for loops.

Tool calls change the `ToolContext` (files read, todos, reports, commands); each tool
step returns that change (`ContextDelta`) with its result, so a replayed step restores
it. A failed tool call is data for the model; only a loop of identical calls stops the
run (`LoopDetected`).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from forgeline.agents.state import EVENT_TEXT_CAP, AgentRun, LoopDetected, emit
from forgeline.domain.events import EventType
from forgeline.domain.messages import ToolCall, ToolResult
from forgeline.tools import registry
from forgeline.tools.base import CommandRecord, Report, TodoItem, ToolContext

# Tools that wait for a person: they run in the workflow itself (their waits are durable).
INTERACTIVE_TOOLS = frozenset({"AskUser"})
# Tools safe to run side by side within one turn.
CONCURRENT_TOOLS = frozenset({"Read", "Glob", "Grep"})
LOOP_WARN_AT = 3
LOOP_STOP_AT = 5


class ContextDelta(BaseModel):
    """What one tool call changed in the `ToolContext`."""

    read_files: dict[str, int] = Field(default_factory=dict)
    todos: list[TodoItem] | None = None
    reports: list[Report] = Field(default_factory=list)
    commands: list[CommandRecord] = Field(default_factory=list)


class ToolStepOutput(BaseModel):
    """A tool step's checkpointed value."""

    result: ToolResult
    delta: ContextDelta


async def run_tools(run: AgentRun, calls: list[ToolCall]) -> list[ToolResult]:
    """Run one turn's tool calls, emitting each call and its result."""
    for call in calls:
        await emit(
            run, EventType.TOOL_CALL, {"id": call.id, "name": call.name, "input": call.input}
        )
    results: list[ToolResult] = []
    for group in concurrent_groups(calls):
        results.extend(await asyncio.gather(*(_run_tool(run, call) for call in group)))
    for call, result in zip(calls, results, strict=True):
        _watch_for_loops(run, call, result)
        await emit(run, EventType.TOOL_RESULT, _result_data(call, result))
    return results


def concurrent_groups(calls: list[ToolCall]) -> list[list[ToolCall]]:
    """Consecutive read-only calls form one concurrent group; others run alone, in order."""
    groups: list[list[ToolCall]] = []
    for call in calls:
        if groups and call.name in CONCURRENT_TOOLS and groups[-1][0].name in CONCURRENT_TOOLS:
            groups[-1].append(call)
        else:
            groups.append([call])
    return groups


async def _run_tool(run: AgentRun, call: ToolCall) -> ToolResult:
    if call.name in INTERACTIVE_TOOLS:
        return await registry.execute(call, run.ctx, allowed=run.tools)
    output = await run.steps(f"tool:{call.name}", lambda: tool_step(run, call))
    apply_delta(run.ctx, output.delta)
    if output.delta.todos is not None:
        todos = [t.model_dump() for t in output.delta.todos]
        await emit(run, EventType.TODOS, {"todos": todos})
    if call.name in {"Write", "Edit", "Bash"} and not output.result.is_error:
        run.files_changed = True
    return output.result


async def tool_step(run: AgentRun, call: ToolCall) -> ToolStepOutput:
    """The body of a tool step: the result and what the call changed in the context."""
    ctx = run.ctx
    read_before = dict(ctx.read_files)
    reports_before, commands_before, todos_before = len(ctx.reports), len(ctx.commands), ctx.todos
    result = await registry.execute(call, ctx, allowed=run.tools)
    delta = ContextDelta(
        read_files={str(p): m for p, m in ctx.read_files.items() if read_before.get(p) != m},
        todos=ctx.todos if ctx.todos is not todos_before else None,
        reports=ctx.reports[reports_before:],
        commands=ctx.commands[commands_before:],
    )
    return ToolStepOutput(result=result, delta=delta)


def apply_delta(ctx: ToolContext, delta: ContextDelta) -> None:
    """Apply a tool call's changes; idempotent, so a fresh run and a replay agree."""
    ctx.read_files.update({Path(p): m for p, m in delta.read_files.items()})
    if delta.todos is not None:
        ctx.todos = list(delta.todos)
    _extend_once(ctx.reports, delta.reports)
    _extend_once(ctx.commands, delta.commands)


def _extend_once(items: list[Any], new: list[Any]) -> None:
    """Append `new` unless the list already ends with it (the step ran here, not replayed)."""
    if new and items[-len(new) :] != new:
        items.extend(new)


def _watch_for_loops(run: AgentRun, call: ToolCall, result: ToolResult) -> None:
    signature = json.dumps([call.name, call.input, result.content], sort_keys=True, default=str)
    run._repeats = run._repeats + 1 if signature == run._last_signature else 1
    run._last_signature = signature
    if run._repeats >= LOOP_STOP_AT:
        raise LoopDetected(
            f"the {run.agent} agent repeated the same {call.name} call with the same result "
            f"{run._repeats} times in a row; stopped"
        )
    if run._repeats >= LOOP_WARN_AT:
        result.content += (
            f"\n\n[Forgeline] You have made this exact {call.name} call {run._repeats} times "
            "in a row with the same result. Change your approach; at "
            f"{LOOP_STOP_AT} repeats the run is stopped."
        )


def _result_data(call: ToolCall, result: ToolResult) -> dict[str, Any]:
    return {
        "id": call.id,
        "name": call.name,
        "is_error": result.is_error,
        "content": result.content[:EVENT_TEXT_CAP],
    }
