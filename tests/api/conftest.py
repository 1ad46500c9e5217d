"""Fixtures: one real server per test module, and a fresh git repository per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from dbfixtures import postgres_or_sqlite

from .server import Server, make_git_repo


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The API tests run against a server on SQLite and one on a fresh PostgreSQL database."""
    with postgres_or_sqlite(request.param) as database_url:
        running = Server(tmp_path_factory.mktemp("home"), database_url=database_url)
        yield running
        running.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx2.Client]:
    with server.client() as http:
        yield http


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_git_repo(tmp_path / "repo")
