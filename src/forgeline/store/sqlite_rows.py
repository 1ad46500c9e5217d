"""Tasks and projects as plain `sqlite3` statements, for SQLite's hot calls.

The same statements as the Core paths of `tasks` and `projects`, with the values
encoded as SQLAlchemy stores them on SQLite (`UTCDateTime`: naive UTC text with
microseconds; JSON: `json.dumps`, None as NULL; booleans as 0/1) and decoded the same
way back. Writes run on the store's writer thread (`SqliteWriter`: one future per
call, group-committed); reads on this thread's read connection (`SpendReader`).
Column names come from the records' fields, never from a caller.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from forgeline.domain.errors import ConflictError
from forgeline.store.core import not_found
from forgeline.store.events import sqlite_time
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
_EXISTING = "SELECT (SELECT id FROM projects WHERE id = ?), (SELECT id FROM tasks WHERE id = ?)"


def encode(name: str, value: Any) -> Any:
    """A column's value as SQLAlchemy binds it on SQLite."""
    if value is None:
        return None
    if name in _JSON:
        return json.dumps(value)
    if name in _TIMES:
        return sqlite_time(value)
    return value


def decode(names: Sequence[str], row: Iterable[Any]) -> dict[str, Any]:
    """A row's values by column name, as SQLAlchemy reads them on SQLite."""
    values = dict(zip(names, row, strict=True))
    for name, value in values.items():
        if value is None:
            continue
        if name in _JSON:
            values[name] = json.loads(value)
        elif name in _TIMES:
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


@dataclass(frozen=True)
class InsertTask:
    """`create_task`'s transaction: refuse an unknown project or a known id, insert."""

    values: Mapping[str, Any]

    def __call__(self, conn: sqlite3.Connection) -> TaskRecord:
        pid, tid = self.values["project_id"], self.values["id"]
        project, task = conn.execute(_EXISTING, (pid, tid)).fetchone()
        if project is None:
            raise not_found("project", pid)
        if task is not None:
            raise ConflictError(f"A task with id {tid!r} already exists.")
        names = list(self.values)
        statement = (
            f"INSERT INTO tasks ({', '.join(names)}) "  # noqa: S608
            f"VALUES ({', '.join('?' * len(names))})"
        )
        try:
            conn.execute(statement, [encode(name, self.values[name]) for name in names])
        except sqlite3.IntegrityError as exc:
            raise ConflictError(f"A task with id {tid!r} already exists.") from exc
        return TaskRecord.model_validate({**self.values, "error": None, "result": None})


@dataclass(frozen=True)
class UpdateTask:
    """`update_task`'s transaction: one `UPDATE ... RETURNING`, as the Core statement.

    `sources`: with a guard, the statuses the task may move from (None: no guard).
    """

    task_id: str
    changes: Mapping[str, Any]
    sources: Sequence[str] | None

    def __call__(self, conn: sqlite3.Connection) -> TaskRecord:
        sets = [f"{name} = ?" for name in self.changes] + ["updated_at = ?"]
        now = utcnow()
        params = [encode(name, value) for name, value in self.changes.items()]
        params.append(sqlite_time(now))
        status = self.changes.get("status")
        if status in FINISHED_TASK_STATUSES:
            sets.append(
                f"finished_at = CASE WHEN status IN ({_FINISHED}) AND finished_at IS NOT NULL "
                "THEN finished_at ELSE ? END"
            )
            params.append(sqlite_time(now))
        elif status is not None:
            sets.append("finished_at = NULL")
        where = "id = ?"
        params.append(self.task_id)
        if self.sources is not None:
            where += f" AND status IN ({', '.join('?' * len(self.sources))})"
            params.extend(self.sources)
        statement = (
            f"UPDATE tasks SET {', '.join(sets)} WHERE {where} "  # noqa: S608
            f"RETURNING {_TASK_COLUMNS}"
        )
        row = conn.execute(statement, params).fetchone()
        if row is not None:
            return task_of(row, self.changes)
        current = conn.execute(TASK_BY_ID, (self.task_id,)).fetchone()
        if current is None:  # else the guard refused the move: nothing changed
            raise not_found("task", self.task_id)
        return task_of(current)


@dataclass(frozen=True)
class UpdateProject:
    """`update_project`'s transaction: one `UPDATE ... RETURNING`."""

    project_id: str
    changes: Mapping[str, Any]

    def __call__(self, conn: sqlite3.Connection) -> ProjectRecord:
        values = {**self.changes, "updated_at": utcnow()}
        sets = ", ".join(f"{name} = ?" for name in values)
        params = [encode(name, value) for name, value in values.items()]
        statement = (
            f"UPDATE projects SET {sets} WHERE id = ? "  # noqa: S608
            f"RETURNING {_PROJECT_COLUMNS}"
        )
        row = conn.execute(statement, [*params, self.project_id]).fetchone()
        if row is None:
            raise not_found("project", self.project_id)
        return project_of(row, self.changes)
