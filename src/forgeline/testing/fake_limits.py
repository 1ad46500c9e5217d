"""The fake LLM server's context window and prompt cache, counted on the wire.

Tokens are counted the way the agent loop estimates them (`forgeline.llm.tokens`),
from the JSON body the SDK sent, so a test against the fake proves that the loop's
requests fit. Past the limit the fake answers exactly as the real APIs do (HTTP 400,
Anthropic's `invalid_request_error` "prompt is too long: N tokens > M maximum", or
OpenAI's `context_length_exceeded`).

The prompt cache is modelled as the real ones behave with Forgeline's breakpoints: a
request reads from the cache the longest prefix an earlier request wrote, and a request
writes its whole prompt (the breakpoint on its last message), its system prompt and
tools, and (Anthropic) every message it marks with `cache_control`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from forgeline.llm.tokens import BLOCK_OVERHEAD, MESSAGE_OVERHEAD, json_chars, text_tokens
from forgeline.testing.fake_replies import FakeError, FakeTurn, FakeUsage

Api = Literal["anthropic", "openai"]


def _text(content: Any) -> str:
    """The text of a content value: a string, or a list of blocks with `text`."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(b.get("text", "")) for b in content if isinstance(b, dict))
    return ""


def _arguments_chars(arguments: Any) -> int:
    try:
        return json_chars(json.loads(arguments))
    except (TypeError, ValueError):
        return len(str(arguments))


def _anthropic_message(message: dict[str, Any]) -> int:
    content = message.get("content")
    if isinstance(content, str):
        return text_tokens(len(content)) + MESSAGE_OVERHEAD
    chars = blocks = 0
    for block in content if isinstance(content, list) else []:
        kind = block.get("type")
        if kind == "text":
            chars += len(str(block.get("text", "")))
        elif kind == "tool_use":
            chars += len(str(block.get("name", ""))) + json_chars(block.get("input", {}))
            blocks += 1
        elif kind == "tool_result":
            chars += len(_text(block.get("content", "")))
            blocks += 1
    return text_tokens(chars) + MESSAGE_OVERHEAD + BLOCK_OVERHEAD * blocks


def _openai_message(message: dict[str, Any]) -> int:
    chars = len(_text(message.get("content") or ""))
    if message.get("role") == "tool":
        return text_tokens(chars) + BLOCK_OVERHEAD
    calls = message.get("tool_calls") or []
    for call in calls:
        function = call.get("function", {})
        chars += len(str(function.get("name", ""))) + _arguments_chars(function.get("arguments"))
    return text_tokens(chars) + MESSAGE_OVERHEAD + BLOCK_OVERHEAD * len(calls)


def _tools(tools: list[dict[str, Any]], api: Api) -> int:
    chars = 0
    for tool in tools:
        spec = tool.get("function", {}) if api == "openai" else tool
        schema = spec.get("parameters" if api == "openai" else "input_schema", {})
        chars += len(str(spec.get("name", ""))) + len(str(spec.get("description", "")))
        chars += json_chars(schema)
    return text_tokens(chars) + BLOCK_OVERHEAD * len(tools)


def breakpoints(body: dict[str, Any], api: Api) -> list[int]:
    """Indexes (in `units`) of the messages carrying an Anthropic `cache_control` marker."""
    if api != "anthropic":
        return []
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    return [i + 1 for i, m in enumerate(messages) if "cache_control" in json.dumps(m)]


def units(body: dict[str, Any], api: Api) -> list[tuple[str, int]]:
    """The request as cacheable units (system and tools, then each message): key, tokens."""
    tools = body.get("tools") or []
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    if api == "anthropic":
        system = _text(body.get("system") or "")
        counted = [(m, _anthropic_message(m)) for m in messages]
    else:
        system = "".join(_text(m.get("content")) for m in messages if m.get("role") == "system")
        counted = [(m, _openai_message(m)) for m in messages if m.get("role") != "system"]
    head = text_tokens(len(system)) + MESSAGE_OVERHEAD + _tools(tools, api)
    first = (_key([system, _strip(tools)]), head)
    return [first, *((_key(_strip(m)), tokens) for m, tokens in counted)]


