"""Git's smart HTTP protocol on loopback: `git http-backend` behind HTTP basic auth.

Tests clone from and push to it the way Forgeline talks to GitHub or any HTTPS remote.
Every request must carry a user name and password the server accepts; what each request
presented (user names only) is recorded, so tests can check git really authenticated.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

from forgeline.testing.loopback import LoopbackServer

Authorizer = Callable[[str, str, str], bool]
"""(user, password, repository path) -> whether the request may proceed."""

_GIT_PATH_SUFFIXES = ("/info/refs", "/git-upload-pack", "/git-receive-pack", "/HEAD")


@dataclass
class GitHttpLog:
    """What the server saw: `(method, path, user)` per authenticated request."""

    requests: list[tuple[str, str, str]] = field(default_factory=list)
    refused: int = 0


def is_git_request(path: str) -> bool:
    """Whether an HTTP path is part of git's smart protocol."""
    return urlsplit(path).path.endswith(_GIT_PATH_SUFFIXES)


def basic_auth(header: str | None) -> tuple[str, str] | None:
    """The user and password of a `Basic` Authorization header, or None."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def serve_git(
    handler: BaseHTTPRequestHandler, *, root: Path, authorize: Authorizer, log: GitHttpLog
) -> None:
    """Answer one git smart-HTTP request from the bare repositories under `root`."""
    parts = urlsplit(handler.path)
    creds = basic_auth(handler.headers.get("Authorization"))
    if creds is None or not authorize(creds[0], creds[1], parts.path):
        log.refused += 1
        _reply(handler, 401, {"WWW-Authenticate": 'Basic realm="git"'}, b"")
        return
    log.requests.append((handler.command, parts.path, creds[0]))
    body = _read_body(handler)
    env = _cgi_env(handler, root=root, path=parts.path, query=parts.query, user=creds[0])
    env["CONTENT_LENGTH"] = str(len(body))
    proc = subprocess.run(
        ["git", "http-backend"], input=body, env=env, capture_output=True, check=False
    )
    status, headers, payload = _parse_cgi(proc.stdout)
    _reply(handler, status, headers, payload)


def _cgi_env(
    handler: BaseHTTPRequestHandler, *, root: Path, path: str, query: str, user: str
) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(root),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": path,
        "REQUEST_METHOD": handler.command,
        "QUERY_STRING": query,
        "REMOTE_USER": user,
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": handler.headers.get("Content-Type", ""),
    }
    for name, var in (
        ("Content-Encoding", "HTTP_CONTENT_ENCODING"),
        ("Git-Protocol", "GIT_PROTOCOL"),
    ):
        value = handler.headers.get(name)
        if value:
            env[var] = value
    return env


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _parse_cgi(output: bytes) -> tuple[int, dict[str, str], bytes]:
    head, sep, payload = output.partition(b"\r\n\r\n")
    if not sep:
        head, _, payload = output.partition(b"\n\n")
    status, headers = 200, {}
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers[name.strip()] = value.strip()
    return status, headers, payload


def _reply(
    handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
) -> None:
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


class GitHttpServer:
    """A loopback git server over HTTP for bare repositories under `root`, with basic auth.

    Use as a context manager; `url(name)` is a repository's clone URL (no credentials).
    """

    def __init__(self, root: Path, *, users: dict[str, str]) -> None:
        self.root = root
        self.users = dict(users)
        self.log = GitHttpLog()
        self._server: LoopbackServer | None = None

    def authorize(self, user: str, password: str, _path: str) -> bool:
        """Accept the configured users with their passwords."""
        expected = self.users.get(user)
        return expected is not None and hmac.compare_digest(expected, password)

    def __enter__(self) -> GitHttpServer:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                serve_git(self, root=outer.root, authorize=outer.authorize, log=outer.log)

            do_POST = do_GET

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = LoopbackServer(Handler)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.stop()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`."""
        assert self._server is not None, "the server is not started"
        return self._server.base_url

    def url(self, name: str) -> str:
        """The clone URL of `<root>/<name>`."""
        return f"{self.base_url}/{name}"
