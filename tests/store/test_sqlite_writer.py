"""The SQLite writer thread: group commit, one failing transaction alone rolled back."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from forgeline.store.writer import SqliteWriter, connect


def _table(path: Path) -> None:
    conn = connect(str(path))
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
    conn.close()


def _rows(path: Path) -> list[tuple[int, str]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute("SELECT k, v FROM t ORDER BY k"))
    finally:
        conn.close()


def _insert(k: int) -> Callable[[sqlite3.Connection], int]:
    def work(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO t VALUES (?, ?)", (k, f"v{k}"))
        return k

    return work


async def test_concurrent_writes_commit_and_a_failing_one_is_rolled_back_alone(
    tmp_path: Path,
) -> None:
    path = tmp_path / "w.db"
    _table(path)
    writer = SqliteWriter(str(path))

    def failing(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t VALUES (?, ?)", (1000, "gone"))
        raise ValueError("refused")

    try:
        jobs = [writer.run(_insert(k)) for k in range(50)]
        results = await asyncio.gather(
            *jobs[:25], writer.run(failing), *jobs[25:], return_exceptions=True
        )
    finally:
        await writer.close()
    assert [r for r in results if isinstance(r, int)] == list(range(50))
    errors = [r for r in results if isinstance(r, BaseException)]
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    assert _rows(path) == [(k, f"v{k}") for k in range(50)]  # 1000 was rolled back


async def test_a_cancelled_caller_still_commits_and_close_drains_the_queue(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    _table(path)
    writer = SqliteWriter(str(path))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer waits on the busy timeout meanwhile
    waiting = asyncio.ensure_future(writer.run(_insert(7)))
    await asyncio.sleep(0.2)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    blocker.execute("COMMIT")
    blocker.close()
    await writer.close()
    assert _rows(path) == [(7, "v7")]
