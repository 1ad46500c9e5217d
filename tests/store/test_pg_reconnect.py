"""PostgreSQL: the store carries on after the server drops its connections, and refuses
bad text clearly.

The engine does not ping a connection before each transaction (a round trip each);
a transaction on a connection the server closed fails as "invalidated" and is run
again on a new one.
"""

from __future__ import annotations

import pytest

from dbfixtures import make_project, postgres_database, terminate_other_backends
from forgeline.domain.errors import UserError
from forgeline.domain.events import EventType, NewEvent
from forgeline.store import open_store


def _event(n: int) -> NewEvent:
    return NewEvent(type=EventType.MODEL_TEXT, data={"n": n}, dedup_key=f"k{n}")


async def test_reads_and_writes_go_on_after_the_server_drops_every_connection() -> None:
    async with postgres_database() as url:
        store = await open_store(url)
        try:
            project = await make_project(store)
            for n in range(5):
                await store.append_event_once(project.id, _event(n))
            assert await terminate_other_backends(url) >= 1  # the pool's idle connections

            assert (await store.get_project(project.id)).id == project.id
            event, created = await store.append_event_once(project.id, _event(5))
            assert created and event.seq == 6
            task = await store.create_task(project.id, "research", "research")
            assert (await store.get_task(task.id)).status == "pending"
            assert [e.seq for e in await store.list_events(project.id)] == [1, 2, 3, 4, 5, 6]
        finally:
            await store.close()


async def test_an_event_with_a_nul_byte_is_a_clear_error_and_breaks_nothing() -> None:
    async with postgres_database() as url:
        store = await open_store(url)
        try:
            project = await make_project(store)
            bad = NewEvent(type=EventType.MODEL_TEXT, data={"text": "a\x00b"})
            with pytest.raises(UserError, match="NUL byte"):
                await store.append_event_once(project.id, bad)
            event, created = await store.append_event_once(project.id, _event(1))
            assert created and event.seq == 1  # the refused event took no number
        finally:
            await store.close()
