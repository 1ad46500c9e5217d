"""Clearing old tool results: each keeps its call and becomes a one-line note.

The note says what was there (the tool, its target, the exit code of a command, the
size), so the model can call the tool again. The user's answers and the newest turns
are never cleared.
"""

from __future__ import annotations

import re

from forgeline.domain.messages import Message, ToolCall, ToolResult
from forgeline.llm.tokens import text_tokens

KEEP_RECENT = 2
"""Tool-result messages at the end of the conversation that are never cleared."""
KEPT_TOOLS = frozenset({"AskUser"})
"""Tools whose results are never cleared (the user's answers)."""
CLEARED_PREFIX = "[cleared: "
EXIT_CODE = re.compile(r"exit code:? (-?\d+)")


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
    what = call_target(call)
    parts = [f"{call.name} {what}".strip()]
    if call.name == "Bash":
        found = EXIT_CODE.findall(result.content)
        if found:
            parts.append(f"exit code {found[-1]}")
    parts.append(f"{lines} lines")
    again = "Read again" if call.name == "Read" else f"call {call.name} again"
    note = f"{CLEARED_PREFIX}{', '.join(parts)} — {again} if needed]"
    return note if len(note) < len(result.content) else None


def call_target(call: ToolCall) -> str:
    """What a call worked on (its file, pattern or command), shortened to one line."""
    for key in ("file_path", "pattern", "command", "path"):
        if key in call.input:
            value = " ".join(str(call.input[key]).split())
            return value if len(value) <= 120 else value[:117] + "..."
    return ""
