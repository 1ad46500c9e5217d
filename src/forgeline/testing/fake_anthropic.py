"""Anthropic Messages API wire format for the fake LLM server."""

from __future__ import annotations

import json
from typing import Any

from forgeline.testing.fake_replies import FakeError, FakeTurn

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def sse(event: str, data: dict[str, Any]) -> bytes:
    """One server-sent event."""
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def chunks(text: str, size: int) -> list[str]:
    """`text` in pieces of `size` characters."""
    return [text[start : start + size] for start in range(0, len(text), size)]


def tool_ids(turn: FakeTurn, serial: int) -> list[str]:
    """The tool-use ids of a turn (given ids, or generated ones)."""
    return [call.id or f"toolu_fake_{serial}_{index}" for index, call in enumerate(turn.tool_calls)]


def _usage(turn: FakeTurn, *, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": turn.usage.input_tokens,
        "output_tokens": output_tokens,
        "cache_read_input_tokens": turn.usage.cache_read_tokens,
        "cache_creation_input_tokens": turn.usage.cache_write_tokens,
    }


def _message(turn: FakeTurn, *, model: str, serial: int, content: list[Any]) -> dict[str, Any]:
    return {
        "id": f"msg_fake_{serial}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": _usage(turn, output_tokens=1),
    }


def stream_frames(turn: FakeTurn, *, model: str, serial: int) -> list[bytes]:
    """The complete event stream of a streamed reply."""
    frames = [
        sse(
            "message_start",
            {
                "type": "message_start",
                "message": _message(turn, model=model, serial=serial, content=[]),
            },
        ),
        sse("ping", {"type": "ping"}),
    ]
    index = 0
    if turn.text:
        frames.append(_block_start(index, {"type": "text", "text": ""}))
        frames.extend(
            _delta(index, {"type": "text_delta", "text": piece})
            for piece in chunks(turn.text, turn.chunk_size)
        )
        frames.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    for call, call_id in zip(turn.tool_calls, tool_ids(turn, serial), strict=True):
        block = {"type": "tool_use", "id": call_id, "name": call.name, "input": {}}
        frames.append(_block_start(index, block))
        frames.extend(
            _delta(index, {"type": "input_json_delta", "partial_json": piece})
            for piece in chunks(call.arguments_json(), turn.chunk_size)
        )
        frames.append(sse("content_block_stop", {"type": "content_block_stop", "index": index}))
        index += 1
    frames.append(
        sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": turn.resolved_stop_reason(), "stop_sequence": None},
                "usage": {"output_tokens": turn.usage.output_tokens},
            },
        )
    )
    frames.append(sse("message_stop", {"type": "message_stop"}))
    return frames


def _block_start(index: int, block: dict[str, Any]) -> bytes:
    return sse(
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": block},
    )


def _delta(index: int, delta: dict[str, Any]) -> bytes:
    return sse(
        "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    )


def message_body(turn: FakeTurn, *, model: str, serial: int) -> dict[str, Any]:
    """The JSON body of a non-streamed reply."""
    content: list[dict[str, Any]] = []
    if turn.text:
        content.append({"type": "text", "text": turn.text})
    for call, call_id in zip(turn.tool_calls, tool_ids(turn, serial), strict=True):
        content.append(
            {
                "type": "tool_use",
                "id": call_id,
                "name": call.name,
                "input": _input(call.arguments_json()),
            }
        )
    body = _message(turn, model=model, serial=serial, content=content)
    body["stop_reason"] = turn.resolved_stop_reason()
    body["usage"] = _usage(turn, output_tokens=turn.usage.output_tokens)
    return body


def _input(arguments: str) -> Any:
    try:
        return json.loads(arguments)
    except json.JSONDecodeError:
        return arguments


def error_body(error: FakeError) -> dict[str, Any]:
    """The JSON body of an error reply."""
    if error.body is not None:
        return error.body
    kind = error.error_type or _ERROR_TYPES.get(error.status, "api_error")
    return {"type": "error", "error": {"type": kind, "message": error.message}}


def in_stream_error_frames(error: FakeError, *, model: str, serial: int) -> list[bytes]:
    """A stream that starts normally and then reports `error` as an event."""
    start = _message(FakeTurn(), model=model, serial=serial, content=[])
    return [
        sse("message_start", {"type": "message_start", "message": start}),
        sse("error", error_body(error)),
    ]
