"""Attack: a malicious repository's `.forgeline/setup.sh` reaches the host's loopback services.

Setup runs with the network on, in the host's network namespace. Through the public path
(`forgeline run` on a repository whose base commit holds `.forgeline/setup.sh`), the script
opens TCP connections to PostgreSQL on 127.0.0.1:5432 (which trusts every local user, so it
could read other projects' events and plant a pickled step output) and to a service
this test listens on. On the old sandbox both connects succeeded; now Landlock refuses
every TCP connect outside the allowed ports (TCP Fast Open's `sendto`, which skips
`connect`, and MPTCP sockets, which Landlock does not cover, are refused by the seccomp
filter), while the ports of the package index URL
setup is given stay reachable.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import ValidationError

from e2e.helpers import cli_env, forgeline, make_repo, read_events, summary, write_script
from forgeline.settings import Settings

PROBE = """probe() {{ if (exec 3<>/dev/tcp/127.0.0.1/$2) 2>/dev/null; then echo "$1-OPEN";
else echo "$1-BLOCKED"; fi; }}
probe pg 5432
probe service {service}
probe index {index}
/usr/bin/python3 -c 'import socket; socket.socket().sendto(b"x", socket.MSG_FASTOPEN, \
("127.0.0.1", {service})); print("tfo-OPEN")' 2>/dev/null || echo tfo-BLOCKED
/usr/bin/python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262).connect(\
("127.0.0.1", {service})); print("mptcp-OPEN")' 2>/dev/null || echo mptcp-BLOCKED
"""

WRITE = {"name": "Write", "input": {"file_path": "research.md", "content": "# Research\n"}}
RESEARCH = [{"tool_calls": [WRITE]}, {"text": "Done."}]


@contextmanager
def listener() -> Iterator[tuple[int, list[int]]]:
    """A loopback TCP service that counts the connections it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], accepted
    finally:
        server.close()
        thread.join(timeout=5)


def test_setup_sh_cannot_reach_host_loopback_services(tmp_path: Path) -> None:
    with listener() as (service, hits), listener() as (index, index_hits):
        setup = PROBE.format(service=service, index=index)
        repo = make_repo(tmp_path / "app", {"README.md": "# app\n", ".forgeline/setup.sh": setup})
        script = write_script(tmp_path / "s.yaml", {"research": RESEARCH})
        env = cli_env(tmp_path / "home", PIP_INDEX_URL=f"http://127.0.0.1:{index}/simple")
        args = ["run", "Anything", "--repo", str(repo), "--phases", "research", "--json"]
        proc = forgeline(*args, "--model", f"scripted:{script}", env=env)
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert summary(proc)["status"] == "completed"
        output = "".join(
            str(e["data"].get("text", "")) for e in read_events(env) if e["type"] == "setup_output"
        )
    assert "pg-BLOCKED" in output and "pg-OPEN" not in output, output
    assert "service-BLOCKED" in output and hits == [], output
    assert "tfo-BLOCKED" in output and "mptcp-BLOCKED" in output, output
    assert "index-OPEN" in output and index_hits == [1], output  # the configured index works


def test_network_ports_setting() -> None:
    assert Settings(sandbox_network_ports="all").network_ports is None
    assert Settings(sandbox_network_ports="443,8443").network_ports == (443, 8443)
    assert Settings().network_ports == (53, 80, 443)
    with pytest.raises(ValidationError):
        Settings(sandbox_network_ports="443;rm -rf /")
