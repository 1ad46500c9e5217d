"""Opening a store applies the migrations; URLs are normalised; SQLite is set up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from dbfixtures import make_project
from forgeline.domain.errors import UserError
from forgeline.store import normalize_database_url, open_store
from forgeline.store.engine import create_engine
from forgeline.store.migrate import alembic_config
from forgeline.store.models import Base

TABLES = {"projects", "repositories", "tasks", "questions", "events", "usage", "findings"}


def _schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_open_migrates_a_fresh_database_to_match_the_models(fresh_db_url: str) -> None:
    opened = await open_store(fresh_db_url)
    try:
        async with opened._engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert version == head
            names = await conn.run_sync(lambda c: set(c.dialect.get_table_names(c)))
            assert names >= TABLES
            assert await conn.run_sync(_schema_diff) == []
    finally:
        await opened.close()


async def test_concurrent_opens_of_a_fresh_database_all_succeed(fresh_db_url: str) -> None:
    stores = await asyncio.gather(*(open_store(fresh_db_url) for _ in range(3)))
    try:
        project = await make_project(stores[0])
        assert (await stores[2].get_project(project.id)).id == project.id
    finally:
        for opened in stores:
            await opened.close()


async def test_opening_twice_is_harmless_and_keeps_data(db_url: str) -> None:
    first = await open_store(db_url)
    try:
        await first.create_project(
            project_id="keep-me",
            feature_request="x",
            phases=["research"],
            workspace="/w",
            slug="x",
            branch="forgeline/x",
        )
    finally:
        await first.close()
    second = await open_store(db_url)
    try:
        assert (await second.get_project("keep-me")).feature_request == "x"
    finally:
        await second.close()


async def test_sqlite_file_gets_parent_directories_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "forgeline.db"
    opened = await open_store(f"sqlite:///{path}")
    try:
        assert path.is_file()
        async with opened._engine.connect() as conn:
            mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
            keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
            busy = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar()
        assert (mode, keys, busy) == ("wal", 1, 30000)
    finally:
        await opened.close()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@h:5432/db", "postgresql+asyncpg://u:***@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
        ("sqlite+aiosqlite:///rel.db", "sqlite+aiosqlite:///rel.db"),
    ],
)
def test_database_urls_are_normalised(given: str, expected: str) -> None:
    assert str(normalize_database_url(given)) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("sqlite://", "In-memory"),
        ("sqlite:///:memory:", "In-memory"),
        ("mysql://u@h/db", "Unsupported database URL scheme 'mysql'"),
        ("not a url", "Invalid database URL"),
    ],
)
async def test_bad_database_urls_are_user_errors(given: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        await open_store(given)


def test_developer_api_upgrades_and_downgrades(fresh_db_url: str) -> None:
    config = alembic_config(url=fresh_db_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    engine = create_engine(normalize_database_url(fresh_db_url))

    async def tables() -> set[str]:
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda c: set(c.dialect.get_table_names(c)))
        finally:
            await engine.dispose()

    assert asyncio.run(tables()) >= TABLES
