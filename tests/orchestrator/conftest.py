"""Fixtures of the orchestrator's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from forgeline.orchestrator.boot import start_runtime
from forgeline.orchestrator.service import Service
from forgeline.settings import Settings


@pytest.fixture
async def service(tmp_path: Path, database_url: str | None) -> AsyncIterator[Service]:
    """A started runtime's service on SQLite and on PostgreSQL (`database_url`)."""
    settings = Settings(home=tmp_path / "home", database_url=database_url)
    runtime = await start_runtime(settings, role="test")
    try:
        yield Service(runtime)
    finally:
        await runtime.stop()
