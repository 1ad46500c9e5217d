"""In-process live fan-out of events with asyncio (no threads)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator
from typing import Protocol

from forgeline.domain.events import Event
from forgeline.events.cursor import EventReader, SeqCursor

# Buffered live events per subscriber before it falls back to reading the store.
MAX_BUFFERED = 10_000
DEFAULT_POLL_INTERVAL = 1.0

log = logging.getLogger("forgeline.events")


class StoreHead(EventReader, Protocol):
    """What the shared poll needs from the store: the newest stored `seq`."""

    async def last_event_seq(self, project_id: str) -> int:
        """The newest event's `seq` of the project (0 before the first)."""
        ...


class _Mailbox:
    """Live events waiting for one subscriber, and the newest `seq` it delivered."""

    def __init__(self, delivered: int) -> None:
        self.events: list[Event] = []
        self.overflowed = False
        self.delivered = delivered
        self.stored = 0
        self.wake = asyncio.Event()

    def put(self, event: Event) -> None:
        if len(self.events) >= MAX_BUFFERED:
            self.events.clear()
            self.overflowed = True
        else:
            self.events.append(event)
        self.wake.set()

    def stored_up_to(self, seq: int) -> None:
        """The store holds events up to `seq`: wake the subscriber if it is behind."""
        if seq > self.delivered:
            self.stored = seq
            self.wake.set()

    def take(self) -> tuple[list[Event], bool]:
        """The live events and whether the store holds undelivered ones (clears both)."""
        events = self.events
        behind = self.overflowed or self.stored > self.delivered
        self.events, self.overflowed = [], False
        self.wake.clear()
        return events, behind


class _Project:
    """One project's subscribers and their shared store poll."""

    def __init__(self) -> None:
        self.mailboxes: set[_Mailbox] = set()
        self.poller: asyncio.Task[None] | None = None


class LocalEventBus:
    """Fans events out to subscribers in this process.

    Events written by another process (a CLI run shown by the server) arrive through
    one store poll per project, shared by all its subscribers: every `poll_interval`
    seconds the newest stored `seq` is read once, and only subscribers behind it
    read the store. Idle subscribers cost nothing else. A bus belongs to one event
    loop.
    """

    def __init__(self, store: StoreHead, *, poll_interval: float = DEFAULT_POLL_INTERVAL) -> None:
        self._store = store
        self._poll_interval = poll_interval
        self._projects: dict[str, _Project] = {}

    async def publish(self, event: Event) -> None:
        """Hand a persisted event to every subscriber of its project."""
        project = self._projects.get(event.project_id)
        for mailbox in project.mailboxes if project is not None else ():
            mailbox.put(event)

    async def subscribe(self, project_id: str, *, after_seq: int) -> AsyncGenerator[Event, None]:
        """Every event of the project with `seq > after_seq`, then the live tail.

        Each event is delivered exactly once and in `seq` order. The iterator never
        ends by itself; close it (or cancel its consumer) to unsubscribe.
        """
        cursor = SeqCursor(self._store, project_id, after_seq=after_seq)
        mailbox = self._register(project_id, cursor.last)
        try:
            while True:
                if cursor.behind:
                    for event in await cursor.read():
                        yield event
                    mailbox.delivered = cursor.last
                    continue
                events, behind = mailbox.take()
                for event in cursor.accept(events):
                    yield event
                mailbox.delivered = cursor.last
                cursor.behind = cursor.behind or behind
                if not events and not behind:
                    await mailbox.wake.wait()
        finally:
            self._unregister(project_id, mailbox)

    async def close(self) -> None:
        """Stop the store polls (subscriptions end when their consumers close them)."""
        for project in self._projects.values():
            if project.poller is not None:
                project.poller.cancel()

    def subscriber_count(self, project_id: str) -> int:
        """How many subscriptions the project has (for diagnostics and tests)."""
        project = self._projects.get(project_id)
        return 0 if project is None else len(project.mailboxes)

    def _register(self, project_id: str, delivered: int) -> _Mailbox:
        project = self._projects.setdefault(project_id, _Project())
        mailbox = _Mailbox(delivered)
        project.mailboxes.add(mailbox)
        if project.poller is None or project.poller.done():
            project.poller = asyncio.create_task(self._poll(project_id, project))
        return mailbox

    def _unregister(self, project_id: str, mailbox: _Mailbox) -> None:
        project = self._projects.get(project_id)
        if project is None:
            return
        project.mailboxes.discard(mailbox)
        if not project.mailboxes:
            del self._projects[project_id]
            if project.poller is not None:
                project.poller.cancel()

    async def _poll(self, project_id: str, project: _Project) -> None:
        """Read the project's newest stored `seq` once per interval, for everyone."""
        while True:
            await asyncio.sleep(self._poll_interval)
            try:
                seq = await self._store.last_event_seq(project_id)
            except Exception:
                log.debug("polling the events of %s failed", project_id, exc_info=True)
                continue
            for mailbox in list(project.mailboxes):
                mailbox.stored_up_to(seq)
