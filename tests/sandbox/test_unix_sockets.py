"""No Unix sockets out of the sandbox (DESIGN §9): hidden socket directories and seccomp."""

from __future__ import annotations

import errno
import socket
import uuid
from pathlib import Path

import pytest

from forgeline.domain.errors import SandboxUnavailable
from forgeline.sandbox import bwrap, run_command, sandbox_status, seccomp
from forgeline.sandbox.spec import SandboxPolicy

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


async def test_resolv_conf_inside_a_hidden_dir_is_shown_only_with_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like Debian's /etc/resolv.conf -> /run/systemd/resolve/stub-resolv.conf."""
    run = tmp_path / "run"
    (run / "resolve").mkdir(parents=True)
    (run / "resolve" / "stub.conf").write_text("nameserver 127.0.0.53\n")
    link = tmp_path / "etc" / "resolv.conf"
    link.parent.mkdir()
    link.symlink_to(run / "resolve" / "stub.conf")
    monkeypatch.setattr(bwrap, "RESOLV_CONF", link)
    for network, expected in ((True, "nameserver 127.0.0.53"), (False, "No such file")):
        policy = SandboxPolicy(workspace=tmp_path, hidden=(run,), network=network)
        result = await run_command(f"cat {link}; ls -A {run}/resolve", policy, timeout_s=10)
        assert expected in result.output
        assert network == result.output.endswith("\nstub.conf\n")  # nothing else under run/


async def test_an_unsupported_machine_fails_closed(
    policy: SandboxPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(seccomp, "machine", lambda: "riscv64")
    seccomp.unix_socket_filter.cache_clear()
    sandbox_status.cache_clear()
    try:
        status = sandbox_status()
        assert not status.available and "riscv64" in status.detail
        with pytest.raises(SandboxUnavailable, match="riscv64"):
            await run_command("echo hi", policy, timeout_s=10)
    finally:
        seccomp.unix_socket_filter.cache_clear()
        sandbox_status.cache_clear()
