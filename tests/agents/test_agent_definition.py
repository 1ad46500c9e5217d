"""Parsing and validating agent files."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from forgeline.agents.definition import (
    FRONTMATTER_KEYS,
    TOOL_NAMES,
    AgentDefinition,
    AgentDefinitionError,
    parse_agent_file,
)
from forgeline.domain.errors import UserError

GOOD = """---
name: research
description: Studies the codebase and writes research.md
tools: [Read, Glob, Grep, Bash, TodoWrite, Write]
model: anthropic:claude-sonnet-4-5
max_steps: 60
max_tokens: 500000
max_cost_usd: 2.5
---
You are the research agent. You study code.

More instructions.
"""


def agent_text(frontmatter: str, body: str = "You are the demo agent.\nDo things.\n") -> str:
    return f"---\n{frontmatter}---\n{body}"


def test_parses_every_field() -> None:
    defn = parse_agent_file(GOOD, source="/home/u/.forgeline/agents/research.md")
    assert defn.name == "research"
    assert defn.description == "Studies the codebase and writes research.md"
    assert defn.tools == ["Read", "Glob", "Grep", "Bash", "TodoWrite", "Write"]
    assert defn.model == "anthropic:claude-sonnet-4-5"
    assert defn.max_steps == 60
    assert defn.max_tokens == 500_000
    assert defn.max_cost_usd == 2.5
    assert (
        defn.system_prompt == "You are the research agent. You study code.\n\nMore instructions.\n"
    )
    assert defn.source == "/home/u/.forgeline/agents/research.md"


def test_optional_fields_default_to_none() -> None:
    defn = parse_agent_file(agent_text("name: demo\ntools: []\n"), source="builtin")
    assert (defn.model, defn.max_steps, defn.max_tokens, defn.max_cost_usd) == (None,) * 4
    assert defn.description == ""
    assert defn.tools == []
    assert defn.source == "builtin"


def test_tools_may_be_a_comma_separated_string_and_duplicates_collapse() -> None:
    text = agent_text("name: demo\ntools: Read, Grep,Read Glob\n")
    assert parse_agent_file(text, source="x.md").tools == ["Read", "Grep", "Glob"]


def test_crlf_line_endings_and_byte_order_mark_are_accepted() -> None:
    text = "\ufeff" + agent_text("name: demo\ntools: [Read]\n").replace("\n", "\r\n")
    defn = parse_agent_file(text, source="x.md")
    assert defn.name == "demo"
    assert defn.system_prompt.startswith("You are the demo agent.")


def test_integer_cost_is_accepted() -> None:
    defn = parse_agent_file(agent_text("name: demo\ntools: [Read]\nmax_cost_usd: 3\n"), source="x")
    assert defn.max_cost_usd == 3.0


def test_error_is_a_user_error() -> None:
    assert issubclass(AgentDefinitionError, UserError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("You are the demo agent.\n", "no frontmatter", id="no-frontmatter"),
        pytest.param("", "no frontmatter", id="empty-file"),
        pytest.param("---\nname: demo\ntools: [Read]\n", "not closed", id="unclosed"),
        pytest.param(
            agent_text("name: demo\ntools: [Read\n"), "bad YAML in frontmatter", id="bad-yaml"
        ),
        pytest.param(agent_text("- name\n- tools\n"), "must be a YAML mapping", id="yaml-list"),
        pytest.param(agent_text(""), "must be a YAML mapping", id="empty-frontmatter"),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\ncolour: blue\n"),
            "unknown frontmatter key 'colour'; allowed keys: " + ", ".join(FRONTMATTER_KEYS),
            id="unknown-key",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\ncolour: blue\nsize: 2\n"),
            "unknown frontmatter keys 'colour', 'size'",
            id="unknown-keys",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [Read, Deploy]\n"),
            "unknown tool 'Deploy'; known tools: " + ", ".join(TOOL_NAMES),
            id="unknown-tool",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [grep]\n"),
            "unknown tool 'grep' (did you mean 'Grep'?)",
            id="tool-case",
        ),
        pytest.param(agent_text("description: x\ntools: [Read]\n"), "missing 'name'", id="no-name"),
        pytest.param(agent_text("name:\ntools: [Read]\n"), "missing 'name'", id="empty-name"),
        pytest.param(agent_text("name: demo\n"), "missing 'tools'", id="no-tools"),
        pytest.param(
            agent_text("name: Demo Agent\ntools: [Read]\n"), "invalid name 'Demo Agent'", id="name"
        ),
        pytest.param(agent_text("name: 42\ntools: [Read]\n"), "name:", id="name-not-text"),
        pytest.param(agent_text("name: demo\ntools: [Read]\n", "\n \n"), "is empty", id="no-body"),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\nmodel: claude-sonnet\n"),
            "invalid model 'claude-sonnet': write it as 'provider:model'",
            id="model-no-provider",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\nmodel: 'anthropic:'\n"),
            "invalid model 'anthropic:'",
            id="model-empty",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\nmodel: 'Anthropic: x'\n"),
            "invalid model",
            id="model-spaces",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\nmax_steps: 0\n"),
            "max_steps: must be a positive whole number, got 0",
            id="steps-zero",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\nmax_steps: -5\n"),
            "max_steps: must be a positive whole number, got -5",
            id="steps-negative",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\nmax_steps: ten\n"),
            "max_steps: Input should be a valid integer",
            id="steps-text",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\nmax_steps: true\n"),
            "max_steps: Input should be a valid integer",
            id="steps-bool",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\nmax_tokens: 0\n"),
            "max_tokens: must be a positive whole number",
            id="tokens-zero",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\nmax_cost_usd: -1\n"),
            "max_cost_usd: must be a positive amount",
            id="cost-negative",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\nmax_cost_usd: .nan\n"),
            "max_cost_usd: must be a positive amount",
            id="cost-nan",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\n", "Be helpful.\n"),
            "the body must begin with the line 'You are the demo agent.'",
            id="first-line",
        ),
        pytest.param(
            agent_text("name: demo\ntools: [Read]\n", "You are the research agent.\n"),
            "the body must begin with the line 'You are the demo agent.'",
            id="first-line-other-name",
        ),
    ],
)
def test_problems_raise_a_clear_error_naming_the_file(text: str, expected: str) -> None:
    with pytest.raises(AgentDefinitionError) as info:
        parse_agent_file(text, source="/repo/.forgeline/agents/demo.md")
    message = str(info.value)
    assert message.startswith("agent file /repo/.forgeline/agents/demo.md: ")
    assert expected in message
    assert "Traceback" not in message
    assert "\n" not in message


def test_yaml_error_gives_the_line_and_does_not_echo_the_contents() -> None:
    text = agent_text("name: demo\ntools: [Read]\ntoken: {sk-secret-value\n")
    with pytest.raises(AgentDefinitionError) as info:
        parse_agent_file(text, source="demo.md")
    message = str(info.value)
    assert "sk-secret-value" not in message
    assert "(line " in message


def test_label_names_the_file_in_errors_but_source_is_recorded() -> None:
    with pytest.raises(AgentDefinitionError, match=r"^agent file builtin review\.md: "):
        parse_agent_file("no frontmatter", source="builtin", label="builtin review.md")


def test_constructing_directly_validates_too() -> None:
    with pytest.raises(ValidationError, match="unknown tool 'Fly'"):
        AgentDefinition(name="demo", tools=["Fly"], system_prompt="You are the demo agent.")
    with pytest.raises(ValidationError, match="must begin with the line"):
        AgentDefinition(name="demo", tools=[], system_prompt="Hello.")


def test_definition_is_immutable() -> None:
    defn = parse_agent_file(GOOD, source="x.md")
    with pytest.raises(ValidationError):
        defn.name = "other"  # type: ignore[misc]
