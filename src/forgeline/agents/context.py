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

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from forgeline.domain.messages import (
    ContextSummary,
    Message,
    ModelRequest,
    ToolCall,
    ToolResult,
)
from forgeline.llm.tokens import message_tokens, text_tokens

THRESHOLD = 0.8
TARGET = 0.4
MAX_OUTPUT_TOKENS = 8192
KEEP_RECENT = 2
"""Tool-result messages at the end of the conversation that are never cleared."""
KEPT_TOOLS = frozenset({"AskUser"})
"""Tools whose results are never cleared (the user's answers)."""
CLEARED_PREFIX = "[cleared: "
SUMMARY_ACK = "I will continue from the summary of the earlier conversation."
RESULT_CHARS_IN_TRANSCRIPT = 600
_EXIT_CODE = re.compile(r"exit code:? (-?\d+)")

COMPACTION_SYSTEM = """\
You are the compaction step of Forgeline, a coding agent platform. You are given the
older part of an agent's conversation. Write a structured summary that lets the agent
continue its work without it, in these sections:
## Goal and progress
## Decisions and findings
## Current state of the work
## Next steps
Be specific: name files, functions, commands and errors. Do not invent anything.
The user's answers, files changed and commands run are kept separately; do not repeat them."""

Summarise = Callable[[ModelRequest], Awaitable[str]]


