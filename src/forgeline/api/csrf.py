"""Cross-site request forgery checks on every state-changing request (DESIGN §7).

A browser marks where a request comes from: `Origin` (sent with every POST, PUT, PATCH
and DELETE) and `Sec-Fetch-Site`. A request from another origin, or from another site
or another port of the same site (`same-site`: cookies with `SameSite=Strict` still go
along), is refused with 403. Clients that send neither (curl, SDKs, webhooks) pass.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from forgeline.api.hosts import split_host
from forgeline.api.respond import send_error

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FOREIGN_FETCH_SITES = frozenset({"cross-site", "same-site"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int | None]


def parse_origin(value: str) -> Origin | None:
    """`scheme://host[:port]` as (scheme, host, port); None for `null` or a malformed value."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower().rstrip("."), port or _DEFAULT_PORTS[parts.scheme]


def own_origin(scheme: str, host_header: str) -> Origin | None:
    """The origin a request was sent to: its scheme and its `Host` header."""
    parsed = split_host(host_header)
    if parsed is None or scheme not in _DEFAULT_PORTS:
        return None
    name, port = parsed
    return scheme, name, port or _DEFAULT_PORTS[scheme]


def csrf_refusal(scope: Scope, *, exempt: frozenset[str] = frozenset()) -> str | None:
    """Why this request looks forged, or None when it may go on.

    Args:
        scope: The ASGI request.
        exempt: Paths that skip the `Sec-Fetch-Site` rule when they carry no `Origin`.
    """
    if scope.get("method", "GET") not in STATE_CHANGING:
        return None
    headers = Headers(scope=scope)
    origin = headers.get("origin")
    site = headers.get("sec-fetch-site", "").lower()
    if origin is not None and not _trusted_origin(scope, headers, origin, site):
        return f"cross-origin request refused (Origin {origin[:100]})"
    if origin is None and scope.get("path", "") in exempt:
        return None
    if site in FOREIGN_FETCH_SITES:
        return f"cross-site request refused (Sec-Fetch-Site: {site})"
    return None


def _trusted_origin(scope: Scope, headers: Headers, origin: str, site: str) -> bool:
    """Whether `Origin` is the server's own.

    `Origin: null` is what a browser sends for the UI's own form posts under
    `Referrer-Policy: no-referrer`; it passes only with `Sec-Fetch-Site: same-origin`.
    """
    if origin.strip() == "null":
        return site == "same-origin"
    mine = own_origin(scope.get("scheme", "http"), headers.get("host", ""))
    return mine is not None and parse_origin(origin) == mine


class CsrfMiddleware:
    """Refuse (403) state-changing requests that come from another origin or site.

    Args:
        app: The wrapped app.
        exempt: Paths (e.g. `/webhooks/github`) whose requests without an `Origin` pass
            whatever `Sec-Fetch-Site` says; a foreign `Origin` is refused there too.
    """

    def __init__(self, app: ASGIApp, *, exempt: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = csrf_refusal(scope, exempt=self.exempt) if scope["type"] == "http" else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        await send_error(scope, send, 403, refusal)
