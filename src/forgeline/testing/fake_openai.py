"""OpenAI Chat Completions wire format for the fake LLM server."""

from __future__ import annotations

import json
import time
from typing import Any

from forgeline.testing.fake_anthropic import chunks
from forgeline.testing.fake_replies import FakeError, FakeTurn

DONE = b"data: [DONE]\n\n"

_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "tool_use": "tool_calls",
    "max_tokens": "length",
}
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_exceeded",
}
_ERROR_CODES = {401: "invalid_api_key", 404: "model_not_found", 429: "rate_limit_exceeded"}


def data_frame(data: dict[str, Any]) -> bytes:
    """One server-sent event carrying JSON data."""
    return f"data: {json.dumps(data)}\n\n".encode()


def call_ids(turn: FakeTurn, serial: int) -> list[str]:
    """The tool-call ids of a turn (given ids, or generated ones)."""
    return [call.id or f"call_fake_{serial}_{index}" for index, call in enumerate(turn.tool_calls)]


def finish_reason(turn: FakeTurn) -> str:
    """The Chat Completions finish reason of a turn."""
    return _FINISH_REASONS[turn.resolved_stop_reason()]


def usage_body(turn: FakeTurn) -> dict[str, Any]:
    """Usage as OpenAI reports it: prompt tokens include the cached ones."""
    usage = turn.usage
    prompt = usage.input_tokens + usage.cache_read_tokens + usage.cache_write_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": usage.output_tokens,
        "total_tokens": prompt + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read_tokens},
    }


def _chunk(serial: int, model: str, choices: list[Any]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{serial}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
    }


def _delta(serial: int, model: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return data_frame(_chunk(serial, model, [choice]))


def stream_frames(turn: FakeTurn, *, model: str, serial: int, include_usage: bool) -> list[bytes]:
    """The complete chunk stream of a streamed reply, ending with `[DONE]`."""
    frames = [_delta(serial, model, {"role": "assistant", "content": ""})]
    frames.extend(
        _delta(serial, model, {"content": piece}) for piece in chunks(turn.text, turn.chunk_size)
    )
    for index, (call, call_id) in enumerate(
        zip(turn.tool_calls, call_ids(turn, serial), strict=True)
    ):
        head = {
            "index": index,
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        frames.append(_delta(serial, model, {"tool_calls": [head]}))
        frames.extend(
            _delta(
                serial, model, {"tool_calls": [{"index": index, "function": {"arguments": piece}}]}
            )
            for piece in chunks(call.arguments_json(), turn.chunk_size)
        )
    frames.append(_delta(serial, model, {}, finish=finish_reason(turn)))
    if include_usage:
        usage_chunk = _chunk(serial, model, [])
        usage_chunk["usage"] = usage_body(turn)
        frames.append(data_frame(usage_chunk))
    frames.append(DONE)
    return frames


def completion_body(turn: FakeTurn, *, model: str, serial: int) -> dict[str, Any]:
    """The JSON body of a non-streamed reply."""
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None}
    if turn.tool_calls:
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json()},
            }
            for call, call_id in zip(turn.tool_calls, call_ids(turn, serial), strict=True)
        ]
    return {
        "id": f"chatcmpl-fake-{serial}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(turn)}],
        "usage": usage_body(turn),
    }


def error_body(error: FakeError) -> dict[str, Any]:
    """The JSON body of an error reply."""
    if error.body is not None:
        return error.body
    kind = error.error_type or _ERROR_TYPES.get(error.status, "server_error")
    code = error.code or _ERROR_CODES.get(error.status)
    return {"error": {"message": error.message, "type": kind, "param": None, "code": code}}


def in_stream_error_frames(error: FakeError, *, model: str, serial: int) -> list[bytes]:
    """A stream that starts normally and then carries `error` as a chunk."""
    return [
        _delta(serial, model, {"role": "assistant", "content": ""}),
        data_frame(error_body(error)),
    ]
