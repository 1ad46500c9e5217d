"""Applying the Alembic migrations in `forgeline/store/migrations` (no alembic.ini)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from forgeline.store.engine import WRITE_OPTION

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any constant: PostgreSQL advisory lock key serialising concurrent upgrades.
_PG_MIGRATION_LOCK = 0x46_4F_52_47_45


def alembic_config(*, url: str | None = None, connection: Connection | None = None) -> Config:
    """An Alembic configuration for our migrations.

    Args:
        url: Database URL, for use outside `open_store` (e.g. a developer running
            `alembic.command.revision(alembic_config(url=...), autogenerate=True)`).
        connection: An open connection the migrations run on, inside its transaction.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def upgrade_connection(connection: Connection) -> None:
    """Bring the schema to the newest revision, inside the connection's transaction.

    On PostgreSQL an advisory transaction lock makes processes that start together
    upgrade one after the other; on SQLite the write transaction does the same.
    """
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
    command.upgrade(alembic_config(connection=connection), "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Apply every pending migration (a no-op when the schema is current)."""
    async with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
        await connection.run_sync(upgrade_connection)
