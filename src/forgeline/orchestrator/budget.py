"""The project budget (DESIGN §15): one limit in USD across every agent of a project.

Before each model call an agent reserves the call's estimated cost (its prompt at the
uncached input price, plus up to `EXPECTED_OUTPUT_TOKENS` of output); the reservation
is released once the call's real cost is recorded (the `usage` event). A call is refused when the
project's recorded spend plus every reservation held in this process plus its own
estimate would pass the budget, so agents running side by side (overwatchers) cannot
overshoot together; across processes each may overshoot by at most one call.

A refused call pauses the project with a `budget_exceeded` event naming the budget;
it resumes once the budget is raised above what was spent.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import math

from forgeline.agents.loop import Reservation
from forgeline.domain.errors import ConflictError, ForgelineError, UserError
from forgeline.domain.events import EventType, NewEvent
from forgeline.domain.messages import Usage
from forgeline.llm.pricing import cost_for, price_for
from forgeline.orchestrator import control
from forgeline.orchestrator.runtime import Runtime
from forgeline.settings import ModelPrice

EXPECTED_OUTPUT_TOKENS = 1024
"""Output tokens a call is expected to use (a reply is rarely longer; the cap would
reserve many times the real cost and stop projects early)."""


class BudgetExceeded(ForgelineError):
    """A model call would pass the project's budget (raised where no pause can happen)."""


def check_budget(value: float | None) -> float | None:
    """A budget given by a user: positive and finite, or None for no budget."""
    if value is None:
        return None
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"the budget must be a positive amount of USD, got {value}")
    return float(value)


def estimate_cost(
    model: str, *, prompt_tokens: int, max_tokens: int, prices: dict[str, ModelPrice]
) -> float:
    """A call's estimated cost: its prompt uncached, plus a typical reply."""
    key = model
    if model.startswith("scripted:") and price_for(model, overrides=prices) is None:
        key = "scripted"  # the scripted model's own fallback price (llm.scripted)
    usage = Usage(input_tokens=prompt_tokens, output_tokens=min(max_tokens, EXPECTED_OUTPUT_TOKENS))
    return cost_for(key, usage, overrides=prices)


async def spent_usd(runtime: Runtime, project_id: str) -> float:
    """What the project's model calls have cost so far."""
    return (await runtime.store.usage_summary(project_id)).total.cost_usd


class ProjectBudget:
    """The loop's `Spend` for one agent run of a project."""

    def __init__(self, runtime: Runtime, *, project_id: str, task_id: str, agent: str) -> None:
        self._runtime = runtime
        self._project_id = project_id
        self._task_id = task_id
        self._agent = agent

    async def reserve(self, *, model: str, prompt_tokens: int, max_tokens: int) -> Reservation:
        """Hold the call's estimated cost, or pause the project when it would not fit."""
        runtime, pid = self._runtime, self._project_id
        ledger = runtime.ledger
        estimate = estimate_cost(
            model,
            prompt_tokens=prompt_tokens,
            max_tokens=max_tokens,
            prices=runtime.settings.prices,
        )
        async with ledger.lock(pid):
            spend = await runtime.store.spend(pid)  # one read: the limit and the spend
            limit, spent = spend.max_cost_usd, spend.spent_usd
            if limit is None or spent + ledger.reserved(pid) + estimate <= limit:
                return Reservation(ledger.hold(pid, estimate), spent, limit)
            reserved = ledger.reserved(pid)
        await self._stop(spent=spent, reserved=reserved, estimate=estimate, limit=limit)
        raise BudgetExceeded(budget_message(spent, limit))

    def release(self, reservation: Reservation) -> None:
        self._runtime.ledger.release(self._project_id, reservation.key)

    async def _stop(self, *, spent: float, reserved: float, estimate: float, limit: float) -> None:
        """Record why, then pause every running task of the project (this one included)."""
        data = {
            "agent": self._agent,
            "message": budget_message(spent, limit),
            "spent_usd": spent,
            "reserved_usd": reserved,
            "next_call_usd": estimate,
            "max_cost_usd": limit,
        }
        await self._runtime.events.emit(
            self._project_id,
            NewEvent(type=EventType.BUDGET_EXCEEDED, task_id=self._task_id, data=data),
        )
        # The pause cancels this very workflow: run it as its own task so it finishes, in a
        # fresh context so DBOS does not take its calls for steps of this workflow.
        pausing = asyncio.get_running_loop().create_task(
            self._pause(), context=contextvars.Context()
        )
        await asyncio.shield(pausing)

    async def _pause(self) -> None:
        with contextlib.suppress(ConflictError):  # another agent paused the project first
            await control.pause(self._runtime, self._task_id)


def budget_message(spent: float, limit: float) -> str:
    """Why the project stopped, and how to continue."""
    return (
        f"the project's budget of ${limit:.2f} (--max-cost) is reached: ${spent:.4f} spent, "
        "and the next model call could pass it; the project is paused. Resume with a higher "
        "budget: forgeline resume TASK --max-cost USD"
    )


async def check_resumable(runtime: Runtime, project_id: str) -> None:
    """Refuse to resume a project paused by its budget until the budget is raised."""
    project = await runtime.store.get_project(project_id)
    stops = await runtime.store.list_events(
        project_id, types=[EventType.BUDGET_EXCEEDED], limit=10_000
    )
    if not stops or project.max_cost_usd is None:
        return
    stopped_at = float(stops[-1].data.get("max_cost_usd") or 0.0)
    if project.max_cost_usd <= stopped_at:
        spent = await spent_usd(runtime, project_id)
        raise ConflictError(
            f"the project was paused by its budget of ${project.max_cost_usd:.2f} "
            f"(${spent:.4f} spent); resume with a higher budget: forgeline resume TASK "
            f"--max-cost USD, or PUT /api/projects/{project_id}/budget"
        )
