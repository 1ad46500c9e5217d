"""Real Unix sockets on the host for the sandbox's escape tests, and the probe that attacks them."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

POSTGRES_SOCKET = Path("/run/postgresql/.s.PGSQL.5432")
"""The host PostgreSQL's own socket (present when it accepts local connections)."""

PROBE = r"""
import socket, sys
for path in sys.argv[1:]:
    kind = socket.SOCK_DGRAM if path.endswith(".dgram") else socket.SOCK_STREAM
    try:
        sock = socket.socket(socket.AF_UNIX, kind)
        sock.settimeout(3)
        sock.connect(path)
        sock.sendall(b"ping")
        print("CONNECTED", path, flush=True)
    except OSError as exc:
        print("BLOCKED", path, exc.errno, flush=True)
try:
    pair = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    pair[0].sendto(b"ping", sys.argv[-1])
    print("CONNECTED dgram-pair", flush=True)
except OSError as exc:
    print("BLOCKED dgram-pair", exc.errno, flush=True)
"""
"""Python that connects to each socket path given and says whether it got through."""


def probe_command(python: str, paths: list[Path]) -> str:
    """A shell command that runs `PROBE` on `paths` (the last one a `.dgram` socket)."""
    args = " ".join(f"'{path}'" for path in paths)
    return f"{python} - {args} <<'EOF'\n{PROBE}\nEOF"


@dataclass
class UnixServer:
    """A stream or datagram Unix socket the test listens on, counting what reaches it."""

    path: Path
    kind: socket.SocketKind
    received: list[bytes] = field(default_factory=list)

    def serve(self, sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                if self.kind == socket.SOCK_DGRAM:
                    data = sock.recv(64)
                    if not data:  # shut down
                        return
                    self.received.append(data)
                    continue
                conn, _ = sock.accept()
                with conn:
                    conn.settimeout(3)
                    self.received.append(conn.recv(64) or b"(connected)")


@contextlib.contextmanager
def unix_servers() -> Iterator[tuple[UnixServer, UnixServer]]:
    """A stream socket (named like PostgreSQL's) and a datagram one, in a directory every
    sandboxed command can see (`/var/tmp`, short enough for `sun_path`)."""
    directory = Path(tempfile.mkdtemp(prefix="fl-sock-", dir="/var/tmp"))
    directory.chmod(0o755)
    servers, socks = [], []
    try:
        for name, kind in ((".s.PGSQL.5432", socket.SOCK_STREAM), ("log.dgram", socket.SOCK_DGRAM)):
            sock = socket.socket(socket.AF_UNIX, kind)
            sock.bind(str(directory / name))
            (directory / name).chmod(0o777)
            if kind == socket.SOCK_STREAM:
                sock.listen(8)
            server = UnixServer(path=directory / name, kind=kind)
            threading.Thread(target=server.serve, args=(sock,), daemon=True).start()
            servers.append(server)
            socks.append(sock)
        yield servers[0], servers[1]
    finally:
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        shutil.rmtree(directory, ignore_errors=True)
