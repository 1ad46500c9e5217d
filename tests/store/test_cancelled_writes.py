"""A writer cancelled mid-transaction (a pause cancels tasks at any await) leaves the
database usable: the next write neither waits on a lock nor fails."""

from __future__ import annotations

import asyncio

from dbfixtures import make_project
from forgeline.domain.events import EventType, NewEvent
from forgeline.store import Store


async def test_writers_cancelled_at_every_await_do_not_hold_the_write_lock(store: Store) -> None:
    project = await make_project(store)
    for step in range(200):  # cancel 0 to 3 ms into the write: before, inside, after it
        writer = asyncio.create_task(
            store.append_event(
                project.id, NewEvent(type=EventType.MODEL_TEXT, data={"text": str(step)})
            )
        )
        await asyncio.sleep((step % 16) / 5000)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
    async with asyncio.timeout(5):
        await store.update_project(project.id, max_cost_usd=2.0)
        event = await store.append_event(
            project.id, NewEvent(type=EventType.MODEL_TEXT, data={"text": "after"})
        )
    # A cancelled writer's transaction may still commit (after "after", on PostgreSQL):
    # the log stays gap-free either way.
    events = await store.list_events(project.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert event.seq in {e.seq for e in events if e.data == {"text": "after"}}
