"""The FastAPI application and `forgeline serve`."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from forgeline import __version__
from forgeline.api import original, resources
from forgeline.api.errors import install_error_handlers
from forgeline.api.middleware import BodyLimitMiddleware, TokenAuthMiddleware
from forgeline.orchestrator.runtime import Runtime
from forgeline.orchestrator.service import Service
from forgeline.settings import Settings
from forgeline.web import pages

STATIC_DIR = Path(__file__).resolve().parent.parent / "web" / "static"


def create_app(settings: Settings) -> FastAPI:
    """The API + web UI app; its lifespan starts and stops the Forgeline runtime.

    Args:
        settings: Configuration (home, database, token...).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.start(settings, role="serve", listen=True)
        service = Service(runtime)
        app.state.service = service
        try:
            await service.resume_interrupted()
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="Forgeline", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.sse_keepalive = settings.sse_keepalive_s
    install_error_handlers(app)
    app.include_router(original.router)
    app.include_router(resources.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(BodyLimitMiddleware)
    if settings.api_token is not None and settings.api_token.get_secret_value():
        app.add_middleware(TokenAuthMiddleware, token=settings.api_token.get_secret_value())
    return app


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts local connections."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    print(f"Forgeline on http://{host}:{port}", file=sys.stderr, flush=True)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=3,
    )
    return 0
