"""LocalEventBus: replay then live tail, exactly once and in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from dbfixtures import make_project
from forgeline.domain.events import Event, EventType, NewEvent
from forgeline.events import EventLog, LocalEventBus, local
from forgeline.store import Store, open_store

from .tailing import Tail

FAST_POLL = 0.05


@pytest.fixture
async def bus(store: Store) -> AsyncIterator[LocalEventBus]:
    local_bus = LocalEventBus(store, poll_interval=FAST_POLL)
    yield local_bus
    await local_bus.close()


def text(i: int) -> NewEvent:
    return NewEvent(type=EventType.MODEL_TEXT, data={"i": i})


async def test_replay_then_live_exactly_once_with_a_mid_stream_subscriber(
    store: Store, bus: LocalEventBus
) -> None:
    project = await make_project(store)
    log = EventLog(store, bus)
    for i in range(5):
        await log.emit(project.id, text(i))
    from_start = Tail(bus.subscribe(project.id, after_seq=0))
    mid_stream = Tail(bus.subscribe(project.id, after_seq=3))
    try:
        await from_start.wait_for(5)
        await asyncio.gather(*(log.emit(project.id, text(i)) for i in range(5, 25)))
        await from_start.wait_for(25)
        await mid_stream.wait_for(22)
        await asyncio.sleep(FAST_POLL * 4)  # polls happen; nothing may be repeated
        assert from_start.seqs == list(range(1, 26))
        assert mid_stream.seqs == list(range(4, 26))
        assert from_start.events == await store.list_events(project.id)
    finally:
        await from_start.close()
        await mid_stream.close()
    assert bus.subscriber_count(project.id) == 0


async def test_reconnecting_with_after_seq_resumes_exactly_after_it(
    store: Store, bus: LocalEventBus
) -> None:
    project = await make_project(store)
    log = EventLog(store, bus)
    for i in range(6):
        await log.emit(project.id, text(i))
    first = Tail(bus.subscribe(project.id, after_seq=0))
    await first.wait_for(4)
    await first.close()
    last = first.seqs[-1]
    for i in range(6, 9):
        await log.emit(project.id, text(i))
    second = Tail(bus.subscribe(project.id, after_seq=last))
    try:
        await second.wait_for(9 - last)
        await log.emit(project.id, text(9))
        await second.wait_for(10 - last)
        await asyncio.sleep(FAST_POLL * 3)
        assert second.seqs == list(range(last + 1, 11))
    finally:
        await second.close()


async def test_out_of_order_and_repeated_publishes_are_delivered_in_order_once(
    store: Store,
) -> None:
    slow_poll = LocalEventBus(store, poll_interval=60)  # only live events and gap filling
    project = await make_project(store)
    tail = Tail(slow_poll.subscribe(project.id, after_seq=0))
    try:
        await asyncio.sleep(0.05)  # the replay (of nothing) is done
        stored = [await store.append_event(project.id, text(i)) for i in range(4)]
        await slow_poll.publish(stored[2])  # 1 and 2 were never published: a gap
        await tail.wait_for(3)
        await slow_poll.publish(stored[1])  # late and already delivered
        await slow_poll.publish(stored[3])
        await slow_poll.publish(stored[3])
        await tail.wait_for(4)
        await asyncio.sleep(0.05)
        assert tail.seqs == [1, 2, 3, 4]
    finally:
        await tail.close()


async def test_events_written_by_another_process_arrive_by_polling(
    store: Store, bus: LocalEventBus, db_url: str
) -> None:
    project = await make_project(store)
    tail = Tail(bus.subscribe(project.id, after_seq=0))
    other = await open_store(db_url)  # stands for a CLI run in another process
    try:
        other_log = EventLog(other, LocalEventBus(other))
        for i in range(3):
            await other_log.emit(project.id, text(i))
        await tail.wait_for(3, timeout=3)
        assert tail.seqs == [1, 2, 3]
        assert [e.data["i"] for e in tail.events] == [0, 1, 2]
    finally:
        await tail.close()
        await other.close()


async def test_a_full_mailbox_falls_back_to_the_store(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local, "MAX_BUFFERED", 3)
    slow_poll = LocalEventBus(store, poll_interval=60)
    project = await make_project(store)
    tail = Tail(slow_poll.subscribe(project.id, after_seq=0))
    try:
        await asyncio.sleep(0.05)
        stored = [await store.append_event(project.id, text(i)) for i in range(10)]
        for event in stored:  # no await suspends here: all land in the mailbox at once
            await slow_poll.publish(event)
        await tail.wait_for(10)
        assert tail.seqs == list(range(1, 11))
    finally:
        await tail.close()


class CountingReader:
    """The real store, counting the reads a bus makes of it."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.reads = 0

    async def list_events(
        self, project_id: str, *, after_seq: int = 0, limit: int = 1000
    ) -> list[Event]:
        self.reads += 1
        return await self.store.list_events(project_id, after_seq=after_seq, limit=limit)

    async def last_event_seq(self, project_id: str) -> int:
        self.reads += 1
        return await self.store.last_event_seq(project_id)


async def test_idle_subscribers_share_one_store_poll_per_project(store: Store, db_url: str) -> None:
    project = await make_project(store)
    reader = CountingReader(store)
    shared = LocalEventBus(reader, poll_interval=FAST_POLL)
    tails = [Tail(shared.subscribe(project.id, after_seq=0)) for _ in range(20)]
    try:
        await asyncio.sleep(FAST_POLL * 2)
        before = reader.reads
        await asyncio.sleep(FAST_POLL * 10)
        assert reader.reads - before <= 12  # one read per interval, not one per subscriber
        other = await open_store(db_url)  # another process's event still reaches everyone
        try:
            await EventLog(other, LocalEventBus(other)).emit(project.id, text(1))
        finally:
            await other.close()
        for tail in tails:
            assert [e.seq for e in await tail.wait_for(1, timeout=3)] == [1]
    finally:
        for tail in tails:
            await tail.close()
        await shared.close()
