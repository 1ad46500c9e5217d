"""Supervising one started command: its output pipe, its exit, its timeout, its cleanup.

Shared by the cold start (`asyncio.create_subprocess_exec`) and the warm one (a parked
sandbox, `sandbox.warm.Parked`): both are a process leading its own session, whose
output comes through one pipe, and whose group (and cgroup) is killed when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from typing import Protocol

from forgeline.sandbox.cgroup import PidsCgroup
from forgeline.sandbox.output import OutputCollector

TIMEOUT_EXIT_CODE = 124
"""The exit code reported for a command killed at its timeout (like `timeout(1)`)."""

_CHUNK = 64 * 1024
_DRAIN_GRACE_S = 2.0


def kill_group(pgid: int) -> None:
    """SIGKILL process group `pgid`, if it still exists."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


OutputCallback = Callable[[bytes], None]


class Process(Protocol):
    """A started command: `asyncio.subprocess.Process` (cold) or `Parked` (warm)."""

    @property
    def pid(self) -> int: ...

    @property
    def returncode(self) -> int | None: ...

    async def wait(self) -> int: ...


async def pump(
    stream: asyncio.StreamReader, collector: OutputCollector, on_output: OutputCallback | None
) -> None:
    """Feed the command's output to `collector` (and `on_output`) until EOF."""
    while chunk := await stream.read(_CHUNK):
        collector.feed(chunk)
        if on_output is not None:
            on_output(chunk)


async def _finish_reader(reader: asyncio.Task[None]) -> None:
    """Wait briefly for EOF (everything holding the pipe is dead), then give up."""
    done, _ = await asyncio.wait({reader}, timeout=_DRAIN_GRACE_S)
    if not done:
        reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader


async def _wait(proc: Process, timeout_s: float) -> bool:
    """Wait for the process; on timeout kill its group and return True."""
    try:
        await asyncio.wait_for(proc.wait(), timeout_s)
    except TimeoutError:
        kill_group(proc.pid)
        await proc.wait()
        return True
    return False


async def cleanup(proc: Process, cgroup: PidsCgroup | None, reader: asyncio.Task[None]) -> None:
    """Kill whatever the command left behind and collect the rest of its output."""
    kill_group(proc.pid)
    if proc.returncode is None:
        await proc.wait()
    if cgroup is not None:
        await cgroup.destroy()
    await _finish_reader(reader)


async def connect_pipe(
    read_fd: int,
) -> tuple[asyncio.StreamReader, asyncio.ReadTransport]:
    """A stream over the read end of the command's output pipe (closed on failure)."""
    stream = asyncio.StreamReader(limit=_CHUNK)
    loop = asyncio.get_running_loop()
    try:
        pipe = os.fdopen(read_fd, "rb", buffering=0)
    except BaseException:
        os.close(read_fd)
        raise
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), pipe)
    return stream, transport


async def open_pipe() -> tuple[int, asyncio.StreamReader, asyncio.ReadTransport]:
    """A pipe whose write end is the command's stdout and stderr; we own the read end."""
    read_fd, write_fd = os.pipe()
    try:
        stream, transport = await connect_pipe(read_fd)
    except BaseException:
        os.close(write_fd)
        raise
    return write_fd, stream, transport


async def supervise(
    proc: Process, cgroup: PidsCgroup | None, reader: asyncio.Task[None], timeout_s: float
) -> bool:
    """Wait for the command (killing it at the timeout or on cancellation), then clean up.

    Returns:
        Whether it was killed at the timeout.
    """
    try:
        timed_out = await _wait(proc, timeout_s)
    except BaseException:
        kill_group(proc.pid)
        await asyncio.shield(cleanup(proc, cgroup, reader))
        raise
    await cleanup(proc, cgroup, reader)
    return timed_out


def outcome(
    proc: Process, collector: OutputCollector, timed_out: bool
) -> tuple[int, str, bool, bool]:
    assert proc.returncode is not None
    output, truncated = collector.render()
    exit_code = TIMEOUT_EXIT_CODE if timed_out else _exit_code(proc.returncode)
    return exit_code, output, truncated, timed_out
