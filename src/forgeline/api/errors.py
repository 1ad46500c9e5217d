"""Exception handlers: every error is JSON `{"detail": ...}` with a 4xx status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from forgeline.domain.errors import ConflictError, NotFoundError, UserError


def _status_of(exc: UserError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    return 422


async def _user_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, UserError)
    return JSONResponse({"detail": str(exc)}, status_code=_status_of(exc))


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err.get("loc", ()) if part != "body")
        problems.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    return JSONResponse({"detail": "; ".join(problems) or "invalid request"}, status_code=422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return JSONResponse(
        {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers or None
    )


async def _unexpected_error(_request: Request, _exc: Exception) -> JSONResponse:
    """A bug: show the client no internals (Starlette re-raises it for the server's log)."""
    return JSONResponse(
        {"detail": "internal error: the server logged the details"}, status_code=500
    )


def install_error_handlers(app: FastAPI) -> None:
    """Map Forgeline errors, validation errors and HTTP errors to JSON responses.

    Anything else is a bug: a JSON 500 without a traceback (the server logs it).
    """
    app.add_exception_handler(UserError, _user_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
