"""Token estimates of a request, the same for the agent loop and the fake LLM server.

No tokenizer: about four characters a token, plus a fixed overhead per message and
per content block (ids, roles, block types). The loop keeps every request, counted
this way, under its model's window; the fake server (`forgeline.testing.fake_limits`)
counts the wire body the same way, so a test proves the loop never sends too much.
"""

from __future__ import annotations

import json
import operator
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from forgeline.domain.messages import Message, ModelRequest, ToolSpec

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4
"""Tokens counted for each message (role and framing)."""
BLOCK_OVERHEAD = 12
"""Tokens counted for each tool call and tool result (ids, names, block types)."""


def text_tokens(chars: int) -> int:
    """Tokens of `chars` characters of text (rounded up)."""
    return -(-chars // CHARS_PER_TOKEN)


def json_chars(value: Any) -> int:
    """Characters of `value` as compact JSON, the way a tool input is sent."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))


def tool_tokens(tools: list[ToolSpec]) -> int:
    """Tokens of the tool definitions."""
    chars = sum(len(t.name) + len(t.description) + json_chars(t.input_schema) for t in tools)
    return text_tokens(chars) + BLOCK_OVERHEAD * len(tools)


def message_tokens(message: Message) -> int:
    """Tokens of one message, counted once per message object.

    Messages are never changed in place (they are replaced by copies), so the count of
    a message object is remembered (by identity, until it is garbage) and a
    conversation's estimate costs one lookup per message instead of serialising every
    tool input again on each call.
    """
    key = id(message)
    known = _COUNTED.get(key)
    if known is not None and known[0]() is message:
        return known[1]
    value = _count(message)
    _COUNTED[key] = (weakref.ref(message, _forget(key)), value)
    return value


_COUNTED: dict[int, tuple[weakref.ref[Message], int]] = {}


def _forget(key: int) -> Callable[[weakref.ref[Message]], None]:
    def forget(ref: weakref.ref[Message]) -> None:
        known = _COUNTED.get(key)
        if known is not None and known[0] is ref:
            del _COUNTED[key]

    return forget


def _count(message: Message) -> int:
    chars = len(message.text)
    chars += sum(len(r.content) for r in message.tool_results)
    chars += sum(len(c.name) + json_chars(c.input) for c in message.tool_calls)
    blocks = len(message.tool_results) + len(message.tool_calls)
    return text_tokens(chars) + MESSAGE_OVERHEAD + BLOCK_OVERHEAD * blocks


def request_tokens(request: ModelRequest) -> int:
    """Tokens of a whole request's prompt (system, tools, messages), without the output."""
    total = text_tokens(len(request.system)) + MESSAGE_OVERHEAD + tool_tokens(request.tools)
    return total + sum(message_tokens(m) for m in request.messages)


class IncrementalSum:
    """A per-message count summed over a conversation that grows at its end, kept up to date.

    It remembers the messages it counted (by identity) and the running sums; each
    call counts only the messages after the longest unchanged prefix. A message
    replaced or removed (cleared tool results, a compaction) is noticed, and the
    count resumes from there. Messages are never changed in place (they are
    replaced by copies), so identity is enough. Cost per call: one identity
    comparison per message, plus `value` of the new ones.
    """

    def __init__(self, value: Callable[[Message], int]) -> None:
        self._value = value
        self._seen: list[Message] = []
        self._sums: list[int] = [0]

    def total(self, messages: Sequence[Message]) -> int:
        """The sum of `value` over `messages`."""
        same = _common_prefix(self._seen, messages)
        del self._seen[same:]
        del self._sums[same + 1 :]
        running = self._sums[-1]
        for message in messages[same:]:
            running += self._value(message)
            self._seen.append(message)
            self._sums.append(running)
        return running


def _common_prefix(seen: list[Message], messages: Sequence[Message]) -> int:
    """How many leading messages are the very same objects in both lists."""
    flags = list(map(operator.is_, seen, messages))
    try:
        return flags.index(False)
    except ValueError:
        return len(flags)
