"""The event log: gap-free, increasing `seq` per project; idempotent by `dedup_key`."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from forgeline.domain.events import Event, NewEvent
from forgeline.store.core import StoreCore, not_found
from forgeline.store.models import EventRow, ProjectRow

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


async def _find_by_key(session: AsyncSession, project_id: str, key: str) -> Event | None:
    query = select(EventRow).where(EventRow.project_id == project_id, EventRow.dedup_key == key)
    row = (await session.scalars(query)).first()
    return None if row is None else event_of(row)


class EventsMixin(StoreCore):
    """Events (`events`), numbered with `projects.last_seq`."""

    async def append_event(self, project_id: str, ev: NewEvent) -> Event:
        """Persist an event and return it with its sequence number (see `append_event_once`)."""
        event, _created = await self.append_event_once(project_id, ev)
        return event

    async def append_event_once(self, project_id: str, ev: NewEvent) -> tuple[Event, bool]:
        """Persist an event; return it with its sequence number and whether it is new.

        `seq` is `last_seq + 1`, taken in the same transaction as the insert: the row
        lock of `UPDATE projects ... RETURNING` (PostgreSQL) or the write lock
        (SQLite) makes the numbers gap-free and increasing in commit order, so any
        event visible to a reader implies every lower one is visible too.

        When `ev.dedup_key` is set and an event with that key exists in the
        project, that event is returned and no number is consumed.

        Raises:
            NotFoundError: There is no such project.
        """
        data = ev.model_dump(mode="json")["data"]

        async def append(session: AsyncSession) -> Event:
            if ev.dedup_key is not None:
                found = await _find_by_key(session, project_id, ev.dedup_key)
                if found is not None:
                    raise _AlreadyRecorded(found)
            bump = (
                update(ProjectRow)
                .where(ProjectRow.id == project_id)
                .values(last_seq=ProjectRow.last_seq + 1)
                .returning(ProjectRow.last_seq)
                .execution_options(synchronize_session=False)
            )
            seq = (await session.execute(bump)).scalar_one_or_none()
            if seq is None:
                raise not_found("project", project_id)
            if ev.dedup_key is not None and not self._is_sqlite:
                # A concurrent writer with the same key may have committed while we
                # waited for the row lock.
                found = await _find_by_key(session, project_id, ev.dedup_key)
                if found is not None:
                    raise _AlreadyRecorded(found)
            event = Event(
                seq=seq, project_id=project_id, task_id=ev.task_id, type=str(ev.type), data=data
            )
            await session.execute(
                insert(EventRow).values(
                    project_id=project_id,
                    seq=seq,
                    task_id=event.task_id,
                    type=event.type,
                    ts=event.ts,
                    data=data,
                    dedup_key=ev.dedup_key,
                )
            )
            return event

        try:
            return await self._write(append), True
        except _AlreadyRecorded as duplicate:
            return duplicate.event, False
        except IntegrityError:
            if ev.dedup_key is None:
                raise
            try:
                return await self._write(append), True
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

        async def run(session: AsyncSession) -> int:
            query = select(ProjectRow.last_seq).where(ProjectRow.id == project_id)
            seq = (await session.execute(query)).scalar_one_or_none()
            if seq is None:
                raise not_found("project", project_id)
            return seq

        return await self._read(run)
