"""The `Host` allow-list (DESIGN §7): a DNS-rebinding page cannot talk to the server.

A rebinding attack points the attacker's own name at 127.0.0.1, so the browser sends
`Host: attacker.example`. Only the name matters (any port is accepted): the server answers
to its bound address, `localhost`, `127.0.0.1`, `[::1]` and `FORGELINE_ALLOWED_HOSTS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from forgeline.api.respond import send_error

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_HOST = re.compile(
    r"(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<name>[A-Za-z0-9_.-]+))(?::(?P<port>\d{1,5}))?"
)


def split_host(value: str) -> tuple[str, int | None] | None:
    """A `Host` header's name (lower-case, IPv6 without brackets) and port; None if malformed."""
    match = _HOST.fullmatch(value.strip())
    if match is None:
        return None
    name = (match.group("v6") or match.group("name") or "").lower().rstrip(".")
    port = int(match.group("port")) if match.group("port") else None
    if not name or (port is not None and not 0 < port < 65536):
        return None
    return name, port


def _matches(name: str, pattern: str) -> bool:
    if pattern == "*":
        return True
    if pattern.startswith("*."):
        return name.endswith(pattern[1:])
    return name == pattern


class AllowedHosts:
    """The names the server answers to.

    Args:
        bound: The address the server listens on (e.g. `127.0.0.1`, `0.0.0.0`), if known.
        extra: Names from `FORGELINE_ALLOWED_HOSTS` (`*.example.com` and `*` allowed).
    """

    def __init__(self, *, bound: str | None, extra: Iterable[str]) -> None:
        names = set(LOOPBACK_NAMES)
        if bound:
            names.add(bound.strip("[]").lower())
        self.patterns = frozenset(names | set(extra))

    def allows(self, host_header: str | None) -> bool:
        """Whether a request with this `Host` header may be served."""
        parsed = split_host(host_header) if host_header else None
        if parsed is None:
            return False
        return any(_matches(parsed[0], pattern) for pattern in self.patterns)


class HostCheckMiddleware:
    """Refuse (400) a request whose `Host` is not an allowed name."""

    def __init__(self, app: ASGIApp, *, hosts: AllowedHosts) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.hosts.allows(Headers(scope=scope).get("host")):
            await self.app(scope, receive, send)
            return
        detail = (
            "this server does not answer to that host name (Host header); add it to "
            "FORGELINE_ALLOWED_HOSTS if it is yours"
        )
        await send_error(scope, send, 400, detail)
