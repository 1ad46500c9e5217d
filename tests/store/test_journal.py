"""The step journal (`orchestrator.journal`) on a real store, SQLite and PostgreSQL.

A workflow run is a `Journal`; running the workflow again after a crash or a pause is
a new `Journal` for the same workflow id over the same database.
"""

from __future__ import annotations

import asyncio

import pytest

from dbfixtures import make_project
from forgeline.domain.errors import RetryableError
from forgeline.orchestrator.journal import Journal, ReplayMismatch
from forgeline.store import Store


class Counter:
    """A step body that counts its runs and returns its run number."""

    def __init__(self) -> None:
        self.runs = 0

    async def __call__(self) -> dict[str, int]:
        self.runs += 1
        return {"run": self.runs}


async def journal_for(store: Store, *, task: bool = True) -> tuple[Journal, str, str]:
    project = await make_project(store)
    workflow_id = f"{project.id}-wf"
    if task:
        await store.create_task(project.id, "research", "research", task_id=workflow_id)
    return Journal(store, project_id=project.id, workflow_id=workflow_id), project.id, workflow_id


async def test_a_recorded_step_is_replayed_without_running(store: Store) -> None:
    journal, project_id, wid = await journal_for(store)
    model, tool = Counter(), Counter()
    assert await journal.step("model", model) == {"run": 1}
    assert await journal.step("tool:Read", tool) == {"run": 1}

    again = Journal(store, project_id=project_id, workflow_id=wid)
    assert await again.step("model", model) == {"run": 1}
    assert await again.step("tool:Read", tool) == {"run": 1}
    assert await again.step("model", model) == {"run": 2}  # past the record: runs
    assert (model.runs, tool.runs) == (2, 1)


async def test_a_step_that_raised_raises_again_on_replay(store: Store) -> None:
    journal, project_id, wid = await journal_for(store)
    runs = 0

    async def failing() -> None:
        nonlocal runs
        runs += 1
        raise RetryableError("the provider said 529 three times")

    with pytest.raises(RetryableError, match="529"):
        await journal.step("model", failing)
    again = Journal(store, project_id=project_id, workflow_id=wid)
    with pytest.raises(RetryableError, match="529"):
        await again.step("model", failing)
    assert runs == 1


async def test_an_error_that_cannot_be_pickled_is_replayed_as_its_message(store: Store) -> None:
    journal, project_id, wid = await journal_for(store)

    class Local(Exception):  # a local class cannot be pickled
        pass

    async def failing() -> None:
        raise Local("disk full")

    with pytest.raises(Local):
        await journal.step("setup", failing)
    again = Journal(store, project_id=project_id, workflow_id=wid)
    with pytest.raises(Exception, match="Local: disk full"):
        await again.step("setup", failing)


async def test_a_nested_step_runs_inside_its_outer_step(store: Store) -> None:
    journal, project_id, wid = await journal_for(store)
    inner = Counter()

    async def outer() -> dict[str, int]:
        return await journal.step("inner", inner)

    assert await journal.step("outer", outer) == {"run": 1}
    assert await journal.step("next", Counter()) == {"run": 1}
    assert set(await store.recorded_steps(wid)) == {0, 1}  # the inner one is not numbered

    again = Journal(store, project_id=project_id, workflow_id=wid)
    assert await again.step("outer", outer) == {"run": 1}
    assert inner.runs == 1


async def test_steps_run_side_by_side_replay_in_the_order_they_started(store: Store) -> None:
    journal, project_id, wid = await journal_for(store)

    async def slow(value: int, delay: float) -> int:
        await asyncio.sleep(delay)
        return value

    first = await asyncio.gather(
        *(journal.step(f"tool:{i}", lambda i=i: slow(i, 0.03 * (3 - i))) for i in range(3))
    )
    assert first == [0, 1, 2]
    again = Journal(store, project_id=project_id, workflow_id=wid)
    never = Counter()
    replayed = await asyncio.gather(*(again.step(f"tool:{i}", never) for i in range(3)))
    assert replayed == [0, 1, 2] and never.runs == 0


async def test_a_replay_that_takes_another_path_is_refused(store: Store) -> None:
    journal, project_id, wid = await journal_for(store)
    await journal.step("model", Counter())
    again = Journal(store, project_id=project_id, workflow_id=wid)
    with pytest.raises(ReplayMismatch, match=r"replayed step 0 as 'tool:Bash'.*'model'"):
        await again.step("tool:Bash", Counter())


async def test_a_task_paused_elsewhere_stops_at_its_next_step(store: Store) -> None:
    journal, project_id, wid = await journal_for(store)
    await journal.step("model", Counter())
    await store.update_task(wid, status="paused")  # another process paused it
    body = Counter()
    with pytest.raises(asyncio.CancelledError):
        await journal.step("tool:Read", body)
    assert body.runs == 1  # it ran and is recorded: the resumed run will not repeat it
    with pytest.raises(asyncio.CancelledError):
        await journal.step("cleanup", body)  # a stopped run starts no step
    assert body.runs == 1

    await store.update_task(wid, status="running")
    resumed = Journal(store, project_id=project_id, workflow_id=wid)
    await resumed.step("model", body)
    assert await resumed.step("tool:Read", body) == {"run": 1}
    assert body.runs == 1


async def test_a_finally_after_a_cancel_records_no_step(store: Store) -> None:
    """A pause cancels the task mid-run; its `finally` steps must not take a number."""
    journal, project_id, wid = await journal_for(store)
    started, cleanup = asyncio.Event(), Counter()

    async def agent() -> None:
        await journal.step("worktrees", Counter())
        try:
            await journal.step("model", lambda: (started.set(), asyncio.sleep(30))[1])
        finally:
            await journal.step("cleanup", cleanup)

    run = asyncio.ensure_future(agent())
    await started.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert cleanup.runs == 0
    assert set(await store.recorded_steps(wid)) == {0}

    resumed = Journal(store, project_id=project_id, workflow_id=wid)
    await resumed.step("worktrees", Counter())
    assert await resumed.step("model", Counter()) == {"run": 1}  # runs again: never recorded


async def test_a_workflow_without_a_task_row_still_records(store: Store) -> None:
    journal, project_id, wid = await journal_for(store, task=False)
    assert await journal.step("load", Counter()) == {"run": 1}
    again = Journal(store, project_id=project_id, workflow_id=wid)
    assert await again.step("load", Counter()) == {"run": 1}


async def test_deleting_the_project_deletes_its_steps(store: Store) -> None:
    journal, project_id, wid = await journal_for(store)
    await journal.step("load", Counter())
    await store.delete_project(project_id)
    assert await store.recorded_steps(wid) == {}
