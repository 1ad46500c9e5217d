"""Turning a model's raw tool arguments into a `ToolCall`, and wire error bodies into text."""

from __future__ import annotations

import json
from typing import Any

from forgeline.domain.messages import ToolCall


def tool_call_from_json(*, call_id: str, name: str, raw: str) -> ToolCall:
    """A `ToolCall` from the JSON text a model streamed as the tool's arguments.

    Empty text means no arguments. Text that is not a JSON object gives a call with
    `parse_error` set (and empty input), so the agent loop can tell the model to retry.
    """
    if not raw.strip():
        return ToolCall(id=call_id, name=name, input={})
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return ToolCall(id=call_id, name=name, parse_error=_bad_json(name, raw, str(exc)))
    return tool_call_from_value(call_id=call_id, name=name, value=value, raw=raw)


def tool_call_from_value(*, call_id: str, name: str, value: object, raw: str) -> ToolCall:
    """A `ToolCall` from already-decoded arguments, which must be a JSON object."""
    if not isinstance(value, dict):
        return ToolCall(
            id=call_id,
            name=name,
            parse_error=_bad_json(name, raw, f"expected a JSON object, got {type(value).__name__}"),
        )
    arguments: dict[str, Any] = {str(key): item for key, item in value.items()}
    return ToolCall(id=call_id, name=name, input=arguments)


def _bad_json(name: str, raw: str, problem: str) -> str:
    shown = raw if len(raw) <= 200 else raw[:200] + "..."
    return (
        f"The arguments for tool {name} are not a valid JSON object ({problem}): {shown!r}. "
        "Call the tool again with a JSON object that matches its input schema."
    )


def error_body_message(body: object) -> str | None:
    """The human message inside a provider's JSON error body, if there is one.

    Understands `{"error": {"message": ...}}`, `{"message": ...}` and
    `{"error": "..."}` (used by some OpenAI-compatible servers).
    """
    if not isinstance(body, dict):
        return body if isinstance(body, str) and body else None
    error = body.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str) and error:
        return error
    message = body.get("message")
    return message if isinstance(message, str) and message else None
