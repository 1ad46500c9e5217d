"""Compaction: one model call summarises the older part of a conversation.

The first message (the task: feature request, plan) is kept as it is, and the user's
answers, notes given between turns (open findings), files changed and commands run
with their exit codes are collected from the conversation itself and kept verbatim
beside the model's summary. Everything here is a pure function of the conversation;
the summary call itself is run by the caller (as a durable step).
"""

from __future__ import annotations

from dataclasses import dataclass

from forgeline.agents.clearing import EXIT_CODE, KEPT_TOOLS, call_target
from forgeline.agents.window import ContextPolicy
from forgeline.domain.messages import ContextSummary, Message, ModelRequest, ToolCall, ToolResult
from forgeline.llm.tokens import message_tokens, text_tokens

SUMMARY_ACK = "I will continue from the summary of the earlier conversation."
RESULT_CHARS_IN_TRANSCRIPT = 600

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
    found = EXIT_CODE.findall(result.content)
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
                f"assistant called {c.name} {call_target(c)}".rstrip() for c in message.tool_calls
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
