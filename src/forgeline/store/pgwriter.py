"""The hot writes on PostgreSQL (events, usage, step records): one statement, one round trip.

A transaction through SQLAlchemy's async engine costs at least three round trips
(BEGIN, the statements, COMMIT) and its compile and greenlet machinery on every
call. These writes are instead single statements (data-modifying CTEs where several
tables change together), run in autocommit on asyncpg connections of their own: the
statement is its own transaction, atomic, committed when it returns.

The pool belongs to the event loop it was opened in (as the store does), and opens
on first use. A write runs to its end even when its caller is cancelled (a pause),
so no statement is cut off; a connection the server dropped is replaced and the
statement tried once more.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from sqlalchemy.engine import URL

from forgeline.store.finish import BAD_TEXT_SQLSTATES, bad_text, finished

POOL_MAX = 10
"""Connections at most: one statement each, so a few serve many projects."""

# A connection the server closed: asyncpg raises one of these on its next use (an
# `InternalClientError` when the server's notice arrived while it was idle).
_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
    OSError,
)


def driver_dsn(url: URL) -> str:
    """The asyncpg DSN of a SQLAlchemy `postgresql+asyncpg://` URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _keep_session(_connection: asyncpg.Connection) -> None:
    """What a connection returned to the pool needs beyond a rollback: nothing.

    These statements leave no session state (no LISTEN, advisory lock, cursor or
    SET), and asyncpg's default reset (`pg_advisory_unlock_all()`, `CLOSE ALL`,
    `UNLISTEN *`, `RESET ALL`) was one more round trip after every statement.
    """


class PostgresWriter:
    """A small asyncpg pool for single-statement writes, in autocommit."""

    def __init__(self, url: URL) -> None:
        self._dsn = driver_dsn(url)
        self._pool: asyncpg.Pool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening = asyncio.Lock()

    async def fetchrow(self, statement: str, *args: object) -> Any:
        """Run one statement in its own transaction; its first row (None: no row).

        Raises:
            UserError: The text cannot be stored (a NUL byte, invalid UTF-8).
            asyncpg.PostgresError: What the statement raised (nothing was written).
        """
        return await finished(self._run("fetchrow", statement, args))

    async def fetch(self, statement: str, *args: object) -> list[Any]:
        """Run one read in its own transaction; all its rows.

        Raises:
            asyncpg.PostgresError: What the statement raised.
        """
        rows: list[Any] = await finished(self._run("fetch", statement, args))
        return rows

    async def close(self) -> None:
        """Close the pool (a later write opens another)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _run(self, method: str, statement: str, args: tuple[object, ...]) -> Any:
        try:
            try:
                return await getattr(await self._get_pool(), method)(statement, *args)
            except _LOST:
                await self._reset()  # the server dropped it, or restarted: once more
            return await getattr(await self._get_pool(), method)(statement, *args)
        except asyncpg.PostgresError as exc:
            if getattr(exc, "sqlstate", None) in BAD_TEXT_SQLSTATES:
                raise bad_text() from None
            raise

    async def _get_pool(self) -> asyncpg.Pool:
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._loop is loop:
            return self._pool
        async with self._opening:
            if self._pool is None or self._loop is not loop:
                if self._pool is not None:
                    self._pool.terminate()  # of a loop that is gone: no waiting
                self._pool = await asyncpg.create_pool(
                    self._dsn, min_size=1, max_size=POOL_MAX, reset=_keep_session
                )
                self._loop = loop
        return self._pool

    async def _reset(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.terminate()