@dataclass(frozen=True)
class ContextPolicy:
    """How much of a model's window a conversation may use.

    Attributes:
        window: The model's context window in tokens.
        threshold: Share of the window the prompt plus `max_tokens` may reach.
        target: Share of the window to come back down to when managing.
    """

    window: int
    threshold: float = THRESHOLD
    target: float = TARGET

    @property
    def max_tokens(self) -> int:
        """The output budget of each call."""
        return max(16, min(MAX_OUTPUT_TOKENS, self.window // 4))

    @property
    def limit(self) -> int:
        """Prompt tokens allowed before managing."""
        return int(self.window * self.threshold) - self.max_tokens

    @property
    def goal(self) -> int:
        """Prompt tokens to come down to."""
        return int(self.window * self.target) - self.max_tokens

    def shrunk(self, window: int | None) -> ContextPolicy:
        """The policy for a smaller window a provider reported (or 3/4 of this one)."""
        smaller = window if window and window < self.window else self.window * 3 // 4
        return ContextPolicy(window=smaller, threshold=self.threshold, target=self.target)


@dataclass(frozen=True)
class FitReport:
    """What `fit` did, for the `context_compacted` event."""

    before_tokens: int
    after_tokens: int
    cleared_results: int
    compacted: bool
    summarised_turns: int = 0


def conversation_tokens(messages: list[Message]) -> int:
    """Estimated tokens of the messages."""
    return sum(message_tokens(m) for m in messages)


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


# Clearing ------------------------------------------------------------------------------


def clear_results(messages: list[Message], *, excess: int, keep_recent: int = KEEP_RECENT) -> int:
    """Replace the oldest tool results by notes until `excess` tokens are freed.

    Returns:
        How many results were cleared.
    """
    calls = {c.id: c for m in messages for c in m.tool_calls}
    holders = [i for i, m in enumerate(messages) if m.tool_results and i > 0]
    candidates = holders[: len(holders) - keep_recent] if keep_recent else holders
    freed = count = 0
    for index in candidates:
        if freed >= excess:
            break
        message = messages[index]
        results: list[ToolResult] = []
        for result in message.tool_results:
            note = _note(calls.get(result.tool_call_id), result)
            if freed < excess and note is not None:
                freed += text_tokens(len(result.content)) - text_tokens(len(note))
                result = result.model_copy(update={"content": note})
                count += 1
            results.append(result)
        messages[index] = message.model_copy(update={"tool_results": results})
    return count


def _note(call: ToolCall | None, result: ToolResult) -> str | None:
    """The one-line note replacing a result, or None when it must stay."""
    if call is None or call.name in KEPT_TOOLS or result.content.startswith(CLEARED_PREFIX):
        return None
    lines = result.content.count("\n") + 1
    what = _target(call)
    parts = [f"{call.name} {what}".strip()]
    if call.name == "Bash":
        found = _EXIT_CODE.findall(result.content)
        if found:
            parts.append(f"exit code {found[-1]}")
    parts.append(f"{lines} lines")
    again = "Read again" if call.name == "Read" else f"call {call.name} again"
    note = f"{CLEARED_PREFIX}{', '.join(parts)} — {again} if needed]"
    return note if len(note) < len(result.content) else None


def _target(call: ToolCall) -> str:
    for key in ("file_path", "pattern", "command", "path"):
        if key in call.input:
            value = " ".join(str(call.input[key]).split())
            return value if len(value) <= 120 else value[:117] + "..."
    return ""


# Compaction ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CompactionPlan:
    """Which messages are summarised, and what is kept of them verbatim.

    Attributes:
        start: Index of the first message summarised (after the task and any summary).
        cut: Index of the first message kept (an assistant message).
        pinned: The facts collected verbatim, merged with the earlier summary's.
        earlier: The earlier summary's text ("" for none).
        transcript: The summarised messages, rendered for the compaction call.
    """

    start: int
    cut: int
    pinned: ContextSummary
    earlier: str
    transcript: str


def plan_compaction(
    messages: list[Message], *, policy: ContextPolicy, fixed_tokens: int
) -> CompactionPlan | None:
    """Choose what to summarise; None when nothing older than the last turn is left."""
    prior = _prior_summary(messages)
    start = 3 if prior is not None else 1
    budget = (policy.goal - fixed_tokens - message_tokens(messages[0])) // 2
    cut = _cut(messages, start=start, budget=budget)
    if cut is None:
        return None
    removed = messages[start:cut]
    pinned = _collect(removed, prior or ContextSummary())
    transcript = _transcript(removed, chars=_transcript_chars(policy))
    return CompactionPlan(start, cut, pinned, prior.text if prior else "", transcript)


def _prior_summary(messages: list[Message]) -> ContextSummary | None:
    if len(messages) > 2 and messages[2].summary is not None:
        return messages[2].summary
    return None


def _cut(messages: list[Message], *, start: int, budget: int) -> int | None:
    """The earliest assistant message after `start` whose tail fits `budget` (else the last)."""
    starts = [i for i in range(start + 1, len(messages)) if messages[i].role == "assistant"]
    if not starts:
        return None
    tail = 0
    best = starts[-1]
    for index in range(len(messages) - 1, start, -1):
        tail += message_tokens(messages[index])
        if tail > budget:
            break
        if messages[index].role == "assistant":
            best = index
    return best


def _collect(removed: list[Message], prior: ContextSummary) -> ContextSummary:
    """The facts of `removed` kept verbatim, after those of the earlier summary."""
    calls = {c.id: c for m in removed for c in m.tool_calls}
    answers, notes = list(prior.answers), list(prior.notes)
    files, commands = list(prior.files_changed), list(prior.commands)
    for message in removed:
        if message.role == "user" and message.text:
            notes.append(message.text)
        for result in message.tool_results:
            call = calls.get(result.tool_call_id)
            if call is None:
                continue
            if call.name in KEPT_TOOLS:
                answers.append(result.content)
            elif call.name in {"Write", "Edit"} and not result.is_error:
                path = str(call.input.get("file_path", ""))
                if path and path not in files:
                    files.append(path)
            elif call.name == "Bash":
                commands.append(_command_line(call, result))
    return prior.model_copy(
        update={"answers": answers, "notes": notes, "files_changed": files, "commands": commands}
    )


def _command_line(call: ToolCall, result: ToolResult) -> str:
    command = str(call.input.get("command", ""))
    found = _EXIT_CODE.findall(result.content)
    code = f"exit code {found[-1]}" if found else "no exit code (refused or failed)"
    return f"`{command}` → {code}"


def _transcript_chars(policy: ContextPolicy) -> int:
    """Room for the transcript in the compaction call."""
    room = policy.limit - text_tokens(len(COMPACTION_SYSTEM)) - 64
    return max(400, room * 4 - 400)


def _transcript(removed: list[Message], *, chars: int) -> str:
    calls = {c.id: c for m in removed for c in m.tool_calls}
    lines: list[str] = []
    for message in removed:
        if message.role == "assistant":
            if message.text:
                lines.append(f"assistant: {message.text}")
            lines.extend(
                f"assistant called {c.name} {_target(c)}".rstrip() for c in message.tool_calls
            )
            continue
        for result in message.tool_results:
            call = calls.get(result.tool_call_id)
            name = call.name if call else "tool"
            lines.append(f"{name} result: {_clip(result.content, RESULT_CHARS_IN_TRANSCRIPT)}")
        if message.text:
            lines.append(f"user: {message.text}")
    text = "\n".join(lines)
    return text if len(text) <= chars else "[... earlier part omitted ...]\n" + text[-chars:]


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars] + " [...]"


def compaction_request(plan: CompactionPlan, *, policy: ContextPolicy) -> ModelRequest:
    """The model call that writes the summary."""
    earlier = f"Summary of the part before this one:\n{plan.earlier}\n\n" if plan.earlier else ""
    text = f"{earlier}The conversation to summarise:\n\n{plan.transcript}"
    return ModelRequest(
        system=COMPACTION_SYSTEM,
        messages=[Message(role="user", text=text)],
        max_tokens=policy.max_tokens,
        purpose="compaction",
    )


def apply_compaction(
    messages: list[Message], plan: CompactionPlan, text: str, *, policy: ContextPolicy
) -> int:
    """Replace the summarised messages by the summary, in place.

    Returns:
        How many model turns the summary now stands for.
    """
    turns_before = sum(1 for m in messages if m.role == "assistant") + sum(
        m.summary.turns for m in messages if m.summary is not None
    )
    tail = messages[plan.cut :]
    turns = turns_before - 1 - sum(1 for m in tail if m.role == "assistant")
    summary = plan.pinned.model_copy(
        update={
            "turns": turns,
            "compactions": plan.pinned.compactions + 1,
            "text": _clip(text.strip(), policy.max_tokens * 4),
        }
    )
    summary = _bounded(summary, tokens=policy.window // 5)
    messages[:] = [
        messages[0],
        Message(role="assistant", text=SUMMARY_ACK),
        Message(role="user", text=render_summary(summary), summary=summary),
        *tail,
    ]
    return turns


def _bounded(summary: ContextSummary, *, tokens: int) -> ContextSummary:
    """Drop the oldest commands, then the oldest notes, past `tokens` (answers stay)."""
    commands, notes = list(summary.commands), list(summary.notes)
    while text_tokens(len(render_summary(summary))) > tokens and (commands or notes):
        if commands:
            commands.pop(0)
        else:
            notes.pop(0)
        summary = summary.model_copy(update={"commands": commands, "notes": notes})
    return summary


def render_summary(summary: ContextSummary) -> str:
    """The summary message as the model reads it."""
    parts = [
        f"[Forgeline] The earlier part of this conversation ({summary.turns} model turns) was "
        "compacted. Your task is in the first message, unchanged. The sections marked "
        "verbatim were copied from the conversation itself.",
        "## Summary of the earlier work\n" + (summary.text or "(no summary)"),
    ]
    if summary.answers:
        parts.append("## The user's answers (verbatim)\n" + "\n\n".join(summary.answers))
    if summary.notes:
        parts.append(
            "## Notes given to you (verbatim, e.g. open findings)\n" + "\n\n".join(summary.notes)
        )
    if summary.files_changed:
        parts.append("## Files changed\n" + "\n".join(f"- {p}" for p in summary.files_changed))
    if summary.commands:
        parts.append(
            "## Commands run (verbatim, with exit codes)\n"
            + "\n".join(f"- {c}" for c in summary.commands)
        )
    return "\n\n".join(parts)


def model_turns(messages: list[Message]) -> int:
    """Model turns taken so far, counting those a summary stands for."""
    summarised = sum(m.summary.turns for m in messages if m.summary is not None)
    return summarised + sum(1 for m in messages if m.role == "assistant")
