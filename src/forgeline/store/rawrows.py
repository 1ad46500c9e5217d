"""Tasks and projects as plain driver statements, for the hot calls on either database.

The same statements as the Core paths of `tasks` and `projects`, with the values
encoded as SQLAlchemy stores them (`UTCDateTime`: on SQLite naive UTC text with
microseconds, on PostgreSQL `timestamptz`; JSON: `json.dumps`, None as NULL; booleans
as 0/1 on SQLite) and decoded the same way back. On SQLite the writes run on the
store's writer thread (`SqliteWriter`: one future per call, group-committed) and the
reads on this thread's read connection (`SpendReader`); on PostgreSQL each write is
one statement in autocommit (`PostgresWriter`), atomic, where a transaction of the
engine costs three round trips. Column names come from the records' fields and the
update's checked keys, never from a caller's text; every value is a parameter.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from forgeline.domain.errors import ConflictError
from forgeline.store.core import not_found
from forgeline.store.events import sqlite_time
from forgeline.store.pgwriter import PostgresWriter
from forgeline.store.schemas import (
    FINISHED_TASK_STATUSES,
    ProjectRecord,
    RepositoryRecord,
    TaskRecord,
)
from forgeline.store.types import utcnow

TASK_FIELDS = tuple(TaskRecord.model_fields)
PROJECT_FIELDS = tuple(ProjectRecord.model_fields)
REPOSITORY_FIELDS = tuple(RepositoryRecord.model_fields)
_TIMES = frozenset({"created_at", "updated_at", "finished_at"})
_JSON = frozenset({"result", "phases", "agent_models", "pull_request"})
_FINISHED = ", ".join(f"'{status}'" for status in sorted(FINISHED_TASK_STATUSES))
_TASK_COLUMNS = ", ".join(TASK_FIELDS)
_PROJECT_COLUMNS = ", ".join(PROJECT_FIELDS)

TASK_BY_ID = f"SELECT {_TASK_COLUMNS} FROM tasks WHERE id = ?"  # noqa: S608
TASKS_OF = f"SELECT {_TASK_COLUMNS} FROM tasks WHERE project_id = ?"  # noqa: S608
TASKS_OF_PHASE = TASKS_OF + " AND phase = ?"
TASK_ORDER = " ORDER BY created_at, id"
PROJECT_BY_ID = f"SELECT {_PROJECT_COLUMNS} FROM projects WHERE id = ?"  # noqa: S608
REPOSITORIES_OF = (
    f"SELECT {', '.join(REPOSITORY_FIELDS)} FROM repositories "  # noqa: S608
    "WHERE project_id = ? ORDER BY position"
)
PROJECT_EXISTS = "SELECT 1 FROM projects WHERE id = ?"
_EXISTING = "SELECT (SELECT id FROM projects WHERE id = ?), (SELECT id FROM tasks WHERE id = ?)"
_PLACEHOLDER = re.compile(r"\?")


def numbered(sql: str) -> str:
    """`sql` with PostgreSQL's `$1, $2, ...` for its `?` (no `?` is in any literal)."""
    counter = iter(range(1, 10_000))
    return _PLACEHOLDER.sub(lambda _: f"${next(counter)}", sql)


def encode(name: str, value: Any, *, sqlite: bool) -> Any:
    """A column's value as SQLAlchemy binds it (JSON as text on both databases)."""
    if value is None:
        return None
    if name in _JSON:
        return json.dumps(value)
    if name in _TIMES and sqlite:
        return sqlite_time(value)
    return value


def decode(names: Sequence[str], row: Iterable[Any]) -> dict[str, Any]:
    """A row's values by column name, as SQLAlchemy reads them (JSON arrives as text)."""
    values = dict(zip(names, row, strict=True))
    for name, value in values.items():
        if value is None:
            continue
        if name in _JSON:
            values[name] = json.loads(value)
        elif name in _TIMES:
            if isinstance(value, datetime):
                values[name] = value.astimezone(UTC)
            else:
                values[name] = datetime.fromisoformat(value).replace(tzinfo=UTC)
        elif name == "allow_network":
            values[name] = bool(value)
    return values


