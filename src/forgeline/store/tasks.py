"""Tasks: one agent's run in one phase of a project."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Unpack, cast

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from forgeline.domain.errors import ConflictError, UserError
from forgeline.domain.status import can_move
from forgeline.domain.tasks import TASK_KINDS, TaskKind
from forgeline.store.core import StoreCore, check_id, not_found
from forgeline.store.models import ProjectRow, TaskRow
from forgeline.store.projects import new_id
from forgeline.store.schemas import (
    FINISHED_TASK_STATUSES,
    TASK_STATUSES,
    TaskRecord,
    TaskStatus,
    TaskUpdate,
)
from forgeline.store.types import utcnow


def _check_status(status: str) -> None:
    if status not in TASK_STATUSES:
        raise UserError(
            f"Invalid task status {status!r}: one of {', '.join(sorted(TASK_STATUSES))}."
        )


def _check_kind(kind: str) -> None:
    if kind not in TASK_KINDS:
        raise UserError(f"Invalid task kind {kind!r}: one of {', '.join(sorted(TASK_KINDS))}.")


def _finished_at(row: TaskRow, status: str, now: datetime) -> datetime | None:
    """When the task finished: kept from its first terminal status, None while active."""
    if status not in FINISHED_TASK_STATUSES:
        return None
    if row.status in FINISHED_TASK_STATUSES and row.finished_at is not None:
        return row.finished_at
    return now


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

        async def create(session: AsyncSession) -> TaskRecord:
            if await session.get(ProjectRow, project_id) is None:
                raise not_found("project", project_id)
            if await session.get(TaskRow, tid) is not None:
                raise ConflictError(f"A task with id {tid!r} already exists.")
            now = utcnow()
            row = TaskRow(
                id=tid,
                project_id=project_id,
                phase=phase,
                agent=agent,
                status=status,
                parent_id=parent_id,
                kind=kind,
                round=round,
                workflow_id=workflow_id,
                created_at=now,
                updated_at=now,
                finished_at=now if status in FINISHED_TASK_STATUSES else None,
            )
            session.add(row)
            await session.flush()
            return TaskRecord.model_validate(row)

        try:
            return await self._write(create)
        except IntegrityError as exc:
            raise ConflictError(f"A task with id {tid!r} already exists.") from exc

    async def get_task(self, task_id: str) -> TaskRecord:
        """The task with this id.

        Raises:
            NotFoundError: There is none.
        """

        async def get(session: AsyncSession) -> TaskRecord:
            row = await session.get(TaskRow, task_id)
            if row is None:
                raise not_found("task", task_id)
            return TaskRecord.model_validate(row)

        return await self._read(get)

    async def list_tasks(self, project_id: str, *, phase: str | None = None) -> list[TaskRecord]:
        """A project's tasks, oldest first, optionally of one phase."""
        query = select(TaskRow).where(TaskRow.project_id == project_id)
        if phase is not None:
            query = query.where(TaskRow.phase == phase)
        return await self._select_tasks(query.order_by(TaskRow.created_at, TaskRow.id))

    async def tasks_with_status(self, statuses: Iterable[str]) -> list[TaskRecord]:
        """Every task (of any project) in one of `statuses`, oldest first.

        Used at start-up to find the tasks to resume.
        """
        wanted = sorted(set(statuses))
        for status in wanted:
            _check_status(status)
        query = select(TaskRow).where(TaskRow.status.in_(wanted))
        return await self._select_tasks(query.order_by(TaskRow.created_at, TaskRow.id))

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

        async def update(session: AsyncSession) -> TaskRecord:
            row = await session.get(TaskRow, task_id, with_for_update=True)
            if row is None:
                raise not_found("task", task_id)
            if (
                guarded
                and "status" in changes
                and not can_move(cast(TaskStatus, row.status), changes["status"])
            ):
                return TaskRecord.model_validate(row)
            now = utcnow()
            if "status" in changes:
                row.finished_at = _finished_at(row, changes["status"], now)
            for key, value in changes.items():
                setattr(row, key, value)
            row.updated_at = now
            await session.flush()
            return TaskRecord.model_validate(row)

        return await self._write(update)

    async def _select_tasks(self, query: Any) -> list[TaskRecord]:
        async def run(session: AsyncSession) -> list[TaskRecord]:
            rows = (await session.scalars(query)).all()
            return [TaskRecord.model_validate(row) for row in rows]

        return await self._read(run)
