"""A short-lived child process run to its end by the event loop: no thread per child.

`asyncio.create_subprocess_exec` gives every child a transport, two stream readers and
(on Python 3.11, with the default child watcher) a thread that blocks in `waitpid`
until it exits. Forgeline's own helpers (git above all: one checkpoint runs several
commands) start many short children, so `run_captured` starts one with
`subprocess.Popen` and lets the loop's reader callbacks collect its output and notice
its exit through a pidfd: about a third of the parent's CPU per child, and nothing for
the GIL to switch to.

The child leads its own session, so a timeout or a cancellation kills its whole group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Finished:
    """How a child exited and what it printed.

    Attributes:
        code: Its exit status (negative: killed by that signal, as `Popen.returncode`).
        stdout: Everything it wrote to standard output.
        stderr: Everything it wrote to standard error.
    """

    code: int
    stdout: bytes
    stderr: bytes


async def run_captured(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout_s: float,
    stdin: bytes | None = None,
) -> Finished:
    """Run `argv` in its own session, feed it `stdin`, collect its output, reap it.

    Args:
        argv: The program and its arguments (never a shell string).
        cwd: The directory it runs in.
        env: Its whole environment.
        timeout_s: Wall-clock limit for the child to exit and close its output.
        stdin: Bytes for its standard input (None: it reads `/dev/null`).

    Returns:
        Its exit status and output.

    Raises:
        FileNotFoundError: The program does not exist.
        TimeoutError: It ran past `timeout_s` (its group was killed and it was reaped).
        asyncio.CancelledError: The caller was cancelled (the group is killed first).
    """
    child = _Child(argv, cwd=cwd, env=env, stdin=stdin)
    try:
        async with asyncio.timeout(timeout_s):
            await child.done
    except BaseException:
        await asyncio.shield(child.kill())
        raise
    return child.finished()


class _Child:
    """One started child: its pipes and pidfd watched by the running loop."""

    def __init__(
        self, argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], stdin: bytes | None
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self.done: asyncio.Future[None] = self._loop.create_future()
        self._exit: asyncio.Future[None] = self._loop.create_future()
        self._out: dict[int, bytearray] = {}
        self._pending = memoryview(stdin or b"")
        self._fds: set[int] = set()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, in_w = os.pipe() if stdin is not None else (subprocess.DEVNULL, -1)
        try:
            self._popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=dict(env),
                stdin=in_r,
                stdout=out_w,
                stderr=err_w,
                start_new_session=True,
            )
        except BaseException:
            for fd in (out_r, err_r, in_w):
                _close(fd)
            raise
        finally:
            for fd in (out_w, err_w, in_r):
                _close(fd)
        self._stdout, self._stderr = out_r, err_r
        self._watch(out_r, err_r, in_w)

    def _watch(self, out_r: int, err_r: int, in_w: int) -> None:
        self._pidfd = _pidfd_or_kill(self._popen, (out_r, err_r, in_w))
        self._fds = {out_r, err_r, self._pidfd}
        for fd in (out_r, err_r):
            self._out[fd] = bytearray()
            os.set_blocking(fd, False)
            self._loop.add_reader(fd, self._read, fd)
        self._loop.add_reader(self._pidfd, self._exited)
        self._stdin = in_w
        if in_w >= 0:
            os.set_blocking(in_w, False)
            self._loop.add_writer(in_w, self._write)

    def _read(self, fd: int) -> None:
        try:
            chunk = os.read(fd, _CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if chunk:
            self._out[fd] += chunk
        else:
            self._forget(fd)

    def _write(self) -> None:
        try:
            written = os.write(self._stdin, self._pending)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # the child closed its input (or exited): the rest is not read
            written = len(self._pending)
        self._pending = self._pending[written:]
        if not self._pending:
            self._loop.remove_writer(self._stdin)
            self._stdin = _close(self._stdin)

    def _exited(self) -> None:
        self._popen.wait()  # it has exited: this reaps it without blocking
        self._forget(self._pidfd)
        if not self._exit.done():
            self._exit.set_result(None)

    def _forget(self, fd: int) -> None:
        """Stop watching `fd` (at EOF, or the exit); the last one makes `done`."""
        if fd in self._fds:
            self._fds.discard(fd)
            self._loop.remove_reader(fd)
            if fd == self._pidfd:
                self._pidfd = _close(fd)
        if not self._fds and not self.done.done():
            self.done.set_result(None)

    async def kill(self) -> None:
        """Kill the child's group, wait until it is reaped, stop watching its pipes."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, signal.SIGKILL)
        try:
            await self._exit
        finally:
            self._release()

    def finished(self) -> Finished:
        """The outcome, once `done` (the pipes are closed)."""
        code = self._popen.returncode
        stdout, stderr = bytes(self._out[self._stdout]), bytes(self._out[self._stderr])
        self._release()
        return Finished(code=code if code is not None else -1, stdout=stdout, stderr=stderr)

    def _release(self) -> None:
        for fd in list(self._fds):
            self._forget(fd)
        for fd in (self._stdout, self._stderr):
            _close(fd)
        self._stdout = self._stderr = -1
        if self._stdin >= 0:
            self._loop.remove_writer(self._stdin)
            self._stdin = _close(self._stdin)


def _pidfd_or_kill(popen: subprocess.Popen[bytes], fds: tuple[int, ...]) -> int:
    """A pidfd of the child; if the kernel has none, the child is killed and reaped."""
    try:
        return os.pidfd_open(popen.pid)
    except OSError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()
        for fd in fds:
            _close(fd)
        raise


def _close(fd: int) -> int:
    """Close `fd` if it is one (>= 0); always -1, for `x = _close(x)`."""
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)
    return -1
