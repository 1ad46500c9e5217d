"""The Anthropic Messages API provider (`anthropic:<model>`).

Calls are streamed; text deltas reach `on_text` as they arrive. Transient failures
(429, 529, 500-504, connection errors, a stream cut before `message_stop`) are
retried by `forgeline.llm.retry` with the SDK's own retries switched off. A retried
call is streamed again from the start: text already given to `on_text` by the
failed attempt is not taken back, so a listener may see part of a reply twice.

Prompt caching puts `cache_control` breakpoints on the last tool definition, on the
system prompt and on the last content block of the last message, so every call
writes the conversation so far to the cache and the next call reads it back; a
compacted conversation's summary gets the fourth (DESIGN §15).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import anthropic
import httpx2
from anthropic import AsyncAnthropic, DefaultAsyncHttpxClient, omit
from anthropic.types import (
    AssistantMessageParam,
    CacheControlEphemeralParam,
    InputJSONDelta,
    MessageParam,
    RawContentBlockDeltaEvent,
    RawContentBlockStartEvent,
    RawMessageDeltaEvent,
    RawMessageStartEvent,
    RawMessageStopEvent,
    RawMessageStreamEvent,
    TextBlock,
    TextBlockParam,
    TextDelta,
    ToolParam,
    ToolResultBlockParam,
    ToolUseBlock,
    ToolUseBlockParam,
    UserMessageParam,
)

from forgeline.domain.errors import ContextOverflowError, ModelError
from forgeline.domain.messages import Message, ModelRequest, ModelResponse, ToolCall, Usage
from forgeline.llm.base import TextCallback
from forgeline.llm.pricing import cost_for
from forgeline.llm.retry import (
    RETRYABLE_STATUSES,
    RetryPolicy,
    TransientModelError,
    call_with_retries,
    retry_after_s,
)
from forgeline.llm.toolargs import error_body_message, tool_call_from_json, tool_call_from_value
from forgeline.llm.transport import shared_ssl_context
from forgeline.settings import ModelPrice

PROVIDER = "Anthropic"
EPHEMERAL: CacheControlEphemeralParam = {"type": "ephemeral"}
EMPTY_CONTENT = "(empty)"
"""Sent in place of an empty message or tool result, which the API rejects."""

MISSING_KEY_MESSAGE = (
    "No Anthropic API key: set ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL for a proxy or "
    "gateway), or choose another model with FORGELINE_MODEL. `forgeline demo` works "
    "without any key."
)
REJECTED_KEY_MESSAGE = (
    "Anthropic rejected the API key (HTTP {status}: {detail}); set ANTHROPIC_API_KEY to a "
    "valid key."
)
_SDK_DEPRECATION = r"The model '.*' is deprecated"
_TRANSIENT_STREAM_ERRORS = frozenset(
    {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}
)

_OVERFLOW_MESSAGES = ("prompt is too long", "exceed context limit")
"""In a 400's message: the prompt (plus `max_tokens`) does not fit the context window."""

Block = TextBlockParam | ToolUseBlockParam | ToolResultBlockParam


