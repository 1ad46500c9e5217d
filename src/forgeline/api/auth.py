"""Who may use the server: sign-in methods, the session cookie and the sign-in page.

With `FORGELINE_API_TOKEN` set every request needs it (DESIGN §7): API clients send
`Authorization: Bearer <token>`; a browser gets a sign-in page whose form sets an HttpOnly,
`SameSite=Strict` session cookie (`Secure` over HTTPS). The cookie holds a value derived
from the token, never the token. Another sign-in method (e.g. GitHub OAuth) plugs in as one
more `Authenticator` in `AuthConfig`, with its own `SignInLink` and public paths.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlencode

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forgeline.api.respond import send_body, send_error, wants_html
from forgeline.web.templating import render

SESSION_COOKIE = "forgeline_session"
# Served without signing in: the sign-in pages, and the webhook (it checks its own signature).
PUBLIC_PATHS = frozenset({"/signin", "/signout", "/static/style.css", "/webhooks/github"})


@dataclass(frozen=True)
class Principal:
    """Who made a request.

    Attributes:
        method: The sign-in method that recognised it (`token`, ...).
        name: The user's name within that method.
        set_cookie: A `Set-Cookie` value to send back (a session begun by this request).
    """

    method: str
    name: str
    set_cookie: str | None = None


class Authenticator(Protocol):
    """A sign-in method: recognises a request's credentials."""

    def authenticate(self, conn: HTTPConnection) -> Principal | None:
        """The request's principal, or None when it carries no valid credential."""
        ...


@dataclass(frozen=True)
class SignInLink:
    """A link on the sign-in page to another method (e.g. "Sign in with GitHub")."""

    label: str
    href: str


def session_cookie(value: str, *, secure: bool, max_age: int | None = None) -> str:
    """A `Set-Cookie` value for the session cookie."""
    parts = [f"{SESSION_COOKIE}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if secure:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts)


def _same(presented: str, expected: str) -> bool:
    return hmac.compare_digest(presented.encode(), expected.encode())


class TokenAuthenticator:
    """`FORGELINE_API_TOKEN`: a bearer header, the session cookie, or `?token=`."""

    def __init__(self, token: str) -> None:
        self._token = token
        digest = hmac.new(token.encode(), b"forgeline session v1", hashlib.sha256)
        self.session_value = digest.hexdigest()

    def check(self, presented: str) -> bool:
        """Whether `presented` is the token."""
        return _same(presented, self._token)

    def authenticate(self, conn: HTTPConnection) -> Principal | None:
        """Bearer header or cookie; a valid `?token=` also begins a browser session."""
        scheme, _, credential = conn.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.check(credential.strip()):
            return Principal(method="token", name="token")
        if _same(conn.cookies.get(SESSION_COOKIE, ""), self.session_value):
            return Principal(method="token", name="token")
        if self.check(conn.query_params.get("token", "\0")):
            cookie = session_cookie(self.session_value, secure=conn.url.scheme == "https")
            return Principal(method="token", name="token", set_cookie=cookie)
        return None


@dataclass(frozen=True)
class AuthConfig:
    """The server's sign-in methods.

    Attributes:
        authenticators: Tried in order; the first that recognises a request wins.
        token: The token method, if enabled (the sign-in page then shows its form).
        links: Other methods' sign-in links.
        public_paths: Paths served without signing in (the sign-in pages themselves).
    """

    authenticators: tuple[Authenticator, ...]
    token: TokenAuthenticator | None = None
    links: tuple[SignInLink, ...] = ()
    public_paths: frozenset[str] = field(default=PUBLIC_PATHS)


def safe_next(target: str | None) -> str:
    """A local path to return to after signing in (never another site)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def signin_page(config: AuthConfig, *, next_path: str, error: str | None = None) -> bytes:
    """The sign-in page's HTML."""
    html = render(
        "signin.html",
        token_form=config.token is not None,
        links=config.links,
        next=safe_next(next_path),
        error=error,
    )
    return html.encode()


def _requested_path(conn: HTTPConnection) -> str:
    query = [(k, v) for k, v in conn.query_params.multi_items() if k != "token"]
    return conn.url.path + (f"?{urlencode(query)}" if query else "")


def recognise(config: AuthConfig, conn: HTTPConnection) -> Principal | None:
    """The first principal any sign-in method recognises."""
    for method in config.authenticators:
        principal = method.authenticate(conn)
        if principal is not None:
            return principal
    return None


class AuthMiddleware:
    """Let signed-in requests through; others get the sign-in page (browsers) or 401 JSON."""

    def __init__(self, app: ASGIApp, *, config: AuthConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") in self.config.public_paths:
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        principal = recognise(self.config, conn)
        if principal is not None:
            scope.setdefault("state", {})["principal"] = principal
            await self.app(scope, receive, _adding_cookie(send, principal.set_cookie))
            return
        await self._refuse(conn, send)

    async def _refuse(self, conn: HTTPConnection, send: Send) -> None:
        if conn.scope.get("method") in ("GET", "HEAD") and wants_html(conn.headers):
            body = signin_page(self.config, next_path=_requested_path(conn))
            await send_body(send, 401, body, b"text/html; charset=utf-8", [])
            return
        headers = [(b"www-authenticate", b"Bearer")]
        await send_error(conn.scope, send, 401, "missing or wrong API token", headers)


def _adding_cookie(send: Send, cookie: str | None) -> Send:
    if cookie is None:
        return send

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), (b"set-cookie", cookie.encode("latin-1"))]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped
