"""The HTTP side of the fake LLM server: request recording and reply rendering."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, Literal, Protocol
from urllib.parse import urlsplit

import forgeline.testing.fake_anthropic as fake_anthropic
import forgeline.testing.fake_openai as fake_openai
from forgeline.domain.errors import UserError
from forgeline.testing.fake_replies import FakeCut, FakeError, FakeReply, FakeTurn, parse_replies

log = logging.getLogger(__name__)

Api = Literal["anthropic", "openai"]
_API_PATHS: dict[str, Api] = {
    "/v1/messages": "anthropic",
    "/v1/chat/completions": "openai",
    "/chat/completions": "openai",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One API request the fake received.

    Attributes:
        method: The HTTP method.
        path: The URL path (no query string).
        headers: Request headers, names lower-cased.
        body: The decoded JSON body.
    """

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def api(self) -> Api:
        """Which protocol the request used."""
        return _API_PATHS[self.path]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form, as served by `GET /_fake/requests`."""
        return {
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body": self.body,
        }


class ReplySource(Protocol):
    """What the server asks of the fake behind it (`FakeLLM`)."""

    @property
    def requests(self) -> list[RecordedRequest]:
        """The API requests received so far, oldest first."""
        ...

    @property
    def pending(self) -> int:
        """Replies not yet used."""
        ...

    def enqueue(self, *replies: FakeReply) -> None:
        """Queue replies for the next requests."""
        ...

    def take(self, request: RecordedRequest) -> tuple[FakeReply | None, int]:
        """Record `request` and pop its reply; also returns the request's serial number."""
        ...


def handler_for(source: ReplySource) -> type[BaseHTTPRequestHandler]:
    """The request handler class answering from `source` (a `FakeLLM`)."""

    class Handler(_Handler):
        fake = source

    return Handler


class _Handler(BaseHTTPRequestHandler):
    fake: ClassVar[ReplySource]
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("fakellm: " + format, *args)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        fake = self.fake
        if path == "/_fake/requests":
            self.send_json(200, [request.to_json() for request in fake.requests])
        elif path == "/_fake/health":
            self.send_json(200, {"ok": True, "pending": fake.pending})
        else:
            self.send_json(404, {"error": {"message": f"no such fake endpoint: GET {path}"}})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            body = json.loads(raw or b"null")
        except json.JSONDecodeError as exc:
            self.send_json(400, {"error": {"message": f"request body is not JSON: {exc}"}})
            return
        if path == "/_fake/replies":
            self._enqueue(body)
            return
        api = _API_PATHS.get(path)
        if api is None:
            self.send_json(404, {"error": {"message": f"no such fake endpoint: POST {path}"}})
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        reply, serial = self.fake.take(RecordedRequest("POST", path, headers, body))
        if reply is None:
            message = (
                f"the fake LLM server has no scripted reply left for POST {path} "
                f"(request #{serial}); enqueue one with FakeLLM.enqueue()"
            )
            reply = FakeError(status=500, message=message)
        _Answer(self, api=api, request=body if isinstance(body, dict) else {}, serial=serial).send(
            reply
        )

    def _enqueue(self, body: Any) -> None:
        try:
            replies = parse_replies(body if isinstance(body, list) else [body])
        except UserError as exc:
            self.send_json(400, {"error": {"message": str(exc)}})
            return
        self.fake.enqueue(*replies)
        self.send_json(200, {"pending": self.fake.pending})

    def send_json(self, status: int, data: Any, headers: Mapping[str, str] | None = None) -> None:
        """Send a complete JSON response."""
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def stream(self, frames: Sequence[bytes], *, finish: bool) -> None:
        """Send server-sent events as a chunked body; without `finish`, drop the connection."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for frame in frames:
                self.wfile.write(b"%X\r\n%s\r\n" % (len(frame), frame))
                self.wfile.flush()
            if finish:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            finish = False
        if not finish:
            self.close_connection = True

    def partial_json(self, data: Any) -> None:
        """Announce the whole JSON body, send half of it, and drop the connection."""
        payload = json.dumps(data).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2])
        self.close_connection = True


@dataclass
class _Answer:
    """Renders one reply in the protocol of the request."""

    handler: _Handler
    api: Api
    request: dict[str, Any]
    serial: int

    @property
    def streaming(self) -> bool:
        return bool(self.request.get("stream"))

    @property
    def model(self) -> str:
        return str(self.request.get("model") or "fake-model")

    def send(self, reply: FakeReply) -> None:
        if isinstance(reply, FakeError):
            self._error(reply)
        elif isinstance(reply, FakeCut):
            self._cut(reply)
        elif self.streaming:
            self.handler.stream(self._frames(reply), finish=True)
        else:
            self.handler.send_json(200, self._body(reply))

    def _cut(self, cut: FakeCut) -> None:
        if self.streaming:
            frames = self._frames(cut.turn)[: cut.after_events]
            self.handler.stream(frames, finish=not cut.abrupt)
        else:
            self.handler.partial_json(self._body(cut.turn))

    def _error(self, error: FakeError) -> None:
        wire = fake_anthropic if self.api == "anthropic" else fake_openai
        if error.in_stream and self.streaming:
            frames = wire.in_stream_error_frames(error, model=self.model, serial=self.serial)
            self.handler.stream(frames, finish=True)
        else:
            self.handler.send_json(error.status, wire.error_body(error), error.headers)

    def _frames(self, turn: FakeTurn) -> list[bytes]:
        if self.api == "anthropic":
            return fake_anthropic.stream_frames(turn, model=self.model, serial=self.serial)
        options = self.request.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        return fake_openai.stream_frames(
            turn, model=self.model, serial=self.serial, include_usage=include_usage
        )

    def _body(self, turn: FakeTurn) -> dict[str, Any]:
        if self.api == "anthropic":
            return fake_anthropic.message_body(turn, model=self.model, serial=self.serial)
        return fake_openai.completion_body(turn, model=self.model, serial=self.serial)