def task_of(row: Iterable[Any], changes: Mapping[str, Any] | None = None) -> TaskRecord:
    """The record of a `tasks` row; `changes` (the values just written) taken as given."""
    return TaskRecord.model_validate(decode(TASK_FIELDS, row) | dict(changes or {}))


def project_of(row: Iterable[Any], changes: Mapping[str, Any] | None = None) -> ProjectRecord:
    """The record of a `projects` row; `changes` (the values just written) taken as given."""
    return ProjectRecord.model_validate(decode(PROJECT_FIELDS, row) | dict(changes or {}))


def repository_of(row: Iterable[Any]) -> RepositoryRecord:
    """The record of a `repositories` row."""
    return RepositoryRecord.model_validate(decode(REPOSITORY_FIELDS, row))


def _insert(values: Mapping[str, Any], *, sqlite: bool) -> tuple[str, list[Any]]:
    names = list(values)
    statement = (
        f"INSERT INTO tasks ({', '.join(names)}) "  # noqa: S608
        f"VALUES ({', '.join('?' * len(names))})"
    )
    return statement, [encode(name, values[name], sqlite=sqlite) for name in names]


def _task_update(
    task_id: str, changes: Mapping[str, Any], sources: Sequence[str] | None, *, sqlite: bool
) -> tuple[str, list[Any]]:
    """`update_task`'s `UPDATE ... RETURNING`, as the Core statement.

    `finished_at` is kept from the first terminal status (the `CASE` reads the row's
    current values). `sources`: with a guard, the statuses the task may move from.
    """
    now = utcnow()
    sets = [f"{name} = ?" for name in changes] + ["updated_at = ?"]
    params = [encode(name, value, sqlite=sqlite) for name, value in changes.items()]
    params.append(encode("updated_at", now, sqlite=sqlite))
    status = changes.get("status")
    if status in FINISHED_TASK_STATUSES:
        sets.append(
            f"finished_at = CASE WHEN status IN ({_FINISHED}) AND finished_at IS NOT NULL "
            "THEN finished_at ELSE ? END"
        )
        params.append(encode("finished_at", now, sqlite=sqlite))
    elif status is not None:
        sets.append("finished_at = NULL")
    where = "id = ?"
    params.append(task_id)
    if sources is not None:
        where += f" AND status IN ({', '.join('?' * len(sources))})"
        params.extend(sources)
    statement = (
        f"UPDATE tasks SET {', '.join(sets)} WHERE {where} "  # noqa: S608
        f"RETURNING {_TASK_COLUMNS}"
    )
    return statement, params


def _project_update(
    project_id: str, changes: Mapping[str, Any], *, sqlite: bool
) -> tuple[str, list[Any]]:
    values = {**changes, "updated_at": utcnow()}
    sets = ", ".join(f"{name} = ?" for name in values)
    params = [encode(name, value, sqlite=sqlite) for name, value in values.items()]
    statement = (
        f"UPDATE projects SET {sets} WHERE id = ? "  # noqa: S608
        f"RETURNING {_PROJECT_COLUMNS}"
    )
    return statement, [*params, project_id]


@dataclass(frozen=True)
class InsertTask:
    """`create_task`'s transaction on SQLite: refuse an unknown project or a known id."""

    values: Mapping[str, Any]

    def __call__(self, conn: sqlite3.Connection) -> TaskRecord:
        pid, tid = self.values["project_id"], self.values["id"]
        project, task = conn.execute(_EXISTING, (pid, tid)).fetchone()
        if project is None:
            raise not_found("project", pid)
        if task is not None:
            raise ConflictError(f"A task with id {tid!r} already exists.")
        try:
            conn.execute(*_insert(self.values, sqlite=True))
        except sqlite3.IntegrityError as exc:
            raise ConflictError(f"A task with id {tid!r} already exists.") from exc
        return TaskRecord.model_validate({**self.values, "error": None, "result": None})


