"""In-process live fan-out of events with asyncio (no threads)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from forgeline.domain.events import Event
from forgeline.events.cursor import EventReader, SeqCursor

# Buffered live events per subscriber before it falls back to reading the store.
MAX_BUFFERED = 10_000
DEFAULT_POLL_INTERVAL = 1.0


class _Mailbox:
    """Live events waiting for one subscriber."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.overflowed = False
        self.wake = asyncio.Event()

    def put(self, event: Event) -> None:
        if len(self.events) >= MAX_BUFFERED:
            self.events.clear()
            self.overflowed = True
        else:
            self.events.append(event)
        self.wake.set()

    def take(self) -> tuple[list[Event], bool]:
        events, overflowed = self.events, self.overflowed
        self.events, self.overflowed = [], False
        self.wake.clear()
        return events, overflowed

    async def wait(self, seconds: float) -> bool:
        """Wait up to `seconds` for an event; False on timeout."""
        try:
            async with asyncio.timeout(seconds):
                await self.wake.wait()
        except TimeoutError:
            return False
        return True


class LocalEventBus:
    """Fans events out to subscribers in this process.

    Subscribers also read the store when no live event came for `poll_interval`
    seconds, so events written by another process (a CLI run shown by the server)
    arrive too. A bus belongs to one event loop.
    """

    def __init__(self, store: EventReader, *, poll_interval: float = DEFAULT_POLL_INTERVAL) -> None:
        self._store = store
        self._poll_interval = poll_interval
        self._mailboxes: dict[str, set[_Mailbox]] = {}

    async def publish(self, event: Event) -> None:
        """Hand a persisted event to every subscriber of its project."""
        for mailbox in self._mailboxes.get(event.project_id, ()):
            mailbox.put(event)

    async def subscribe(self, project_id: str, *, after_seq: int) -> AsyncGenerator[Event, None]:
        """Every event of the project with `seq > after_seq`, then the live tail.

        Each event is delivered exactly once and in `seq` order. The iterator never
        ends by itself; close it (or cancel its consumer) to unsubscribe.
        """
        mailbox = _Mailbox()
        self._mailboxes.setdefault(project_id, set()).add(mailbox)
        cursor = SeqCursor(self._store, project_id, after_seq=after_seq)
        try:
            while True:
                if cursor.behind:
                    for event in await cursor.read():
                        yield event
                    continue
                events, overflowed = mailbox.take()
                if overflowed:
                    cursor.behind = True
                elif events:
                    for event in cursor.accept(events):
                        yield event
                    cursor.behind = cursor.behind or cursor.poll_due(self._poll_interval)
                elif not await mailbox.wait(self._poll_interval):
                    cursor.behind = True
        finally:
            self._unregister(project_id, mailbox)

    async def close(self) -> None:
        """Nothing to release: a subscription ends when its consumer closes it."""

    def subscriber_count(self, project_id: str) -> int:
        """How many subscriptions the project has (for diagnostics and tests)."""
        return len(self._mailboxes.get(project_id, ()))

    def _unregister(self, project_id: str, mailbox: _Mailbox) -> None:
        mailboxes = self._mailboxes.get(project_id)
        if mailboxes is None:
            return
        mailboxes.discard(mailbox)
        if not mailboxes:
            del self._mailboxes[project_id]
