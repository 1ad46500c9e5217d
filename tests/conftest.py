"""Suite-wide fixtures: workflow tests run against SQLite and a fresh PostgreSQL database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from dbfixtures import PG_ADMIN_URL, _database_url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the embedded SQLite default, else the URL of a new PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    name = f"fl_e2e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield _database_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
