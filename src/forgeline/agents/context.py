"""Keeping an agent's conversation inside its model's context window (DESIGN §15).

Before each model call the loop asks `fit` whether the prompt plus the call's
`max_tokens` passes `threshold` of the window. If so, in this order:

1. **Clear** the oldest tool results (never the user's answers, never the newest
   turns): each keeps its call and becomes a one-line note of what was there, so the
   model can call the tool again. Results are cleared down to `target` of the window
   at once, so the conversation's prefix then stays the same for many calls and
   prompt caching keeps working.
2. **Compact**, if clearing left it over halfway from `target` to the limit: one model
   call summarises the older part of
   the conversation. The first message (the task: feature request, plan) is kept as
   it is, and the user's answers, notes given between turns (open findings), files
   changed and commands run with their exit codes are collected from the
   conversation itself and kept verbatim beside the model's summary.

Everything here is a pure function of the conversation except the summary call,
which the loop runs as a durable step; so a replay rebuilds the same conversation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from forgeline.agents.clearing import clear_results
from forgeline.agents.compaction import (
    apply_compaction,
    compaction_request,
    plan_compaction,
    render_summary,
)
from forgeline.agents.window import ContextPolicy
from forgeline.domain.messages import Message, ModelRequest
from forgeline.llm.tokens import conversation_tokens

__all__ = [
    "ContextPolicy",
    "FitReport",
    "Summarise",
    "clear_results",
    "conversation_tokens",
    "fit",
    "model_turns",
    "render_summary",
]

Summarise = Callable[[ModelRequest], Awaitable[str]]


@dataclass(frozen=True)
class FitReport:
    """What `fit` did, for the `context_compacted` event."""

    before_tokens: int
    after_tokens: int
    cleared_results: int
    compacted: bool
    summarised_turns: int = 0


async def fit(
    messages: list[Message],
    *,
    fixed_tokens: int,
    policy: ContextPolicy,
    summarise: Summarise,
    force: bool = False,
) -> FitReport | None:
    """Clear and, if needed, compact `messages` (in place) to fit the policy.

    Args:
        messages: The conversation, starting with the task message.
        fixed_tokens: Tokens of the system prompt and tool definitions.
        policy: The window and thresholds.
        summarise: Runs the compaction call (durably) and returns the summary text.
        force: Manage even under the threshold (the provider said it is too long).

    Returns:
        What was done, or None when the conversation already fits.
    """
    before = fixed_tokens + conversation_tokens(messages)
    if not force and before <= policy.limit:
        return None
    cleared = clear_results(messages, excess=before - policy.goal)
    size = fixed_tokens + conversation_tokens(messages)
    compacted, turns = False, 0
    # Clearing that leaves the conversation near the limit would have to run again a few
    # calls later, each time breaking the cached prefix: compact instead.
    if force or size > policy.goal + (policy.limit - policy.goal) // 2:
        plan = plan_compaction(messages, policy=policy, fixed_tokens=fixed_tokens)
        if plan is not None:
            text = await summarise(compaction_request(plan, policy=policy))
            turns = apply_compaction(messages, plan, text, policy=policy)
            compacted = True
    if fixed_tokens + conversation_tokens(messages) > policy.limit:
        cleared += clear_results(messages, excess=policy.window, keep_recent=0)
    after = fixed_tokens + conversation_tokens(messages)
    return FitReport(before, after, cleared, compacted, turns)


def model_turns(messages: list[Message]) -> int:
    """Model turns taken so far, counting those a summary stands for."""
    summarised = sum(m.summary.turns for m in messages if m.summary is not None)
    return summarised + sum(1 for m in messages if m.role == "assistant")