@dataclass(frozen=True)
class UpdateTask:
    """`update_task`'s transaction on SQLite (see `_task_update`)."""

    task_id: str
    changes: Mapping[str, Any]
    sources: Sequence[str] | None

    def __call__(self, conn: sqlite3.Connection) -> TaskRecord:
        statement = _task_update(self.task_id, self.changes, self.sources, sqlite=True)
        row = conn.execute(*statement).fetchone()
        if row is not None:
            return task_of(row, self.changes)
        current = conn.execute(TASK_BY_ID, (self.task_id,)).fetchone()
        if current is None:  # else the guard refused the move: nothing changed
            raise not_found("task", self.task_id)
        return task_of(current)


@dataclass(frozen=True)
class UpdateProject:
    """`update_project`'s transaction on SQLite: one `UPDATE ... RETURNING`."""

    project_id: str
    changes: Mapping[str, Any]

    def __call__(self, conn: sqlite3.Connection) -> ProjectRecord:
        row = conn.execute(*_project_update(self.project_id, self.changes, sqlite=True))
        found = row.fetchone()
        if found is None:
            raise not_found("project", self.project_id)
        return project_of(found, self.changes)


async def pg_update_task(
    writer: PostgresWriter, task_id: str, changes: Mapping[str, Any], sources: Sequence[str] | None
) -> TaskRecord:
    """`update_task` on PostgreSQL: the `UPDATE` in autocommit (its row lock orders it
    after a concurrent one, whose result the guard then sees); when it changed no row,
    the task as it is now."""
    statement, params = _task_update(task_id, changes, sources, sqlite=False)
    row = await writer.fetchrow(numbered(statement), *params)
    if row is not None:
        return task_of(row, changes)
    current = await writer.fetchrow(numbered(TASK_BY_ID), task_id)
    if current is None:  # else the guard refused the move: nothing changed
        raise not_found("task", task_id)
    return task_of(current)


async def pg_update_project(
    writer: PostgresWriter, project_id: str, changes: Mapping[str, Any]
) -> ProjectRecord:
    """`update_project` on PostgreSQL: one `UPDATE ... RETURNING` in autocommit."""
    statement, params = _project_update(project_id, changes, sqlite=False)
    row = await writer.fetchrow(numbered(statement), *params)
    if row is None:
        raise not_found("project", project_id)
    return project_of(row, changes)


async def pg_row(writer: PostgresWriter, sql: str, *params: Any) -> Any:
    """The first row of a read (`?` placeholders) in autocommit, on the writer's pool."""
    return await writer.fetchrow(numbered(sql), *params)


async def pg_rows(writer: PostgresWriter, sql: str, *params: Any) -> list[Any]:
    """Every row of a read (`?` placeholders) in autocommit, on the writer's pool."""
    return await writer.fetch(numbered(sql), *params)


async def pg_insert_task(writer: PostgresWriter, values: Mapping[str, Any]) -> TaskRecord:
    """`create_task` on PostgreSQL: one `INSERT ... ON CONFLICT DO NOTHING` in autocommit;
    when it inserted nothing, whether the project is missing or the id taken."""
    pid, tid = values["project_id"], values["id"]
    statement, params = _insert(values, sqlite=False)
    statement += " ON CONFLICT (id) DO NOTHING RETURNING id"
    try:
        row = await writer.fetchrow(numbered(statement), *params)
    except asyncpg.ForeignKeyViolationError:
        raise not_found("project", pid) from None
    if row is None:
        if await writer.fetchrow(numbered(PROJECT_EXISTS), pid) is None:
            raise not_found("project", pid)
        raise ConflictError(f"A task with id {tid!r} already exists.")
    return TaskRecord.model_validate({**values, "error": None, "result": None})
