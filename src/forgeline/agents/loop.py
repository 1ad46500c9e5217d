"""The agent loop: model call, tool calls, results, repeat until the model stops calling tools.

Read top to bottom. Control flow that ends a run early is an `AgentStop` exception
carrying the outcome (`LimitsExceeded`, `LoopDetected`); a failed tool call is data
for the model, never an exception here.

Durability is injected: every model call and tool call goes through a `StepRunner`
(the workflow makes each a durable step; the default just runs it). Tool calls change
the `ToolContext` (files read, todos, reports, commands); each tool step returns that
change with its result so a replayed step restores it.

Before each call the conversation is fitted to the model's window
(`forgeline.agents.context`: old tool results cleared, then a durable compaction step),
and the call's estimated cost is reserved against the project's budget (`Spend`).
A provider that still answers "prompt is too long" gets one compacted retry.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, Field

from forgeline.agents import context
from forgeline.agents.context import ContextPolicy, FitReport
from forgeline.domain.errors import ContextOverflowError
from forgeline.domain.events import EventSink, EventType, NewEvent
from forgeline.domain.messages import (
    Message,
    ModelRequest,
    ModelResponse,
    ToolCall,
    ToolResult,
    ToolSpec,
    Usage,
)
from forgeline.llm.base import Model
from forgeline.llm.pricing import DEFAULT_CONTEXT_WINDOW, context_window
from forgeline.llm.tokens import request_tokens
from forgeline.tools import registry
from forgeline.tools.base import CommandRecord, Report, TodoItem, ToolContext

T = TypeVar("T")

# Tools that wait for a person: they run in the workflow itself (their waits are durable).
INTERACTIVE_TOOLS = frozenset({"AskUser"})
# Tools safe to run side by side within one turn.
CONCURRENT_TOOLS = frozenset({"Read", "Glob", "Grep"})
LOOP_WARN_AT = 3
LOOP_STOP_AT = 5
EVENT_TEXT_CAP = 8_000


class StepRunner(Protocol):
    """Runs one unit of work; a durable runner checkpoints its result."""

    async def __call__(self, name: str, fn: Callable[[], Awaitable[T]]) -> T: ...


async def run_directly(name: str, fn: Callable[[], Awaitable[T]]) -> T:
    """The default `StepRunner`: no durability."""
    return await fn()


class Outcome(StrEnum):
    COMPLETED = "completed"
    LIMIT = "limit"
    LOOP = "loop"


class AgentStop(Exception):
    """Ends the run early; carries the outcome and the reason."""

    outcome: Outcome = Outcome.LIMIT

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LimitsExceeded(AgentStop):
    outcome = Outcome.LIMIT


class LoopDetected(AgentStop):
    outcome = Outcome.LOOP


@dataclass(frozen=True)
class Budget:
    """Limits of one agent run; None means unlimited."""

    max_steps: int | None = None
    max_tokens: int | None = None
    max_cost_usd: float | None = None


@dataclass(frozen=True)
class Reservation:
    """A model call's estimated cost, held against the project's budget until it is paid.

    Attributes:
        key: Identifies the reservation in its ledger.
        spent_usd: The project's recorded spend when the reservation was made.
        max_cost_usd: The project's budget.
    """

    key: int
    spent_usd: float
    max_cost_usd: float | None


class Spend(Protocol):
    """A budget shared by every agent of a project, checked before each model call."""

    async def reserve(self, *, model: str, prompt_tokens: int, max_tokens: int) -> Reservation:
        """Reserve a call's estimated cost; stops the run (pauses) when over the budget."""
        ...

    def release(self, reservation: Reservation) -> None:
        """Drop the reservation (its real cost is recorded by then, or never incurred)."""
        ...


class Hooks(Protocol):
    """How the workflow takes part in the loop."""

    async def before_model_call(self, run: AgentRun) -> str:
        """Text to add to the conversation before the next call (e.g. findings); "" for none."""
        ...

    async def after_turn(self, run: AgentRun) -> None:
        """Called after each turn's tool calls (e.g. to make a checkpoint commit)."""
        ...


class AgentResult(BaseModel):
    """How an agent run ended and what it produced."""

    outcome: Outcome
    reason: str = ""
    final_text: str = ""
    steps: int = 0
    usage: Usage = Field(default_factory=Usage)
    messages: list[Message] = Field(default_factory=list)
    reports: list[Report] = Field(default_factory=list)
    commands: list[CommandRecord] = Field(default_factory=list)
    todos: list[TodoItem] = Field(default_factory=list)


class ContextDelta(BaseModel):
    """What one tool call changed in the `ToolContext`."""

    read_files: dict[str, int] = Field(default_factory=dict)
    todos: list[TodoItem] | None = None
    reports: list[Report] = Field(default_factory=list)
    commands: list[CommandRecord] = Field(default_factory=list)


class ToolStepOutput(BaseModel):
    result: ToolResult
    delta: ContextDelta


