"""The CLI in a real terminal (a pty): Ctrl-C at a question pauses at once; a busy port is a
one-line error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from api.server import SCRIPT, make_git_repo
from e2e.terminal import Terminal

FORGELINE = Path(sys.executable).parent / "forgeline"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FORGELINE_")}
    env.update(FORGELINE_HOME=str(home), TERM="xterm", COLUMNS="100")
    return env


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
