"""The event bus protocol, and choosing an implementation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from forgeline.domain.events import Event
from forgeline.events.local import LocalEventBus, StoreHead
from forgeline.events.redis_bus import RedisEventBus


class EventBus(Protocol):
    """Live fan-out of persisted events to subscribers.

    `subscribe` first replays the stored events after `after_seq`, then the live
    tail: exactly once each, in `seq` order.
    """

    async def publish(self, event: Event) -> None:
        """Deliver a persisted event to its project's subscribers."""
        ...

    def subscribe(self, project_id: str, *, after_seq: int) -> AsyncIterator[Event]:
        """The project's events with `seq > after_seq`, then live ones, forever."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def make_bus(store: StoreHead, redis_url: str | None, *, poll_interval: float = 1.0) -> EventBus:
    """A Redis Streams bus when `redis_url` is set, else an in-process one."""
    if redis_url:
        return RedisEventBus(store, redis_url, poll_interval=poll_interval)
    return LocalEventBus(store, poll_interval=poll_interval)
