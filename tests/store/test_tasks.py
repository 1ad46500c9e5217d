"""Tasks."""

from __future__ import annotations

import pytest

from dbfixtures import make_project
from forgeline.domain.errors import ConflictError, NotFoundError, UserError
from forgeline.store import Store


async def test_create_get_and_list_tasks(store: Store) -> None:
    project = await make_project(store)
    research = await store.create_task(project.id, "research", "research")
    review = await store.create_task(
        project.id, "implementation", "review", task_id="task-review-1", workflow_id="wf-1"
    )
    assert research.status == "pending" and research.finished_at is None
    assert research.id.startswith("task-")
    assert review.id == "task-review-1" and review.workflow_id == "wf-1"
    assert await store.get_task(review.id) == review
    assert [t.id for t in await store.list_tasks(project.id)] == [research.id, review.id]
    assert [t.id for t in await store.list_tasks(project.id, phase="implementation")] == [review.id]


async def test_task_errors(store: Store) -> None:
    project = await make_project(store)
    with pytest.raises(NotFoundError, match="No project"):
        await store.create_task("missing", "research", "research")
    await store.create_task(project.id, "research", "research", task_id="t1")
    with pytest.raises(ConflictError):
        await store.create_task(project.id, "research", "research", task_id="t1")
    with pytest.raises(NotFoundError, match="No task with id 'nope'"):
        await store.get_task("nope")
    with pytest.raises(NotFoundError):
        await store.update_task("nope", status="running")
    with pytest.raises(UserError, match="Invalid task status"):
        await store.update_task("t1", status="done")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="Cannot update task field"):
        await store.update_task("t1", phase="x")  # type: ignore[call-arg]


async def test_update_task_tracks_finished_at_and_stores_json_results(store: Store) -> None:
    project = await make_project(store)
    task = await store.create_task(project.id, "research", "research")
    running = await store.update_task(task.id, status="running", workflow_id="wf")
    assert running.finished_at is None and running.workflow_id == "wf"
    result = {"summary": "ok", "files": ["a.py"], "n": 2, "nested": {"x": None}}
    done = await store.update_task(task.id, status="completed", result=result)
    assert done.finished_at is not None and done.result == result
    failed = await store.update_task(task.id, status="failed", error="boom")
    assert failed.error == "boom" and failed.finished_at == done.finished_at
    again = await store.update_task(task.id, status="running", error=None, result=None)
    assert again.finished_at is None and again.error is None and again.result is None


async def test_tasks_with_status_spans_projects(store: Store) -> None:
    first = await make_project(store)
    second = await make_project(store)
    a = await store.create_task(first.id, "research", "research", status="running")
    b = await store.create_task(second.id, "planning", "planning", status="waiting")
    await store.create_task(second.id, "planning", "planning", status="completed")
    found = await store.tasks_with_status(["running", "waiting", "paused"])
    assert [t.id for t in found] == [a.id, b.id]
    assert await store.tasks_with_status([]) == []


async def test_tasks_keep_their_place_in_the_tree(store: Store) -> None:
    project = await make_project(store)
    top = await store.create_task(project.id, "research", "research")
    assert (top.parent_id, top.kind, top.round) == (None, "phase", None)
    gate = await store.create_task(
        project.id, "implementation", "test", parent_id=top.id, kind="gate", round=2
    )
    assert (gate.parent_id, gate.kind, gate.round) == (top.id, "gate", 2)
    assert await store.get_task(gate.id) == gate
    with pytest.raises(UserError, match="Invalid task kind"):
        await store.create_task(project.id, "research", "research", kind="overwatcher")  # type: ignore[arg-type]