@dataclass
class AgentRun:
    """The state of one run, visible to hooks."""

    agent: str
    model: Model
    system: str
    tools: list[str]
    ctx: ToolContext
    sink: EventSink
    steps: StepRunner
    messages: list[Message]
    budget: Budget
    policy: ContextPolicy = field(default_factory=lambda: ContextPolicy(DEFAULT_CONTEXT_WINDOW))
    spend: Spend | None = None
    usage: Usage = field(default_factory=Usage)
    specs: list[ToolSpec] = field(default_factory=list)
    fixed_tokens: int = 0
    step_count: int = 0
    files_changed: bool = False
    _repeats: int = 0
    _last_signature: str = ""


async def run_agent(
    *,
    agent: str,
    model: Model,
    system: str,
    tools: Sequence[str],
    ctx: ToolContext,
    messages: list[Message],
    sink: EventSink,
    steps: StepRunner = run_directly,
    budget: Budget | None = None,
    hooks: Hooks | None = None,
    policy: ContextPolicy | None = None,
    spend: Spend | None = None,
) -> AgentResult:
    """Run one agent until it answers without a tool call, or a budget or loop stops it.

    Args:
        agent: The agent's name (events and messages name it).
        model: The model to call.
        system: The full system prompt.
        tools: Names of the tools the agent may call.
        ctx: The tool context (workspace, scopes, sandbox).
        messages: The conversation so far (at least the task message); extended in place.
        sink: Where events go.
        steps: Runs model and tool calls (durably, in a workflow).
        budget: Step, token and cost limits.
        hooks: The workflow's hooks.
        policy: The context window policy; by default from the model's known window.
        spend: The project's budget, shared with its other agents.
    """
    run = AgentRun(
        agent=agent,
        model=model,
        system=system,
        tools=list(tools),
        ctx=ctx,
        sink=sink,
        steps=steps,
        messages=messages,
        budget=budget or Budget(),
        policy=policy or ContextPolicy(window=context_window(model.name)),
        spend=spend,
    )
    try:
        final_text = await _loop(run, hooks)
    except AgentStop as stop:
        await _emit(run, EventType.WARNING, {"message": stop.reason})
        return _result(run, stop.outcome, stop.reason, "")
    return _result(run, Outcome.COMPLETED, "", final_text)


async def _loop(run: AgentRun, hooks: Hooks | None) -> str:
    while True:
        _check_step_budget(run)
        if hooks:
            note = await hooks.before_model_call(run)
            if note:
                _add_user_text(run.messages, note)
        response = await _call_model(run)
        run.messages.append(response.message)
        if not response.message.tool_calls:
            return response.message.text
        results = await _run_tools(run, response.message.tool_calls)
        run.messages.append(Message(role="user", tool_results=results))
        if hooks:
            await hooks.after_turn(run)
        _check_usage_budget(run)


async def _call_model(run: AgentRun) -> ModelResponse:
    if not run.specs:
        run.specs = registry.tool_specs(run.tools)
        empty = ModelRequest.model_construct(system=run.system, messages=[], tools=run.specs)
        run.fixed_tokens = request_tokens(empty)
    request = await _fitted_request(run, force=False)
    try:
        response = await _paid_call(run, request)
    except ContextOverflowError as exc:
        # The provider counts differently (or has a smaller window): compact, retry once.
        run.policy = run.policy.shrunk(exc.limit)
        request = await _fitted_request(run, force=True)
        try:
            response = await _paid_call(run, request)
        except ContextOverflowError as again:
            raise LimitsExceeded(
                f"the {run.agent} agent's conversation does not fit the model's context "
                f"window even after compaction: {again}"
            ) from again
    if response.message.text:
        text = response.message.text[:EVENT_TEXT_CAP]
        await _emit(run, EventType.MODEL_TEXT, {"text": text})
    return response


async def _fitted_request(run: AgentRun, *, force: bool) -> ModelRequest:
    """The next request, after clearing or compacting the conversation if it is too long."""
    report = await context.fit(
        run.messages,
        fixed_tokens=run.fixed_tokens,
        policy=run.policy,
        summarise=lambda request: _summarise(run, request),
        force=force,
    )
    if report is not None:
        await _emit(run, EventType.CONTEXT_COMPACTED, _fit_data(run, report))
    # Built without re-validating: every message is already a checked `Message`, and
    # validating the whole conversation on each call would cost O(n) per step.
    return ModelRequest.model_construct(
        system=run.system,
        messages=list(run.messages),
        tools=run.specs,
        max_tokens=run.policy.max_tokens,
        purpose="turn",
    )


async def _summarise(run: AgentRun, request: ModelRequest) -> str:
    """The compaction call: a durable, paid model step like any other."""
    response = await _paid_call(run, request, step="compact")
    return response.message.text