class AnthropicModel:
    """A Claude model behind the official `anthropic` SDK."""

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 4,
        prices: Mapping[str, ModelPrice] | None = None,
        timeout_s: float = 600,
        retry_base_delay_s: float = 0.5,
    ) -> None:
        """Configure the model; nothing is contacted until `complete`.

        Args:
            model: The Anthropic model id, e.g. `claude-sonnet-4-5`.
            api_key: The key; defaults to `ANTHROPIC_API_KEY` (or `ANTHROPIC_AUTH_TOKEN`).
            base_url: The API root without `/v1`; defaults to `ANTHROPIC_BASE_URL`.
            max_retries: Retries of a transient failure after the first attempt.
            prices: Price overrides keyed by model name (`Settings.prices`).
            timeout_s: Timeout of one HTTP request.
            retry_base_delay_s: First backoff delay; it doubles on every retry.
        """
        self._model = model
        self._api_key = api_key
        self._base_url = base_url
        self._prices = prices
        self._timeout_s = timeout_s
        self._policy = RetryPolicy(max_retries=max_retries, base_delay_s=retry_base_delay_s)

    @property
    def name(self) -> str:
        """The full `provider:model` name."""
        return f"anthropic:{self._model}"

    async def complete(
        self, request: ModelRequest, *, on_text: TextCallback | None = None
    ) -> ModelResponse:
        """Run one streamed call, retrying transient failures.

        Raises:
            ModelError: Missing or rejected key, a bad request, or retries exhausted.
        """
        api_key, auth_token = self._credentials()
        async with AsyncAnthropic(
            api_key=api_key,
            auth_token=auth_token,
            base_url=self._base_url,
            max_retries=0,
            timeout=self._timeout_s,
            http_client=DefaultAsyncHttpxClient(verify=shared_ssl_context()),
        ) as client:

            async def attempt() -> ModelResponse:
                return await self._attempt(client, request, on_text)

            return await call_with_retries(
                attempt, classify=self._classify, policy=self._policy, provider=PROVIDER
            )

    def _credentials(self) -> tuple[str | None, str | None]:
        api_key = self._api_key or os.environ.get("ANTHROPIC_API_KEY") or None
        if api_key:
            return api_key, None
        auth_token = os.environ.get("ANTHROPIC_AUTH_TOKEN") or None
        if auth_token:
            return None, auth_token
        raise ModelError(MISSING_KEY_MESSAGE)

    async def _attempt(
        self, client: AsyncAnthropic, request: ModelRequest, on_text: TextCallback | None
    ) -> ModelResponse:
        system = system_blocks(request.system)
        tools = tool_params(request)
        with warnings.catch_warnings():
            # The SDK warns on every call to a model past its announced deprecation
            # (Forgeline's default among them); that is not ours to act on per call.
            warnings.filterwarnings("ignore", _SDK_DEPRECATION, DeprecationWarning)
            stream = await client.messages.create(
                model=self._model,
                max_tokens=request.max_tokens,
                system=system if system else omit,
                messages=message_params(request.messages),
                tools=tools if tools else omit,
                stream=True,
            )
        assembly = _Assembly(on_text=on_text)
        async with stream:
            async for event in stream:
                assembly.feed(event)
        if not assembly.stopped:
            raise TransientModelError("the response stream ended before message_stop")
        return assembly.response(model_name=self.name, usage=self._usage(assembly))

    def _usage(self, assembly: _Assembly) -> Usage:
        usage = Usage(
            input_tokens=assembly.input_tokens,
            output_tokens=assembly.output_tokens,
            cache_read_tokens=assembly.cache_read_tokens,
            cache_write_tokens=assembly.cache_write_tokens,
            calls=1,
        )
        cost = cost_for(self._model, usage, overrides=self._prices)
        return usage.model_copy(update={"cost_usd": cost})

    def _classify(self, exc: Exception) -> TransientModelError | ModelError | None:
        if isinstance(exc, anthropic.APIStatusError):
            return self._classify_status(exc)
        if isinstance(exc, anthropic.APIConnectionError | httpx2.RequestError):
            cause = exc.__cause__ or exc
            return TransientModelError(f"connection failed ({type(cause).__name__}: {cause})")
        return None

    def _classify_status(self, exc: anthropic.APIStatusError) -> TransientModelError | ModelError:
        status = exc.status_code
        detail = exc.api_message or error_body_message(exc.body) or str(exc)
        if status < 400:
            # An `error` event inside a 200 stream, e.g. overloaded_error mid-reply.
            kind = exc.type or "error"
            if kind in _TRANSIENT_STREAM_ERRORS:
                return TransientModelError(f"stream error {kind}: {detail}")
            return ModelError(f"Anthropic reported {kind} during the reply: {detail}")
        if status in (401, 403):
            return ModelError(REJECTED_KEY_MESSAGE.format(status=status, detail=detail))
        if status in RETRYABLE_STATUSES:
            return TransientModelError(
                f"HTTP {status}: {detail}", retry_after_s=retry_after_s(exc.response.headers)
            )
        if status == 400 and any(m in detail for m in _OVERFLOW_MESSAGES):
            return ContextOverflowError(f"Anthropic: the prompt is too long (HTTP 400): {detail}")
        if status == 400:
            return ModelError(f"Anthropic rejected the request (HTTP 400): {detail}")
        if status == 404:
            return ModelError(
                f"Anthropic answered HTTP 404 for model '{self._model}': {detail} "
                "(check the model name and ANTHROPIC_BASE_URL)"
            )
        return ModelError(f"Anthropic answered HTTP {status}: {detail}")


def system_blocks(system: str) -> list[TextBlockParam]:
    """The system prompt as one cached text block (none when it is empty)."""
    if not system:
        return []
    return [{"type": "text", "text": system, "cache_control": EPHEMERAL}]


def tool_params(request: ModelRequest) -> list[ToolParam]:
    """Tool definitions, with a cache breakpoint on the last one."""
    tools: list[ToolParam] = [
        {"name": spec.name, "description": spec.description, "input_schema": spec.input_schema}
        for spec in request.tools
    ]
    if tools:
        tools[-1]["cache_control"] = EPHEMERAL
    return tools