COMPACTION_MARK = "You are the compaction step of Forgeline"


def is_compaction(body: dict[str, Any], api: Api) -> bool:
    """Whether the request is the agent loop's compaction call (by its system prompt)."""
    if api == "anthropic":
        return _text(body.get("system") or "").startswith(COMPACTION_MARK)
    messages = body.get("messages") or []
    first = messages[0] if messages and isinstance(messages[0], dict) else {}
    return first.get("role") == "system" and _text(first.get("content")).startswith(COMPACTION_MARK)


def _strip(value: Any) -> Any:
    """`value` without `cache_control` markers (they move; the content is what is cached)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _key(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _prefix_keys(parts: list[tuple[str, int]]) -> Iterator[tuple[str, int]]:
    """A key for each prefix of `parts`, with the prefix's tokens."""
    digest = hashlib.sha256()
    tokens = 0
    for key, count in parts:
        digest.update(key.encode())
        tokens += count
        yield digest.hexdigest(), tokens


@dataclass
class ContextModel:
    """A window limit and a prompt cache shared by every request to one fake server.

    Attributes:
        limit: The context window in tokens; None for no limit.
        cache: Report cache reads and writes from the prompt prefix (and the prompt
            tokens from the count) instead of the scripted usage numbers.
    """

    limit: int | None = None
    cache: bool = False
    overflows: int = 0
    counts: list[int] = field(default_factory=list)
    _cached: set[str] = field(default_factory=set)

    def check(self, body: dict[str, Any], api: Api) -> FakeError | None:
        """The error the real API gives for a too long request, or None."""
        total = sum(tokens for _, tokens in units(body, api))
        self.counts.append(total)
        wanted = int(body.get("max_tokens") or body.get("max_completion_tokens") or 0)
        if self.limit is None or total + wanted <= self.limit:
            return None
        self.overflows += 1
        return overflow_error(api, prompt=total, max_tokens=wanted, limit=self.limit)

    def usage(self, body: dict[str, Any], api: Api, turn: FakeTurn) -> FakeTurn:
        """`turn` with the prompt and cache tokens this request really has."""
        if not self.cache:
            return turn
        parts = units(body, api)
        total = sum(tokens for _, tokens in parts)
        read = 0
        prefixes = list(_prefix_keys(parts))
        for key, tokens in prefixes:
            if key in self._cached:
                read = tokens
        marked = {0, len(prefixes) - 1, *breakpoints(body, api)}
        self._cached.update(prefixes[i][0] for i in marked if i < len(prefixes))
        written = total - read if api == "anthropic" else 0
        usage = FakeUsage(
            input_tokens=total - read - written,
            output_tokens=turn.usage.output_tokens,
            cache_read_tokens=read,
            cache_write_tokens=written,
        )
        return turn.model_copy(update={"usage": usage})


def overflow_error(api: Api, *, prompt: int, max_tokens: int, limit: int) -> FakeError:
    """HTTP 400 exactly as Anthropic or OpenAI word it."""
    if api == "anthropic":
        if prompt > limit:
            message = f"prompt is too long: {prompt} tokens > {limit} maximum"
        else:
            message = (
                f"input length and `max_tokens` exceed context limit: {prompt} + {max_tokens} "
                f"> {limit}, decrease input length or `max_tokens` and try again"
            )
        return FakeError(status=400, error_type="invalid_request_error", message=message)
    message = (
        f"This model's maximum context length is {limit} tokens. However, your messages "
        f"resulted in {prompt + max_tokens} tokens ({prompt} in the messages, {max_tokens} in "
        "the completion). Please reduce the length of the messages or completion."
    )
    return FakeError(
        status=400,
        error_type="invalid_request_error",
        code="context_length_exceeded",
        message=message,
        body={
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        },
    )
