"""Agent definitions: markdown files with YAML frontmatter (DESIGN §3).

An agent file looks like::

    ---
    name: research
    description: Studies the codebase and writes research.md
    tools: [Read, Glob, Grep, Bash, TodoWrite, Write]
    model: anthropic:claude-sonnet-4-5
    max_steps: 60
    ---
    You are the research agent. ...

`parse_agent_file` turns such a text into an `AgentDefinition`; every problem raises an
`AgentDefinitionError` whose message names the file and says what is wrong.
"""

from __future__ import annotations

import math
import re
from typing import Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from forgeline.domain.errors import UserError

TOOL_NAMES: Final[tuple[str, ...]] = (
    "Read",
    "Write",
    "Edit",
    "Glob",
    "Grep",
    "Bash",
    "TodoWrite",
    "AskUser",
    "Report",
)
"""Every tool an agent may list in its frontmatter (DESIGN §4)."""

FRONTMATTER_KEYS: Final[tuple[str, ...]] = (
    "name",
    "description",
    "tools",
    "model",
    "max_steps",
    "max_tokens",
    "max_cost_usd",
)
"""The keys allowed in an agent file's frontmatter."""

_NAME_RE: Final = re.compile(r"[a-z0-9_-]{1,64}")
_MODEL_RE: Final = re.compile(r"[a-z][a-z0-9_-]*:\S(?:.*\S)?")
_FENCE: Final = "---"


class AgentDefinitionError(UserError):
    """An agent file is malformed; the message names the file and the problem."""


def _invalid(message: str) -> PydanticCustomError:
    return PydanticCustomError("agent_definition", message)


