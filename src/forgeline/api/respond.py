"""Error answers for API clients (JSON) and browsers (an HTML page), usable from middleware.

DESIGN §7: errors are JSON `{"detail": ...}` on API paths; a browser asking for a page
(`Accept: text/html`) gets an HTML error page with the same status.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from starlette.datastructures import Headers
from starlette.types import Scope, Send

from forgeline.web.templating import render

_API_PREFIXES = ("/api/", "/agents/", "/webhooks/")
_API_PATHS = frozenset({"/api", "/health", "/projects/initialize", "/openapi.json"})

RawHeaders = list[tuple[bytes, bytes]]


def is_api_path(path: str) -> bool:
    """Whether `path` belongs to the JSON API (the original endpoints or `/api/...`)."""
    if path in _API_PATHS or path.startswith(_API_PREFIXES):
        return True
    return path.startswith("/projects/") and path.endswith("/workspace")


def wants_html(headers: Headers) -> bool:
    """Whether the client asked for HTML (a browser loading a page)."""
    return "text/html" in headers.get("accept", "").lower()


def wants_html_page(scope: Scope) -> bool:
    """A browser asking for a page (not an API path): it gets HTML errors."""
    return wants_html(Headers(scope=scope)) and not is_api_path(scope.get("path", ""))


def reason(status: int) -> str:
    """The standard phrase of an HTTP status, e.g. `Not Found`."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_page(status: int, detail: str) -> str:
    """The HTML error page."""
    return render("error.html", status=status, reason=reason(status), detail=detail)


def error_body(scope: Scope, status: int, detail: str) -> tuple[bytes, bytes]:
    """The body and its content type for an error answer to this request."""
    if wants_html_page(scope):
        return error_page(status, detail).encode(), b"text/html; charset=utf-8"
    return json.dumps({"detail": detail}).encode(), b"application/json"


async def send_body(
    send: Send, status: int, body: bytes, content_type: bytes, headers: RawHeaders
) -> None:
    """Send a whole response."""
    base = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": base + headers})
    await send({"type": "http.response.body", "body": body})


async def send_error(
    scope: Scope, send: Send, status: int, detail: str, headers: RawHeaders | None = None
) -> None:
    """Answer with an error: JSON for API clients, an HTML page for a browser's page request."""
    body, content_type = error_body(scope, status, detail)
    await send_body(send, status, body, content_type, headers or [])
