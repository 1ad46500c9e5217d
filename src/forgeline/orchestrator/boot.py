"""Starting the runtime: open the store, register the workflows, launch the engine.

This is the module that knows every workflow (it imports `workflows`, which registers
them), so `runtime` itself stays below everything that uses it.
"""

from __future__ import annotations

from forgeline import __version__
from forgeline.events.bus import make_bus
from forgeline.events.log import EventLog
from forgeline.github import auth as github_auth
from forgeline.orchestrator import (
    engine,
    workflows,  # noqa: F401  (importing it registers them)
)
from forgeline.orchestrator.models import ModelFactory
from forgeline.orchestrator.runtime import Runtime, executor_id, set_current, system_database_url
from forgeline.settings import Settings
from forgeline.store import open_store


async def start_runtime(settings: Settings, *, role: str, listen: bool = True) -> Runtime:
    """Open the store, launch the engine and make this the process's runtime.

    Args:
        settings: Configuration.
        role: `cli`, `serve`, `resume`, `bench`: part of the executor id.
        listen: Whether this process takes queued (resumed, recovered) workflows.
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    github_auth.install(settings)  # GitHub tokens for git's credential helper (§13)
    store = await open_store(settings.resolved_database_url())
    bus = make_bus(store, settings.redis_url)
    runtime = Runtime(
        settings=settings,
        store=store,
        events=EventLog(store, bus),
        role=role,
        models=ModelFactory(settings, store),
    )
    set_current(runtime)
    # Launched on this loop's thread so the engine adopts this loop: recovered and resumed
    # workflows then run here, beside the store's connections (which are per loop).
    engine.launch(
        engine.EngineConfig(
            system_database_url=system_database_url(settings),
            version=__version__,
            executor_id=executor_id(role),
            log_file=settings.home / "dbos.log",
            listen=listen,
        )
    )
    return runtime
