"""The Core paths of tasks and projects return the records the ORM reads of the same rows."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from dbfixtures import make_project, sqlite_url
from forgeline.domain.errors import ConflictError, NotFoundError
from forgeline.domain.events import EventType, NewEvent
from forgeline.store import (
    NewRepository,
    ProjectRecord,
    Store,
    TaskRecord,
    normalize_database_url,
    open_store,
)
from forgeline.store.engine import create_engine
from forgeline.store.models import ProjectRow, TaskRow


async def _orm_task(store: Store, task_id: str) -> TaskRecord:
    async with store._reader() as session:
        row = await session.get(TaskRow, task_id)
        assert row is not None
        return TaskRecord.model_validate(row)


async def _orm_project(store: Store, project_id: str) -> ProjectRecord:
    async with store._reader() as session:
        row = await session.get(ProjectRow, project_id)
        assert row is not None
        return ProjectRecord.model_validate(row)


async def test_task_records_match_the_orm_reading(store: Store) -> None:
    project = await make_project(store)
    created = await store.create_task(
        project.id, "implementation", "test", parent_id="p", kind="gate", round=3
    )
    assert created == await _orm_task(store, created.id) == await store.get_task(created.id)
    result = {"z": 1, "a": [1, {"y": None, "b": "x"}], "mm": True}
    done = await store.update_task(created.id, status="completed", result=result, model="m:x")
    assert done == await _orm_task(store, created.id) == await store.get_task(created.id)
    assert list(done.result) == ["z", "a", "mm"]  # as given (JSONB reorders keys)
    assert [await _orm_task(store, created.id)] == await store.list_tasks(project.id)
    finished = await store.create_task(project.id, "research", "r", status="cancelled")
    assert finished.finished_at == finished.created_at
    assert finished == await _orm_task(store, finished.id)


async def test_project_records_match_the_orm_reading(store: Store) -> None:
    project = await make_project(store)
    assert await store.get_project(project.id) == project == await _orm_project(store, project.id)
    models = {"coder": "a:b", "review": "c:d"}
    changed = await store.update_project(
        project.id,
        status="running",
        phases=("research",),
        agent_models=models,
        max_cost_usd=2,
        allow_network=True,
    )
    assert changed.phases == ["research"] and changed.max_cost_usd == 2.0
    assert changed.agent_models == models and changed.updated_at > project.updated_at
    assert changed == await _orm_project(store, project.id) == await store.get_project(project.id)
    with pytest.raises(NotFoundError, match="No project with id 'nope'"):
        await store.update_project("nope", status="running")


async def test_finished_at_is_kept_from_the_first_terminal_status(store: Store) -> None:
    project = await make_project(store)
    task = await store.create_task(project.id, "research", "research", status="running")
    paused = await store.update_task(task.id, status="paused")
    assert paused.finished_at is None and paused.updated_at > task.updated_at
    done = await store.update_task(task.id, status="completed")
    assert done.finished_at == done.updated_at
    failed = await store.update_task(task.id, status="failed")
    assert failed.finished_at == done.finished_at and failed.updated_at > done.updated_at
    no_status = await store.update_task(task.id, error="late")
    assert no_status.finished_at == done.finished_at and no_status.status == "failed"
    again = await store.update_task(task.id, status="pending")
    assert again.finished_at is None


async def test_a_guarded_move_the_status_forbids_changes_nothing(store: Store) -> None:
    project = await make_project(store)
    task = await store.create_task(project.id, "research", "research", status="running")
    done = await store.update_task(task.id, guarded=True, status="completed", result={"ok": 1})
    assert done.status == "completed" and done.finished_at is not None
    refused = await store.update_task(task.id, guarded=True, status="running", error="x")
    assert refused == done == await store.get_task(task.id)
    same = await store.update_task(task.id, guarded=True, status="completed", error="y")
    assert same.error == "y" and same.finished_at == done.finished_at
    assert same.updated_at > done.updated_at
    with pytest.raises(NotFoundError, match="No task with id 'nope'"):
        await store.update_task("nope", guarded=True, status="running")


async def test_concurrent_guarded_moves_never_leave_a_final_status(store: Store) -> None:
    project = await make_project(store)
    task = await store.create_task(project.id, "research", "research", status="running")
    moves = ["cancelled", *(["running", "waiting"] * 5)]
    await asyncio.gather(*(store.update_task(task.id, guarded=True, status=s) for s in moves))
    final = await store.get_task(task.id)
    assert final.status == "cancelled" and final.finished_at is not None


async def test_last_event_seq_follows_the_appends(store: Store) -> None:
    project = await make_project(store)
    assert await store.last_event_seq(project.id) == 0
    for _ in range(3):
        await store.append_event(project.id, NewEvent(type=EventType.MODEL_TEXT, data={}))
    assert await store.last_event_seq(project.id) == 3
    with pytest.raises(NotFoundError, match="No project with id 'nope'"):
        await store.last_event_seq("nope")


async def test_busy_sqlite_reads_go_through_the_engine(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    migrated = await open_store(url)
    repos = (NewRepository(url="https://example.com/a.git", name="a"),)
    project = await make_project(migrated, repositories=repos)
    task = await migrated.create_task(project.id, "research", "research")
    expected = (
        project,
        await migrated.list_repositories(project.id),
        task,
        [task],
        0,
    )
    await migrated.close()
    # Another process holds the database exclusively: readers get SQLITE_BUSY at once.
    holder = sqlite3.connect(tmp_path / "forgeline.db", isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("COMMIT")  # the exclusive lock stays until the connection closes
    store = Store(create_engine(normalize_database_url(url)))  # migrated: no upgrade
    try:
        reading = asyncio.gather(
            store.get_project(project.id),
            store.list_repositories(project.id),
            store.get_task(task.id),
            store.list_tasks(project.id, phase="research"),
            store.last_event_seq(project.id),
        )
        await asyncio.sleep(0.3)  # the loop runs on while the reads wait for the lock
        assert not reading.done()
        holder.close()
        assert tuple(await asyncio.wait_for(reading, 30)) == expected
    finally:
        await store.close()


async def test_concurrent_creates_of_one_id_make_one_task(store: Store) -> None:
    project = await make_project(store)
    made = await asyncio.gather(
        *(store.create_task(project.id, "research", "r", task_id="t-same") for _ in range(8)),
        return_exceptions=True,
    )
    assert sum(isinstance(m, TaskRecord) for m in made) == 1
    assert all(isinstance(m, TaskRecord | ConflictError) for m in made)
    with pytest.raises(NotFoundError, match="No project with id 'gone'"):
        await store.create_task("gone", "research", "r", task_id="t-same")
