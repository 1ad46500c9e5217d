"""Alembic environment, configured in code (no alembic.ini).

`forgeline.store.migrate` passes an open connection in `config.attributes["connection"]`:
the migrations then run inside the caller's transaction. Without one (a developer
driving Alembic with `forgeline.store.migrate.alembic_config(url)`), the URL comes
from the `sqlalchemy.url` option and an engine is made here.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from forgeline.store.engine import create_engine, normalize_database_url
from forgeline.store.models import Base

target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine(url: str) -> None:
    engine = create_engine(normalize_database_url(url))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_configure)
    finally:
        await engine.dispose()


def _run_offline(url: str) -> None:
    context.configure(
        url=normalize_database_url(url).render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _configure(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("Set the `sqlalchemy.url` option or pass a connection.")
    if context.is_offline_mode():
        _run_offline(url)
    else:
        asyncio.run(_run_with_own_engine(url))


_main()
