"""Database fixtures for the whole suite: a SQLite file and a throwaway PostgreSQL database.

Import the fixtures into a conftest to use them (all four: `db_url` needs
`postgres_session_database`)::

    from dbfixtures import db_url, fresh_db_url, postgres_session_database, store

`db_url` is parametrised over both back ends. SQLite: a new file per test.
PostgreSQL: each test session creates its own uniquely named database, migrated
once and dropped at the end (so concurrent runs never collide), and every test
starts with it emptied (`DELETE FROM projects` cascades to every table): creating a
database per test costs 0.2-0.4 s, emptying it a few milliseconds.
`fresh_db_url` gives a brand-new, unmigrated database of each kind instead.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import asyncpg
import psycopg
import pytest
from sqlalchemy.engine import make_url

from forgeline.store import NewRepository, ProjectRecord, Store, open_store

PG_ADMIN_URL = os.environ.get(
    "FORGELINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("FORGELINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE_KINDS = ("sqlite", "postgresql")


def _database_url(name: str) -> str:
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def _admin_execute(statement: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(statement.encode())


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database; yields its URL and drops it afterwards."""
    name = f"fl_test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _database_url(name)
    finally:
        admin = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def terminate_other_backends(url: str) -> int:
    """Have the server drop every other connection to the database at `url` (as a
    restart would); how many it dropped."""
    conn = await asyncpg.connect(url)
    try:
        query = (
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return int(await conn.fetchval(query))
    finally:
        await conn.close()


async def _migrate(url: str) -> None:
    opened = await open_store(url)
    await opened.close()


@pytest.fixture(scope="session")
def postgres_session_database() -> Iterator[str]:
    """The name of this session's PostgreSQL database, migrated; dropped at the end."""
    name = f"fl_test_session_{uuid.uuid4().hex[:16]}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    try:
        # A thread of its own: no event loop may be running where asyncio.run is called.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, _migrate(_database_url(name))).result()
        yield name
    finally:
        _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _emptied(name: str) -> str:
    url = _database_url(name)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET lock_timeout = '10s'")
        await conn.execute("DELETE FROM projects")
    finally:
        await conn.close()
    return url


def sqlite_url(directory: Path) -> str:
    """The URL of a SQLite database file inside `directory`."""
    return f"sqlite:///{directory / 'forgeline.db'}"


@asynccontextmanager
async def database_url(kind: str, directory: Path) -> AsyncIterator[str]:
    """A new, empty database of `kind` (`sqlite` or `postgresql`); yields its URL."""
    if kind == "sqlite":
        yield sqlite_url(directory)
        return
    async with postgres_database() as url:
        yield url


@pytest.fixture(params=DATABASE_KINDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database for this test, once per back end.

    The PostgreSQL one is already migrated and is reused (emptied) between tests.
    """
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    return await _emptied(request.getfixturevalue("postgres_session_database"))


@pytest.fixture(params=DATABASE_KINDS)
async def fresh_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of a new, empty database (no tables), once per back end."""
    async with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """An open, migrated `Store` on an empty database (both back ends)."""
    opened = await open_store(db_url)
    try:
        yield opened
    finally:
        await opened.close()


async def make_project(
    store: Store,
    *,
    project_id: str | None = None,
    feature_request: str = "Add a --verbose flag",
    repositories: tuple[NewRepository, ...] = (),
) -> ProjectRecord:
    """A project with plausible defaults."""
    return await store.create_project(
        project_id=project_id,
        feature_request=feature_request,
        phases=["research", "planning", "implementation"],
        workspace="/tmp/forgeline-test/workspace",
        slug="add-a-verbose-flag",
        branch="forgeline/add-a-verbose-flag",
        repositories=repositories,
    )


@contextmanager
def postgres_or_sqlite(kind: str) -> Iterator[str | None]:
    """None for SQLite; for "postgresql" a new database, dropped afterwards."""
    if kind == "sqlite":
        yield None
        return
    name = f"fl_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield _database_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
