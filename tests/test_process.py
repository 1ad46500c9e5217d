"""`forgeline.process.run_captured`: real children, their output, exit, timeout and kill."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from forgeline.process import run_captured

ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_output_exit_code_and_no_thread_or_descriptor_left(tmp_path: Path) -> None:
    script = (
        "import sys; sys.stdout.write('o' * 300000); sys.stderr.write('e' * 200000); sys.exit(3)"
    )
    fds, threads = _open_fds(), threading.active_count()
    done = await run_captured([sys.executable, "-c", script], cwd=tmp_path, env=ENV, timeout_s=30)
    assert (done.code, len(done.stdout), len(done.stderr)) == (3, 300000, 200000)
    assert set(done.stdout) == {ord("o")} and set(done.stderr) == {ord("e")}
    # Nothing is left open or running (other tests' threads may only have ended since).
    assert _open_fds() <= fds and threading.active_count() <= threads


async def test_stdin_larger_than_a_pipe_reaches_the_child(tmp_path: Path) -> None:
    data = bytes(range(256)) * 2000  # 512 000 bytes, several pipe buffers
    done = await run_captured(["cat"], cwd=tmp_path, env=ENV, timeout_s=30, stdin=data)
    assert (done.code, done.stdout) == (0, data)


async def test_a_child_that_ignores_its_input_does_not_hang(tmp_path: Path) -> None:
    done = await run_captured(["true"], cwd=tmp_path, env=ENV, timeout_s=30, stdin=b"x" * 1_000_000)
    assert done.code == 0


async def test_cwd_env_and_signal_status(tmp_path: Path) -> None:
    done = await run_captured(
        ["sh", "-c", 'printf "%s %s" "$PWD" "$ONLY"; kill -TERM $$'],
        cwd=tmp_path,
        env={**ENV, "ONLY": "this"},
        timeout_s=30,
    )
    assert done.stdout.decode() == f"{tmp_path} this"
    assert done.code == -15


async def test_missing_program_raises_file_not_found(tmp_path: Path) -> None:
    fds = _open_fds()
    with pytest.raises(FileNotFoundError):
        await run_captured(["no-such-program-xyz"], cwd=tmp_path, env=ENV, timeout_s=5)
    assert _open_fds() <= fds


async def test_timeout_kills_the_whole_group_and_reaps_it(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = f"sleep 60 & echo $! > {pidfile}; wait"
    fds, started = _open_fds(), time.monotonic()
    with pytest.raises(TimeoutError):
        await run_captured(["sh", "-c", script], cwd=tmp_path, env=ENV, timeout_s=0.5)
    assert time.monotonic() - started < 10
    grandchild = int(pidfile.read_text())
    for _ in range(100):  # the kill is sent; its delivery to the grandchild is the kernel's
        if not _alive(grandchild):
            break
        await asyncio.sleep(0.05)
    assert not _alive(grandchild)
    assert _open_fds() <= fds


async def test_a_grandchild_holding_the_output_open_ends_at_the_timeout(tmp_path: Path) -> None:
    # The child exits at once; its background `sleep` keeps stdout open (as git's own
    # helpers could): the output is not over, so the timeout ends it and kills the group.
    with pytest.raises(TimeoutError):
        await run_captured(["sh", "-c", "sleep 60 &"], cwd=tmp_path, env=ENV, timeout_s=0.5)


async def test_cancelling_the_caller_kills_the_child(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    task = asyncio.create_task(
        run_captured(
            ["sh", "-c", f"echo $$ > {pidfile}; exec sleep 60"], cwd=tmp_path, env=ENV, timeout_s=60
        )
    )
    for _ in range(200):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        await asyncio.sleep(0.02)
    pid = int(pidfile.read_text())
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not _alive(pid)  # reaped before the cancellation reached the caller


async def test_many_children_at_once(tmp_path: Path) -> None:
    runs = [
        run_captured(["sh", "-c", f"echo {n}"], cwd=tmp_path, env=ENV, timeout_s=30)
        for n in range(40)
    ]
    done = await asyncio.gather(*runs)
    assert [d.stdout.decode().strip() for d in done] == [str(n) for n in range(40)]
