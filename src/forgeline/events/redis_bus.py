"""Live fan-out across processes and machines with Redis Streams."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Any

import redis.asyncio as aioredis
from pydantic import ValidationError
from redis.exceptions import RedisError

from forgeline.domain.events import Event
from forgeline.events.cursor import EventReader, SeqCursor, raise_if_cancelled

logger = logging.getLogger(__name__)

STREAM_PREFIX = "forgeline:events:"
STREAM_MAXLEN = 10_000
STREAM_TTL_S = 7 * 24 * 3600
DEFAULT_POLL_INTERVAL = 1.0
COMMAND_TIMEOUT_S = 5.0


def stream_key(project_id: str) -> str:
    """The Redis stream of a project's events."""
    return f"{STREAM_PREFIX}{project_id}"


def _entries(response: Any) -> list[tuple[str, dict[str, str]]]:
    """The (id, fields) entries of an XREAD reply for one stream (RESP2 or RESP3)."""
    if not response:
        return []
    streams = response.items() if isinstance(response, dict) else response
    return [(str(entry_id), fields) for _name, entries in streams for entry_id, fields in entries]


def _event_of(fields: dict[str, str]) -> Event | None:
    try:
        return Event.model_validate_json(fields["event"])
    except (KeyError, ValidationError):
        logger.warning("Ignoring a malformed entry in an event stream: %r", fields)
        return None


class RedisEventBus:
    """Publishes events to Redis Streams (`forgeline:events:<project_id>`).

    `publish` appends the event's JSON (`XADD ... MAXLEN ~ 10000`); `subscribe`
    replays from the store, then follows the stream with `XREAD BLOCK`, delivering
    each event once and in order (gaps are filled from the store). When Redis is
    unreachable, publishing logs a warning (the event is already stored) and
    subscribers fall back to reading the store every `poll_interval` seconds.
    """

    def __init__(
        self,
        store: EventReader,
        url: str,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        maxlen: int = STREAM_MAXLEN,
    ) -> None:
        self._store = store
        # No socket timeout: redis-py then sends without `asyncio.wait_for`, which on
        # Python 3.11 can swallow a cancellation (a closed subscription would block
        # on). Every command is bounded by `asyncio.timeout` here instead.
        self._redis = aioredis.Redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=None,
            socket_connect_timeout=COMMAND_TIMEOUT_S,
        )
        self._poll_interval = poll_interval
        self._block_ms = max(1, int(poll_interval * 1000))
        self._maxlen = maxlen

    async def publish(self, event: Event) -> None:
        """Append a persisted event to its project's stream."""
        key = stream_key(event.project_id)
        fields: dict[Any, Any] = {"seq": str(event.seq), "event": event.model_dump_json()}
        try:
            async with (
                asyncio.timeout(COMMAND_TIMEOUT_S),
                self._redis.pipeline(transaction=False) as pipe,
            ):
                pipe.xadd(key, fields, maxlen=self._maxlen, approximate=True)
                pipe.expire(key, STREAM_TTL_S)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            logger.warning("Could not publish event %s/%s to Redis: %s", key, event.seq, exc)

    async def subscribe(self, project_id: str, *, after_seq: int) -> AsyncGenerator[Event, None]:
        """Every event of the project with `seq > after_seq`, then the live tail.

        Each event is delivered exactly once and in `seq` order. The iterator never
        ends by itself; close it (or cancel its consumer) to unsubscribe.
        """
        key = stream_key(project_id)
        position = await self._stream_tail(key)
        raise_if_cancelled()
        cursor = SeqCursor(self._store, project_id, after_seq=after_seq)
        while True:
            if cursor.behind:
                for event in await cursor.read():
                    yield event
                continue
            entries = await self._read(key, position)
            raise_if_cancelled()
            if entries is None:
                cursor.behind = True
                continue
            if entries:
                position = entries[-1][0]
            events = [e for e in (_event_of(fields) for _id, fields in entries) if e is not None]
            for event in cursor.accept(events):
                yield event
            cursor.behind = cursor.behind or cursor.poll_due(self._poll_interval)

    async def close(self) -> None:
        """Close the Redis connections."""
        await self._redis.aclose()

    async def _stream_tail(self, key: str) -> str:
        """The id of the stream's newest entry ("0-0" when empty or unreachable)."""
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                newest: Any = await self._redis.xrevrange(key, count=1)
        except (RedisError, OSError) as exc:
            logger.warning("Could not read Redis stream %s: %s", key, exc)
            return "0-0"
        return str(newest[0][0]) if newest else "0-0"

    async def _read(self, key: str, position: str) -> list[tuple[str, dict[str, str]]] | None:
        """Entries after `position`, waiting up to the poll interval; None when idle."""
        try:
            async with asyncio.timeout(self._block_ms / 1000 + COMMAND_TIMEOUT_S):
                response: Any = await self._redis.xread(
                    {key: position}, block=self._block_ms, count=1000
                )
        except (RedisError, OSError) as exc:
            logger.warning("Could not read Redis stream %s: %s", key, exc)
            await asyncio.sleep(self._poll_interval)
            return None
        return _entries(response) or None
