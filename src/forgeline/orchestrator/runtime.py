"""The process-wide runtime: settings, store, event log and the DBOS engine.

DBOS keeps one engine per process, so the workflows (module-level functions) reach the
runtime through `current()`. Nothing happens at import: `Runtime.start()` opens the
store, configures DBOS and launches it; `stop()` shuts both down.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from forgeline import __version__
from forgeline.domain.errors import ForgelineError
from forgeline.events.bus import make_bus
from forgeline.events.log import EventLog
from forgeline.github import auth as github_auth
from forgeline.settings import Settings
from forgeline.store import Store, open_store
from forgeline.store.engine import WalConnection

if TYPE_CHECKING:
    from forgeline.orchestrator.budget import Ledger

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
    # asyncio tasks of the workflows running in this process, by workflow id (for pause).
    running: dict[str, asyncio.Task[object]] = field(default_factory=dict)
    # Model-call cost reservations against project budgets (orchestrator.budget).
    ledger: Ledger = field(default_factory=lambda: _ledger())

    @classmethod
    async def start(cls, settings: Settings, *, role: str, listen: bool = True) -> Runtime:
        """Open the store, launch DBOS and make this the process's runtime.

        Args:
            settings: Configuration.
            role: `cli`, `serve`, `resume`, `bench`: part of the executor id.
            listen: Whether this process takes queued (resumed, recovered) workflows.
        """
        global _current
        settings.home.mkdir(parents=True, exist_ok=True)
        github_auth.install(settings)  # GitHub tokens for git's credential helper (§13)
        store = await open_store(settings.resolved_database_url())
        bus = make_bus(store, settings.redis_url)
        runtime = cls(settings=settings, store=store, events=EventLog(store, bus), role=role)
        _current = runtime
        # Launched on this loop's thread so DBOS adopts this loop: recovered and resumed
        # workflows then run here, beside the store's connections (which are per loop).
        _launch_dbos(settings, role, listen)
        return runtime

    async def stop(self) -> None:
        """Shut DBOS down and close the store."""
        global _current
        for task in list(self.running.values()):
            task.cancel()
        await asyncio.to_thread(_destroy_dbos)
        await self.events.bus.close()
        await self.store.close()
        _current = None


def _ledger() -> Ledger:
    from forgeline.orchestrator.budget import Ledger

    return Ledger()


def _launch_dbos(settings: Settings, role: str, listen: bool) -> None:
    from dbos import DBOS

    from forgeline.github import iterate  # noqa: F401 (registers the review round)
    from forgeline.orchestrator import workflows  # noqa: F401 (registers the workflows)

    _quiet_dbos_logging(settings)
    url = system_database_url(settings)
    config = {
        "name": "forgeline",
        "system_database_url": url,
        "application_version": __version__,
        "executor_id": executor_id(role),
        "log_level": "CRITICAL",
        "notification_listener_polling_interval_sec": 0.1,
        "run_admin_server": False,
    }
    if url.startswith("sqlite"):
        config["db_engine_kwargs"] = _DBOS_SQLITE_ENGINE
    DBOS(config=config)  # type: ignore[arg-type]
    if not listen:
        DBOS.listen_queues([])
    started = time.monotonic()
    DBOS.launch()
    log.debug("DBOS launched in %.3f s", time.monotonic() - started)


# DBOS's SQLite system database in WAL mode with synchronous=NORMAL, like ours (its
# default is a rollback journal with full sync: ~4 fsyncs per step). The pool
# settings repeat DBOS's defaults, which `db_engine_kwargs` replaces.
_DBOS_SQLITE_ENGINE = {
    "connect_args": {"factory": WalConnection},
    "pool_timeout": 30,
    "max_overflow": 0,
    "pool_size": 20,
    "pool_pre_ping": True,
}


def _destroy_dbos() -> None:
    from dbos import DBOS

    DBOS.destroy(destroy_registry=False)
    logger = logging.getLogger("dbos")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


def _quiet_dbos_logging(settings: Settings) -> None:
    """DBOS logs tracebacks of cancelled workflows; keep them out of the user's terminal."""
    logger = logging.getLogger("dbos")
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.FileHandler(settings.home / "dbos.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
