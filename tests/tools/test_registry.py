"""The registry: specs as the model sees them, and `execute`'s error handling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from forgeline.domain.errors import UserError
from forgeline.domain.messages import ToolCall
from forgeline.tools.base import Answer, Question, ToolContext
from forgeline.tools.registry import ALL_TOOLS, cap_output, execute, is_read_only, tool_specs

from .helpers import write

EVERY_TOOL = ["Read", "Write", "Edit", "Glob", "Grep", "Bash", "TodoWrite", "AskUser", "Report"]


def keys_anywhere(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = set(node)
        for key, value in node.items():
            found |= (
                keys_anywhere(value)
                if key != "properties"
                else set().union(*(keys_anywhere(v) for v in value.values()))
            )
        return found
    if isinstance(node, list):
        return set().union(*(keys_anywhere(item) for item in node)) if node else set()
    return set()


def test_every_tool_is_registered() -> None:
    assert sorted(ALL_TOOLS) == sorted(EVERY_TOOL)
    for name, tool in ALL_TOOLS.items():
        assert tool.name == name
        assert len(tool.description) > 80


def test_specs_follow_the_contract_schemas() -> None:
    specs = {spec.name: spec.input_schema for spec in tool_specs(EVERY_TOOL)}
    assert list(specs) == EVERY_TOOL
    grep = specs["Grep"]["properties"]
    for field in ("pattern", "path", "glob", "output_mode", "-i", "-n", "-C", "head_limit"):
        assert field in grep
    assert grep["output_mode"]["enum"] == ["content", "files_with_matches", "count"]
    assert specs["Grep"]["required"] == ["pattern"]
    assert set(specs["Read"]["properties"]) == {"file_path", "offset", "limit"}
    assert set(specs["Write"]["properties"]) == {"file_path", "content"}
    assert set(specs["Edit"]["properties"]) == {
        "file_path",
        "old_string",
        "new_string",
        "replace_all",
    }
    assert set(specs["Glob"]["properties"]) == {"pattern", "path"}
    question = specs["AskUser"]["properties"]["questions"]["items"]
    assert set(question["properties"]) == {"question", "header", "options", "multiSelect"}
    finding = specs["Report"]["properties"]["findings"]["items"]
    assert finding["properties"]["severity"]["enum"] == ["blocker", "major", "minor", "nit"]
    todo = specs["TodoWrite"]["properties"]["todos"]["items"]
    assert set(todo["properties"]) == {"content", "status"}
    for schema in specs.values():
        keys = keys_anywhere(schema)
        assert "title" not in keys
        assert "$ref" not in keys
        assert "$defs" not in keys
        assert "anyOf" not in keys
    assert specs["Read"]["properties"]["offset"]["type"] == "integer"


def test_unknown_tool_in_specs_is_a_user_error() -> None:
    with pytest.raises(UserError, match=r"unknown tool.*Nope"):
        tool_specs(["Read", "Nope"])


def test_read_only_flags() -> None:
    assert is_read_only("Read")
    assert is_read_only("Grep")
    assert not is_read_only("Write")
    assert not is_read_only("Bash")
    assert not is_read_only("NoSuchTool")


def call(name: str, parse_error: str | None = None, **arguments: Any) -> ToolCall:
    return ToolCall(id="call-1", name=name, input=arguments, parse_error=parse_error)


async def test_execute_runs_a_tool(workspace: Path, ctx: ToolContext) -> None:
    write(workspace / "a.txt", "hello\n")
    result = await execute(call("Read", file_path="a.txt"), ctx, allowed=["Read"])
    assert result.tool_call_id == "call-1"
    assert not result.is_error
    assert result.content == "     1\thello"


async def test_execute_unknown_and_not_allowed(ctx: ToolContext) -> None:
    result = await execute(call("Teleport"), ctx, allowed=["Read", "Grep"])
    assert result.is_error
    assert result.content == "unknown tool 'Teleport'; the tools you can use are: Read, Grep"
    result = await execute(call("Write", file_path="x", content=""), ctx, allowed={"Read", "Grep"})
    assert result.is_error
    assert "not available to the implementation agent" in result.content
    assert "Grep, Read" in result.content


async def test_execute_parse_error(ctx: ToolContext) -> None:
    result = await execute(call("Read", parse_error="Expecting ',' at 1:10"), ctx, allowed=["Read"])
    assert result.is_error
    assert result.content == "your tool arguments were not valid JSON: Expecting ',' at 1:10"


async def test_execute_validation_errors_are_readable(ctx: ToolContext) -> None:
    result = await execute(call("Read", path="a.txt", offset=0), ctx, allowed=["Read"])
    assert result.is_error
    assert result.content.startswith("invalid arguments for Read:\n")
    assert "- file_path: required field is missing" in result.content
    assert "- offset: Input should be greater than or equal to 1" in result.content
    assert "- path: unknown field (the fields are: file_path, offset, limit)" in result.content
    nested = await execute(
        call("TodoWrite", todos=[{"content": "x", "status": "doing"}]), ctx, allowed=["TodoWrite"]
    )
    assert nested.is_error
    assert "- todos[0].status: Input should be 'pending', 'in_progress' or 'completed'" in (
        nested.content
    )
    aliased = await execute(call("Grep", pattern="x", **{"-C": "many"}), ctx, allowed=["Grep"])
    assert "- -C: Input should be a valid integer" in aliased.content


async def test_execute_tool_error_is_an_error_result(ctx: ToolContext) -> None:
    result = await execute(call("Read", file_path="../../etc/passwd"), ctx, allowed=["Read"])
    assert result.is_error
    assert "outside the workspace" in result.content


async def test_execute_turns_unexpected_exceptions_into_results(workspace: Path) -> None:
    async def broken_channel(questions: list[Question]) -> list[Answer]:
        raise RuntimeError(f"channel closed after {len(questions)} question(s)")

    ctx = ToolContext(workspace=workspace, ask_user=broken_channel)
    result = await execute(
        call("AskUser", questions=[{"question": "Continue?"}]), ctx, allowed=["AskUser"]
    )
    assert result.is_error
    assert result.content == (
        "internal error in tool AskUser: RuntimeError: channel closed after 1 question(s)"
    )


async def test_execute_caps_output(workspace: Path) -> None:
    ctx = ToolContext(workspace=workspace, max_output_chars=1_000)
    for n in range(300):
        write(workspace / f"file-{n:03d}.txt", "x", mtime=1_000_000 + n)
    result = await execute(call("Glob", pattern="*.txt"), ctx, allowed=["Glob"])
    assert not result.is_error
    assert len(result.content) <= 1_000
    assert result.content.startswith("file-299.txt\nfile-298.txt\n")
    assert "characters cut" in result.content
    assert result.content.endswith("file-001.txt\nfile-000.txt")


def test_cap_output_arithmetic() -> None:
    text = "abcdefghij" * 1_000
    capped = cap_output(text, 500)
    assert len(capped) <= 500
    cut = int(capped.split("... [")[1].split(" characters cut")[0])
    kept = len(capped.split("\n\n... [")[0]) + len(capped.rsplit("] ...\n\n", 1)[1])
    assert cut + kept == len(text)
    assert cap_output("short", 500) == "short"
    assert cap_output(text, 10) == text[:10]
