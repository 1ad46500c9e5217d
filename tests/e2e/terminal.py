"""A command run with a pty as its controlling terminal, read and typed into like a user."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import time


class Terminal:
    """`argv` in a real terminal: `read_until` what it shows, `type` what a user types."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.execve(argv[0], argv, env)
        self.output = b""
        self._seen = 0

    def read_until(self, text: str, timeout: float) -> str:
        """Wait for `text` after what earlier calls matched; return everything shown."""
        deadline = time.monotonic() + timeout
        while (at := self.output.find(text.encode(), self._seen)) < 0:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} in: {self.output.decode(errors='replace')[-3000:]}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.output += os.read(self.fd, 65536)
                except OSError:  # the child exited
                    break
        self._seen = max(self._seen, at + len(text)) if at >= 0 else self._seen
        return self.output.decode(errors="replace")

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait(self, timeout: float) -> int | None:
        """The exit status, reading output meanwhile; None if still running at `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            with contextlib.suppress(OSError):
                self.output += os.read(self.fd, 65536) if ready else b""
        return None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)
