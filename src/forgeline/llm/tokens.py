"""Token estimates of a request, the same for the agent loop and the fake LLM server.

No tokenizer: about four characters a token, plus a fixed overhead per message and
per content block (ids, roles, block types). The loop keeps every request, counted
this way, under its model's window; the fake server (`forgeline.testing.fake_limits`)
counts the wire body the same way, so a test proves the loop never sends too much.

Messages and tool definitions are never changed in place (they are replaced by
copies), so each one is counted once per object, and a conversation's total is kept
per conversation, recounting only the messages after its unchanged prefix: the
estimate of each model call costs O(new messages), not O(conversation).
"""

from __future__ import annotations

import json
import operator
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from forgeline.domain.messages import Message, ModelRequest, ToolSpec

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4
"""Tokens counted for each message (role and framing)."""
BLOCK_OVERHEAD = 12
"""Tokens counted for each tool call and tool result (ids, names, block types)."""
MAX_CONVERSATIONS = 256
"""Conversations whose running totals are kept at once (the oldest is dropped first)."""

K = TypeVar("K")
V = TypeVar("V")


def text_tokens(chars: int) -> int:
    """Tokens of `chars` characters of text (rounded up)."""
    return -(-chars // CHARS_PER_TOKEN)


def json_chars(value: Any) -> int:
    """Characters of `value` as compact JSON, the way a tool input is sent."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))


class _ByIdentity(Generic[K, V]):
    """`count(obj)` remembered per object (by identity, until the object is garbage)."""

    def __init__(self, count: Callable[[K], V]) -> None:
        self._count = count
        self.known: dict[int, tuple[weakref.ref[K], V]] = {}

    def __call__(self, obj: K) -> V:
        key = id(obj)
        known = self.known.get(key)
        if known is not None and known[0]() is obj:
            return known[1]
        value = self._count(obj)
        self.known[key] = (weakref.ref(obj, self._forget(key)), value)
        return value

    def _forget(self, key: int) -> Callable[[weakref.ref[K]], None]:
        def forget(ref: weakref.ref[K]) -> None:
            known = self.known.get(key)
            if known is not None and known[0] is ref:
                del self.known[key]

        return forget


def _spec_chars(tool: ToolSpec) -> int:
    return len(tool.name) + len(tool.description) + json_chars(tool.input_schema)


_spec_chars_of = _ByIdentity(_spec_chars)


def tool_tokens(tools: list[ToolSpec]) -> int:
    """Tokens of the tool definitions (each definition's size counted once per object)."""
    chars = sum(map(_spec_chars_of, tools))
    return text_tokens(chars) + BLOCK_OVERHEAD * len(tools)


def _count(message: Message) -> int:
    chars = len(message.text)
    chars += sum(len(r.content) for r in message.tool_results)
    chars += sum(len(c.name) + json_chars(c.input) for c in message.tool_calls)
    blocks = len(message.tool_results) + len(message.tool_calls)
    return text_tokens(chars) + MESSAGE_OVERHEAD + BLOCK_OVERHEAD * blocks


_message_tokens = _ByIdentity(_count)
_COUNTED = _message_tokens.known


def message_tokens(message: Message) -> int:
    """Tokens of one message, counted once per message object.

    Messages are never changed in place (they are replaced by copies), so the count of
    a message object is remembered (by identity, until it is garbage) and a
    conversation's estimate costs one lookup per message instead of serialising every
    tool input again on each call.
    """
    return _message_tokens(message)


def request_tokens(request: ModelRequest) -> int:
    """Tokens of a whole request's prompt (system, tools, messages), without the output."""
    total = text_tokens(len(request.system)) + MESSAGE_OVERHEAD + tool_tokens(request.tools)
    return total + conversation_tokens(request.messages)


class IncrementalSum:
    """A per-message count summed over a conversation that grows at its end, kept up to date.

    It remembers the messages it counted (by identity) and the running sums; each
    call counts only the messages after the longest unchanged prefix. A message
    replaced or removed (cleared tool results, a compaction) is noticed, and the
    count resumes from there. Messages are never changed in place (they are
    replaced by copies), so identity is enough. Cost per call: one identity
    comparison per message (in C), plus `value` of the new ones.
    """

    def __init__(self, value: Callable[[Message], int]) -> None:
        self._value = value
        self._seen: list[Message] = []
        self._sums: list[int] = [0]

    def total(self, messages: Sequence[Message], start: int = 0) -> int:
        """The sum of `value` over `messages[start:]`."""
        same = _common_prefix(self._seen, messages, start)
        del self._seen[same:]
        del self._sums[same + 1 :]
        running = self._sums[-1]
        for index in range(start + same, len(messages)):
            message = messages[index]
            running += self._value(message)
            self._seen.append(message)
            self._sums.append(running)
        return running


def _common_prefix(seen: list[Message], messages: Sequence[Message], start: int) -> int:
    """How many of `seen` are (the very same objects as) `messages[start:]`, from the start."""
    prefix = messages[start : start + len(seen)]
    if not isinstance(prefix, list):  # a list's slice is already a list: no second copy
        prefix = list(prefix)
    # The usual case: nothing changed, maybe messages were added. A list comparison
    # checks identity first, element by element in C, so the unchanged prefix costs
    # no `__eq__` (an equal copy in place of a message counts the same anyway).
    if prefix == seen:
        return len(seen)
    flags = list(map(operator.is_, seen, prefix))
    try:
        return flags.index(False)
    except ValueError:
        return len(flags)


def conversation_tokens(messages: Sequence[Message]) -> int:
    """Estimated tokens of the messages: the sum of `message_tokens` over them.

    The running total is kept per conversation (told apart by its first message,
    which compaction keeps), so only the messages after the prefix that is still the
    very same objects are counted; a copy of the list (each request's) shares it.
    """
    if not messages:
        return 0
    first = messages[0]
    with _LOCK:
        tally = _tally_of(first)
        return message_tokens(first) + tally.total(messages, start=1)


_LOCK = threading.Lock()
_TALLIES: dict[int, tuple[weakref.ref[Message], IncrementalSum]] = {}
"""Each conversation's running total (of its messages after the first), by its first
message's identity; dropped when that message is garbage. The tally holds the other
messages, never the first, so it does not keep itself alive."""


def _tally_of(first: Message) -> IncrementalSum:
    key = id(first)
    known = _TALLIES.get(key)
    if known is not None and known[0]() is first:
        return known[1]
    for oldest in list(_TALLIES)[: len(_TALLIES) - MAX_CONVERSATIONS + 1]:
        _TALLIES.pop(oldest, None)
    tally = IncrementalSum(_message_tokens)
    _TALLIES[key] = (weakref.ref(first, _forget_tally(key)), tally)
    return tally


def _forget_tally(key: int) -> Callable[[weakref.ref[Message]], None]:
    def forget(ref: weakref.ref[Message]) -> None:
        known = _TALLIES.get(key)
        if known is not None and known[0] is ref:
            del _TALLIES[key]

    return forget
