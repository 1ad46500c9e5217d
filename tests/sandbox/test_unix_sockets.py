"""No Unix sockets out of the sandbox (DESIGN §9): hidden socket directories and seccomp."""

from __future__ import annotations

import errno
import socket
import uuid
from pathlib import Path

from forgeline.sandbox import run_command
from forgeline.tools.base import SandboxPolicy

from .unix_peer import POSTGRES_SOCKET, probe_command, unix_servers

PYTHON = "/usr/bin/python3"


async def test_a_visible_host_socket_cannot_be_reached(policy: SandboxPolicy) -> None:
    with unix_servers() as (stream, dgram):
        targets = [stream.path, *([POSTGRES_SOCKET] if POSTGRES_SOCKET.exists() else [])]
        command = f"ls -l {stream.path} && " + probe_command(PYTHON, [*targets, dgram.path])
        result = await run_command(command, policy, timeout_s=30)
    assert result.exit_code == 0, result.output
    assert "CONNECTED" not in result.output
    assert f"BLOCKED {stream.path} {errno.EACCES}" in result.output  # seen, yet refused
    assert f"BLOCKED dgram-pair {errno.EACCES}" in result.output
    assert stream.received == [] and dgram.received == []


async def test_the_probe_does_connect_without_the_sandbox(policy: SandboxPolicy) -> None:
    """The control: the same probe, sandbox off, reaches both sockets (so it can fail)."""
    off = SandboxPolicy(workspace=policy.workspace, writable=policy.writable, enabled=False)
    with unix_servers() as (stream, dgram):
        command = probe_command(PYTHON, [stream.path, dgram.path])
        result = await run_command(command, off, timeout_s=30)
    assert f"CONNECTED {stream.path}" in result.output
    assert "CONNECTED dgram-pair" in result.output
    assert stream.received == [b"ping"]


async def test_socket_directories_are_hidden(policy: SandboxPolicy) -> None:
    result = await run_command(
        "ls -A /run /var/run | grep -v :; test -e /run/postgresql; echo $?", policy, timeout_s=10
    )
    assert result.output.split() == ["1"]
    assert "Read-only" in (await run_command("touch /run/x", policy, timeout_s=10)).output


ABSTRACT_PROBE = """
import socket
try:
    socket.socket(socket.AF_UNIX).connect({name!r})
    print("CONNECTED")
except OSError as exc:
    print("BLOCKED", exc.errno)
"""


async def test_abstract_sockets_are_refused_even_with_the_network(tmp_path: Path) -> None:
    name = f"\0forgeline-test-{uuid.uuid4().hex}"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(name)
    listener.listen(1)
    policy = SandboxPolicy(workspace=tmp_path, network=True)
    code = ABSTRACT_PROBE.format(name=name)
    try:
        result = await run_command(f"{PYTHON} - <<'EOF'\n{code}\nEOF", policy, timeout_s=10)
    finally:
        listener.close()
    assert result.output.strip() == f"BLOCKED {errno.EACCES}"


SOCKETPAIR_AND_PROCESSES = r"""
import multiprocessing, socket, subprocess, sys
a, b = socket.socketpair()
a.sendall(b"pair")
print(b.recv(4).decode())
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
a.send(b"seq")
print(b.recv(3).decode())
with multiprocessing.Pool(2) as pool:
    print(sum(pool.map(abs, [-1, -2, -3])))
queue = multiprocessing.Queue()
worker = multiprocessing.Process(target=queue.put, args=("queue",))
worker.start()
print(queue.get(timeout=10))
worker.join()
print(subprocess.run(["echo", "sub"], capture_output=True, text=True, check=True).stdout.strip())
print(socket.socket(socket.AF_INET).family.name)
"""


async def test_socketpair_pipes_and_multiprocessing_still_work(policy: SandboxPolicy) -> None:
    command = f"{PYTHON} - <<'EOF'\n{SOCKETPAIR_AND_PROCESSES}\nEOF"
    result = await run_command(command, policy, timeout_s=60)
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["pair", "seq", "6", "queue", "sub", "AF_INET"]


async def test_io_uring_is_not_available(policy: SandboxPolicy) -> None:
    code = (
        "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
        "r = libc.syscall(425, 1, ctypes.create_string_buffer(120))\n"
        "print(r, ctypes.get_errno())"
    )
    result = await run_command(f"{PYTHON} -c '{code}'", policy, timeout_s=10)
    assert result.output.split() == ["-1", str(errno.ENOSYS)]