class AgentDefinition(BaseModel):
    """One agent: its tools, budgets and system prompt.

    Attributes:
        name: Unique agent name (`[a-z0-9_-]`); later definitions override earlier ones.
        description: One line saying what the agent does.
        tools: Tool names the agent may call (each one of `TOOL_NAMES`).
        model: `provider:model` to use instead of the project's model, or None.
        max_steps: Most model turns the agent may take, or None for no limit.
        max_tokens: Total token budget (input + output) for one run, or None.
        max_cost_usd: Spending limit in USD for one run, or None.
        system_prompt: The markdown body of the file.
        source: `"builtin"` or the path of the file it was read from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    tools: list[str]
    model: str | None = None
    max_steps: int | None = Field(default=None, strict=True)
    max_tokens: int | None = Field(default=None, strict=True)
    max_cost_usd: float | None = Field(default=None, strict=True)
    system_prompt: str
    source: str = "builtin"

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME_RE.fullmatch(value):
            raise _invalid(
                f"invalid name {value!r}: use 1-64 lowercase letters, digits, '_' or '-'"
            )
        return value

    @field_validator("tools", mode="before")
    @classmethod
    def _split_tools(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part for part in re.split(r"[,\s]+", value) if part]
        return value

    @field_validator("tools")
    @classmethod
    def _check_tools(cls, value: list[str]) -> list[str]:
        for tool in value:
            if tool not in TOOL_NAMES:
                raise _invalid(_unknown_tool_message(tool))
        return list(dict.fromkeys(value))

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str | None) -> str | None:
        if value is not None and not _MODEL_RE.fullmatch(value):
            raise _invalid(
                f"invalid model {value!r}: write it as 'provider:model', "
                "e.g. 'anthropic:claude-sonnet-4-5' or 'openai:gpt-4o'"
            )
        return value

    @field_validator("max_steps", "max_tokens")
    @classmethod
    def _check_positive_int(cls, value: int | None) -> int | None:
        if value is not None and value <= 0:
            raise _invalid(f"must be a positive whole number, got {value}")
        return value

    @field_validator("max_cost_usd")
    @classmethod
    def _check_cost(cls, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and value > 0):
            raise _invalid(f"must be a positive amount of US dollars, got {value}")
        return value

    @field_validator("system_prompt")
    @classmethod
    def _check_body(cls, value: str) -> str:
        if not value.strip():
            raise _invalid("the system prompt (the body after the frontmatter) is empty")
        return value

    @model_validator(mode="after")
    def _check_first_line(self) -> AgentDefinition:
        opening = f"You are the {self.name} agent."
        if not self.system_prompt.lstrip().startswith(opening):
            raise _invalid(f"the body must begin with the line '{opening}'")
        return self


def _unknown_tool_message(tool: object) -> str:
    known = ", ".join(TOOL_NAMES)
    if isinstance(tool, str):
        for name in TOOL_NAMES:
            if name.lower() == tool.lower():
                return f"unknown tool {tool!r} (did you mean {name!r}?); known tools: {known}"
    return f"unknown tool {tool!r}; known tools: {known}"


def parse_agent_file(text: str, *, source: str, label: str | None = None) -> AgentDefinition:
    """Parse an agent file: YAML frontmatter between `---` lines, then the system prompt.

    Args:
        text: The file's contents.
        source: Recorded as `AgentDefinition.source`: `"builtin"` or the file's path.
        label: How error messages name the file; defaults to `source`.

    Returns:
        The validated definition.

    Raises:
        AgentDefinitionError: The file has no frontmatter, bad YAML, an unknown key, an
            unknown tool, no name, an empty body, a bad model name, a non-positive budget,
            or a body that does not begin with `You are the <name> agent.`.
    """
    where = label or source
    frontmatter, body = _split(text, where=where)
    fields = _load_frontmatter(frontmatter, where=where)
    try:
        return AgentDefinition(
            **fields, system_prompt=body.strip("\n").rstrip() + "\n", source=source
        )
    except ValidationError as exc:
        raise AgentDefinitionError(f"agent file {where}: {_describe(exc)}") from None


def _split(text: str, *, where: str) -> tuple[str, str]:
    """Split `text` into its frontmatter and its body."""
    lines = text.removeprefix("\ufeff").splitlines(keepends=True)
    if not lines or lines[0].rstrip() != _FENCE:
        raise AgentDefinitionError(
            f"agent file {where}: no frontmatter: the file must begin with a '---' line, "
            "then YAML keys (name, description, tools, ...), then a closing '---' line"
        )
    for index in range(1, len(lines)):
        if lines[index].rstrip() == _FENCE:
            return "".join(lines[1:index]), "".join(lines[index + 1 :])
    raise AgentDefinitionError(
        f"agent file {where}: the frontmatter is not closed: add a '---' line after the YAML keys"
    )


def _load_frontmatter(frontmatter: str, *, where: str) -> dict[str, Any]:
    """Parse and check the frontmatter's YAML; returns its keys."""
    try:
        data = yaml.safe_load(frontmatter)
    except yaml.YAMLError as exc:
        raise AgentDefinitionError(
            f"agent file {where}: bad YAML in frontmatter: {_yaml_problem(exc)}"
        ) from None
    allowed = ", ".join(FRONTMATTER_KEYS)
    if not isinstance(data, dict):
        raise AgentDefinitionError(
            f"agent file {where}: the frontmatter must be a YAML mapping with the keys {allowed}"
        )
    unknown = [str(key) for key in data if key not in FRONTMATTER_KEYS]
    if unknown:
        names = ", ".join(repr(key) for key in unknown)
        noun = "key" if len(unknown) == 1 else "keys"
        raise AgentDefinitionError(
            f"agent file {where}: unknown frontmatter {noun} {names}; allowed keys: {allowed}"
        )
    if data.get("name") is None:
        raise AgentDefinitionError(f"agent file {where}: missing 'name' in the frontmatter")
    if data.get("tools") is None:
        raise AgentDefinitionError(
            f"agent file {where}: missing 'tools' in the frontmatter "
            f"(a list such as [Read, Grep]; known tools: {', '.join(TOOL_NAMES)})"
        )
    return data


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """A one-line description of a YAML error, without echoing the file's contents."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        line = exc.problem_mark.line + 2  # +1 for 1-based, +1 for the opening '---' line
        return f"{exc.problem or exc.context or 'syntax error'} (line {line} of the file)"
    return type(exc).__name__


def _describe(exc: ValidationError) -> str:
    """Pydantic's errors as short `field: problem` phrases."""
    parts = []
    for error in exc.errors():
        loc = "".join(
            f"[{item}]" if isinstance(item, int) else f".{item}" for item in error["loc"]
        ).lstrip(".")
        message = error["msg"]
        if error["type"] == "missing":
            message = "missing"
        elif error["type"] != "agent_definition":
            message = f"{message} (got {_short_repr(error['input'])})"
        if loc == "system_prompt":
            loc = ""  # the message already speaks of the body
        parts.append(f"{loc}: {message}" if loc else message)
    return "; ".join(parts)


def _short_repr(value: object, *, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
