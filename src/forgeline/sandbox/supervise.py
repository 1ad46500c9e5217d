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


class OutputPipe:
    """The read end of a command's output pipe, read by the event loop as data comes.

    Each chunk goes to the collector (and `on_output`) from the loop's reader callback:
    no stream, transport or task per command. `done` is resolved at EOF (everything
    holding the write end is gone), or with the exception `on_output` raised.
    """

    def __init__(
        self, read_fd: int, collector: OutputCollector, on_output: OutputCallback | None
    ) -> None:
        """Start reading `read_fd` (owned from now on: `close` closes it).

        Args:
            read_fd: The read end of the pipe.
            collector: Where the output goes.
            on_output: Also called with each raw chunk, if given.
        """
        self._fd = read_fd
        self._collector = collector
        self._on_output = on_output
        self._loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = self._loop.create_future()
        try:
            os.set_blocking(read_fd, False)
            self._loop.add_reader(read_fd, self._read)
        except BaseException:
            self._fd = -1
            os.close(read_fd)
            raise

    def _read(self) -> None:
        try:
            chunk = os.read(self._fd, _CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self.close()
            return
        try:
            self._collector.feed(chunk)
            if self._on_output is not None:
                self._on_output(chunk)
        except Exception as exc:  # given to whoever awaits `done`
            if not self.done.done():
                self.done.set_exception(exc)
            self.close()

    def close(self) -> None:
        """Stop reading and close the pipe (what is not read by now is dropped)."""
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            self._loop.remove_reader(fd)
            os.close(fd)
        if not self.done.done():
            self.done.set_result(None)

    async def finish(self) -> None:
        """Wait briefly for EOF (everything holding the pipe is dead), then give up.

        Raises:
            Exception: What `on_output` raised.
        """
        if not self.done.done():
            give_up = self._loop.call_later(_DRAIN_GRACE_S, self.close)
            try:
                await asyncio.shield(self.done)
            finally:
                give_up.cancel()
        self.done.result()


async def _wait(proc: Process, timeout_s: float) -> bool:
    """Wait for the process; on timeout kill its group and return True."""
    try:
        async with asyncio.timeout(timeout_s):
            await proc.wait()
    except TimeoutError:
        kill_group(proc.pid)
        await proc.wait()
        return True
    return False


async def cleanup(proc: Process, cgroup: PidsCgroup | None, output: OutputPipe) -> None:
    """Kill whatever the command left behind and collect the rest of its output."""
    kill_group(proc.pid)
    if proc.returncode is None:
        await proc.wait()
    if cgroup is not None:
        await cgroup.destroy()
    await output.finish()


async def supervise(
    proc: Process, cgroup: PidsCgroup | None, output: OutputPipe, timeout_s: float
) -> bool:
    """Wait for the command (killing it at the timeout or on cancellation), then clean up.

    The caller closes `output` afterwards, whatever happened.

    Returns:
        Whether it was killed at the timeout.
    """
    try:
        timed_out = await _wait(proc, timeout_s)
    except BaseException:
        kill_group(proc.pid)
        await asyncio.shield(cleanup(proc, cgroup, output))
        raise
    await cleanup(proc, cgroup, output)
    return timed_out


def outcome(
    proc: Process, collector: OutputCollector, timed_out: bool
) -> tuple[int, str, bool, bool]:
    assert proc.returncode is not None
    output, truncated = collector.render()
    exit_code = TIMEOUT_EXIT_CODE if timed_out else _exit_code(proc.returncode)
    return exit_code, output, truncated, timed_out
