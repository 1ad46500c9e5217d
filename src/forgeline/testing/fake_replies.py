"""The scripted replies a `FakeLLM` server answers with, and script files holding them.

A reply is one of:

- `FakeTurn`: a normal answer (text and/or tool calls, usage numbers);
- `FakeError`: an HTTP error (status, body, headers such as `retry-after`), or an
  error event inside an otherwise successful stream (`in_stream: true`);
- `FakeCut`: a reply whose stream stops after a few events.

A script file (YAML or JSON) is a list of replies, or a mapping with a `replies`
list. Each reply is a mapping whose `kind` is `turn` (the default), `error` or `cut`:

```yaml
replies:
  - text: Looking around.
    tool_calls:
      - {name: Glob, input: {pattern: "**/*.py"}}
    usage: {input_tokens: 120, output_tokens: 30, cache_read_tokens: 100}
  - {kind: error, status: 429, headers: {retry-after: "0"}}
  - {kind: cut, after_events: 3}
  - text: Done.
```
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from forgeline.domain.errors import UserError


class FakeUsage(BaseModel):
    """Token counts the fake reports; `input_tokens` excludes cached tokens."""

    input_tokens: int = 10
    output_tokens: int = 5
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


class FakeToolCall(BaseModel):
    """One tool call in a scripted turn.

    Attributes:
        name: The tool's name.
        input: The arguments, sent as JSON.
        id: The call id; generated when omitted.
        raw_arguments: Sent verbatim instead of `input` (e.g. malformed JSON).
    """

    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None
    raw_arguments: str | None = None

    def arguments_json(self) -> str:
        """The argument text as the model would stream it."""
        if self.raw_arguments is not None:
            return self.raw_arguments
        return json.dumps(self.input)


StopReason = Literal["end_turn", "tool_use", "max_tokens", "stop_sequence"]


class FakeTurn(BaseModel):
    """A successful reply.

    Attributes:
        text: Text the model says; streamed in `chunk_size` pieces.
        tool_calls: Tools the model calls, after the text.
        usage: Reported token counts.
        stop_reason: Anthropic-style stop reason (mapped for OpenAI); by default
            `tool_use` when there are tool calls, else `end_turn`.
        chunk_size: Characters per text delta and per tool-argument fragment.
    """

    kind: Literal["turn"] = "turn"
    text: str = ""
    tool_calls: list[FakeToolCall] = Field(default_factory=list)
    usage: FakeUsage = Field(default_factory=FakeUsage)
    stop_reason: StopReason | None = None
    chunk_size: int = Field(default=8, ge=1)

    def resolved_stop_reason(self) -> StopReason:
        """The stop reason to report."""
        if self.stop_reason is not None:
            return self.stop_reason
        return "tool_use" if self.tool_calls else "end_turn"


class FakeError(BaseModel):
    """An error reply.

    Attributes:
        status: HTTP status code.
        message: Error message placed in the API-shaped body.
        error_type: The API's error type; chosen from `status` when omitted.
        code: OpenAI's error `code` (e.g. `insufficient_quota`).
        body: A verbatim JSON body replacing the API-shaped one.
        headers: Extra response headers, e.g. `{"retry-after": "0"}`.
        in_stream: For a streaming request, answer 200, start the stream, then send
            the error as a stream event (as Anthropic does for `overloaded_error`).
    """

    kind: Literal["error"] = "error"
    status: int = Field(default=500, ge=400, le=599)
    message: str = "fake error"
    error_type: str | None = None
    code: str | None = None
    body: dict[str, Any] | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    in_stream: bool = False


def _cut_default_turn() -> FakeTurn:
    return FakeTurn(text="This reply is cut off before it ends.")


class FakeCut(BaseModel):
    """A reply that stops mid-way.

    Attributes:
        turn: The reply being cut.
        after_events: Stream events sent before stopping (for a non-streaming
            request, half of the JSON body is sent instead).
        abrupt: True drops the connection inside the chunked body (the client sees
            a protocol error); False ends the body cleanly, just too early.
    """

    kind: Literal["cut"] = "cut"
    turn: FakeTurn = Field(default_factory=_cut_default_turn)
    after_events: int = Field(default=2, ge=0)
    abrupt: bool = True


FakeReply = FakeTurn | FakeError | FakeCut

_KINDS: dict[str, type[FakeTurn] | type[FakeError] | type[FakeCut]] = {
    "turn": FakeTurn,
    "error": FakeError,
    "cut": FakeCut,
}


def parse_reply(data: Mapping[str, Any] | FakeReply) -> FakeReply:
    """A reply from its mapping form (`kind` selects the type; default `turn`).

    Raises:
        UserError: When the mapping is not a valid reply.
    """
    if isinstance(data, FakeTurn | FakeError | FakeCut):
        return data
    if not isinstance(data, Mapping):
        raise UserError(f"a fake reply must be a mapping, got {type(data).__name__}")
    kind = data.get("kind", "turn")
    model = _KINDS.get(str(kind))
    if model is None:
        raise UserError(f"unknown fake reply kind {kind!r} (use turn, error or cut)")
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise UserError(f"invalid fake {kind} reply: {exc}") from exc


def parse_replies(data: object) -> list[FakeReply]:
    """Replies from a decoded script: a list, or a mapping with a `replies` list."""
    if isinstance(data, Mapping):
        data = data.get("replies")
    if not isinstance(data, list):
        raise UserError("a fake LLM script must be a list of replies or have a 'replies' list")
    return [parse_reply(item) for item in data]


def load_script(path: Path) -> list[FakeReply]:
    """The replies in a YAML or JSON script file.

    Raises:
        UserError: When the file is missing or invalid.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read fake LLM script {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"fake LLM script {path} is not valid YAML/JSON: {exc}") from exc
    return parse_replies(data)
