"""run_command on real bubblewrap: output, exit codes, working directory, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from forgeline.domain.errors import UserError
from forgeline.sandbox import ResourceLimits, run_command, sandbox_status
from forgeline.sandbox.spec import SandboxPolicy


def test_bubblewrap_is_available_here() -> None:
    status = sandbox_status()
    assert status.available, status.detail
    assert "bubblewrap" in status.detail
    assert status.bwrap is not None


async def test_normal_command_output_and_exit_code(policy: SandboxPolicy) -> None:
    result = await run_command("echo hello; exit 3", policy, timeout_s=10)
    assert result.output == "hello\n"
    assert result.exit_code == 3
    assert not result.timed_out
    assert not result.truncated
    assert result.killed_reason is None
    assert result.sandboxed
    assert 0 < result.duration_s < 10


async def test_stdout_and_stderr_are_interleaved(policy: SandboxPolicy) -> None:
    result = await run_command("echo one; echo two >&2; echo three", policy, timeout_s=10)
    assert result.output == "one\ntwo\nthree\n"
    assert result.exit_code == 0


async def test_working_directory_is_the_workspace(policy: SandboxPolicy, workspace: Path) -> None:
    result = await run_command("pwd; cat repo/README.md", policy, timeout_s=10)
    assert result.output == f"{workspace}\nhello from the repo\n"


async def test_stdin_is_empty(policy: SandboxPolicy) -> None:
    result = await run_command("cat; echo done", policy, timeout_s=10)
    assert result.output == "done\n"


async def test_killed_by_signal_reports_128_plus_signal(policy: SandboxPolicy) -> None:
    result = await run_command("kill -TERM $$", policy, timeout_s=10)
    assert result.exit_code == 143
    assert not result.timed_out


async def test_non_utf8_output_is_replaced(policy: SandboxPolicy) -> None:
    result = await run_command(r"printf 'a\377\376b\n'", policy, timeout_s=10)
    assert result.output == "a\ufffd\ufffdb\n"


async def test_utf8_output_is_kept(policy: SandboxPolicy) -> None:
    result = await run_command("printf 'h\\303\\251 \\342\\234\\223\\n'", policy, timeout_s=10)
    assert result.output == "hé ✓\n"


async def test_default_resource_limits_apply(policy: SandboxPolicy) -> None:
    result = await run_command("ulimit -n; ulimit -v; ulimit -f; ulimit -c", policy, timeout_s=10)
    # open files; address space in KiB (4 GiB); file size in 1024-byte blocks (1 GiB); cores
    assert result.output.split() == ["1024", "4194304", "1048576", "0"]


async def test_file_size_limit_stops_big_writes(policy: SandboxPolicy, workspace: Path) -> None:
    limits = ResourceLimits(file_size_bytes=1024 * 1024)
    result = await run_command(
        "head -c 3000000 /dev/zero > repo/big.bin", policy, timeout_s=10, limits=limits
    )
    assert result.exit_code != 0
    assert (workspace / "repo" / "big.bin").stat().st_size <= 1024 * 1024


async def test_no_capabilities_inside(policy: SandboxPolicy) -> None:
    result = await run_command(
        "grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status", policy, timeout_s=10
    )
    values = [line.split()[1] for line in result.output.splitlines()]
    assert values == ["0000000000000000"] * 3


async def test_only_the_command_processes_are_visible(policy: SandboxPolicy) -> None:
    result = await run_command("ls /proc | grep -cE '^[0-9]+$'", policy, timeout_s=10)
    # bubblewrap's init, bash, ls and grep: the host's processes are not visible.
    assert int(result.output.strip()) < 10


async def test_ripgrep_is_on_path(policy: SandboxPolicy) -> None:
    result = await run_command("rg --version && rg -l hello repo", policy, timeout_s=10)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ripgrep")
    assert "repo/README.md" in result.output


async def test_timeout_must_be_positive(policy: SandboxPolicy) -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        await run_command("true", policy, timeout_s=0)


async def test_missing_workspace_is_a_clear_error(tmp_path: Path) -> None:
    policy = SandboxPolicy(workspace=tmp_path / "nope")
    with pytest.raises(UserError, match="does not exist"):
        await run_command("true", policy, timeout_s=5)
