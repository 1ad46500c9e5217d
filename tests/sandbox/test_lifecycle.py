"""Timeouts, leftovers, fork storms, cancellation and huge output: nothing outlives a command."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
from collections.abc import Callable

import pytest

from forgeline.sandbox import TIMEOUT_EXIT_CODE, run_command
from forgeline.sandbox.spec import SandboxPolicy

Leftovers = Callable[[str], list[int]]


@pytest.fixture
def policy(both_starts: SandboxPolicy) -> SandboxPolicy:
    """Every test here runs in a parked (warm) sandbox and in a cold one."""
    return both_starts


def _unique_sleep(marker: str) -> str:
    """A `sleep` whose command line is unique: `sleep 1000.<digits of the marker>`."""
    digits = "".join(str(ord(char) % 10) for char in marker)
    return f"sleep 1000.{digits}"


def _policies(policy: SandboxPolicy) -> list[SandboxPolicy]:
    off = SandboxPolicy(workspace=policy.workspace, writable=policy.writable, enabled=False)
    return [policy, off]


async def test_command_that_never_ends_is_killed_at_the_timeout(
    policy: SandboxPolicy, marker: str, leftovers: Leftovers
) -> None:
    sleeper = _unique_sleep(marker)
    started = time.monotonic()
    result = await run_command(f"echo before; {sleeper}", policy, timeout_s=1)
    elapsed = time.monotonic() - started
    assert result.timed_out
    assert result.exit_code == TIMEOUT_EXIT_CODE
    assert result.killed_reason == "timeout after 1 s"
    assert result.output == "before\n"
    assert 0.9 < elapsed < 5
    assert leftovers(sleeper) == []


@pytest.mark.parametrize("sandboxed", [True, False])
async def test_background_process_left_behind_is_reaped(
    policy: SandboxPolicy, marker: str, leftovers: Leftovers, sandboxed: bool
) -> None:
    chosen = _policies(policy)[0 if sandboxed else 1]
    sleeper = _unique_sleep(marker)
    started = time.monotonic()
    result = await run_command(f"{sleeper} & echo started", chosen, timeout_s=30)
    # Killed at once, not found later by the 2 s wait for the output pipe to close.
    assert time.monotonic() - started < 1.9
    assert result.output == "started\n"
    assert result.exit_code == 0
    assert not result.timed_out
    assert leftovers(sleeper) == []


async def test_process_that_left_the_session_is_reaped_with_the_namespace(
    policy: SandboxPolicy, marker: str, leftovers: Leftovers
) -> None:
    sleeper = _unique_sleep(marker)
    command = f"setsid {sleeper} > /dev/null 2>&1 < /dev/null & echo detached"
    result = await run_command(command, policy, timeout_s=30)
    assert result.output == "detached\n"
    assert leftovers(sleeper) == []


async def _host_can_fork(during_s: float) -> list[float]:
    """Start `/bin/true` on the host repeatedly; return how long each took."""
    timings: list[float] = []
    deadline = time.monotonic() + during_s
    while time.monotonic() < deadline:
        started = time.monotonic()
        proc = await asyncio.create_subprocess_exec("/bin/true")
        assert await proc.wait() == 0
        timings.append(time.monotonic() - started)
        await asyncio.sleep(0.1)
    return timings


@pytest.mark.parametrize("sandboxed", [True, False])
async def test_fork_storm_is_contained_and_reaped(
    policy: SandboxPolicy, marker: str, leftovers: Leftovers, sandboxed: bool
) -> None:
    chosen = _policies(policy)[0 if sandboxed else 1]
    storm = f"STORM={marker}; :(){{ :|:& }};:; sleep 30"
    started = time.monotonic()
    result, timings = await asyncio.gather(
        run_command(storm, chosen, timeout_s=1.5), _host_can_fork(1.2)
    )
    assert result.timed_out
    assert result.exit_code == TIMEOUT_EXIT_CODE
    assert time.monotonic() - started < 10
    # The host kept working during the storm: every fork succeeded, quickly.
    assert timings
    assert max(timings) < 2
    assert leftovers(marker) == []


async def test_cancellation_kills_the_command(
    policy: SandboxPolicy, marker: str, leftovers: Leftovers
) -> None:
    sleeper = _unique_sleep(marker)
    task = asyncio.create_task(run_command(f"{sleeper}; echo never", policy, timeout_s=60))
    for _ in range(100):
        if leftovers(sleeper):
            break
        await asyncio.sleep(0.05)
    assert leftovers(sleeper), "the command never started"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert leftovers(sleeper) == []


async def test_huge_output_is_capped_quickly_with_bounded_memory(policy: SandboxPolicy) -> None:
    tracemalloc.start()
    try:
        started = time.monotonic()
        result = await run_command(
            "yes 2>/dev/null | head -c 50000000; echo; echo THE-END",
            policy,
            timeout_s=60,
            max_output_chars=30_000,
        )
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0
    assert result.truncated
    assert len(result.output) <= 30_000
    assert result.output.startswith("y\ny\ny\n")
    assert result.output.endswith("y\n\nTHE-END\n")
    assert "characters cut ..." in result.output
    assert elapsed < 15
    assert peak < 8 * 1024 * 1024  # 50 MB went through; a few MB at most were held