def message_params(messages: list[Message]) -> list[MessageParam]:
    """Our messages as Anthropic messages; the last block of the last one is cached, and
    so is a compacted conversation's summary (what follows it changes as old tool results
    are cleared, the summary and what precedes it do not)."""
    params: list[MessageParam] = []
    for index, message in enumerate(messages):
        blocks = content_blocks(message)
        if index == len(messages) - 1 or message.summary is not None:
            blocks[-1]["cache_control"] = EPHEMERAL
        if message.role == "user":
            params.append(UserMessageParam(role="user", content=blocks))
        else:
            params.append(AssistantMessageParam(role="assistant", content=blocks))
    return params


def content_blocks(message: Message) -> list[Block]:
    """One message's content: tool results first, then text, then tool calls."""
    blocks: list[Block] = [
        ToolResultBlockParam(
            type="tool_result",
            tool_use_id=result.tool_call_id,
            content=result.content or EMPTY_CONTENT,
            is_error=result.is_error,
        )
        for result in message.tool_results
    ]
    if message.text:
        blocks.append(TextBlockParam(type="text", text=message.text))
    blocks.extend(
        ToolUseBlockParam(type="tool_use", id=call.id, name=call.name, input=dict(call.input))
        for call in message.tool_calls
    )
    if not blocks:
        blocks.append(TextBlockParam(type="text", text=EMPTY_CONTENT))
    return blocks


@dataclass
class _Block:
    """A content block being assembled from stream events."""

    kind: str
    text: str = ""
    tool_id: str = ""
    tool_name: str = ""
    json_parts: list[str] = field(default_factory=list)
    start_input: object = None


@dataclass
class _Assembly:
    """Accumulates the raw stream events of one reply."""

    on_text: TextCallback | None
    blocks: dict[int, _Block] = field(default_factory=dict)
    stop_reason: str | None = None
    stopped: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def feed(self, event: RawMessageStreamEvent) -> None:
        if isinstance(event, RawMessageStartEvent):
            usage = event.message.usage
            self._count(
                usage.input_tokens,
                usage.output_tokens,
                usage.cache_read_input_tokens,
                usage.cache_creation_input_tokens,
            )
        elif isinstance(event, RawContentBlockStartEvent):
            self._start(event)
        elif isinstance(event, RawContentBlockDeltaEvent):
            self._delta(event)
        elif isinstance(event, RawMessageDeltaEvent):
            self.stop_reason = event.delta.stop_reason or self.stop_reason
            delta_usage = event.usage
            self._count(
                delta_usage.input_tokens,
                delta_usage.output_tokens,
                delta_usage.cache_read_input_tokens,
                delta_usage.cache_creation_input_tokens,
            )
        elif isinstance(event, RawMessageStopEvent):
            self.stopped = True

    def _count(
        self, input_: int | None, output: int | None, read: int | None, write: int | None
    ) -> None:
        # message_delta counts are cumulative: a present value replaces the earlier one.
        self.input_tokens = self.input_tokens if input_ is None else input_
        self.output_tokens = self.output_tokens if output is None else output
        self.cache_read_tokens = self.cache_read_tokens if read is None else read
        self.cache_write_tokens = self.cache_write_tokens if write is None else write

    def _start(self, event: RawContentBlockStartEvent) -> None:
        block = event.content_block
        if isinstance(block, TextBlock):
            self.blocks[event.index] = _Block(kind="text", text=block.text)
            if block.text and self.on_text is not None:
                self.on_text(block.text)
        elif isinstance(block, ToolUseBlock):
            self.blocks[event.index] = _Block(
                kind="tool_use", tool_id=block.id, tool_name=block.name, start_input=block.input
            )

    def _delta(self, event: RawContentBlockDeltaEvent) -> None:
        block = self.blocks.get(event.index)
        delta = event.delta
        if block is None:
            return
        if isinstance(delta, TextDelta):
            block.text += delta.text
            if self.on_text is not None:
                self.on_text(delta.text)
        elif isinstance(delta, InputJSONDelta):
            block.json_parts.append(delta.partial_json)

    def response(self, *, model_name: str, usage: Usage) -> ModelResponse:
        ordered = [self.blocks[index] for index in sorted(self.blocks)]
        text = "".join(block.text for block in ordered if block.kind == "text")
        calls = [_tool_call(block) for block in ordered if block.kind == "tool_use"]
        message = Message(role="assistant", text=text, tool_calls=calls)
        return ModelResponse(
            message=message,
            stop_reason=self.stop_reason or "end_turn",
            usage=usage,
            model=model_name,
        )


def _tool_call(block: _Block) -> ToolCall:
    raw = "".join(block.json_parts)
    if raw or not block.start_input:
        return tool_call_from_json(call_id=block.tool_id, name=block.tool_name, raw=raw)
    return tool_call_from_value(
        call_id=block.tool_id,
        name=block.tool_name,
        value=block.start_input,
        raw=repr(block.start_input),
    )
