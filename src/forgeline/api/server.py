"""The FastAPI application and `forgeline serve`."""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from forgeline import __version__
from forgeline.api import evidence, github_routes, original, resources, signin, ui_routes
from forgeline.api.auth import (
    PUBLIC_PATHS,
    AuthConfig,
    Authenticator,
    AuthMiddleware,
    TokenAuthenticator,
)
from forgeline.api.csrf import CsrfMiddleware
from forgeline.api.errors import install_error_handlers
from forgeline.api.headers import SecurityHeadersMiddleware
from forgeline.api.hosts import AllowedHosts, HostCheckMiddleware
from forgeline.api.middleware import BodyLimitMiddleware
from forgeline.github import oauth
from forgeline.github.ownership import OwnershipMiddleware
from forgeline.orchestrator.boot import start_runtime
from forgeline.orchestrator.service import Service
from forgeline.settings import Settings
from forgeline.web import pages

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"
# Paths whose requests without an `Origin` skip the `Sec-Fetch-Site` check (server-to-server).
CSRF_EXEMPT = frozenset({"/webhooks/github"})


def create_app(settings: Settings, *, bound_host: str | None = None) -> FastAPI:
    """The API + web UI app; its lifespan starts and stops the Forgeline runtime.

    Args:
        settings: Configuration (home, database, token...).
        bound_host: The address `serve` listens on; requests may name it in `Host`.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await start_runtime(settings, role="serve", listen=True)
        service = Service(runtime)
        app.state.service = service
        try:
            await service.resume_interrupted()
            yield
        finally:
            await runtime.stop()

    # No /docs or /redoc: they load scripts from a CDN, which the CSP forbids.
    app = FastAPI(
        title="Forgeline", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    app.state.settings = settings
    app.state.sse_keepalive = settings.sse_keepalive_s
    install_error_handlers(app)
    app.include_router(original.router)
    app.include_router(resources.router)
    app.include_router(evidence.router)
    app.include_router(github_routes.router)
    app.include_router(ui_routes.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _add_security(app, settings, bound_host=bound_host)
    return app


def _add_security(app: FastAPI, settings: Settings, *, bound_host: str | None) -> None:
    """Middleware, outermost first: headers, Host allow-list, CSRF, sign-in, body limit."""
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(OwnershipMiddleware)  # inside sign-in: knows who is asking
    auth = build_auth(settings)
    app.state.auth = auth
    if auth is not None:
        app.include_router(signin.router)
        app.include_router(oauth.router)
        app.add_middleware(AuthMiddleware, config=auth)
    app.add_middleware(CsrfMiddleware, exempt=CSRF_EXEMPT)
    hosts = AllowedHosts(bound=bound_host, extra=settings.allowed_host_names)
    app.add_middleware(HostCheckMiddleware, hosts=hosts)
    app.add_middleware(SecurityHeadersMiddleware)


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts local connections."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def port_in_use(host: str, port: int) -> str | None:
    """Why `host:port` cannot be listened on (in use, not an address here); None if it can."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "the port is in use (another forgeline serve?); pick one with --port"
            return exc.strerror or str(exc)
    return None


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _database_problem(settings: Settings) -> str | None:
    """Why the database cannot be opened (uvicorn would print its traceback), or None."""
    from forgeline.console.startup import startup_error
    from forgeline.store import open_store

    try:
        store = await open_store(settings.resolved_database_url())
    except Exception as exc:
        message = startup_error(exc)
        if message is None:
            raise
        return message
    await store.close()
    return None


def serve_command(*, host: str, port: int) -> int:
    """Run the server (`forgeline serve`); return the exit status.

    A non-loopback host is refused unless `FORGELINE_API_TOKEN` is set.
    """
    settings = Settings()
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    if not is_loopback(host) and not token:
        print(
            f"error: refusing to listen on {host} without authentication: set "
            "FORGELINE_API_TOKEN (clients then send 'Authorization: Bearer <token>'), "
            "or use --host 127.0.0.1",
            file=sys.stderr,
        )
        return 2
    if not 0 < port < 65536:
        print(f"error: invalid port {port}", file=sys.stderr)
        return 2
    busy = port_in_use(host, port)
    if busy:
        print(f"error: cannot listen on {_url_host(host)}:{port}: {busy}", file=sys.stderr)
        return 2
    unreachable = asyncio.run(_database_problem(settings))
    if unreachable:
        print(f"error: {unreachable}", file=sys.stderr)
        return 2
    print(f"Forgeline on http://{_url_host(host)}:{port}", file=sys.stderr, flush=True)
    if not is_loopback(host):
        print(
            "note: browsers and clients must reach it by a name in FORGELINE_ALLOWED_HOSTS "
            "(any other Host header is refused)",
            file=sys.stderr,
        )
    uvicorn.run(
        create_app(settings, bound_host=host),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=3,
    )
    return 0


def build_auth(settings: Settings) -> AuthConfig | None:
    """The sign-in methods the settings enable; None when the server is open (no token)."""
    secret = settings.api_token.get_secret_value() if settings.api_token else ""
    github = oauth.sign_in_parts(settings)
    if not secret and github is None:
        return None
    token = TokenAuthenticator(secret) if secret else None
    methods: tuple[Authenticator, ...] = (token,) if token else ()
    if github is None:
        return AuthConfig(authenticators=methods, token=token)
    return AuthConfig(
        authenticators=(*methods, github[0]),
        token=token,
        links=(github[1],),
        public_paths=PUBLIC_PATHS | oauth.PUBLIC_PATHS,
    )
