"""The agent loop: model call, tool calls, results, repeat until the model stops calling tools.

Read top to bottom. Control flow that ends a run early is an `AgentStop` exception
carrying the outcome (`LimitsExceeded`, `LoopDetected`); a failed tool call is data
for the model, never an exception here. The run's state and the types shared with
callers are in `forgeline.agents.state`; one turn's tool calls in
`forgeline.agents.tool_calls`.

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

from collections.abc import Sequence
from typing import Any

from forgeline.agents import context, tool_calls
from forgeline.agents.context import FitReport
from forgeline.agents.state import (
    EVENT_TEXT_CAP,
    AgentResult,
    AgentRun,
    AgentStop,
    Budget,
    Hooks,
    LimitsExceeded,
    LoopDetected,
    Outcome,
    Reservation,
    Spend,
    StepRunner,
    emit,
    run_directly,
)
from forgeline.agents.window import ContextPolicy
from forgeline.domain.errors import ContextOverflowError
from forgeline.domain.events import EventSink, EventType
from forgeline.domain.messages import Message, ModelRequest, ModelResponse
from forgeline.llm.base import Model
from forgeline.llm.pricing import context_window
from forgeline.llm.tokens import request_tokens
from forgeline.tools import registry
from forgeline.tools.base import ToolContext

__all__ = [
    "AgentResult",
    "AgentRun",
    "AgentStop",
    "Budget",
    "Hooks",
    "LimitsExceeded",
    "LoopDetected",
    "Outcome",
    "Reservation",
    "Spend",
    "StepRunner",
    "run_agent",
    "run_directly",
]


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
        await emit(run, EventType.WARNING, {"message": stop.reason})
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
        results = await tool_calls.run_tools(run, response.message.tool_calls)
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
        await emit(run, EventType.MODEL_TEXT, {"text": text})
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
        await emit(run, EventType.CONTEXT_COMPACTED, _fit_data(run, report))
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
        await emit(run, EventType.USAGE, data)  # records the cost, then the hold goes
    finally:
        if run.spend is not None and reservation is not None:
            run.spend.release(reservation)
    return response


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
