"""The OpenAI Chat Completions provider (`openai:<model>`).

Works with OpenAI and with compatible servers (Ollama, vLLM, llama.cpp) through
`OPENAI_BASE_URL`; such servers usually need no key, so a dummy one is sent when a
base URL is set without a key. Calls are streamed with usage reporting; tool-call
argument fragments are assembled by index. Retries follow the same policy as the
Anthropic provider (`forgeline.llm.retry`); a retried call re-streams from the start,
so `on_text` may see part of a reply twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx2
import openai
from openai import AsyncOpenAI, DefaultAsyncHttpxClient, omit
from openai.types import CompletionUsage
from openai.types.chat import (
    ChatCompletionAssistantMessageParam,
    ChatCompletionChunk,
    ChatCompletionFunctionToolParam,
    ChatCompletionMessageFunctionToolCallParam,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionToolMessageParam,
    ChatCompletionUserMessageParam,
)
from openai.types.chat.chat_completion_chunk import ChoiceDeltaToolCall

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
from forgeline.llm.toolargs import error_body_message, tool_call_from_json
from forgeline.llm.transport import shared_ssl_context
from forgeline.settings import ModelPrice

PROVIDER = "OpenAI"
DUMMY_KEY = "not-needed"
"""Sent to a custom base URL when no key is configured (local servers ignore it)."""
ERROR_PREFIX = "Error: "
"""Prefixed to a failed tool result: Chat Completions has no error flag for tool messages."""

MISSING_KEY_MESSAGE = (
    "No OpenAI API key: set OPENAI_API_KEY, or OPENAI_BASE_URL to use a local "
    "OpenAI-compatible server (Ollama, vLLM, llama.cpp) that needs no key. "
    "`forgeline demo` works without any key."
)
REJECTED_KEY_MESSAGE = (
    "OpenAI rejected the API key (HTTP {status}: {detail}); set OPENAI_API_KEY to a valid key."
)
_FINISH_REASONS = {"tool_calls": "tool_use", "stop": "end_turn", "length": "max_tokens"}


class OpenAIModel:
    """A chat model behind the official `openai` SDK (Chat Completions API)."""

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
            model: The model id, e.g. `gpt-4.1` or `llama3.1:8b` on Ollama.
            api_key: The key; defaults to `OPENAI_API_KEY`.
            base_url: The API root including `/v1`; defaults to `OPENAI_BASE_URL`.
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
        return f"openai:{self._model}"

    async def complete(
        self, request: ModelRequest, *, on_text: TextCallback | None = None
    ) -> ModelResponse:
        """Run one streamed call, retrying transient failures.

        Raises:
            ModelError: Missing or rejected key, a bad request, or retries exhausted.
        """
        base_url = self._base_url or os.environ.get("OPENAI_BASE_URL") or None
        api_key = self._resolve_key(base_url)
        async with AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=0,
            timeout=self._timeout_s,
            http_client=DefaultAsyncHttpxClient(verify=shared_ssl_context()),
        ) as client:

            async def attempt() -> ModelResponse:
                return await self._attempt(client, request, on_text, custom_server=bool(base_url))

            return await call_with_retries(
                attempt, classify=self._classify, policy=self._policy, provider=PROVIDER
            )

    def _resolve_key(self, base_url: str | None) -> str:
        api_key = self._api_key or os.environ.get("OPENAI_API_KEY") or None
        if api_key:
            return api_key
        if base_url:
            return DUMMY_KEY
        raise ModelError(MISSING_KEY_MESSAGE)

    async def _attempt(
        self,
        client: AsyncOpenAI,
        request: ModelRequest,
        on_text: TextCallback | None,
        *,
        custom_server: bool,
    ) -> ModelResponse:
        tools = tool_params(request)
        # OpenAI's reasoning models only accept max_completion_tokens; compatible
        # servers widely understand max_tokens.
        stream = await client.chat.completions.create(
            model=self._model,
            messages=message_params(request),
            tools=tools if tools else omit,
            max_tokens=request.max_tokens if custom_server else omit,
            max_completion_tokens=omit if custom_server else request.max_tokens,
            stream=True,
            stream_options={"include_usage": True},
        )
        assembly = _Assembly(on_text=on_text)
        async with stream:
            async for chunk in stream:
                assembly.feed(chunk)
        if assembly.finish_reason is None:
            raise TransientModelError("the response stream ended before a finish_reason")
        return assembly.response(model_name=self.name, usage=self._usage(assembly.usage))

    def _usage(self, reported: CompletionUsage | None) -> Usage:
        usage = usage_from_openai(reported)
        cost = cost_for(self._model, usage, overrides=self._prices)
        return usage.model_copy(update={"cost_usd": cost})

    def _classify(self, exc: Exception) -> TransientModelError | ModelError | None:
        if isinstance(exc, openai.APIStatusError):
            return self._classify_status(exc)
        if isinstance(exc, openai.APIConnectionError | httpx2.RequestError):
            cause = exc.__cause__ or exc
            return TransientModelError(f"connection failed ({type(cause).__name__}: {cause})")
        if isinstance(exc, openai.APIError):
            # An error object sent inside the stream.
            return TransientModelError(f"stream error: {exc.message}")
        return None

    def _classify_status(self, exc: openai.APIStatusError) -> TransientModelError | ModelError:
        status = exc.status_code
        detail = error_body_message(exc.body) or exc.message
        if status in (401, 403):
            return ModelError(REJECTED_KEY_MESSAGE.format(status=status, detail=detail))
        if status == 429 and exc.code == "insufficient_quota":
            return ModelError(f"OpenAI quota exhausted (HTTP 429): {detail}")
        if status in RETRYABLE_STATUSES:
            return TransientModelError(
                f"HTTP {status}: {detail}", retry_after_s=retry_after_s(exc.response.headers)
            )
        if status == 400 and is_context_overflow(exc.code, detail):
            return ContextOverflowError(f"OpenAI: the prompt is too long (HTTP 400): {detail}")
        if status == 400:
            return ModelError(f"OpenAI rejected the request (HTTP 400): {detail}")
        if status == 404:
            return ModelError(
                f"OpenAI answered HTTP 404 for model '{self._model}': {detail} "
                "(check the model name and OPENAI_BASE_URL)"
            )
        return ModelError(f"OpenAI answered HTTP {status}: {detail}")


def is_context_overflow(code: str | None, detail: str) -> bool:
    """Whether an HTTP 400 says the prompt does not fit the model's context window.

    OpenAI sends `code: context_length_exceeded`; compatible servers often send only
    the message.
    """
    return code == "context_length_exceeded" or "maximum context length" in detail


def usage_from_openai(reported: CompletionUsage | None) -> Usage:
    """Our `Usage` (without cost) from the usage OpenAI reports; cached input is split out."""
    if reported is None:
        return Usage(calls=1)
    details = reported.prompt_tokens_details
    cached = (details.cached_tokens or 0) if details else 0
    written = (details.cache_write_tokens or 0) if details else 0
    return Usage(
        input_tokens=max(0, reported.prompt_tokens - cached - written),
        output_tokens=reported.completion_tokens,
        cache_read_tokens=cached,
        cache_write_tokens=written,
        calls=1,
    )


def tool_params(request: ModelRequest) -> list[ChatCompletionFunctionToolParam]:
    """Tool definitions as Chat Completions function tools."""
    return [
        {
            "type": "function",
            "function": {
                "name": spec.name,
                "description": spec.description,
                "parameters": spec.input_schema,
            },
        }
        for spec in request.tools
    ]


def message_params(request: ModelRequest) -> list[ChatCompletionMessageParam]:
    """The system prompt and our messages as Chat Completions messages."""
    params: list[ChatCompletionMessageParam] = []
    if request.system:
        params.append(ChatCompletionSystemMessageParam(role="system", content=request.system))
    for message in request.messages:
        if message.role == "assistant":
            params.append(_assistant_param(message))
            continue
        params.extend(
            ChatCompletionToolMessageParam(
                role="tool",
                tool_call_id=result.tool_call_id,
                content=(ERROR_PREFIX + result.content) if result.is_error else result.content,
            )
            for result in message.tool_results
        )
        if message.text or not message.tool_results:
            params.append(ChatCompletionUserMessageParam(role="user", content=message.text))
    return params


def _assistant_param(message: Message) -> ChatCompletionAssistantMessageParam:
    param = ChatCompletionAssistantMessageParam(role="assistant", content=message.text or None)
    if message.tool_calls:
        param["tool_calls"] = [
            ChatCompletionMessageFunctionToolCallParam(
                id=call.id,
                type="function",
                function={"name": call.name, "arguments": json.dumps(call.input)},
            )
            for call in message.tool_calls
        ]
    elif not message.text:
        param["content"] = ""
    return param


@dataclass
class _PendingCall:
    """A tool call being assembled from argument fragments."""

    call_id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


@dataclass
class _Assembly:
    """Accumulates the chunks of one streamed reply (choice 0)."""

    on_text: TextCallback | None
    text: list[str] = field(default_factory=list)
    calls: dict[int, _PendingCall] = field(default_factory=dict)
    finish_reason: str | None = None
    usage: CompletionUsage | None = None

    def feed(self, chunk: ChatCompletionChunk) -> None:
        if chunk.usage is not None:
            self.usage = chunk.usage
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            delta = choice.delta
            if delta.content:
                self.text.append(delta.content)
                if self.on_text is not None:
                    self.on_text(delta.content)
            for fragment in delta.tool_calls or []:
                self._add_fragment(fragment)
            if choice.finish_reason is not None:
                self.finish_reason = choice.finish_reason

    def _add_fragment(self, fragment: ChoiceDeltaToolCall) -> None:
        pending = self.calls.setdefault(fragment.index, _PendingCall())
        if fragment.id:
            pending.call_id = fragment.id
        function = fragment.function
        if function is None:
            return
        if function.name and function.name != pending.name:
            # Normally the whole name arrives once; some servers split it up.
            pending.name += function.name
        if function.arguments:
            pending.arguments.append(function.arguments)

    def response(self, *, model_name: str, usage: Usage) -> ModelResponse:
        calls: list[ToolCall] = [
            tool_call_from_json(
                call_id=pending.call_id or f"call_{index}",
                name=pending.name,
                raw="".join(pending.arguments),
            )
            for index, pending in sorted(self.calls.items())
        ]
        reason = self.finish_reason or "stop"
        return ModelResponse(
            message=Message(role="assistant", text="".join(self.text), tool_calls=calls),
            stop_reason=_FINISH_REASONS.get(reason, reason),
            usage=usage,
            model=model_name,
        )
