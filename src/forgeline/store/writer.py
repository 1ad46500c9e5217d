"""One SQLite writer thread per store: the hot writes (events), group-committed.

An event written through SQLAlchemy's async layer costs five thread hops (BEGIN, two
statements, COMMIT, the connection's return) and holds the process's write lock
across each of them. Here a caller hands its transaction (a plain function of a
`sqlite3` connection) to the writer thread and awaits one future; the thread takes
every transaction queued meanwhile, runs each in its own savepoint inside one
`BEGIN IMMEDIATE ... COMMIT`, and settles the futures only after the commit. So no
lock is held across an await, and N concurrent writers cost one commit.

Durability is unchanged: a caller learns of its write only once it is committed (in
the WAL, which survives a killed process); a transaction that raises is rolled back to
its savepoint alone, and the others in its group still commit. A caller cancelled
while its transaction is queued does not stop it (it commits, as `finish.finished` ensures
for the other writes). Other processes, and this process's ORM writers, take SQLite's
write lock in turn with the busy timeout, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from typing import Any, Generic, TypeVar

from forgeline.store.engine import SQLITE_BUSY_TIMEOUT_S

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]

MAX_GROUP = 256
"""At most this many transactions share one commit."""


@dataclass
class _Job(Generic[T]):
    work: Work[T]
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop


def connect(path: str) -> sqlite3.Connection:
    """A connection set up as the engine's (`engine._on_sqlite_connect`), for this thread."""
    conn = sqlite3.connect(
        path, timeout=SQLITE_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class SqliteWriter:
    """The writer thread of one SQLite database (started on first use)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._queue: SimpleQueue[_Job[Any] | None] = SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._on_stop: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    async def run(self, work: Work[T]) -> T:
        """Run `work` in a write transaction on the writer thread; its result once committed.

        Raises:
            Exception: What `work` raised (its changes rolled back), or the error of
                the group's BEGIN or COMMIT (nothing of the group was written).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._ensure_started()
        self._queue.put(_Job(work, future, loop))
        return await future

    async def close(self) -> None:
        """Finish the queued transactions, then stop the thread and close its connection.

        Waits without blocking the event loop and without an executor (DBOS shuts the
        loop's default one down before the store is closed): the thread says when done.
        """
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is None:
            return
        loop = asyncio.get_running_loop()
        stopped: asyncio.Future[None] = loop.create_future()
        self._on_stop = (loop, stopped)
        self._queue.put(None)
        await stopped

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                conn = connect(self._path)
                self._thread = threading.Thread(
                    target=self._serve, args=(conn,), name="forgeline-sqlite-writer", daemon=True
                )
                self._thread.start()

    def _serve(self, conn: sqlite3.Connection) -> None:
        try:
            while (group := self._next_group()) is not None:
                _commit_group(conn, group)
        finally:
            conn.close()
            if self._on_stop is not None:
                loop, stopped = self._on_stop
                with contextlib.suppress(RuntimeError):  # its loop is closed
                    loop.call_soon_threadsafe(_settle, stopped, None, None)

    def _next_group(self) -> list[_Job[Any]] | None:
        """The next transactions to commit together (None: stop)."""
        first = self._queue.get()
        if first is None:
            return None
        group = [first]
        while len(group) < MAX_GROUP:
            try:
                job = self._queue.get_nowait()
            except Empty:
                break
            if job is None:
                self._queue.put(None)  # stop after this group
                break
            group.append(job)
        return group


def _commit_group(conn: sqlite3.Connection, group: list[_Job[Any]]) -> None:
    """Run each job in its savepoint, commit once, then settle every future."""
    outcomes: list[tuple[Any, BaseException | None]] = []
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            outcomes = [_in_savepoint(conn, job.work) for job in group]
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    except Exception as exc:  # the group's transaction failed: nothing was written
        outcomes = [(None, exc)] * len(group)
    for job, (result, error) in zip(group, outcomes, strict=True):
        # RuntimeError: its event loop is closed, so nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            job.loop.call_soon_threadsafe(_settle, job.future, result, error)


def _in_savepoint(conn: sqlite3.Connection, work: Work[Any]) -> tuple[Any, BaseException | None]:
    conn.execute("SAVEPOINT job")
    try:
        result = work(conn)
    except Exception as exc:
        conn.execute("ROLLBACK TO job")
        conn.execute("RELEASE job")
        return None, exc
    conn.execute("RELEASE job")
    return result, None


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # its caller was cancelled; the transaction ran all the same
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
