"""The budget check's read: a project's budget and spend, cheap enough for every model call.

The spend is a column (`projects.spent_usd`, raised in the transaction that inserts
each usage row), so the read is one row by primary key. On SQLite it runs on a plain
`sqlite3` connection of this thread, in autocommit: in WAL mode a reader takes no
lock a writer holds, and the statement is its own read transaction, seeing every
commit so far (this process's writer thread's and other processes'). The async
X
return). The connection has no busy timeout, so the event loop never waits on a
lock: in the rare case SQLite answers busy, the read goes through the engine.

On PostgreSQL the statement runs in autocommit on a small pool of its own without
the engine's pre-ping: one round trip, where the engine's transaction takes six (the
ping's BEGIN, `;` and ROLLBACK, then BEGIN, the statement and COMMIT). A connection
found dead is dropped by SQLAlchemy, and the read is tried once more on a new one.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from forgeline.store.models import ProjectRow

_PROJECTS = cast(Table, ProjectRow.__table__)
_QUERY = select(_PROJECTS.c.max_cost_usd, _PROJECTS.c.spent_usd).where(
    _PROJECTS.c.id == bindparam("pid")
)
_SQLITE_QUERY = "SELECT max_cost_usd, spent_usd FROM projects WHERE id = ?"
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


@dataclass(frozen=True, kw_only=True)
class Spend:
    """A project's budget (None: no limit) and what its model calls have cost so far."""

    max_cost_usd: float | None
    spent_usd: float


def _spend_of(row: Any) -> Spend | None:
    return None if row is None else Spend(max_cost_usd=row[0], spent_usd=float(row[1]))


class SpendReader:
    """Reads `Spend` rows for one store (its engine's database)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite: _SqliteRead | None = None
        self._postgres: AsyncEngine | None = None
        if engine.dialect.name == "sqlite":
            self._sqlite = _SqliteRead(engine.url.database or "")
        else:
            self._postgres = create_async_engine(
                engine.url, isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=8
            )

    async def read(self, project_id: str) -> Spend | None:
        """The project's budget and spend (None: there is no such project)."""
        if self._sqlite is None:
            return await _postgres_read(cast(AsyncEngine, self._postgres), project_id)
        try:
            return _spend_of(self._sqlite.row(project_id))
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in (_SQLITE_BUSY, _SQLITE_LOCKED):
                raise
        return await _engine_read(self._engine, project_id)  # waits on the engine's thread

    async def close(self) -> None:
        """Close its own connections (a later read opens others)."""
        if self._sqlite is not None:
            self._sqlite.close()
        if self._postgres is not None:
            await self._postgres.dispose()


async def _engine_read(engine: AsyncEngine, project_id: str) -> Spend | None:
    async with engine.connect() as conn:
        return _spend_of((await conn.execute(_QUERY, {"pid": project_id})).one_or_none())


async def _postgres_read(engine: AsyncEngine, project_id: str) -> Spend | None:
    try:
        return await _engine_read(engine, project_id)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return await _engine_read(engine, project_id)  # on a new connection


class _SqliteRead:
    """One `sqlite3` connection (opened on first use), used by one thread at a time."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def row(self, project_id: str) -> Any:
        with self._lock:
            if self._conn is None:
                self._conn = _connect(self._path)
            return self._conn.execute(_SQLITE_QUERY, (project_id,)).fetchone()

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA query_only=ON")
    return conn
