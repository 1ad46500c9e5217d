"""SQLite settings: DBOS's system database runs in WAL mode with synchronous=NORMAL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from forgeline.orchestrator.boot import start_runtime
from forgeline.settings import Settings
from forgeline.store.engine import WalConnection


def test_wal_connection_sets_wal_and_normal_sync(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    conn = sqlite3.connect(path, factory=WalConnection)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
    finally:
        conn.close()
    plain = sqlite3.connect(path)  # WAL persists in the file
    try:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        plain.close()


async def test_dbos_system_database_uses_wal_and_normal_sync(tmp_path: Path) -> None:
    from dbos._dbos import _get_dbos_instance

    settings = Settings(home=tmp_path / "home", database_url=None)
    runtime = await start_runtime(settings, role="test")
    try:
        engine = _get_dbos_instance()._sys_db.engine  # DBOS's own engine, as DBOS built it
        with engine.connect() as conn:
            assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(sa.text("PRAGMA synchronous")).scalar() == 1
    finally:
        await runtime.stop()
    plain = sqlite3.connect(settings.home / "dbos.db")
    try:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        plain.close()
