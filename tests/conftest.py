"""Suite-wide fixtures: workflow tests run against SQLite and a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dbfixtures import postgres_or_sqlite


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the embedded SQLite default, else the URL of a new PostgreSQL database."""
    with postgres_or_sqlite(request.param) as url:
        yield url
