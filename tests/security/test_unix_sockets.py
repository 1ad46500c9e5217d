"""Attack: a prompt-injected research agent (read-only!) reaches the host's Unix sockets.

Through the public path: `forgeline run --phases research` with a `scripted:` model whose
research agent runs `Bash` commands that connect to PostgreSQL's socket and to real
sockets this test listens on where the sandbox can see them. On the old sandbox ("no
network" was only a network namespace) the connects succeeded; now every one is refused,
while pipes, `socketpair` and `multiprocessing` keep working.
"""

from __future__ import annotations

import errno
from pathlib import Path

from e2e.helpers import cli_env, forgeline, make_repo, read_events, summary, write_script
from sandbox.unix_peer import POSTGRES_SOCKET, probe_command, unix_servers

POSITIVE_CONTROL = """/usr/bin/python3 - <<'EOF'
import multiprocessing, socket
a, b = socket.socketpair()
a.sendall(b"pair-ok")
print(b.recv(7).decode())
with multiprocessing.Pool(2) as pool:
    print("pool", sum(pool.map(abs, [-2, -3])))
EOF"""


def bash(command: str) -> dict[str, object]:
    return {"name": "Bash", "input": {"command": command, "description": "Look around"}}


def test_research_agent_cannot_connect_to_host_unix_sockets(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app", {"README.md": "# app\n"})
    with unix_servers() as (stream, dgram):
        targets = [stream.path, *([POSTGRES_SOCKET] if POSTGRES_SOCKET.exists() else [])]
        attack = probe_command("/usr/bin/python3", [*targets, dgram.path])
        turns = [
            {"text": "Checking the database.", "tool_calls": [bash(attack)]},
            {"text": "And local IPC.", "tool_calls": [bash(POSITIVE_CONTROL)]},
            {
                "tool_calls": [
                    {
                        "name": "Write",
                        "input": {"file_path": "research.md", "content": "# Research\n"},
                    }
                ]
            },
            {"text": "Done."},
        ]
        script = write_script(tmp_path / "script.yaml", {"research": turns})
        env = cli_env(tmp_path / "home")
        args = ["run", "Look", "--repo", str(repo), "--phases", "research", "--json"]
        proc = forgeline(*args, "--model", f"scripted:{script}", env=env)
        assert proc.returncode == 0, proc.stderr[-4000:]
        assert summary(proc)["status"] == "completed"
        outputs = [
            str(e["data"]["content"])
            for e in read_events(env)
            if e["type"] == "tool_result" and e["data"]["name"] == "Bash"
        ]
        assert stream.received == [] and dgram.received == []
    probe, control = outputs
    assert "CONNECTED" not in probe
    for target in targets:
        assert f"BLOCKED {target} " in probe
    assert f"BLOCKED {stream.path} {errno.EACCES}" in probe
    assert f"BLOCKED dgram-pair {errno.EACCES}" in probe
    assert control.splitlines()[:2] == ["pair-ok", "pool 5"]