async def _paid_call(run: AgentRun, request: ModelRequest, *, step: str = "model") -> ModelResponse:
    """One model call as a step, its cost reserved first and its usage reported after."""
    reservation = None
    if run.spend is not None:
        reservation = await run.spend.reserve(
            model=run.model.name,
            prompt_tokens=request_tokens(request),
            max_tokens=request.max_tokens,
        )
    try:
        response = await run.steps(step, lambda: run.model.complete(request))
        run.step_count += step == "model"
        run.usage = run.usage + response.usage
        data = _usage_data(run, response)
        data["purpose"] = "compaction" if step == "compact" else "turn"
        if reservation is not None:
            spent = reservation.spent_usd + response.usage.cost_usd
            data["budget"] = {"spent_usd": spent, "max_cost_usd": reservation.max_cost_usd}
        await _emit(run, EventType.USAGE, data)  # records the cost, then the hold goes
    finally:
        if run.spend is not None and reservation is not None:
            run.spend.release(reservation)
    return response


async def _run_tools(run: AgentRun, calls: list[ToolCall]) -> list[ToolResult]:
    for call in calls:
        await _emit(
            run, EventType.TOOL_CALL, {"id": call.id, "name": call.name, "input": call.input}
        )
    results: list[ToolResult] = []
    for group in _groups(calls):
        results.extend(await asyncio.gather(*(_run_tool(run, call) for call in group)))
    for call, result in zip(calls, results, strict=True):
        _watch_for_loops(run, call, result)
        await _emit(run, EventType.TOOL_RESULT, _result_data(call, result))
    return results


def _groups(calls: list[ToolCall]) -> list[list[ToolCall]]:
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
    output = await run.steps(f"tool:{call.name}", lambda: _tool_step(run, call))
    _apply_delta(run.ctx, output.delta)
    if output.delta.todos is not None:
        todos = [t.model_dump() for t in output.delta.todos]
        await _emit(run, EventType.TODOS, {"todos": todos})
    if call.name in {"Write", "Edit", "Bash"} and not output.result.is_error:
        run.files_changed = True
    return output.result


async def _tool_step(run: AgentRun, call: ToolCall) -> ToolStepOutput:
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


def _apply_delta(ctx: ToolContext, delta: ContextDelta) -> None:
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


def _check_step_budget(run: AgentRun) -> None:
    limit = run.budget.max_steps
    if limit is not None and run.step_count >= limit:
        raise LimitsExceeded(f"the {run.agent} agent reached its step limit ({limit} model calls)")


def _check_usage_budget(run: AgentRun) -> None:
    tokens, cost = run.budget.max_tokens, run.budget.max_cost_usd
    if tokens is not None and run.usage.total_tokens > tokens:
        raise LimitsExceeded(
            f"the {run.agent} agent used {run.usage.total_tokens} tokens, "
            f"over its budget of {tokens}"
        )
    if cost is not None and run.usage.cost_usd > cost:
        raise LimitsExceeded(
            f"the {run.agent} agent spent ${run.usage.cost_usd:.4f}, over its budget of ${cost:.2f}"
        )


def _add_user_text(messages: list[Message], text: str) -> None:
    """Add text for the model; joins the last user message to keep roles alternating."""
    if messages and messages[-1].role == "user":
        last = messages[-1]
        messages[-1] = last.model_copy(update={"text": f"{last.text}\n\n{text}".strip()})
    else:
        messages.append(Message(role="user", text=text))


def _usage_data(run: AgentRun, response: ModelResponse) -> dict[str, Any]:
    data: dict[str, Any] = response.usage.model_dump()
    data.update(model=response.model, stop_reason=response.stop_reason)
    data["agent_total"] = run.usage.model_dump()
    return data


def _fit_data(run: AgentRun, report: FitReport) -> dict[str, Any]:
    return {
        "before_tokens": report.before_tokens,
        "after_tokens": report.after_tokens,
        "window": run.policy.window,
        "cleared_results": report.cleared_results,
        "compacted": report.compacted,
        "summarised_turns": report.summarised_turns,
    }


def _result_data(call: ToolCall, result: ToolResult) -> dict[str, Any]:
    return {
        "id": call.id,
        "name": call.name,
        "is_error": result.is_error,
        "content": result.content[:EVENT_TEXT_CAP],
    }


async def _emit(run: AgentRun, type_: EventType, data: dict[str, Any]) -> None:
    data = {"agent": run.agent, **data}
    await run.sink.emit(NewEvent(type=type_, task_id=run.ctx.task_id, data=data))


def _result(run: AgentRun, outcome: Outcome, reason: str, final_text: str) -> AgentResult:
    ctx = run.ctx
    return AgentResult(
        outcome=outcome,
        reason=reason,
        final_text=final_text,
        steps=run.step_count,
        usage=run.usage,
        messages=run.messages,
        reports=ctx.reports,
        commands=ctx.commands,
        todos=ctx.todos,
    )
