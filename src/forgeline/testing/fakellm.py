"""A fake LLM HTTP server speaking the Anthropic and OpenAI wire protocols.

It answers from a queue of scripted replies (`forgeline.testing.fake_replies`) and
records every request, so tests can drive the official SDKs and our providers
over real HTTP on 127.0.0.1:

```python
with FakeLLM() as fake:
    fake.enqueue(FakeTurn(text="Hello"))
    model = AnthropicModel("claude-sonnet-4-5", api_key="k", base_url=fake.anthropic_base_url)
    ...
    assert fake.requests[0].body["model"] == "claude-sonnet-4-5"
```

Endpoints: `POST /v1/messages` (Anthropic), `POST /v1/chat/completions` and
`POST /chat/completions` (OpenAI), each streaming or not. For other processes:
`POST /_fake/replies` (a reply or a list of replies) enqueues, `GET /_fake/requests`
lists what was received, `GET /_fake/health` reports the number of pending replies.
With no reply left the server answers 500 with an error saying so.

Run standalone: `python -m forgeline.testing.fakellm --port 0 --script replies.yaml`;
it prints `fakellm listening on http://127.0.0.1:<port>` once ready.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from forgeline.domain.errors import UserError
from forgeline.testing.fake_http import RecordedRequest, handler_for
from forgeline.testing.fake_limits import ContextModel, is_compaction
from forgeline.testing.fake_replies import FakeReply, FakeTurn, load_script, parse_reply
from forgeline.testing.loopback import LoopbackServer

__all__ = ["FakeLLM", "RecordedRequest", "main"]

log = logging.getLogger(__name__)


class FakeLLM:
    """A scripted fake LLM server on 127.0.0.1, run in a background thread."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        replies: Sequence[FakeReply | Mapping[str, Any]] = (),
        record_path: Path | None = None,
        context_limit: int | None = None,
        cache: bool = False,
        compaction_reply: FakeTurn | None = None,
    ) -> None:
        """Prepare the server; `start()` (or `with`) binds and serves.

        Args:
            host: Address to bind.
            port: Port to bind; 0 picks a free one.
            replies: Replies queued from the start.
            record_path: If set, every API request is appended to it as a JSON line.
            context_limit: The model's context window: a longer request (prompt plus
                `max_tokens`) gets the API's HTTP 400 and uses no reply.
            cache: Report prompt and cache tokens as counted (`fake_limits`) instead of
                each reply's scripted usage.
            compaction_reply: Answers every compaction call of the agent loop, so the
                queue holds only the agent's turns.
        """
        self.context = ContextModel(limit=context_limit, cache=cache)
        self._compaction_reply = compaction_reply
        self._address = (host, port)
        self._lock = threading.Lock()
        self._replies: deque[FakeReply] = deque(parse_reply(reply) for reply in replies)
        self._requests: list[RecordedRequest] = []
        self._record_path = record_path
        self._server: LoopbackServer | None = None

    def start(self) -> FakeLLM:
        """Bind and start serving in a background thread."""
        if self._server is None:
            host, port = self._address
            self._server = LoopbackServer(handler_for(self), host=host, port=port, name="fakellm")
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> FakeLLM:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port."""
        if self._server is None:
            raise RuntimeError("the fake LLM server is not running; call start() first")
        return self._server.port

    @property
    def base_url(self) -> str:
        """`http://host:port`, without a path."""
        return f"http://{self._address[0]}:{self.port}"

    @property
    def anthropic_base_url(self) -> str:
        """The base URL the Anthropic SDK expects (no `/v1`)."""
        return self.base_url

    @property
    def openai_base_url(self) -> str:
        """The base URL the OpenAI SDK expects (with `/v1`)."""
        return self.base_url + "/v1"

    def enqueue(self, *replies: FakeReply | Mapping[str, Any]) -> None:
        """Queue replies, answered in order by the next requests of either API."""
        parsed = [parse_reply(reply) for reply in replies]
        with self._lock:
            self._replies.extend(parsed)

    @property
    def requests(self) -> list[RecordedRequest]:
        """The API requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def pending(self) -> int:
        """Replies not yet used."""
        with self._lock:
            return len(self._replies)

    def take(self, request: RecordedRequest) -> tuple[FakeReply | None, int]:
        """Record `request` and pop the reply for it (None when the queue is empty).

        Returns:
            The reply and the request's serial number (1 for the first request).
        """
        with self._lock:
            self._requests.append(request)
            serial = len(self._requests)
            reply = self._reply_for(request)
            if self._record_path is not None:
                with self._record_path.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(request.to_json()) + "\n")
        log.debug("fakellm request #%d %s -> %s", serial, request.path, type(reply).__name__)
        return reply, serial

    def _reply_for(self, request: RecordedRequest) -> FakeReply | None:
        body = request.body if isinstance(request.body, dict) else {}
        error = self.context.check(body, request.api)
        if error is not None:
            return error
        reply: FakeReply | None
        if self._compaction_reply is not None and is_compaction(body, request.api):
            reply = self._compaction_reply
        else:
            reply = self._replies.popleft() if self._replies else None
        if isinstance(reply, FakeTurn):
            reply = self.context.usage(body, request.api, reply)
        return reply


def main(argv: Sequence[str] | None = None) -> int:
    """Run the fake server until SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m forgeline.testing.fakellm")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=0, help="port to bind (0: a free one)")
    parser.add_argument("--script", type=Path, help="YAML/JSON file of scripted replies")
    parser.add_argument("--record", type=Path, help="append every request to this JSONL file")
    args = parser.parse_args(argv)
    try:
        replies = load_script(args.script) if args.script else []
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    stopped = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        fake = FakeLLM(host=args.host, port=args.port, replies=replies, record_path=args.record)
        fake.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"fakellm listening on {fake.base_url}", flush=True)
    while not stopped.wait(0.2):
        pass
    fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
