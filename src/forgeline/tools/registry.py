"""The tool registry: every tool by name, their specs for the model, and safe execution.

`execute` never raises for a bad call: unknown tools, invalid JSON, invalid arguments,
refusals and even bugs in a tool come back as error results the model can act on.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Collection, Sequence
from typing import Any

from pydantic import ValidationError

from forgeline.domain.errors import ToolError, UserError
from forgeline.domain.messages import ToolCall, ToolResult, ToolSpec
from forgeline.tools.base import Tool, ToolContext
from forgeline.tools.bash import BashTool
from forgeline.tools.files import EditTool, ReadTool, WriteTool
from forgeline.tools.interaction import AskUserTool, ReportTool, TodoWriteTool
from forgeline.tools.search import GlobTool, GrepTool

logger = logging.getLogger(__name__)

_TOOLS: tuple[Tool, ...] = (
    ReadTool(),
    WriteTool(),
    EditTool(),
    GlobTool(),
    GrepTool(),
    BashTool(),
    TodoWriteTool(),
    AskUserTool(),
    ReportTool(),
)

ALL_TOOLS: dict[str, Tool] = {tool.name: tool for tool in _TOOLS}


def is_read_only(name: str) -> bool:
    """Whether the named tool never changes the workspace (unknown tools are not)."""
    tool = ALL_TOOLS.get(name)
    return tool is not None and tool.read_only


def tool_specs(names: Sequence[str]) -> list[ToolSpec]:
    """The specs of the named tools, in the given order, as the model sees them.

    Raises:
        UserError: When a name is not a known tool.
    """
    unknown = [name for name in names if name not in ALL_TOOLS]
    if unknown:
        raise UserError(
            f"unknown tool(s): {', '.join(unknown)}; known tools are: {', '.join(ALL_TOOLS)}"
        )
    return [_spec(name) for name in names]


@functools.cache
def _spec(name: str) -> ToolSpec:
    """A tool's spec; tools never change in a process, so it is built once."""
    tool = ALL_TOOLS[name]
    schema = tool.input_model.model_json_schema(by_alias=True)
    return ToolSpec(name=tool.name, description=tool.description, input_schema=clean_schema(schema))


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A pydantic JSON schema without noise.

    Titles and the root docstring are dropped, `$ref`s are inlined (some OpenAI-compatible
    servers do not follow them), and `X | None = None` fields become plain `X`.
    """
    definitions: dict[str, Any] = dict(schema.get("$defs", {}))
    # The root description is the input model's docstring: the tool's description says more.
    root = {key: value for key, value in schema.items() if key not in ("$defs", "description")}
    cleaned = _clean_node(root, definitions)
    assert isinstance(cleaned, dict)
    return cleaned


def _clean_node(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_clean_node(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = definitions[str(node["$ref"]).rsplit("/", 1)[-1]]
        rest = {key: value for key, value in node.items() if key != "$ref"}
        return {**_clean_node(target, definitions), **_clean_node(rest, definitions)}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: _clean_node(sub, definitions) for name, sub in value.items()}
        else:
            out[key] = _clean_node(value, definitions)
    return _plain_optional(out)


def _plain_optional(node: dict[str, Any]) -> dict[str, Any]:
    """Turn `anyOf: [X, null]` with default None into plain X (omitting is how to say None)."""
    variants = node.get("anyOf")
    if isinstance(variants, list) and len(variants) == 2 and {"type": "null"} in variants:
        other = next(variant for variant in variants if variant != {"type": "null"})
        node = {**other, **{key: value for key, value in node.items() if key != "anyOf"}}
    if "default" in node and node["default"] is None:
        node = {key: value for key, value in node.items() if key != "default"}
    return node


def describe_validation_error(error: ValidationError, tool: Tool) -> str:
    """Pydantic's errors as a short list the model can act on."""
    known = _field_names(tool)
    lines: list[str] = []
    for item in error.errors(include_url=False):
        location = _location(item["loc"])
        message = str(item["msg"])
        if item["type"] == "extra_forbidden":
            message = "unknown field"
            if len(item["loc"]) == 1:
                message += f" (the fields are: {', '.join(known)})"
        elif item["type"] == "missing":
            message = "required field is missing"
        lines.append(f"- {location}: {message}")
    return "\n".join(lines)


def _field_names(tool: Tool) -> list[str]:
    return [field.alias or name for name, field in tool.input_model.model_fields.items()]


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(arguments)"


def cap_output(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, keeping its head and tail, with a note."""
    if len(text) <= limit:
        return text

    def note(cut: int) -> str:
        return (
            f"\n\n... [{cut} characters cut: the result had {len(text)} characters, more "
            f"than the {limit}-character limit] ...\n\n"
        )

    reserve = len(note(len(text)))
    if limit <= reserve:
        return text[:limit]
    budget = limit - reserve
    tail = budget // 4
    head = budget - tail
    return text[:head] + note(len(text) - head - tail) + (text[-tail:] if tail else "")


def _names(allowed: Collection[str]) -> str:
    ordered = list(allowed) if isinstance(allowed, Sequence) else sorted(allowed)
    return ", ".join(ordered) if ordered else "(none)"


async def execute(call: ToolCall, ctx: ToolContext, *, allowed: Collection[str]) -> ToolResult:
    """Run one tool call; every failure becomes an error result, never an exception.

    Args:
        call: The model's tool call.
        ctx: The context of the agent's run.
        allowed: The tools this agent may use.

    Returns:
        The result to send back to the model, capped at `ctx.max_output_chars`.
    """
    try:
        content = await _run(call, ctx, allowed)
    except ToolError as exc:
        return _result(call, ctx, str(exc) or f"{call.name} failed", is_error=True)
    return _result(call, ctx, content, is_error=False)


async def _run(call: ToolCall, ctx: ToolContext, allowed: Collection[str]) -> str:
    tool = ALL_TOOLS.get(call.name)
    if tool is None:
        raise ToolError(f"unknown tool {call.name!r}; the tools you can use are: {_names(allowed)}")
    if call.name not in allowed:
        raise ToolError(
            f"the {call.name} tool is not available to the {ctx.agent} agent; the tools you "
            f"can use are: {_names(allowed)}"
        )
    if call.parse_error is not None:
        raise ToolError(f"your tool arguments were not valid JSON: {call.parse_error}")
    try:
        args = tool.input_model.model_validate(call.input)
    except ValidationError as exc:
        raise ToolError(
            f"invalid arguments for {call.name}:\n{describe_validation_error(exc, tool)}"
        ) from exc
    try:
        return await tool.run(args, ctx)
    except ToolError:
        raise
    except Exception as exc:
        logger.exception("tool %s failed", call.name)
        raise ToolError(f"internal error in tool {call.name}: {type(exc).__name__}: {exc}") from exc


def _result(call: ToolCall, ctx: ToolContext, content: str, *, is_error: bool) -> ToolResult:
    return ToolResult(
        tool_call_id=call.id,
        content=cap_output(content, ctx.max_output_chars),
        is_error=is_error,
    )
