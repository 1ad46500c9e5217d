"""The event log: gap-free, increasing `seq` per project; idempotent by `dedup_key`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from forgeline.domain.events import Event, NewEvent
from forgeline.store.core import StoreCore, not_found
from forgeline.store.models import EventRow, ProjectRow
from forgeline.store.pgevents import append_once
from forgeline.store.usage import NewUsage
from forgeline.store.writer import SqliteWriter

MAX_PAGE = 10_000


def event_of(row: EventRow) -> Event:
    """The `Event` of an `events` row."""
    return Event(
        seq=row.seq,
        project_id=row.project_id,
        task_id=row.task_id,
        type=row.type,
        ts=row.ts,
        data=row.data,
    )


class _AlreadyRecorded(Exception):
    """Raised inside a transaction to roll back a consumed seq for a duplicate."""

    def __init__(self, event: Event) -> None:
        super().__init__(event.seq)
        self.event = event


_EVENTS = cast(Table, EventRow.__table__)
_PROJECTS = cast(Table, ProjectRow.__table__)
_KEY = ("project_id", "dedup_key")


_SQLITE_BUMP = "UPDATE projects SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq"
_SQLITE_BUMP_SPENT = (
    "UPDATE projects SET last_seq = last_seq + 1, spent_usd = spent_usd + ? "
    "WHERE id = ? RETURNING last_seq"
)
_SQLITE_INSERT = (
    "INSERT INTO events (project_id, seq, task_id, type, ts, data, dedup_key) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (project_id, dedup_key) DO NOTHING RETURNING seq"
)
_SQLITE_RECORDED = (
    "SELECT seq, task_id, type, ts, data FROM events WHERE project_id = ? AND dedup_key = ?"
)
_SQLITE_USAGE = (
    "INSERT INTO usage (project_id, task_id, agent, model, input_tokens, output_tokens, "
    "cache_read_tokens, cache_write_tokens, calls, cost_usd, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def sqlite_time(value: datetime) -> str:
    """A timestamp as SQLAlchemy stores `UTCDateTime` on SQLite (naive UTC, microseconds)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class _SqliteAppend:
    """`append_event_once`'s transaction as plain `sqlite3` statements (the writer thread's).

    The same statements as the Core path: bump `last_seq`, insert `ON CONFLICT DO
    NOTHING`, and on a known key read the recorded event and raise `_AlreadyRecorded`
    (its savepoint is rolled back, so no number is consumed).
    """

    def __init__(self, project_id: str, ev: NewEvent, data: Any, usage: NewUsage | None):
        self.project_id, self.ev, self.data, self.usage = project_id, ev, data, usage

    def __call__(self, conn: sqlite3.Connection) -> Event:
        pid, ev = self.project_id, self.ev
        bumped = conn.execute(*self._bump()).fetchone()
        if bumped is None:
            raise not_found("project", pid)
        event = Event(
            seq=bumped[0], project_id=pid, task_id=ev.task_id, type=str(ev.type), data=self.data
        )
        ts = sqlite_time(event.ts)
        row = (pid, event.seq, ev.task_id, event.type, ts, json.dumps(self.data), ev.dedup_key)
        if conn.execute(_SQLITE_INSERT, row).fetchone() is None and ev.dedup_key is not None:
            raise _AlreadyRecorded(_sqlite_recorded(conn, pid, ev.dedup_key))
        if self.usage is not None:
            conn.execute(_SQLITE_USAGE, _usage_row(pid, ev.task_id, self.usage, ts))
        return event

    def _bump(self) -> tuple[str, tuple[Any, ...]]:
        """Take the next seq; with a usage row, add its cost to the project's spend."""
        if self.usage is None:
            return _SQLITE_BUMP, (self.project_id,)
        return _SQLITE_BUMP_SPENT, (self.usage.usage.cost_usd, self.project_id)


def _sqlite_recorded(conn: sqlite3.Connection, project_id: str, key: str) -> Event:
    seq, task_id, type_, ts, data = conn.execute(_SQLITE_RECORDED, (project_id, key)).fetchone()
    when = datetime.fromisoformat(ts).replace(tzinfo=UTC)
    return Event(
        seq=seq, project_id=project_id, task_id=task_id, type=type_, ts=when, data=json.loads(data)
    )


def _usage_row(project_id: str, task_id: str | None, entry: NewUsage, ts: str) -> tuple[Any, ...]:
    u = entry.usage
    counts = (u.input_tokens, u.output_tokens, u.cache_read_tokens, u.cache_write_tokens)
    return (project_id, task_id, entry.agent, entry.model, *counts, u.calls, u.cost_usd, ts)


class EventsMixin(StoreCore):
    """Events (`events`), numbered with `projects.last_seq`."""

    async def append_event(self, project_id: str, ev: NewEvent) -> Event:
        """Persist an event and return it with its sequence number (see `append_event_once`)."""
        event, _created = await self.append_event_once(project_id, ev)
        return event

    async def append_event_once(
        self, project_id: str, ev: NewEvent, *, usage: NewUsage | None = None
    ) -> tuple[Event, bool]:
        """Persist an event; return it with its sequence number and whether it is new.

        `seq` is `last_seq + 1`, taken in the same transaction as the insert: the row
        lock of `UPDATE projects ... RETURNING` (PostgreSQL) or the write lock
        (SQLite) makes the numbers gap-free and increasing in commit order, so any
        event visible to a reader implies every lower one is visible too.

        When `ev.dedup_key` is set and an event with that key exists in the
        project, that event is returned and no number is consumed (the insert is
        `ON CONFLICT DO NOTHING`; the transaction is then rolled back).

        Args:
            project_id: The project.
            ev: The event.
            usage: A usage row to record in the same transaction, only when the
                event is new (so a replayed event never counts its cost twice); its
                cost is added to the project's `spent_usd` by the seq's `UPDATE`.

        Raises:
            NotFoundError: There is no such project.
        """
        data = ev.model_dump(mode="json")["data"]
        if self._pg_writer is not None:
            appended = await append_once(self._pg_writer, project_id, ev, data, usage)
            if appended is None:
                raise not_found("project", project_id)
            return appended
        try:
            new = _SqliteAppend(project_id, ev, data, usage)
            return await cast(SqliteWriter, self._sqlite_writer).run(new), True
        except _AlreadyRecorded as duplicate:
            return duplicate.event, False

    async def list_events(
        self,
        project_id: str,
        *,
        after_seq: int = 0,
        limit: int = 1000,
        types: Collection[str] | None = None,
    ) -> list[Event]:
        """A project's events with `seq > after_seq`, in order, at most `limit` (≤ 10000).

        `types`, when given, keeps only events of those types.
        """
        limit = max(1, min(limit, MAX_PAGE))
        query = select(EventRow).where(EventRow.project_id == project_id, EventRow.seq > after_seq)
        if types is not None:
            query = query.where(EventRow.type.in_(list(types)))
        query = query.order_by(EventRow.seq).limit(limit)

        async def run(session: AsyncSession) -> list[Event]:
            return [event_of(row) for row in (await session.scalars(query)).all()]

        return await self._read(run)

    async def last_event_seq(self, project_id: str) -> int:
        """The newest event's `seq` (0 before the first event).

        Raises:
            NotFoundError: There is no such project.
        """
        seq = await self._spend_reader.last_seq(project_id)
        if seq is None:
            raise not_found("project", project_id)
        return seq
