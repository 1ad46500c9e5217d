"""A real `forgeline serve` subprocess on a free loopback port, for the API tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx2

FORGELINE = Path(sys.executable).parent / "forgeline"

SCRIPT = """\
agents:
  research:
    - text: Looking around the repository.
      tool_calls:
        - {name: Glob, input: {pattern: "**/*.py"}}
    - text: Writing research.md.
      tool_calls:
        - name: Write
          input: {file_path: research.md, content: "# Research\\n\\nThe code is in `app.py`."}
    - text: Research is done.
  planning:
    - text: One question first.
      tool_calls:
        - name: AskUser
          input:
            questions:
              - question: Which approach should we take?
                header: Approach
                options: [{label: Simple}, {label: Thorough}]
    - text: Writing planning.md.
      tool_calls:
        - {name: Write, input: {file_path: planning.md, content: "# Plan\\n\\n1. Do it."}}
    - text: Planning is done.
"""

# A loaded 2-core machine took 28 s to start a server on PostgreSQL; a hang still fails.
START_TIMEOUT_S = 90


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_git_repo(path: Path) -> Path:
    """A small git repository with one commit on `main`."""
    path.mkdir(parents=True)
    (path / "app.py").write_text("print('hello')\n")
    git = ["git", "-C", str(path), "-c", "user.name=Test", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "initial"], check=True)
    return path


class Server:
    """`forgeline serve --port <free>` with its own FORGELINE_HOME and a scripted model.

    Args:
        home: The server's FORGELINE_HOME.
        token: FORGELINE_API_TOKEN, if any.
        script: The scripted model's script (YAML text); the small default otherwise.
        database_url: FORGELINE_DATABASE_URL, if any (SQLite in the home otherwise).
        allow_scripted: Set FORGELINE_ALLOW_SCRIPTED=1 (scripted models through the API).
        env: More environment variables for the server.
    """

    def __init__(
        self,
        home: Path,
        *,
        token: str | None = None,
        script: str = SCRIPT,
        database_url: str | None = None,
        allow_scripted: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        script_file = home / "script.yaml"
        script_file.write_text(script)
        self.script_file = script_file
        environment = {k: v for k, v in os.environ.items() if not k.startswith("FORGELINE_")}
        environment.update(
            FORGELINE_HOME=str(home),
            FORGELINE_MODEL=f"scripted:{script_file}",
            FORGELINE_SSE_KEEPALIVE_S="1",
            **(env or {}),
        )
        if token:
            environment["FORGELINE_API_TOKEN"] = token
        if database_url:
            environment["FORGELINE_DATABASE_URL"] = database_url
        if allow_scripted:
            environment["FORGELINE_ALLOW_SCRIPTED"] = "1"
        self.log = (home / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [str(FORGELINE), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=environment,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready(token)

    def _wait_ready(self, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {(self.home / 'server.log').read_text()}")
            try:
                if httpx2.get(f"{self.url}/health", headers=headers, timeout=2).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start in {START_TIMEOUT_S} s")

    def client(self, **kwargs: Any) -> httpx2.Client:
        """An HTTP client on this server."""
        return httpx2.Client(base_url=self.url, timeout=20, **kwargs)

    def stop(self) -> None:
        """Terminate the server and wait for it."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
