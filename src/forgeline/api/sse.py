"""Server-Sent Events of a project's event log: exactly once, in order, then live."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import Request

from forgeline.domain.errors import UserError
from forgeline.domain.events import Event
from forgeline.events.log import EventLog

KEEPALIVE_SECONDS = 15.0
_DONE = object()


def parse_after(last_event_id: str | None, after: str | None) -> int:
    """The `seq` to start after: `Last-Event-ID` wins over `?after=`; 0 by default.

    Raises:
        UserError: The value is not a non-negative integer.
    """
    raw = last_event_id if last_event_id not in (None, "") else after
    if raw is None or raw == "":
        return 0
    try:
        value = int(raw.strip())
    except ValueError:
        raise UserError(f"invalid event id {raw!r}: expected a sequence number") from None
    if value < 0:
        raise UserError(f"invalid event id {raw!r}: expected a sequence number")
    return value


def format_event(event: Event) -> str:
    """One SSE message: `id`, `event` and a one-line JSON `data`."""
    data = json.dumps(event.model_dump(mode="json"), separators=(",", ":"))
    return f"id: {event.seq}\nevent: {event.type}\ndata: {data}\n\n"


async def _pump(source: AsyncIterator[Event], queue: asyncio.Queue[object]) -> None:
    try:
        async for event in source:
            await queue.put(event)
    finally:
        with contextlib.suppress(asyncio.QueueFull):
            queue.put_nowait(_DONE)


async def event_stream(
    request: Request,
    log: EventLog,
    project_id: str,
    after_seq: int,
    *,
    idle: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[str]:
    """The SSE body: a retry hint, then every event after `after_seq`, then the live tail.

    A comment line is sent when nothing happened for the keep-alive interval. When
    nothing happened and the project is finished and idle (`idle()`), an `idle` event
    ends the stream; a client reconnects with `Last-Event-ID` when work starts again.
    """
    keepalive: float = getattr(request.app.state, "sse_keepalive", KEEPALIVE_SECONDS)
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=1000)
    source = log.subscribe(project_id, after_seq=after_seq)
    pump = asyncio.create_task(_pump(source, queue))
    try:
        yield "retry: 2000\n\n"
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), timeout=keepalive)
            except TimeoutError:
                if await request.is_disconnected():
                    return
                if idle is not None and queue.empty() and await idle():
                    yield "event: idle\ndata: {}\n\n"
                    return
                yield ": keep-alive\n\n"
                continue
            if item is _DONE:
                return
            assert isinstance(item, Event)
            yield format_event(item)
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await pump
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            with contextlib.suppress(Exception):
                await aclose()
