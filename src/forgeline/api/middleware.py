"""ASGI middleware: bearer-token authentication and a request body size limit."""

from __future__ import annotations

import hmac
import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
TOKEN_COOKIE = "forgeline_token"  # noqa: S105 (a cookie name)


async def _send_json(
    send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]
) -> None:
    body = json.dumps({"detail": detail}).encode()
    base = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": base + headers})
    await send({"type": "http.response.body", "body": body})


def _presented_tokens(scope: Scope) -> list[str]:
    tokens: list[str] = []
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                tokens.append(credential.strip())
        elif name == b"cookie":
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(value.decode("latin-1"))
            if TOKEN_COOKIE in cookie:
                tokens.append(cookie[TOKEN_COOKIE].value)
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens.extend(query.get("token", []))
    return tokens


class TokenAuthMiddleware:
    """Require `Authorization: Bearer <token>` (or `?token=`, or the UI's cookie).

    A valid `?token=` on a page sets a cookie, so the browser UI keeps working.
    """

    def __init__(self, app: ASGIApp, *, token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        presented = _presented_tokens(scope)
        if not any(hmac.compare_digest(t.encode(), self.token) for t in presented):
            await _send_json(
                send, 401, "missing or wrong API token", [(b"www-authenticate", b"Bearer")]
            )
            return
        await self.app(scope, receive, self._with_cookie(send))

    def _with_cookie(self, send: Send) -> Send:
        cookie = f"{TOKEN_COOKIE}={self.token.decode()}; Path=/; HttpOnly; SameSite=Strict".encode()

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"set-cookie", cookie)],
                }
            await send(message)

        return wrapped


class BodyLimitMiddleware:
    """Refuse request bodies larger than `max_bytes` with 413."""

    def __init__(self, app: ASGIApp, *, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _send_json(send, 413, self._message(), [])
                return
        await self._limited(scope, receive, send)

    def _message(self) -> str:
        return f"request body too large (limit {self.max_bytes} bytes)"

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_json(send, 413, self._message(), [])


class _TooLarge(HTTPException):
    """A streamed body went over the limit."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body too large")
