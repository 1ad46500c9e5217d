"""Database URLs, the async engine, and SQLite connection settings."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from forgeline.domain.errors import UserError

SQLITE_BUSY_TIMEOUT_S = 30.0
# Execution option asking for `BEGIN IMMEDIATE` (take SQLite's write lock up front).
WRITE_OPTION = "forgeline_write"

_POSTGRES_DRIVERS = {"postgresql", "postgres", "postgresql+asyncpg", "postgresql+psycopg"}
_POSTGRES_DRIVERS |= {"postgresql+psycopg2", "postgres+asyncpg"}
_SQLITE_DRIVERS = {"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"}


def normalize_database_url(url: str) -> URL:
    """The async SQLAlchemy URL for a database URL given by the user.

    Accepts `sqlite:///path`, `sqlite+aiosqlite:///path`, `postgresql://...`,
    `postgres://...` and `postgresql+asyncpg://...` (and `+psycopg`): PostgreSQL is
    always driven by asyncpg and SQLite by aiosqlite.

    Raises:
        UserError: The URL is malformed, names another database, or asks for an
            in-memory SQLite database (each connection would see its own).
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UserError(f"Invalid database URL {url!r}: {exc}") from exc
    driver = parsed.drivername
    if driver in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+asyncpg")
    if driver in _SQLITE_DRIVERS:
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            raise UserError(
                "In-memory SQLite databases are not supported; give a file path, "
                "e.g. sqlite:///path/to/forgeline.db"
            )
        return parsed.set(drivername="sqlite+aiosqlite")
    raise UserError(
        f"Unsupported database URL scheme {driver!r}: use sqlite:///<path> or postgresql://..."
    )


def create_engine(url: URL) -> AsyncEngine:
    """An async engine for a normalised URL, with SQLite set up for concurrent use."""
    if url.get_backend_name() != "sqlite":
        # Many projects in one process each hold a connection per transaction; the
        # default pool (5 + 10, 30 s) ran out with 20 projects on a loaded machine.
        # No pre-ping (a round trip before every transaction): a connection the server
        # dropped fails its transaction as "invalidated", which is retried on a new one
        # (`core.is_transient`).
        return create_async_engine(url, pool_size=10, max_overflow=20, pool_timeout=120)
    database = Path(url.database or "").expanduser()
    database.parent.mkdir(parents=True, exist_ok=True)
    url = url.set(database=str(database))
    engine = create_async_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S},
        pool_size=8,
        max_overflow=8,
        pool_timeout=120,
    )
    event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let us issue BEGIN ourselves (see `_on_sqlite_begin`) instead of the driver's
    # implicit, deferred one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # The busy timeout first: switching a fresh file to WAL takes a lock that another
        # process opening the same database may hold for a moment.
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


WAL_ATTEMPTS, WAL_RETRY_S = 100, 0.02


def _switch_to_wal(cursor: Any) -> None:
    """`PRAGMA journal_mode=WAL`, retried while another connection holds the file.

    SQLite does not always call the busy handler for this switch: on a fresh file that
    several stores open at once it can fail at once with "database is locked". Once
    the file is in WAL mode (which persists) the statement changes nothing and
    returns at once.
    """
    for attempt in range(WAL_ATTEMPTS):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # the driver's OperationalError, wrapped by SQLAlchemy
            if "locked" not in str(exc) or attempt == WAL_ATTEMPTS - 1:
                raise
            time.sleep(WAL_RETRY_S)


def _on_sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock at BEGIN, so the busy timeout applies: a deferred
    # transaction upgrading from read to write would fail at once with SQLITE_BUSY.
    if conn.get_execution_options().get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


class WalConnection(sqlite3.Connection):
    """A `sqlite3` connection in WAL mode with `synchronous=NORMAL` (as ours).

    For engines we do not create (DBOS's system database): pass it as the
    `factory` connect argument. WAL with NORMAL sync still survives a killed process
    (a commit is in the WAL before it returns); only an OS crash can lose the last
    commits. Setting WAL is a no-op once the file is in WAL mode (it persists).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        self.execute("PRAGMA journal_mode=WAL")
        self.execute("PRAGMA synchronous=NORMAL")
