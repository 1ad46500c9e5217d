"""The CLI in a real terminal (a pty): Ctrl-C at a question pauses at once; a busy port is a
one-line error."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from api.server import SCRIPT, make_git_repo

FORGELINE = Path(sys.executable).parent / "forgeline"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGELINE_")}
    env.update(FORGELINE_HOME=str(home), TERM="xterm", COLUMNS="100")
    return env


class Terminal:
    """A command with a pty as its controlling terminal."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.execve(argv[0], argv, env)
        self.output = b""

    def read_until(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.output:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} in: {self.output.decode(errors='replace')[-2000:]}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    self.output += os.read(self.fd, 65536)
                except OSError:  # the child exited
                    break
        return self.output.decode(errors="replace")

    def wait(self, timeout: float) -> int | None:
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
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(self.fd)


def test_ctrl_c_at_a_question_pauses_at_once(tmp_path: Path) -> None:
    repo = make_git_repo(tmp_path / "repo")
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    argv = [str(FORGELINE), "run", "Do it", "--repo", str(repo), "--phases", "planning"]
    term = Terminal([*argv, "--model", f"scripted:{script}"], _env(tmp_path / "home"))
    try:
        term.read_until("choose (a number)", timeout=90)
        os.write(term.fd, b"\x03")  # Ctrl-C, through the terminal's line discipline
        started = time.monotonic()
        shown = term.read_until("Paused.", timeout=15)
        code = term.wait(timeout=15)  # no Enter pressed: the prompt must not hold it
        assert code == 130, shown
        assert time.monotonic() - started < 15
        assert "forgeline resume " in term.output.decode(errors="replace")
    finally:
        term.kill()


def test_a_busy_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [str(FORGELINE), "serve", "--port", str(port)],
            env=_env(tmp_path / "home"),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: cannot listen on 127.0.0.1:{port}: the port is in use (another forgeline "
        "serve?); pick one with --port"
    ]
