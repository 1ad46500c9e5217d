"""The Bash tool on real bubblewrap: result format, evidence for the test overwatcher."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from forgeline.domain.errors import ToolError
from forgeline.sandbox import sandbox_status
from forgeline.tools.base import CommandRecord, SandboxPolicy, ToolContext
from forgeline.tools.bash import BashInput, BashTool

from .helpers import run_tool


@pytest.fixture
def bash_ctx(workspace: Path) -> ToolContext:
    repo = workspace / "repo"
    repo.mkdir()
    return ToolContext(
        workspace=workspace,
        agent="test",
        sandbox=SandboxPolicy(workspace=workspace, writable=(repo,)),
    )


def test_tool_identity() -> None:
    tool = BashTool()
    assert tool.name == "Bash"
    assert tool.read_only is False
    assert tool.input_model is BashInput
    assert "sandbox" in tool.description
    assert "Grep" in tool.description
    assert set(BashInput.model_json_schema()["properties"]) == {"command", "timeout", "description"}


def test_input_validation() -> None:
    with pytest.raises(ValidationError):
        BashInput.model_validate({"command": "ls", "cwd": "/"})
    with pytest.raises(ValidationError):
        BashInput.model_validate({"command": "ls", "timeout": 0})
    with pytest.raises(ValidationError):
        BashInput.model_validate({"command": ""})


async def test_result_is_output_then_exit_code(bash_ctx: ToolContext) -> None:
    result = await run_tool(
        BashTool(), bash_ctx, command="echo hello; echo oops >&2", description="Say hello"
    )
    assert result == "hello\noops\nexit code: 0"
    assert bash_ctx.commands == [
        CommandRecord(
            command="echo hello; echo oops >&2",
            exit_code=0,
            timed_out=False,
            duration_s=bash_ctx.commands[0].duration_s,
            output_tail="hello\noops",
        )
    ]
    assert isinstance(bash_ctx.commands[0].duration_s, float)


async def test_failing_command_is_a_result_not_an_error(bash_ctx: ToolContext) -> None:
    result = await run_tool(BashTool(), bash_ctx, command="ls no-such-file")
    assert result.endswith("exit code: 2")
    assert "No such file or directory" in result
    assert bash_ctx.commands[-1].exit_code == 2


async def test_no_output(bash_ctx: ToolContext) -> None:
    result = await run_tool(BashTool(), bash_ctx, command="true")
    assert result == "(no output)\nexit code: 0"


async def test_runs_in_the_workspace_and_writes_only_where_allowed(
    bash_ctx: ToolContext, workspace: Path
) -> None:
    result = await run_tool(
        BashTool(), bash_ctx, command="pwd && echo x > repo/a.txt && echo y > b.txt"
    )
    assert result.startswith(f"{workspace}\n")
    assert "Read-only file system" in result
    assert (workspace / "repo" / "a.txt").exists()
    assert not (workspace / "b.txt").exists()


async def test_timeout_is_reported_and_recorded(bash_ctx: ToolContext) -> None:
    result = await run_tool(BashTool(), bash_ctx, command="echo start; sleep 30", timeout=500)
    assert result == "start\ntimed out after 0.5 s (the command was killed)\nexit code: 124"
    assert bash_ctx.commands[-1].timed_out is True
    assert bash_ctx.commands[-1].exit_code == 124


async def test_default_timeout_comes_from_the_context(bash_ctx: ToolContext) -> None:
    bash_ctx.bash_default_timeout_ms = 400
    result = await run_tool(BashTool(), bash_ctx, command="sleep 30")
    assert "timed out after 0.4 s" in result


async def test_timeout_is_clamped_with_a_note(bash_ctx: ToolContext) -> None:
    bash_ctx.bash_max_timeout_ms = 600
    result = await run_tool(BashTool(), bash_ctx, command="sleep 30", timeout=9_999_999)
    assert "timed out after 0.6 s" in result
    assert "clamped to 600 ms (requested 9999999 ms" in result
    assert bash_ctx.commands[-1].timed_out is True


async def test_output_respects_the_context_cap(bash_ctx: ToolContext) -> None:
    bash_ctx.max_output_chars = 2_000
    result = await run_tool(BashTool(), bash_ctx, command="seq 1 100000")
    assert len(result) <= 2_000
    assert "characters cut" in result
    assert result.startswith("1\n2\n3\n")
    assert result.endswith("99999\n100000\nexit code: 0")


async def test_without_a_sandbox_policy_bash_is_refused(workspace: Path) -> None:
    ctx = ToolContext(workspace=workspace, agent="review", sandbox=None)
    with pytest.raises(ToolError, match="Bash is not available to this agent"):
        await run_tool(BashTool(), ctx, command="echo hi")
    assert ctx.commands == []


async def test_sandbox_unavailable_becomes_a_tool_error(
    bash_ctx: ToolContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    sandbox_status.cache_clear()
    try:
        with pytest.raises(ToolError, match="apt-get install bubblewrap"):
            await run_tool(BashTool(), bash_ctx, command="echo hi")
    finally:
        sandbox_status.cache_clear()
    assert bash_ctx.commands == []


async def test_sandbox_off_is_flagged_in_the_result(bash_ctx: ToolContext, workspace: Path) -> None:
    bash_ctx.sandbox = SandboxPolicy(workspace=workspace, enabled=False)
    result = await run_tool(BashTool(), bash_ctx, command="echo hi")
    assert result == "hi\nexit code: 0\nwarning: the sandbox is off (FORGELINE_SANDBOX=off)"
