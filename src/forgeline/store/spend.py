"""Cheap reads of one project row: the budget check's (budget and spend, before every
model call) and the event bus's (`last_seq`, polled once a second per project).

The spend is a column (`projects.spent_usd`, raised in the transaction that inserts
each usage row), and the newest event's number another (`projects.last_seq`), so a
read is one row by primary key. On SQLite it runs on a plain
`sqlite3` connection of this thread, in autocommit: in WAL mode a reader takes no
lock a writer holds, and the statement is its own read transaction, seeing every
commit so far (this process's writer thread's and other processes'), where the
async engine's way costs several thread hops (BEGIN, the statement, COMMIT). The
connection has no busy timeout, so the event loop never waits on a lock: in the rare
case SQLite answers busy, the read goes through the engine (waiting on its thread).

On PostgreSQL the statement runs in autocommit on a connection of its own, held open:
one round trip, where a transaction of the engine takes six (its pre-ping's BEGIN,
`;` and ROLLBACK, then BEGIN, the statement and COMMIT).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from forgeline.store.models import ProjectRow

_PROJECTS = cast(Table, ProjectRow.__table__)
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


@dataclass(frozen=True)
class _Query:
    """One read of a project's columns, as Core (the engine's) and as each driver's SQL."""

    core: Select[Any]
    sqlite: str
    postgres: str


def _query(columns: str) -> _Query:
    """The read of `columns` (a constant of this module: `a, b`) of one project."""
    core = select(*(_PROJECTS.c[name] for name in columns.split(", ")))
    return _Query(
        core=core.where(_PROJECTS.c.id == bindparam("pid")),
        sqlite="SELECT " + columns + " FROM projects WHERE id = ?",  # noqa: S608
        postgres="SELECT " + columns + " FROM projects WHERE id = $1",  # noqa: S608
    )


_SPEND = _query("max_cost_usd, spent_usd")
_LAST_SEQ = _query("last_seq")


@dataclass(frozen=True, kw_only=True)
class Spend:
    """A project's budget (None: no limit) and what its model calls have cost so far."""

    max_cost_usd: float | None
    spent_usd: float


def _spend_of(row: Any) -> Spend | None:
    return None if row is None else Spend(max_cost_usd=row[0], spent_usd=float(row[1]))


class SpendReader:
    """Reads a project's `Spend` or `last_seq` for one store (its engine's database)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite: _SqliteRead | None = None
        self._postgres: _PostgresRead | None = None
        if engine.dialect.name == "sqlite":
            self._sqlite = _SqliteRead(engine.url.database or "")
        else:
            self._postgres = _PostgresRead(engine)

    async def read(self, project_id: str) -> Spend | None:
        """The project's budget and spend (None: there is no such project)."""
        return _spend_of(await self._row(_SPEND, project_id))

    async def last_seq(self, project_id: str) -> int | None:
        """The project's newest event's `seq` (None: there is no such project)."""
        row = await self._row(_LAST_SEQ, project_id)
        return None if row is None else int(row[0])

    def local_rows(self, sql: str, params: Sequence[Any]) -> list[Any] | None:
        """SQLite: the rows of a read on this thread's connection; None when SQLite
        answers busy (read through the engine instead)."""
        try:
            return cast(_SqliteRead, self._sqlite).rows(sql, params)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF not in (_SQLITE_BUSY, _SQLITE_LOCKED):
                raise
        return None

    async def _row(self, query: _Query, project_id: str) -> Any:
        if self._postgres is not None:
            return await self._postgres.row(query.postgres, project_id)
        rows = self.local_rows(query.sqlite, (project_id,))
        if rows is not None:
            return rows[0] if rows else None
        async with self._engine.connect() as conn:  # waits on the engine's thread
            return (await conn.execute(query.core, {"pid": project_id})).one_or_none()

    async def close(self) -> None:
        """Close its own connection (a later read opens another)."""
        if self._sqlite is not None:
            self._sqlite.close()
        if self._postgres is not None:
            await self._postgres.close()


class _PostgresRead:
    """One connection of its own, opened like the engine's, for one query at a time.

    It is asyncpg's (the engine's driver), in autocommit, used directly: no pool, no
    ping, no SQLAlchemy execution. It belongs to the event loop it was opened in (as
    the store does); on any failure it is dropped and the read tried once on a new one.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._opener = create_async_engine(
            engine.url, isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        self._held: AsyncConnection | None = None
        self._driver: Any = None  # the held connection's asyncpg.Connection
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()

    async def row(self, sql: str, project_id: str) -> Any:
        async with self._lock:
            try:
                return await (await self._connection()).fetchrow(sql, project_id)
            except Exception:
                await self._drop()  # closed by the server, a restart, a cancelled query...
            return await (await self._connection()).fetchrow(sql, project_id)

    async def close(self) -> None:
        async with self._lock:
            await self._drop()
        await self._opener.dispose()

    async def _connection(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._driver is not None and self._loop is not loop:
            with contextlib.suppress(Exception):  # of a loop that is gone: no waiting
                self._driver.terminate()
            self._held = self._driver = None
        if self._driver is None:
            self._held = await self._opener.connect()
            self._driver = (await self._held.get_raw_connection()).driver_connection
            self._loop = loop
        return self._driver

    async def _drop(self) -> None:
        held, self._held, self._driver = self._held, None, None
        if held is not None:
            with contextlib.suppress(Exception):  # it may be broken already
                await held.close()


class _SqliteRead:
    """One `sqlite3` connection (opened on first use), used by one thread at a time."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._lock:
            if self._conn is None:
                self._conn = _connect(self._path)
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA query_only=ON")
    return conn
