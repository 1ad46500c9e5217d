"""Signing in to the web UI with GitHub (DESIGN §13): the OAuth web flow and its session.

With `FORGELINE_GITHUB_CLIENT_ID` and `FORGELINE_GITHUB_CLIENT_SECRET` (an OAuth App, or a
GitHub App's client), `GET /auth/github` sends the browser to GitHub with a random `state`
kept in a short-lived HttpOnly cookie; `GET /auth/github/callback` checks that `state`,
exchanges the code for a user token, asks `GET /user` who signed in, and sets the session
cookie: the login, an expiry and an HMAC over both (keyed from the client secret), HttpOnly,
`SameSite=Lax` (the callback arrives from GitHub's site), `Secure` over HTTPS. The GitHub
token itself is dropped at once: Forgeline only needs to know who the user is.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from urllib.parse import urlencode

import httpx2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.requests import HTTPConnection

from forgeline.api.auth import Principal, SignInLink, safe_next
from forgeline.settings import Settings

USER_COOKIE = "forgeline_user"
STATE_COOKIE = "forgeline_oauth_state"
SESSION_S = 7 * 24 * 3600
STATE_S = 600
PUBLIC_PATHS = frozenset({"/auth/github", "/auth/github/callback"})
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")

router = APIRouter(include_in_schema=False)


def enabled(settings: Settings) -> bool:
    """Whether GitHub sign-in is configured."""
    secret = settings.github_client_secret
    return bool(settings.github_client_id and secret and secret.get_secret_value())


def owner_of(principal: Principal | None) -> str | None:
    """The owner name projects get for a signed-in GitHub user (`github:<login>`), else None."""
    if principal is None or principal.method != "github":
        return None
    return f"github:{principal.name}"


class GitHubSessions:
    """Signs and checks the session cookie of users signed in with GitHub."""

    def __init__(self, client_secret: str) -> None:
        self._key = hashlib.sha256(
            b"forgeline github session v1\0" + client_secret.encode()
        ).digest()

    def issue(self, login: str, *, now: float | None = None) -> str:
        """A cookie value for `login`, valid for `SESSION_S`."""
        expires = int((now or time.time()) + SESSION_S)
        return f"{login}.{expires}.{self._sign(login, expires)}"

    def check(self, value: str, *, now: float | None = None) -> str | None:
        """The login a cookie value proves, or None (forged, malformed or expired)."""
        login, _, rest = value.partition(".")
        expires, _, signature = rest.partition(".")
        if not _LOGIN.match(login) or not expires.isdigit():
            return None
        if not hmac.compare_digest(signature, self._sign(login, int(expires))):
            return None
        return login if int(expires) > (now or time.time()) else None

    def _sign(self, login: str, expires: int) -> str:
        return hmac.new(self._key, f"{login}.{expires}".encode(), hashlib.sha256).hexdigest()


class GitHubAuthenticator:
    """The `Authenticator` for the GitHub session cookie."""

    def __init__(self, sessions: GitHubSessions) -> None:
        self.sessions = sessions

    def authenticate(self, conn: HTTPConnection) -> Principal | None:
        """The signed-in GitHub user, from the session cookie."""
        login = self.sessions.check(conn.cookies.get(USER_COOKIE, ""))
        return Principal(method="github", name=login) if login else None


def sign_in_parts(settings: Settings) -> tuple[GitHubAuthenticator, SignInLink] | None:
    """The authenticator and the sign-in page's link, when GitHub sign-in is configured."""
    if not enabled(settings) or settings.github_client_secret is None:
        return None
    sessions = GitHubSessions(settings.github_client_secret.get_secret_value())
    return GitHubAuthenticator(sessions), SignInLink("Sign in with GitHub", "/auth/github")


def _cookie(name: str, value: str, *, request: Request, max_age: int, path: str = "/") -> str:
    parts = [f"{name}={value}", f"Path={path}", "HttpOnly", "SameSite=Lax", f"Max-Age={max_age}"]
    if request.url.scheme == "https":
        parts.append("Secure")
    return "; ".join(parts)


def _callback_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/auth/github/callback"


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get("/auth/github")
async def start(request: Request, next: str = "/") -> Response:
    """Send the browser to GitHub's authorization page."""
    settings = _settings(request)
    if not enabled(settings):
        return HTMLResponse("GitHub sign-in is not configured.", status_code=404)
    state = secrets.token_urlsafe(24)
    query = urlencode(
        {
            "client_id": settings.github_client_id,
            "redirect_uri": _callback_url(request),
            "state": state,
        }
    )
    target = f"{settings.github_url.rstrip('/')}/login/oauth/authorize?{query}"
    response = RedirectResponse(target, status_code=303)
    value = f"{state}|{safe_next(next)}"
    response.headers.append(
        "set-cookie",
        _cookie(STATE_COOKIE, value, request=request, max_age=STATE_S, path="/auth/github"),
    )
    return response


@router.get("/auth/github/callback")
async def callback(request: Request, code: str = "", state: str = "") -> Response:
    """Check `state`, learn who signed in, and begin their session."""
    settings = _settings(request)
    parts = sign_in_parts(settings)
    expected, _, next_path = request.cookies.get(STATE_COOKIE, "").partition("|")
    if parts is None:
        return HTMLResponse("GitHub sign-in is not configured.", status_code=404)
    if not state or not expected or not hmac.compare_digest(state, expected):
        return HTMLResponse("Sign-in failed: the state does not match. Try again.", status_code=400)
    login = await _login(settings, code, _callback_url(request))
    if login is None:
        return HTMLResponse("Sign-in failed: GitHub did not confirm who you are.", status_code=400)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    session = parts[0].sessions.issue(login)
    response.headers.append(
        "set-cookie", _cookie(USER_COOKIE, session, request=request, max_age=SESSION_S)
    )
    response.headers.append(
        "set-cookie", _cookie(STATE_COOKIE, "", request=request, max_age=0, path="/auth/github")
    )
    return response


async def _login(settings: Settings, code: str, redirect_uri: str) -> str | None:
    secret = (
        settings.github_client_secret.get_secret_value() if settings.github_client_secret else ""
    )
    form = {
        "client_id": settings.github_client_id or "",
        "client_secret": secret,
        "code": code,
        "redirect_uri": redirect_uri,
    }
    try:
        async with httpx2.AsyncClient(timeout=20.0, trust_env=False) as http:
            token = await http.post(
                f"{settings.github_url.rstrip('/')}/login/oauth/access_token",
                data=form,
                headers={"Accept": "application/json"},
            )
            access = token.json().get("access_token") if token.status_code == 200 else None
            if not access:
                return None
            user = await http.get(
                f"{settings.github_api_url.rstrip('/')}/user",
                headers={
                    "Authorization": f"Bearer {access}",
                    "Accept": "application/vnd.github+json",
                },
            )
    except (httpx2.HTTPError, ValueError):
        return None
    login = user.json().get("login") if user.status_code == 200 else None
    return str(login) if isinstance(login, str) and _LOGIN.match(login) else None
