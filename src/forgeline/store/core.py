"""Transactions for `Store`: read/write sessions, SQLite write serialisation, retries."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from forgeline.domain.errors import NotFoundError, UserError
from forgeline.store.engine import WRITE_OPTION
from forgeline.store.finish import BAD_TEXT_SQLSTATES, bad_text, finished
from forgeline.store.pgwriter import PostgresWriter
from forgeline.store.spend import SpendReader
from forgeline.store.writer import SqliteWriter

T = TypeVar("T")
SessionFn = Callable[[AsyncSession], Awaitable[T]]
ConnectionFn = Callable[[AsyncConnection], Awaitable[T]]

MAX_ATTEMPTS = 8
_TRANSIENT_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
_SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_id(value: str, *, kind: str) -> str:
    """Return `value` if it is a valid id (letters, digits, `.`, `_`, `-`; ≤ 64 chars).

    Raises:
        UserError: It is not.
    """
    if not _ID_PATTERN.match(value):
        raise UserError(
            f"Invalid {kind} id {value!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return value


def not_found(kind: str, ident: object) -> NotFoundError:
    """The error for a missing row."""
    return NotFoundError(f"No {kind} with id {ident!r}.")


def is_bad_text(exc: DBAPIError) -> bool:
    """PostgreSQL refused a string (a NUL byte, or bytes invalid in UTF-8)."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code in BAD_TEXT_SQLSTATES


def is_transient(exc: DBAPIError) -> bool:
    """Whether a database error is worth retrying (lock contention, deadlock, or a
    connection the server dropped: the pool has thrown it away)."""
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _TRANSIENT_SQLSTATES:
        return True
    message = str(orig).lower()
    return any(text in message for text in _SQLITE_BUSY)


class StoreCore:
    """The engine and the transaction helpers every part of `Store` uses.

    A `Store` belongs to the event loop it is used from (like its engine).
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._is_sqlite = engine.dialect.name == "sqlite"
        self._reader = async_sessionmaker(engine, expire_on_commit=False)
        self._write_engine = engine.execution_options(**{WRITE_OPTION: True})
        self._writer = async_sessionmaker(self._write_engine, expire_on_commit=False)
        self._write_locks: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            WeakKeyDictionary()
        )
        database = engine.url.database or ""
        self._sqlite_writer = SqliteWriter(database) if self._is_sqlite else None
        self._pg_writer = None if self._is_sqlite else PostgresWriter(engine.url)
        self._spend_reader = SpendReader(engine)

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self._engine.dialect.name

    async def close(self) -> None:
        """Stop the SQLite writer thread (after its queued writes); close every connection."""
        if self._sqlite_writer is not None:
            await self._sqlite_writer.close()
        if self._pg_writer is not None:
            await self._pg_writer.close()
        await self._spend_reader.close()
        await self._engine.dispose()

    async def _read(self, fn: SessionFn[T]) -> T:
        """Run `fn` in a read transaction."""
        return await self._run(self._reader, fn)

    async def _read_core(self, fn: ConnectionFn[T]) -> T:
        """Run `fn` in a read transaction on a bare connection (Core, no ORM session)."""

        async def once() -> T:
            async with self._engine.begin() as conn:
                return await fn(conn)

        return await _retrying(once)

    async def _write(self, fn: SessionFn[T]) -> T:
        """Run `fn` in a write transaction, committed when it returns.

        On SQLite, writers of this process queue on an asyncio lock and take the
        database's write lock at BEGIN; other processes wait on the busy timeout.
        """
        if not self._is_sqlite:
            return await finished(self._run(self._writer, fn))
        return await finished(self._locked(lambda: self._run(self._writer, fn)))

    async def _write_core(self, fn: ConnectionFn[T]) -> T:
        """Like `_write`, on a bare connection (SQLAlchemy Core, no ORM session).

        For the hot paths (events, usage): Core statements on a connection skip the
        session's unit of work and identity map.
        """

        async def run() -> T:
            return await _retrying(lambda: self._in_connection(fn))

        if not self._is_sqlite:
            return await finished(run())
        return await finished(self._locked(run))

    async def _locked(self, run: Callable[[], Awaitable[T]]) -> T:
        async with self._write_lock():
            return await run()

    async def _in_connection(self, fn: ConnectionFn[T]) -> T:
        async with self._write_engine.begin() as conn:
            return await fn(conn)

    def _write_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            lock = self._write_locks[loop] = asyncio.Lock()
        return lock

    async def _run(self, maker: async_sessionmaker[AsyncSession], fn: SessionFn[T]) -> T:
        async def once() -> T:
            async with maker() as session, session.begin():
                return await fn(session)

        return await _retrying(once)


async def _retrying(attempt_fn: Callable[[], Awaitable[T]]) -> T:
    """Run a transaction, retrying it on transient errors (lock contention, deadlock)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return await attempt_fn()
        except DBAPIError as exc:
            if is_bad_text(exc):
                raise bad_text() from None
            if attempt >= MAX_ATTEMPTS or not is_transient(exc):
                raise
        await asyncio.sleep(min(0.02 * 2**attempt, 1.0))
