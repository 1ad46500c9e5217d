"""The step journal's rows: each durable step's pickled outcome, by workflow and number.

Written like events: on SQLite through the writer thread (plain `sqlite3`, group
commit), on PostgreSQL as one statement in autocommit (`store.pgwriter`). The write
also reads the task's status, so a workflow learns at its next step that another process paused or
cancelled it, without a read of its own.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from forgeline.store.core import StoreCore
from forgeline.store.events import sqlite_time
from forgeline.store.models import StepRow
from forgeline.store.writer import SqliteWriter

_STEPS = cast(Table, StepRow.__table__)

_SQLITE_RECORD = (
    "INSERT INTO steps (workflow_id, number, project_id, name, output, started_at, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workflow_id, number) DO NOTHING"
)
_SQLITE_STATUS = "SELECT status FROM tasks WHERE id = ?"
_SQLITE_RECORDED = "SELECT number, name, output FROM steps WHERE workflow_id = ?"
_POSTGRES_RECORD = (
    "WITH recorded AS (INSERT INTO steps (workflow_id, number, project_id, name, output, "
    "started_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, now()) "
    "ON CONFLICT (workflow_id, number) DO NOTHING) "
    "SELECT status FROM tasks WHERE id = $1"
)


@dataclass(frozen=True)
class NewStep:
    """A step's outcome to record.

    Attributes:
        project_id: The workflow's project (its rows go with the project).
        workflow_id: The workflow.
        number: The step's position among the workflow's steps (from 0).
        name: The step's name (checked on replay).
        output: The pickled outcome.
        started_at: When the step started (it ends when it is recorded).
    """

    project_id: str
    workflow_id: str
    number: int
    name: str
    output: bytes
    started_at: datetime


@dataclass(frozen=True)
class RecordedStep:
    """A recorded step: its name and pickled outcome."""

    name: str
    output: bytes


class JournalMixin(StoreCore):
    """Durable steps (`steps`)."""

    async def recorded_steps(self, workflow_id: str) -> dict[int, RecordedStep]:
        """Every step a workflow has recorded, by number.

        On SQLite it is read on this thread's connection: every workflow run starts
        with this read, and a round trip through a connection thread waits for a busy
        event loop twice.
        """
        if self._is_sqlite:
            rows = self._spend_reader.local_rows(_SQLITE_RECORDED, [workflow_id])
            if rows is not None:
                return {row[0]: RecordedStep(row[1], bytes(row[2])) for row in rows}
        query = select(_STEPS.c.number, _STEPS.c.name, _STEPS.c.output).where(
            _STEPS.c.workflow_id == workflow_id
        )

        async def read(conn: AsyncConnection) -> dict[int, RecordedStep]:
            rows = (await conn.execute(query)).all()
            return {row[0]: RecordedStep(row[1], bytes(row[2])) for row in rows}

        return await self._read_core(read)

    async def record_step(self, step: NewStep) -> str | None:
        """Record a step's outcome (a step already recorded keeps its first outcome).

        Returns:
            The status of the task whose id is the workflow's, read in the same
            transaction (None when there is no such task).
        """
        if self._pg_writer is None:
            return await cast(SqliteWriter, self._sqlite_writer).run(_SqliteRecord(step))
        args = (step.workflow_id, step.number, step.project_id, step.name, step.output)
        row = await self._pg_writer.fetchrow(_POSTGRES_RECORD, *args, step.started_at)
        return None if row is None else str(row[0])


class _SqliteRecord:
    """`record_step`'s transaction as plain `sqlite3` statements (the writer thread's)."""

    def __init__(self, step: NewStep) -> None:
        self.step = step

    def __call__(self, conn: sqlite3.Connection) -> str | None:
        s = self.step
        times = (sqlite_time(s.started_at), sqlite_time(datetime.now(UTC)))
        values = (s.workflow_id, s.number, s.project_id, s.name, s.output, *times)
        conn.execute(_SQLITE_RECORD, values)
        row = conn.execute(_SQLITE_STATUS, (s.workflow_id,)).fetchone()
        return None if row is None else str(row[0])
