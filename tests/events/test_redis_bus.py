"""RedisEventBus on the real Redis at 127.0.0.1:6379."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from dbfixtures import REDIS_URL, make_project
from forgeline.domain.events import Event, EventType, NewEvent
from forgeline.events import EventLog, RedisEventBus, stream_key
from forgeline.store import ProjectRecord, Store, open_store

from .tailing import Tail

FAST_POLL = 0.05


def text(i: int) -> NewEvent:
    return NewEvent(type=EventType.MODEL_TEXT, data={"i": i})


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
async def project(store: Store, redis_client: aioredis.Redis) -> AsyncIterator[ProjectRecord]:
    created = await make_project(store)  # a random id: unique stream per test
    yield created
    await redis_client.delete(stream_key(created.id))


@pytest.fixture
async def bus(store: Store) -> AsyncIterator[RedisEventBus]:
    redis_bus = RedisEventBus(store, REDIS_URL, poll_interval=FAST_POLL)
    yield redis_bus
    await redis_bus.close()


async def test_publish_appends_the_event_json_to_the_project_stream(
    store: Store, bus: RedisEventBus, project: ProjectRecord, redis_client: aioredis.Redis
) -> None:
    event = await EventLog(store, bus).emit(project.id, text(0))
    entries: Any = await redis_client.xrange(stream_key(project.id))
    assert len(entries) == 1
    _id, fields = entries[0]
    assert fields["seq"] == "1"
    assert Event.model_validate_json(fields["event"]) == event
    assert await redis_client.ttl(stream_key(project.id)) > 0


async def test_replay_then_live_exactly_once_with_a_mid_stream_subscriber(
    store: Store, bus: RedisEventBus, project: ProjectRecord
) -> None:
    log = EventLog(store, bus)
    for i in range(5):
        await log.emit(project.id, text(i))
    from_start = Tail(bus.subscribe(project.id, after_seq=0))
    mid_stream = Tail(bus.subscribe(project.id, after_seq=2))
    try:
        await from_start.wait_for(5)
        await asyncio.gather(*(log.emit(project.id, text(i)) for i in range(5, 20)))
        await from_start.wait_for(20)
        await mid_stream.wait_for(18)
        await asyncio.sleep(FAST_POLL * 4)
        assert from_start.seqs == list(range(1, 21))
        assert mid_stream.seqs == list(range(3, 21))
        assert from_start.events == await store.list_events(project.id)
    finally:
        await from_start.close()
        await mid_stream.close()


async def test_events_of_another_process_arrive_through_redis(
    store: Store, project: ProjectRecord, db_url: str
) -> None:
    # A poll interval far beyond the test: events can only come through the stream.
    watcher = RedisEventBus(store, REDIS_URL, poll_interval=30)
    other_store = await open_store(db_url)
    other_bus = RedisEventBus(other_store, REDIS_URL)
    tail = Tail(watcher.subscribe(project.id, after_seq=0))
    try:
        await asyncio.sleep(0.1)  # the subscriber is blocked in XREAD
        other_log = EventLog(other_store, other_bus)
        for i in range(4):
            await other_log.emit(project.id, text(i))
        await tail.wait_for(4, timeout=5)
        assert tail.seqs == [1, 2, 3, 4]
    finally:
        await tail.close()
        await other_bus.close()
        await other_store.close()
        await watcher.close()


async def test_reconnecting_with_after_seq_gets_the_rest_exactly_once(
    store: Store, bus: RedisEventBus, project: ProjectRecord
) -> None:
    log = EventLog(store, bus)
    for i in range(8):
        await log.emit(project.id, text(i))
    resumed = Tail(bus.subscribe(project.id, after_seq=5))
    try:
        await resumed.wait_for(3)
        await log.emit(project.id, text(8))
        await resumed.wait_for(4)
        await asyncio.sleep(FAST_POLL * 4)
        assert resumed.seqs == [6, 7, 8, 9]
    finally:
        await resumed.close()


async def test_gaps_in_the_stream_are_filled_from_the_store(
    store: Store, bus: RedisEventBus, project: ProjectRecord
) -> None:
    slow = RedisEventBus(store, REDIS_URL, poll_interval=30)
    tail = Tail(slow.subscribe(project.id, after_seq=0))
    try:
        await asyncio.sleep(0.1)
        stored = [await store.append_event(project.id, text(i)) for i in range(3)]
        await bus.publish(stored[2])  # 1 and 2 never reach the stream
        await bus.publish(stored[0])  # late duplicate
        await tail.wait_for(3)
        await asyncio.sleep(0.1)
        assert tail.seqs == [1, 2, 3]
    finally:
        await tail.close()
        await slow.close()


async def test_without_redis_publishing_warns_and_subscribers_poll_the_store(
    store: Store, project: ProjectRecord, caplog: pytest.LogCaptureFixture
) -> None:
    down = RedisEventBus(store, "redis://127.0.0.1:1/0", poll_interval=FAST_POLL)
    tail = Tail(down.subscribe(project.id, after_seq=0))
    try:
        with caplog.at_level(logging.WARNING, logger="forgeline.events.redis_bus"):
            event = await EventLog(store, down).emit(project.id, text(0))
            await tail.wait_for(1, timeout=5)
        assert tail.events == [event]
        assert "Could not publish event" in caplog.text
    finally:
        await tail.close()
        await down.close()


# SQLite only: cancelling asyncpg while it opens a connection makes asyncpg log an
# unretrieved future (its SSL negotiation), noise unrelated to the bus.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_closing_a_subscription_is_prompt_even_mid_command(
    store: Store, project: ProjectRecord
) -> None:
    # Cancellations landing at any point of a Redis command (connecting, sending,
    # blocking in XREAD) must end the subscription at once, never after the block.
    # (redis-py with a socket timeout sends through `asyncio.wait_for`, which on
    # Python 3.11 swallows some of them: about one in five got stuck for 30 s.)
    slow = RedisEventBus(store, REDIS_URL, poll_interval=30)
    rng = random.Random(7)
    try:
        for _ in range(150):
            tail = Tail(slow.subscribe(project.id, after_seq=0))
            await asyncio.sleep(rng.random() * 0.01)
            async with asyncio.timeout(2):
                await tail.close()
    finally:
        await slow.close()
