"""The process-wide runtime: settings, store, event log, models and the durable engine.

The engine keeps one instance per process, so the workflows (module-level functions)
reach the runtime through `current()`. Nothing happens at import: `boot.start_runtime()` opens
the store and launches the engine; `Runtime.stop()` shuts both down.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from forgeline.domain.errors import ForgelineError
from forgeline.events.log import EventLog
from forgeline.orchestrator import engine
from forgeline.orchestrator.ledger import Ledger
from forgeline.orchestrator.models import ModelFactory
from forgeline.settings import Settings
from forgeline.store import Store

log = logging.getLogger("forgeline.runtime")

_current: Runtime | None = None


def current() -> Runtime:
    """The started runtime of this process."""
    if _current is None:
        raise ForgelineError("the Forgeline runtime is not started in this process")
    return _current


def executor_id(role: str) -> str:
    """A process-unique DBOS executor id that also says how to check it is alive."""
    return f"{role}:{socket.gethostname()}:{os.getpid()}:{_process_start_ticks(os.getpid())}"


def executor_alive(executor: str) -> bool:
    """Whether the process behind an executor id still runs (same host only)."""
    parts = executor.split(":")
    if len(parts) != 4 or parts[1] != socket.gethostname():
        return executor != "local" and len(parts) == 4  # another host: assume alive
    pid, ticks = int(parts[2]), parts[3]
    return _process_start_ticks(pid) == ticks


def _process_start_ticks(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return "gone"
    return stat.rsplit(")", 1)[1].split()[19]


def system_database_url(settings: Settings) -> str:
    """DBOS's system database: SQLite beside ours, or the same PostgreSQL database."""
    url = settings.resolved_database_url()
    if url.startswith("sqlite"):
        return f"sqlite:///{settings.home / 'dbos.db'}"
    return url.replace("+asyncpg", "").replace("postgresql://", "postgresql+psycopg://", 1)


@dataclass
class Runtime:
    """Everything a workflow needs, started once per process."""

    settings: Settings
    store: Store
    events: EventLog
    role: str
    models: ModelFactory
    # asyncio tasks of the workflows running in this process, by workflow id (for pause).
    running: dict[str, asyncio.Task[object]] = field(default_factory=dict)
    # Model-call cost reservations against project budgets (orchestrator.budget).
    ledger: Ledger = field(default_factory=Ledger)

    async def stop(self) -> None:
        """Shut the engine down and close the store."""
        for task in list(self.running.values()):
            task.cancel()
        await asyncio.to_thread(engine.destroy)
        await self.events.bus.close()
        await self.store.close()
        set_current(None)


def set_current(runtime: Runtime | None) -> None:
    """Make `runtime` this process's runtime (`boot.start_runtime` does)."""
    global _current
    _current = runtime
