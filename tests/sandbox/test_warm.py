"""Warm sandboxes: parked before the command, used only when nothing changed, never leaked."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from forgeline.sandbox import run_command
from forgeline.sandbox.cgroup import pids_cgroup_parent, sweep_stale
from forgeline.sandbox.limits import ResourceLimits
from forgeline.sandbox.spec import SandboxPolicy
from forgeline.sandbox.warm import MAX_WARM_COMMAND, WARM, Parked

from .procs import is_zombie

# What a command can tell about how it was started: environment, pid, shell state, fds.
PROBE = (
    'env | sort; echo "$0 $$ $PPID $-"; ls /proc/self/fd | sort -n | tr "\\n" " "; echo; '
    "ulimit -a; umask; trap -p; shopt -p | md5sum; set -o | md5sum"
)


@pytest.fixture(autouse=True)
def clean_pool() -> Iterator[None]:
    """Each test starts and ends with no parked sandbox."""
    WARM.close()
    yield
    WARM.close()
    WARM.enabled = True


def _our_cgroups() -> list[Path]:
    parent = pids_cgroup_parent()
    if parent is None:
        return []
    return sorted(parent.glob(f"forgeline-{os.getpid()}-*"))


def _members(creator: int) -> list[int]:
    """The processes in the cgroups process `creator` made."""
    parent = pids_cgroup_parent()
    found: list[int] = []
    for group in parent.glob(f"forgeline-{creator}-*") if parent is not None else []:
        with contextlib.suppress(OSError):
            found += [int(pid) for pid in (group / "cgroup.procs").read_text().split()]
    return found


def _parked_for(policy: SandboxPolicy) -> list[Parked]:
    workspace = str(policy.workspace.resolve())
    return [one for one in WARM.parked() if workspace in one.key.program]


async def test_the_second_command_runs_in_the_parked_sandbox(policy: SandboxPolicy) -> None:
    first = await run_command("echo one", policy, timeout_s=10)
    [parked] = _parked_for(policy)
    second = await run_command("echo two; exit 3", policy, timeout_s=10)
    assert (first.output, second.output, second.exit_code) == ("one\n", "two\n", 3)
    assert parked.returncode == 3  # this parked sandbox ran the second command
    [parked_next] = _parked_for(policy)
    assert parked_next is not parked


async def test_warm_and_cold_commands_start_alike(policy: SandboxPolicy) -> None:
    await run_command("true", policy, timeout_s=10)
    assert _parked_for(policy)
    warm = await run_command(PROBE, policy, timeout_s=10)
    WARM.enabled = False
    cold = await run_command(PROBE, policy, timeout_s=10)
    assert warm.exit_code == cold.exit_code == 0
    assert warm.output == cold.output
    assert "SHLVL=1\n" in warm.output
    assert "/bin/bash 2 1 hBc\n0 1 2 3 \n" in warm.output  # pid 2; no inherited descriptor


async def test_the_command_is_the_shells_execution_string_warm_and_cold(
    policy: SandboxPolicy,
) -> None:
    command = 'echo "$BASH_EXECUTION_STRING"; echo "${c-unset}"; set | grep -c "^c="'
    await run_command("true", policy, timeout_s=10)
    warm = await run_command(command, policy, timeout_s=10)
    WARM.enabled = False
    cold = await run_command(command, policy, timeout_s=10)
    assert warm.output == cold.output == command + "\nunset\n0\n"


async def test_a_syntax_error_fails_alike_warm_and_cold(policy: SandboxPolicy) -> None:
    command = "echo before\nif then\necho after"
    await run_command("true", policy, timeout_s=10)
    warm = await run_command(command, policy, timeout_s=10)
    WARM.enabled = False
    cold = await run_command(command, policy, timeout_s=10)
    assert warm.exit_code == cold.exit_code == 2
    for result in (warm, cold):
        assert result.output.startswith("before\n")
        assert "line 2: syntax error near unexpected token `then'" in result.output
        assert "after" not in result.output


async def test_a_replaced_writable_directory_is_never_seen_through_an_old_mount(
    policy: SandboxPolicy, workspace: Path
) -> None:
    await run_command("true", policy, timeout_s=10)
    assert _parked_for(policy)
    (workspace / "repo").rename(workspace / "old-repo")
    (workspace / "repo").mkdir()
    (workspace / "repo" / "fresh.txt").write_text("fresh\n", encoding="utf-8")
    result = await run_command("cat repo/fresh.txt && echo x > repo/made.txt", policy, timeout_s=10)
    assert result.output == "fresh\n"
    assert (workspace / "repo" / "made.txt").exists()
    assert not (workspace / "old-repo" / "made.txt").exists()


async def test_a_replaced_hidden_directory_stays_hidden(workspace: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    policy = SandboxPolicy(workspace=workspace, writable=(workspace / "repo",), hidden=(secret,))
    await run_command("true", policy, timeout_s=10)
    assert _parked_for(policy)
    shutil.rmtree(secret)
    secret.mkdir()
    (secret / "key.txt").write_text("s3cret\n", encoding="utf-8")
    result = await run_command(f"cat {secret}/key.txt", policy, timeout_s=10)
    assert result.exit_code != 0
    assert "s3cret" not in result.output


async def test_a_work_tree_added_after_parking_has_a_read_only_git_file(
    workspace: Path,
) -> None:
    writable = workspace / "trees"
    writable.mkdir()
    policy = SandboxPolicy(workspace=workspace, writable=(writable,))
    await run_command("true", policy, timeout_s=10)
    assert _parked_for(policy)
    tree = writable / "project"
    tree.mkdir()
    (tree / ".git").write_text("gitdir: /elsewhere\n", encoding="utf-8")
    result = await run_command("echo evil > trees/project/.git", policy, timeout_s=10)
    assert result.exit_code != 0
    assert (tree / ".git").read_text(encoding="utf-8") == "gitdir: /elsewhere\n"


async def test_a_startup_file_runs_once_per_command(policy: SandboxPolicy, workspace: Path) -> None:
    hook = workspace / "repo" / "hook.sh"
    hook.write_text(f"echo ran >> {workspace}/repo/log.txt\n", encoding="utf-8")
    env = {"BASH_ENV": str(hook)}
    for _ in range(3):
        result = await run_command("true", policy, timeout_s=10, env=env)
        assert result.exit_code == 0
        await asyncio.sleep(0.2)  # time for a wrongly parked reader to source it
    assert (workspace / "repo" / "log.txt").read_text(encoding="utf-8") == "ran\n" * 3


async def test_long_and_multiline_commands_are_exact(policy: SandboxPolicy) -> None:
    await run_command("true", policy, timeout_s=10)
    text = "line one\n  'quoted' \"double\" \\back $HOME\n\n"
    heredoc = f"cat <<'EOF'\n{text}EOF\n"
    long_text = "x" * (MAX_WARM_COMMAND + 100)
    short = await run_command(heredoc, policy, timeout_s=10)
    long = await run_command(f"echo {long_text}", policy, timeout_s=10)
    assert short.output == text
    assert long.output == long_text + "\n"


async def test_a_nul_byte_in_the_command_is_refused(policy: SandboxPolicy) -> None:
    with pytest.raises(ValueError, match="null byte"):
        await run_command("echo a\0--bind / /", policy, timeout_s=10)


async def test_a_parked_sandbox_killed_meanwhile_is_replaced(policy: SandboxPolicy) -> None:
    await run_command("true", policy, timeout_s=10)
    [parked] = _parked_for(policy)
    os.killpg(parked.pid, signal.SIGKILL)
    parked.popen.wait()
    result = await run_command("echo still works", policy, timeout_s=10)
    assert result.output == "still works\n"


async def test_a_timeout_kills_only_its_own_command(policy: SandboxPolicy) -> None:
    await run_command("true", policy, timeout_s=10)
    slow, stuck = await asyncio.gather(
        run_command("sleep 1.5; echo done", policy, timeout_s=30),
        run_command("sleep 100", policy, timeout_s=0.5),
    )
    assert stuck.timed_out
    assert (slow.output, slow.exit_code, slow.timed_out) == ("done\n", 0, False)


async def test_the_pids_limit_holds_in_a_parked_sandbox(policy: SandboxPolicy) -> None:
    # A machine that cannot enforce the pids limit fails here rather than skipping it.
    assert pids_cgroup_parent() is not None, "no writable pids cgroup for the pids limit"
    limits = ResourceLimits(processes=20)
    await run_command("true", policy, timeout_s=10, limits=limits)
    assert any(one.key.limits == limits for one in WARM.parked())
    storm = "for i in $(seq 40); do sleep 3 & done; wait"
    result = await run_command(storm, policy, timeout_s=2, limits=limits)
    assert "Resource temporarily unavailable" in result.output


async def test_limits_that_cannot_be_set_fail_warm_as_cold(policy: SandboxPolicy) -> None:
    limits = ResourceLimits(open_files=-5)  # the parked sandbox's set-up fails: killed
    results = [await run_command("echo ran", policy, timeout_s=10, limits=limits) for _ in "ab"]
    assert [result.exit_code for result in results] == [126, 126]
    assert all("ran" not in result.output for result in results)


async def test_many_runs_leave_no_cgroup_and_no_process(workspace: Path, tmp_path: Path) -> None:
    policies = []
    for index in range(3):
        repo = workspace / f"repo{index}"
        repo.mkdir()
        policies.append(SandboxPolicy(workspace=workspace, writable=(repo,)))
    for round_ in range(4):
        results = await asyncio.gather(*(run_command("true", p, timeout_s=10) for p in policies))
        assert all(r.exit_code == 0 for r in results), round_
    parked = WARM.parked()
    assert 1 <= len(parked) <= 3
    if pids_cgroup_parent() is not None:
        assert len(_our_cgroups()) == len(parked)
    WARM.close()
    assert all(one.returncode is not None for one in parked)
    assert _our_cgroups() == []


@pytest.mark.parametrize("ending", ["exit", "sigkill"])
def test_a_process_that_ends_leaves_no_parked_sandbox(
    workspace: Path, tmp_path: Path, ending: str, leftovers: Callable[[str], list[int]]
) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    child = subprocess.run(
        [sys.executable, str(script), str(workspace), ending],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    child_pid, parked_pid = (int(word) for word in child.stdout.split())

    def left_alive() -> list[int]:  # bwrap reads its options from a pipe: found by cgroup
        return (
            leftovers(str(workspace))
            + _members(child_pid)
            + [parked_pid] * (not is_zombie(parked_pid))
        )

    deadline = time.monotonic() + 30  # a loaded machine reaps slowly; a leak still fails
    while left_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left_alive() == []
    parent = pids_cgroup_parent()
    if parent is None:
        return
    left = sorted(parent.glob(f"forgeline-{child_pid}-*"))
    if ending == "sigkill":  # left for the next process to sweep (with any other dead
        # process's: the crash tests kill -9 whole Forgeline processes, concurrently)
        assert left and set(left) <= set(sweep_stale(parent, min_age_s=0))
    assert list(parent.glob(f"forgeline-{child_pid}-*")) == []


CHILD = """
import asyncio, os, signal, sys
from pathlib import Path
from forgeline.sandbox import run_command
from forgeline.sandbox.warm import WARM
from forgeline.sandbox.spec import SandboxPolicy
ws = Path(sys.argv[1])
policy = SandboxPolicy(workspace=ws, writable=(ws / "repo",))
asyncio.run(run_command("true", policy, timeout_s=10))
[parked] = WARM.parked()
print(os.getpid(), parked.pid, flush=True)
if sys.argv[2] == "sigkill":
    os.kill(os.getpid(), signal.SIGKILL)
"""


async def test_non_utf8_bytes_in_a_command_reach_the_shell_unchanged(
    policy: SandboxPolicy,
) -> None:
    command = os.fsdecode(b"printf '%s' '\xff\xfe caf\xc3\xa9' | od -An -tx1")
    warm = await run_command(command, policy, timeout_s=10)
    WARM.enabled = False
    cold = await run_command(command, policy, timeout_s=10)
    assert warm.output.split() == ["ff", "fe", "20", "63", "61", "66", "c3", "a9"]
    assert warm.output == cold.output
