"""Typed conversation messages exchanged between the agent loop and model providers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ToolCall(BaseModel):
    """A model's request to run one tool."""

    id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    # Set when the provider could not parse the arguments the model sent; the loop
    # answers with an error result so the model can retry.
    parse_error: str | None = None


class ToolResult(BaseModel):
    """The outcome of one tool call, sent back to the model."""

    tool_call_id: str
    content: str
    is_error: bool = False


class ContextSummary(BaseModel):
    """What a compacted stretch of conversation became (DESIGN §15).

    The model writes `text`; the other fields are collected from the conversation
    itself and kept verbatim, so compaction can never lose them.

    Attributes:
        turns: Model turns the compacted conversation no longer holds as messages.
        compactions: How many compactions this summary has been through.
        text: The model's structured summary of the older conversation.
        answers: The user's answers (AskUser results), verbatim.
        notes: Text given to the agent between turns (e.g. open findings), verbatim.
        files_changed: Files written or edited, in order of first change.
        commands: Commands run, each with its exit code.
    """

    turns: int = 0
    compactions: int = 0
    text: str = ""
    answers: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    files_changed: list[str] = Field(default_factory=list)
    commands: list[str] = Field(default_factory=list)


class Message(BaseModel):
    """One conversation message.

    A `user` message carries text and/or tool results; an `assistant` message carries
    text and/or tool calls. A compacted conversation's summary is a `user` message whose
    `summary` is set (its `text` is the summary rendered for the model).
    """

    role: Literal["user", "assistant"]
    text: str = ""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    tool_results: list[ToolResult] = Field(default_factory=list)
    summary: ContextSummary | None = None


class ToolSpec(BaseModel):
    """A tool as advertised to the model."""

    name: str
    description: str
    input_schema: dict[str, Any]


class Usage(BaseModel):
    """Token counts and cost of one or more model calls."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            calls=self.calls + other.calls,
        )

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )


class ModelRequest(BaseModel):
    """Everything a provider needs for one call."""

    system: str
    messages: list[Message]
    tools: list[ToolSpec] = Field(default_factory=list)
    max_tokens: int = 8192
    # "compaction" for the call that summarises an older conversation (scripted models
    # answer it with a summary instead of the agent's next turn).
    purpose: Literal["turn", "compaction"] = "turn"


class ModelResponse(BaseModel):
    """A provider's final answer to one call."""

    message: Message
    stop_reason: str
    usage: Usage
    model: str
