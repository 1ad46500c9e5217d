"""FORGELINE_SANDBOX=off, and a machine where bubblewrap cannot run."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from forgeline.domain.errors import SandboxUnavailable
from forgeline.sandbox import run_command, sandbox_status
from forgeline.sandbox.spec import SandboxPolicy


@pytest.fixture
def off_policy(workspace: Path) -> SandboxPolicy:
    return SandboxPolicy(workspace=workspace, writable=(workspace / "repo",), enabled=False)


async def test_off_mode_runs_in_the_workspace_and_warns(
    off_policy: SandboxPolicy, workspace: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="forgeline.sandbox"):
        result = await run_command("pwd; echo out; exit 4", off_policy, timeout_s=10)
    assert result.output == f"{workspace}\nout\n"
    assert result.exit_code == 4
    assert not result.sandboxed
    warnings = [r for r in caplog.records if r.name == "forgeline.sandbox"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "WITHOUT the bubblewrap sandbox" in warnings[0].getMessage()


async def test_off_mode_has_the_same_clean_environment_and_private_home(
    off_policy: SandboxPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-off-mode")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-off-mode")
    result = await run_command("env; echo HOME-LIST; ls -A $HOME", off_policy, timeout_s=10)
    assert "off-mode" not in result.output
    env = dict(
        line.split("=", 1)
        for line in result.output.split("HOME-LIST")[0].splitlines()
        if "=" in line
    )
    assert env["TMPDIR"] == "/tmp"
    assert env["LANG"] == "C.UTF-8"
    assert env["HOME"] != str(Path.home())
    assert "forgeline-home-" in env["HOME"]
    assert not Path(env["HOME"]).exists()  # removed after the command


async def test_off_mode_applies_the_limits(off_policy: SandboxPolicy) -> None:
    result = await run_command("ulimit -n; ulimit -f", off_policy, timeout_s=10)
    assert result.output.split() == ["1024", "1048576"]


async def test_off_mode_times_out(off_policy: SandboxPolicy) -> None:
    result = await run_command("sleep 30", off_policy, timeout_s=0.5)
    assert result.timed_out
    assert result.exit_code == 124


async def test_unavailable_bubblewrap_is_a_clear_error(
    policy: SandboxPolicy, fake_bwrap_path: Path
) -> None:
    status = sandbox_status()
    assert not status.available
    assert "No permissions to create new namespace" in status.detail
    with pytest.raises(SandboxUnavailable) as caught:
        await run_command("echo hi", policy, timeout_s=5)
    message = str(caught.value)
    assert "apt-get install bubblewrap" in message
    assert "FORGELINE_SANDBOX=off" in message
    assert "No permissions to create new namespace" in message


async def test_missing_bubblewrap_is_a_clear_error(
    policy: SandboxPolicy, fake_bwrap_path: Path
) -> None:
    (fake_bwrap_path / "bwrap").unlink()
    sandbox_status.cache_clear()
    status = sandbox_status()
    assert not status.available
    assert "not found" in status.detail
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        await run_command("echo hi", policy, timeout_s=5)


async def test_off_mode_does_not_need_bubblewrap(
    off_policy: SandboxPolicy, fake_bwrap_path: Path
) -> None:
    result = await run_command("echo fine", off_policy, timeout_s=5)
    assert result.output == "fine\n"
