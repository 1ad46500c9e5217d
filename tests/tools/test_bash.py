"""The Bash tool on real bubblewrap: result format, evidence for the test overwatcher."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from forgeline.domain.errors import ToolError
from forgeline.sandbox import sandbox_status
from forgeline.sandbox.spec import SandboxPolicy
from forgeline.tools.base import CommandRecord, ToolContext
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


async def test_a_pipeline_fails_when_any_part_fails(bash_ctx: ToolContext) -> None:
    """DESIGN §12: `pytest | tail -5` must keep pytest's exit code (pipefail)."""
    result = await run_tool(BashTool(), bash_ctx, command="printf 'a\\nb\\n' | false | tail -1")
    assert result == "(no output)\nexit code: 1"
    result = await run_tool(BashTool(), bash_ctx, command="(echo 1; exit 3) | tail -1")
    assert result == "1\nexit code: 3"
    assert [c.exit_code for c in bash_ctx.commands] == [1, 3]
    assert (await run_tool(BashTool(), bash_ctx, command="seq 3 | tail -1")) == "3\nexit code: 0"


@pytest.mark.parametrize("enabled", [True, False])
async def test_git_has_an_identity_that_a_repository_can_override(
    bash_ctx: ToolContext, workspace: Path, enabled: bool
) -> None:
    bash_ctx.sandbox = SandboxPolicy(workspace=workspace, writable=(workspace,), enabled=enabled)
    command = (
        "git init -q $TMPDIR/x && git -C $TMPDIR/x commit -q --allow-empty -m x && "
        "git -C $TMPDIR/x config user.name Tester && "
        "git -C $TMPDIR/x commit -q --allow-empty -m y && "
        "git -C $TMPDIR/x log --format='%an <%ae> %s' && git -C $TMPDIR/x branch --show-current"
    )
    if not enabled:  # TMPDIR is the host's /tmp then: use a directory of this test
        command = command.replace("$TMPDIR/x", str(workspace / "x"))
    result = await run_tool(BashTool(), bash_ctx, command=command)
    assert result.splitlines()[:4] == [
        "Tester <agent@forgeline.invalid> y",
        "Forgeline Agent <agent@forgeline.invalid> x",
        "main",
        "exit code: 0",
    ]
