"""`append_event_once` on PostgreSQL as one statement (see `store.pgwriter`).

The statement takes the project's next `seq` with `UPDATE projects ... RETURNING`
(whose row lock orders concurrent writers of a project until the statement commits,
so the numbers are gap-free and increasing in commit order) and inserts the event
with it; with a usage row, it also adds the row and its cost to the project's spend.
A known `dedup_key` violates the unique index: the whole statement is rolled back
(no number consumed) and the recorded event is read instead.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

from forgeline.domain.events import Event, NewEvent
from forgeline.store.pgwriter import PostgresWriter
from forgeline.store.usage import NewUsage

_BUMP = "UPDATE projects SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq"
_BUMP_SPENT = (
    "UPDATE projects SET last_seq = last_seq + 1, spent_usd = spent_usd + $7 "
    "WHERE id = $1 RETURNING last_seq"
)
_INSERT = (
    "INSERT INTO events (project_id, seq, task_id, type, ts, data, dedup_key) "
    "SELECT $1, last_seq, $2, $3, $4, $5::jsonb, $6 FROM bumped RETURNING seq"
)
# Constant fragments only: every value is a $n parameter.
_EVENT = f"WITH bumped AS ({_BUMP}) {_INSERT}"
_EVENT_WITH_USAGE = (
    f"WITH bumped AS ({_BUMP_SPENT}), inserted AS ({_INSERT}), "  # noqa: S608
    "used AS (INSERT INTO usage (project_id, task_id, agent, model, input_tokens, "
    "output_tokens, cache_read_tokens, cache_write_tokens, calls, cost_usd, created_at) "
    "SELECT $1, $2, $8, $9, $10, $11, $12, $13, $14, $7, $4 FROM inserted) "
    "SELECT seq FROM inserted"
)
_RECORDED = (
    "SELECT seq, task_id, type, ts, data FROM events WHERE project_id = $1 AND dedup_key = $2"
)


async def append_once(
    writer: PostgresWriter, project_id: str, ev: NewEvent, data: Any, usage: NewUsage | None
) -> tuple[Event, bool] | None:
    """Persist `ev` (and `usage` with it); (the event, whether it is new), or None when
    there is no such project."""
    event = Event(seq=0, project_id=project_id, task_id=ev.task_id, type=str(ev.type), data=data)
    args: list[object] = [project_id, ev.task_id, event.type, event.ts, json.dumps(data)]
    args.append(ev.dedup_key)
    if usage is not None:
        u = usage.usage
        args += [u.cost_usd, usage.agent, usage.model, u.input_tokens, u.output_tokens]
        args += [u.cache_read_tokens, u.cache_write_tokens, u.calls]
    statement = _EVENT if usage is None else _EVENT_WITH_USAGE
    try:
        row = await writer.fetchrow(statement, *args)
    except asyncpg.UniqueViolationError:
        if ev.dedup_key is None:
            raise
        return await _recorded(writer, project_id, ev.dedup_key), False
    if row is None:
        return None
    return event.model_copy(update={"seq": row[0]}), True


async def _recorded(writer: PostgresWriter, project_id: str, key: str) -> Event:
    row = await writer.fetchrow(_RECORDED, project_id, key)
    when: datetime = row[3]
    return Event(
        seq=row[0],
        project_id=project_id,
        task_id=row[1],
        type=row[2],
        ts=when.astimezone(UTC),
        data=json.loads(row[4]),
    )
