"""Shared request builders for the provider tests."""

from __future__ import annotations

from forgeline.domain.messages import Message, ModelRequest, ToolSpec

GLOB = ToolSpec(
    name="Glob",
    description="Find files by pattern.",
    input_schema={
        "type": "object",
        "properties": {"pattern": {"type": "string"}},
        "required": ["pattern"],
    },
)
READ = ToolSpec(
    name="Read",
    description="Read a file.",
    input_schema={"type": "object", "properties": {"path": {"type": "string"}}},
)


def simple_request(text: str = "Hello", *, tools: bool = True) -> ModelRequest:
    """A one-message request with two tools."""
    return ModelRequest(
        system="You are a careful engineer.",
        messages=[Message(role="user", text=text)],
        tools=[GLOB, READ] if tools else [],
        max_tokens=1024,
    )
