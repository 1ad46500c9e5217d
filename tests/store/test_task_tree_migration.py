"""Revision 0007 reads the task tree back from the ids of tasks written before it."""

from __future__ import annotations

import asyncio

from alembic import command

from dbfixtures import make_project
from forgeline.store import open_store
from forgeline.store.migrate import alembic_config

RUN = "run-0a1b2c3d4e"
IMPL = f"{RUN}-implementation"
ITERATE = "iterate-0123456789"
# id -> (parent_id, kind, round) the upgrade must find. Before 0007 the cp/gate counter
# counted checkpoints and gates together; the round is the rank among the same kind.
EXPECTED = {
    RUN: (None, "pipeline", None),
    f"{RUN}-research": (RUN, "phase", None),
    f"{RUN}-planning": (RUN, "phase", None),
    IMPL: (RUN, "phase", None),
    f"{IMPL}-cp1-review": (IMPL, "checkpoint", 1),
    f"{IMPL}-cp1-security": (IMPL, "checkpoint", 1),
    f"{IMPL}-cp2-test": (IMPL, "checkpoint", 2),
    f"{IMPL}-gate3-review": (IMPL, "gate", 1),
    f"{IMPL}-gate3-test": (IMPL, "gate", 1),
    f"{IMPL}-cp4-review": (IMPL, "checkpoint", 3),
    f"{IMPL}-gate5-security": (IMPL, "gate", 2),
    f"{IMPL}-docs": (IMPL, "documentation", None),
    "planning-5f5f5f5f5f": (None, "phase", None),
    ITERATE: (None, "iterate", None),
    f"{ITERATE}-cp1-review": (ITERATE, "checkpoint", 1),
    f"{ITERATE}-gate2-review": (ITERATE, "gate", 1),
    # Looks like a child, but its parent is not there: stays a top-level phase task.
    "gone-0000000000-cp1-review": (None, "phase", None),
}


async def _write_tasks(url: str) -> str:
    store = await open_store(url)
    try:
        project = await make_project(store)
        for task_id in EXPECTED:
            await store.create_task(project.id, "implementation", "review", task_id=task_id)
        return project.id
    finally:
        await store.close()


async def test_upgrade_from_0006_backfills_parent_kind_and_round(fresh_db_url: str) -> None:
    project_id = await _write_tasks(fresh_db_url)
    config = alembic_config(url=fresh_db_url)
    # Back to 0006 (the columns are dropped), then up again: the backfill reads the ids.
    await asyncio.to_thread(command.downgrade, config, "0006")
    await asyncio.to_thread(command.upgrade, config, "head")
    store = await open_store(fresh_db_url)
    try:
        tasks = await store.list_tasks(project_id)
    finally:
        await store.close()
    found = {t.id: (t.parent_id, t.kind, t.round) for t in tasks}
    assert found == EXPECTED
