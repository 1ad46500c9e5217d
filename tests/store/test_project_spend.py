"""A project's spend (`projects.spent_usd`): kept with its usage rows, read cheaply, migrated.

The budget check before every model call reads it (`Store.spend`); it must stay the sum
of the project's usage rows (`usage_summary`'s total) however they were written.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from dbfixtures import make_project, postgres_database, sqlite_url, terminate_other_backends
from forgeline.domain.errors import NotFoundError
from forgeline.domain.events import EventType, NewEvent
from forgeline.domain.messages import Usage
from forgeline.store import Store, normalize_database_url, open_store
from forgeline.store.engine import create_engine
from forgeline.store.migrate import alembic_config
from forgeline.store.usage import NewUsage

SPEND_REVISION = "0009"


def call(cost: float) -> NewUsage:
    return NewUsage(agent="review", model="m", usage=Usage(input_tokens=7, cost_usd=cost, calls=1))


def usage_event(n: int, *, key: str | None = None) -> NewEvent:
    return NewEvent(type=EventType.USAGE, task_id="t", data={"n": n}, dedup_key=key)


def same_amount(a: float, b: float) -> bool:
    """Equal but for rounding (the column adds in commit order, SUM in scan order)."""
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15)


async def spend_and_sum(store: Store, project_id: str) -> tuple[float, float]:
    spend = await store.spend(project_id)
    return spend.spent_usd, (await store.usage_summary(project_id)).total.cost_usd


async def test_spend_is_the_sum_of_the_usage_rows_after_many_events(store: Store) -> None:
    project = await make_project(store)
    other = await make_project(store)
    rng = random.Random(10)
    costs = [rng.uniform(0.0, 0.05) for _ in range(240)]
    for n, cost in enumerate(costs[:40]):  # one at a time
        await store.append_event_once(project.id, usage_event(n, key=f"k{n}"), usage=call(cost))
    # Side by side (on SQLite, group commits of the writer thread), and for another project.
    await asyncio.gather(
        *(
            store.append_event_once(project.id, usage_event(n), usage=call(cost))
            for n, cost in enumerate(costs[40:200], start=40)
        ),
        *(store.append_event_once(other.id, usage_event(n), usage=call(1.0)) for n in range(20)),
    )
    for cost in costs[200:]:  # without an event
        await store.record_usage(project.id, None, "test", "m", Usage(cost_usd=cost, calls=1))
    # Replayed events record nothing: their usage must not count either.
    for n in range(0, 40, 3):
        _event, created = await store.append_event_once(
            project.id, usage_event(n, key=f"k{n}"), usage=call(9.0)
        )
        assert not created
    await store.append_event(project.id, usage_event(-1))  # an event without usage

    spent, summed = await spend_and_sum(store, project.id)
    assert same_amount(spent, summed) and same_amount(spent, math.fsum(costs))
    assert (await store.usage_summary(project.id)).total.calls == len(costs)
    assert await spend_and_sum(store, other.id) == (20.0, 20.0)


async def test_a_raised_budget_and_another_stores_spend_are_read_at_once(db_url: str) -> None:
    first, second = await open_store(db_url), await open_store(db_url)  # as two processes
    try:
        project = await make_project(first)
        assert (await first.spend(project.id)).spent_usd == 0.0
        await second.append_event_once(project.id, usage_event(1), usage=call(0.25))
        await second.update_project(project.id, max_cost_usd=3.0)
        spend = await first.spend(project.id)
        assert (spend.max_cost_usd, spend.spent_usd) == (3.0, 0.25)
        await second.update_project(project.id, max_cost_usd=None)
        assert (await first.spend(project.id)).max_cost_usd is None
        await second.delete_project(project.id)
        with pytest.raises(NotFoundError):
            await first.spend(project.id)
    finally:
        await first.close()
        await second.close()


async def test_a_busy_sqlite_read_waits_off_the_event_loop(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    migrated = await open_store(url)
    project = await make_project(migrated)
    await migrated.append_event_once(project.id, usage_event(1), usage=call(0.5))
    await migrated.close()
    # Another process holds the database exclusively: readers get SQLITE_BUSY at once.
    holder = sqlite3.connect(tmp_path / "forgeline.db", isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("UPDATE projects SET max_cost_usd = 2.0")
    holder.execute("COMMIT")  # the exclusive lock stays until the connection closes
    store = Store(create_engine(normalize_database_url(url)))  # migrated: no upgrade
    try:
        reading = asyncio.create_task(store.spend(project.id))
        await asyncio.sleep(0.3)  # the loop runs on while the read waits for the lock
        assert not reading.done()
        holder.close()
        spend = await asyncio.wait_for(reading, 30)
        assert (spend.max_cost_usd, spend.spent_usd) == (2.0, 0.5)
        assert (await store.spend(project.id)).spent_usd == 0.5  # and the cheap way again
    finally:
        await store.close()


async def _usage_written(url: str) -> tuple[str, str]:
    store = await open_store(url)
    try:
        spender, idle = await make_project(store), await make_project(store)
        for n, cost in enumerate((0.125, 0.5, 0.0625)):
            await store.append_event_once(spender.id, usage_event(n), usage=call(cost))
        await store.record_usage(spender.id, None, "test", "m", Usage(cost_usd=1.0, calls=1))
        return spender.id, idle.id
    finally:
        await store.close()


async def test_upgrade_sets_the_spend_of_projects_with_usage_already(fresh_db_url: str) -> None:
    spender, idle = await _usage_written(fresh_db_url)
    config = alembic_config(url=fresh_db_url)
    before = ScriptDirectory.from_config(config).get_revision(SPEND_REVISION).down_revision
    assert isinstance(before, str)
    # Back to the revision before (the column is dropped, the rows stay), then up again.
    await asyncio.to_thread(command.downgrade, config, before)
    await asyncio.to_thread(command.upgrade, config, "head")
    store = await open_store(fresh_db_url)
    try:
        assert await spend_and_sum(store, spender) == (1.6875, 1.6875)
        assert await spend_and_sum(store, idle) == (0.0, 0.0)
        assert len(await store.list_events(spender)) == 3  # nothing cascaded away
    finally:
        await store.close()


async def test_postgresql_reads_on_after_their_connection_is_lost_or_cancelled() -> None:
    async with postgres_database() as url:
        store = await open_store(url)
        try:
            project = await make_project(store)
            await store.append_event_once(project.id, usage_event(1), usage=call(0.5))
            assert (await store.spend(project.id)).spent_usd == 0.5
            assert await terminate_other_backends(url) >= 1  # the spend's connection too
            assert (await store.spend(project.id)).spent_usd == 0.5
            for _ in range(20):  # a caller cancelled mid-read (a pause) leaves none stuck
                reading = asyncio.create_task(store.spend(project.id))
                await asyncio.sleep(0)
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
            spends = await asyncio.gather(*(store.spend(project.id) for _ in range(10)))
            assert {s.spent_usd for s in spends} == {0.5}
        finally:
            await store.close()
