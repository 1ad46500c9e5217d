"""Exception handlers: every error is JSON `{"detail": ...}` with a 4xx status.

A browser asking for a page (`Accept: text/html`, not an API path) gets an HTML error page
with the same status instead (DESIGN §7). No detail names the server's home directory.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from forgeline.api.paths import scrub
from forgeline.api.respond import error_page, wants_html_page
from forgeline.domain.errors import ConflictError, NotFoundError, UserError
from forgeline.settings import Settings


def _status_of(exc: UserError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    return 422


def error_response(
    request: Request, status: int, detail: object, headers: Mapping[str, str] | None = None
) -> Response:
    """The error answer: an HTML page for a browser's page request, else JSON."""
    settings: Settings | None = getattr(request.app.state, "settings", None)
    if isinstance(detail, str) and settings is not None:
        detail = scrub(settings.home, detail)
    if wants_html_page(request.scope):
        return HTMLResponse(error_page(status, str(detail)), status_code=status, headers=headers)
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def _user_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, UserError)
    return error_response(request, _status_of(exc), str(exc))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err.get("loc", ()) if part != "body")
        problems.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    return error_response(request, 422, "; ".join(problems) or "invalid request")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"there is no page at {request.url.path[:200]}"
    return error_response(request, exc.status_code, detail, exc.headers)


async def _unexpected_error(request: Request, _exc: Exception) -> Response:
    """A bug: show the client no internals (Starlette re-raises it for the server's log)."""
    return error_response(request, 500, "internal error: the server logged the details")


def install_error_handlers(app: FastAPI) -> None:
    """Map Forgeline errors, validation errors and HTTP errors to JSON responses.

    Anything else is a bug: a JSON 500 without a traceback (the server logs it).
    """
    app.add_exception_handler(UserError, _user_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
