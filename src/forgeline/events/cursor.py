"""Exactly-once, in-order delivery of a project's events to one subscriber.

A subscriber remembers the last `seq` it delivered. Live events come from a bus in
any order and possibly twice; the store is the source of truth. Because `seq` is
assigned in commit order (see `Store.append_event`), a live event numbered `n`
proves that every event below `n` is already readable from the store, so a gap is
always filled by reading the store after the last delivered `seq`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Protocol

from forgeline.domain.events import Event

PAGE_SIZE = 500


def raise_if_cancelled() -> None:
    """Re-raise a cancellation of the current task that a callee swallowed.

    On Python 3.11, `asyncio.wait_for` (used inside client libraries) can swallow
    a `CancelledError` that arrives as its inner call completes; the request is
    still counted by `Task.cancelling()`, so a subscription checks it after every
    call and ends as it was asked to instead of blocking again.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class EventReader(Protocol):
    """What a bus needs from the store: reading a project's events in order."""

    async def list_events(
        self, project_id: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[Event]:
        """Events with `seq > after_seq`, in order, at most `limit`."""
        ...


class SeqCursor:
    """The delivery position of one subscriber in one project's events.

    Attributes:
        last: The last delivered `seq`.
        behind: True when the store may hold events not delivered yet: at the
            start, after a gap in the live events, or when polling is due.
    """

    def __init__(self, store: EventReader, project_id: str, *, after_seq: int) -> None:
        self._store = store
        self._project_id = project_id
        self._last_read = 0.0
        self.last = max(0, after_seq)
        self.behind = True

    async def read(self) -> list[Event]:
        """The next page of stored events after `last` (advancing `last`).

        `behind` stays True while full pages come back.
        """
        self._last_read = time.monotonic()
        page = await self._store.list_events(self._project_id, after_seq=self.last, limit=PAGE_SIZE)
        fresh = [event for event in page if event.seq > self.last]
        if fresh:
            self.last = fresh[-1].seq
        self.behind = len(page) >= PAGE_SIZE
        return fresh

    def accept(self, events: Iterable[Event]) -> list[Event]:
        """The live `events` to deliver now: new ones, in order, up to the first gap.

        A gap (or duplicates) is normal: events are published after their commit,
        by many writers. On a gap, `behind` is set so the store fills it.
        """
        ready: list[Event] = []
        for event in sorted(events, key=lambda e: e.seq):
            if event.seq <= self.last:
                continue
            if event.seq != self.last + 1:
                self.behind = True
                break
            self.last = event.seq
            ready.append(event)
        return ready

    def poll_due(self, interval: float) -> bool:
        """Whether the store was last read `interval` seconds ago or more."""
        return time.monotonic() - self._last_read >= interval
