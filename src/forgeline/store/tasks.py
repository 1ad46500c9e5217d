"""Tasks: one agent's run in one phase of a project.

The calls the orchestrator makes on every step run without the ORM (no session,
identity map or unit of work): writes as plain driver statements (`store.rawrows`:
SQLite's writer thread, PostgreSQL's autocommit pool), an update as one
`UPDATE ... RETURNING` whose guard and `finished_at` rule the statement evaluates on
the row it changes; reads by id likewise, lists as Core statements on a connection
(and SQLite's on the loop thread's read connection).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Unpack, cast

from sqlalchemy import Select, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from forgeline.domain.errors import UserError
from forgeline.domain.status import can_move
from forgeline.domain.tasks import TASK_KINDS, TaskKind
from forgeline.store.core import StoreCore, check_id, not_found
from forgeline.store.models import TaskRow
from forgeline.store.pgwriter import PostgresWriter
from forgeline.store.projects import new_id
from forgeline.store.rawrows import (
    TASK_BY_ID,
    TASK_ORDER,
    TASKS_OF,
    TASKS_OF_PHASE,
    InsertTask,
    UpdateTask,
    pg_insert_task,
    pg_row,
    pg_rows,
    pg_update_task,
    task_of,
)
from forgeline.store.schemas import (
    FINISHED_TASK_STATUSES,
    TASK_STATUSES,
    TaskRecord,
    TaskStatus,
    TaskUpdate,
)
from forgeline.store.types import utcnow

_TASKS = cast(Table, TaskRow.__table__)
_COLUMNS = [_TASKS.c[name] for name in TaskRecord.model_fields]
_BY_ID = select(*_COLUMNS).where(_TASKS.c.id == bindparam("tid"))
_ORDER = (_TASKS.c.created_at, _TASKS.c.id)
# The statuses a guarded update may move a task from, per new status.
_SOURCES: dict[str, list[str]] = {
    new: sorted(old for old in TASK_STATUSES if can_move(cast(TaskStatus, old), new))
    for new in cast(frozenset[TaskStatus], TASK_STATUSES)
}


def _check_status(status: str) -> None:
    if status not in TASK_STATUSES:
        raise UserError(
            f"Invalid task status {status!r}: one of {', '.join(sorted(TASK_STATUSES))}."
        )


def _check_kind(kind: str) -> None:
    if kind not in TASK_KINDS:
        raise UserError(f"Invalid task kind {kind!r}: one of {', '.join(sorted(TASK_KINDS))}.")


class TasksMixin(StoreCore):
    """Tasks (`tasks`)."""

    async def create_task(
        self,
        project_id: str,
        phase: str,
        agent: str,
        *,
        task_id: str | None = None,
        status: TaskStatus = "pending",
        workflow_id: str | None = None,
        parent_id: str | None = None,
        kind: TaskKind = "phase",
        round: int | None = None,
    ) -> TaskRecord:
        """Create a task of a project.

        Args:
            project_id: The project.
            phase: The phase it belongs to (`research`, `planning`, ...).
            agent: The agent that runs it.
            task_id: The id; a fresh one when None.
            status: Initial status.
            workflow_id: The durable workflow running it, when already known.
            parent_id: The task it runs under (a pipeline's phase, an implementation's
                overwatcher or documentation), None for a top-level task.
            kind: Its place in the task tree (`domain.tasks.TaskKind`).
            round: The checkpoint number (`checkpoint`) or gate round (`gate`).

        Raises:
            NotFoundError: There is no such project.
            ConflictError: A task with this id exists.
            UserError: The id, status or kind is invalid.
        """
        tid = check_id(task_id, kind="task") if task_id else new_id("task")
        _check_status(status)
        _check_kind(kind)
        if not phase or not agent:
            raise UserError("A task needs a phase and an agent.")

        now = utcnow()
        values: dict[str, Any] = {
            "id": tid,
            "project_id": project_id,
            "phase": phase,
            "agent": agent,
            "status": status,
            "parent_id": parent_id,
            "kind": kind,
            "round": round,
            "workflow_id": workflow_id,
            "created_at": now,
            "updated_at": now,
            "finished_at": now if status in FINISHED_TASK_STATUSES else None,
        }
        if self._sqlite_writer is not None:
            return await self._sqlite_writer.run(InsertTask(values))
        return await pg_insert_task(cast(PostgresWriter, self._pg_writer), values)

    async def get_task(self, task_id: str) -> TaskRecord:
        """The task with this id.

        Raises:
            NotFoundError: There is none.
        """
        if self._is_sqlite:
            rows = self._spend_reader.local_rows(TASK_BY_ID, (task_id,))
            if rows is not None:
                if not rows:
                    raise not_found("task", task_id)
                return task_of(rows[0])
        if self._pg_writer is not None:
            row = await pg_row(self._pg_writer, TASK_BY_ID, task_id)
            if row is None:
                raise not_found("task", task_id)
            return task_of(row)
        record = await self._read_core(lambda conn: _first(conn, task_id))  # SQLite was busy
        if record is None:
            raise not_found("task", task_id)
        return record

    async def list_tasks(self, project_id: str, *, phase: str | None = None) -> list[TaskRecord]:
        """A project's tasks, oldest first, optionally of one phase."""
        sql, params = (
            (TASKS_OF, [project_id]) if phase is None else (TASKS_OF_PHASE, [project_id, phase])
        )
        if self._is_sqlite:
            rows = self._spend_reader.local_rows(sql + TASK_ORDER, params)
            if rows is not None:
                return [task_of(row) for row in rows]
        if self._pg_writer is not None:
            found = await pg_rows(self._pg_writer, sql + TASK_ORDER, *params)
            return [task_of(row) for row in found]
        query = select(*_COLUMNS).where(_TASKS.c.project_id == project_id)
        if phase is not None:
            query = query.where(_TASKS.c.phase == phase)
        return await self._select_tasks(query.order_by(*_ORDER))

    async def tasks_with_status(self, statuses: Iterable[str]) -> list[TaskRecord]:
        """Every task (of any project) in one of `statuses`, oldest first.

        Used at start-up to find the tasks to resume.
        """
        wanted = sorted(set(statuses))
        for status in wanted:
            _check_status(status)
        query = select(*_COLUMNS).where(_TASKS.c.status.in_(wanted))
        return await self._select_tasks(query.order_by(*_ORDER))

    async def update_task(
        self, task_id: str, *, guarded: bool = False, **fields: Unpack[TaskUpdate]
    ) -> TaskRecord:
        """Change a task's status, error, result or workflow id and return it.

        `finished_at` is set when the status becomes completed, failed or cancelled,
        and cleared when it becomes anything else. With `guarded`, a status change the
        task's current status does not allow (`domain.status`) changes nothing, in the
        same transaction that reads it.

        Raises:
            NotFoundError: There is no such task.
            UserError: An unknown field or invalid status.
        """
        changes: dict[str, Any] = dict(fields)
        unknown = set(changes) - TaskUpdate.__optional_keys__
        if unknown:
            raise UserError(f"Cannot update task field(s): {', '.join(sorted(unknown))}.")
        if "status" in changes:
            _check_status(changes["status"])

        guard = guarded and "status" in changes
        sources = _SOURCES[changes["status"]] if guard else None
        if self._sqlite_writer is not None:
            return await self._sqlite_writer.run(UpdateTask(task_id, changes, sources))
        return await pg_update_task(
            cast(PostgresWriter, self._pg_writer), task_id, changes, sources
        )

    async def _select_tasks(self, query: Select[Any]) -> list[TaskRecord]:
        async def run(conn: AsyncConnection) -> list[TaskRecord]:
            return [_core_task(row) for row in (await conn.execute(query)).all()]

        return await self._read_core(run)


def _core_task(row: Any) -> TaskRecord:
    """The record of a Core row (its values already converted by the column types)."""
    return TaskRecord.model_validate(row._asdict())


async def _first(conn: AsyncConnection, task_id: str) -> TaskRecord | None:
    row = (await conn.execute(_BY_ID, {"tid": task_id})).one_or_none()
    return None if row is None else _core_task(row)
