"""EventLog: persisted, then published; the EventSink adapter; make_bus."""

from __future__ import annotations

import pytest

from dbfixtures import REDIS_URL, make_project
from forgeline.domain.errors import NotFoundError
from forgeline.domain.events import Event, EventType, NewEvent
from forgeline.events import EventLog, LocalEventBus, RedisEventBus, make_bus
from forgeline.store import Store

from .tailing import Tail


class RecordingBus(LocalEventBus):
    """A real LocalEventBus that also checks each published event is already stored."""

    def __init__(self, store: Store) -> None:
        super().__init__(store, poll_interval=60)
        self.store = store
        self.published: list[Event] = []

    async def publish(self, event: Event) -> None:
        stored = await self.store.list_events(event.project_id, after_seq=event.seq - 1, limit=1)
        assert stored == [event], "published before it was persisted"
        self.published.append(event)
        await super().publish(event)


async def test_emit_persists_before_publishing(store: Store) -> None:
    bus = RecordingBus(store)
    log = EventLog(store, bus)
    project = await make_project(store)
    tail = Tail(log.subscribe(project.id))  # type: ignore[arg-type]
    try:
        event = await log.emit(project.id, NewEvent(type=EventType.PHASE_STARTED, data={"p": 1}))
        assert event.seq == 1 and bus.published == [event]
        assert await tail.wait_for(1) == [event]
    finally:
        await tail.close()


async def test_sink_emits_into_its_project(store: Store) -> None:
    bus = RecordingBus(store)
    log = EventLog(store, bus)
    project = await make_project(store)
    sink = log.sink(project.id)
    await sink.emit(NewEvent(type=EventType.TOOL_CALL, task_id="t1", data={"name": "Read"}))
    await sink.emit(NewEvent(type=EventType.TOOL_RESULT, task_id="t1"))
    events = await store.list_events(project.id)
    assert [(e.seq, e.type, e.task_id) for e in events] == [
        (1, "tool_call", "t1"),
        (2, "tool_result", "t1"),
    ]
    assert bus.published == events


async def test_re_emitting_a_dedup_key_republishes_the_same_event(store: Store) -> None:
    bus = RecordingBus(store)
    log = EventLog(store, bus)
    project = await make_project(store)
    ev = NewEvent(type=EventType.COMMIT, data={"sha": "abc"}, dedup_key="commit:abc")
    first = await log.emit(project.id, ev)
    second = await log.emit(project.id, ev)
    assert first == second and bus.published == [first, first]
    assert len(await store.list_events(project.id)) == 1


async def test_emit_once_reports_new_and_known_events(store: Store) -> None:
    bus = RecordingBus(store)
    log = EventLog(store, bus)
    project = await make_project(store)
    ev = NewEvent(type=EventType.PUSH, dedup_key="push:main")
    first, created = await log.emit_once(project.id, ev)
    again, created_again = await log.emit_once(project.id, ev)
    assert (created, created_again) == (True, False)
    assert again == first and bus.published == [first, first]


async def test_emit_into_a_missing_project_fails_and_publishes_nothing(store: Store) -> None:
    bus = RecordingBus(store)
    with pytest.raises(NotFoundError):
        await EventLog(store, bus).emit("missing", NewEvent(type=EventType.WARNING))
    assert bus.published == []


async def test_make_bus_picks_redis_only_with_a_url(store: Store) -> None:
    local_bus = make_bus(store, None)
    redis_bus = make_bus(store, REDIS_URL)
    try:
        assert isinstance(local_bus, LocalEventBus)
        assert isinstance(redis_bus, RedisEventBus)
    finally:
        await local_bus.close()
        await redis_bus.close()
