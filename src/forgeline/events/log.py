"""`EventLog`: persist an event, then publish it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from forgeline.domain.events import Event, EventSink, NewEvent
from forgeline.events.bus import EventBus
from forgeline.store.usage import NewUsage


class EventWriter(Protocol):
    """What the log needs from the store."""

    async def append_event(self, project_id: str, ev: NewEvent) -> Event:
        """Persist `ev` and return it with its `seq`."""

    async def append_event_once(
        self, project_id: str, ev: NewEvent, *, usage: NewUsage | None = None
    ) -> tuple[Event, bool]:
        """Persist `ev` (and `usage` with it when it is new); also say whether it is new."""
        ...


class EventLog:
    """The one way events are recorded: persisted to the store, then published."""

    def __init__(self, store: EventWriter, bus: EventBus) -> None:
        self.store = store
        self.bus = bus

    async def emit(self, project_id: str, ev: NewEvent) -> Event:
        """Persist `ev` in the project's log, publish it, and return it.

        An event whose `dedup_key` was already recorded is published again (harmless:
        subscribers deliver each `seq` once), which completes a publish that a crash
        interrupted.

        Raises:
            NotFoundError: There is no such project.
        """
        event = await self.store.append_event(project_id, ev)
        await self.bus.publish(event)
        return event

    async def emit_once(
        self, project_id: str, ev: NewEvent, *, usage: NewUsage | None = None
    ) -> tuple[Event, bool]:
        """Like `emit`, also saying whether the event is new (False: its key was known).

        `usage`, when given, is recorded in the event's transaction if the event is new.
        """
        event, created = await self.store.append_event_once(project_id, ev, usage=usage)
        await self.bus.publish(event)
        return event, created

    def sink(self, project_id: str) -> EventSink:
        """An `EventSink` that emits into one project (for the agent loop)."""
        return ProjectSink(self, project_id)

    def subscribe(self, project_id: str, *, after_seq: int = 0) -> AsyncIterator[Event]:
        """The bus's subscription: stored events after `after_seq`, then live ones."""
        return self.bus.subscribe(project_id, after_seq=after_seq)


class ProjectSink:
    """An `EventSink` writing into one project's event log."""

    def __init__(self, log: EventLog, project_id: str) -> None:
        self.log = log
        self.project_id = project_id

    async def emit(self, event: NewEvent) -> None:
        """Persist and publish `event` in the project."""
        await self.log.emit(self.project_id, event)
