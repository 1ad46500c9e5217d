"""What every write path of the store shares (the engine's, the SQLite writer's callers,
`PostgresWriter`): a write runs to its end when its caller is cancelled, and text the
database refuses is a clear error."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from forgeline.domain.errors import UserError

T = TypeVar("T")

BAD_TEXT_SQLSTATES = frozenset({"22021", "22P05"})
"""PostgreSQL's codes for a NUL byte and for bytes invalid in UTF-8."""


def bad_text() -> UserError:
    """The error for text the database refuses."""
    return UserError("text with a NUL byte or an invalid character cannot be stored")


async def finished(transaction: Awaitable[T]) -> T:
    """Run a write transaction to its end even when the caller is cancelled.

    A pause cancels a task at whatever it awaits; a transaction cut there would leave
    its connection inside BEGIN IMMEDIATE, holding SQLite's write lock, and every later
    writer (the pause itself included) would wait on it. The caller still sees its
    cancellation at once; the transaction commits or rolls back on its own.
    """
    task = asyncio.ensure_future(transaction)
    task.add_done_callback(_retrieve)
    return await asyncio.shield(task)


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: a caller that was cancelled does not read it
