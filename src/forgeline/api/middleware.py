"""ASGI middleware: a request body size limit (authentication is in `forgeline.api.auth`)."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forgeline.api.respond import send_error

MAX_BODY_BYTES = 1024 * 1024


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
                await send_error(scope, send, 413, self._message())
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
                await send_error(scope, send, 413, self._message())


class _TooLarge(HTTPException):
    """A streamed body went over the limit."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body too large")
