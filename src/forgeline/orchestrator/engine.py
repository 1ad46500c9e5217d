"""The durable engine seam: every call Forgeline makes into DBOS goes through here.

Apart from `workflows` (which declares the workflow entry points with `@DBOS.workflow`),
no module imports `dbos`. Durable steps are not DBOS steps: they are recorded in
Forgeline's own database (`orchestrator.journal`). Phases never call this module
directly either: they get a `PhaseEngine` (see `orchestrator.ports`), so their logic
runs in-process in tests, without DBOS and without a database.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbos import DBOS, SetWorkflowID, WorkflowHandleAsync
from dbos._error import DBOSAwaitedWorkflowCancelledError, DBOSNonExistentWorkflowError

from forgeline.domain.errors import ForgelineError, NotFoundError
from forgeline.store.engine import WalConnection

log = logging.getLogger("forgeline.engine")

# DBOS's own poll interval: for children not awaited here, or cancelled or failed.
CANCELLED_POLL_S = 1.0

# Exceptions that mean "this workflow was paused or cancelled": never a task failure.
STOPPED: tuple[type[BaseException], ...] = (
    asyncio.CancelledError,
    DBOSAwaitedWorkflowCancelledError,
)


@dataclass(frozen=True)
class EngineConfig:
    """How to launch the engine in this process.

    Attributes:
        system_database_url: DBOS's own database (SQLite file or PostgreSQL URL).
        version: The application version (workflows recover only on the same one).
        executor_id: This process's executor id (`runtime.executor_id`).
        log_file: Where DBOS's own log goes (kept out of the user's terminal).
        listen: Whether this process takes queued (resumed, recovered) workflows.
    """

    system_database_url: str
    version: str
    executor_id: str
    log_file: Path
    listen: bool = True


# DBOS's SQLite system database in WAL mode with synchronous=NORMAL, like ours (its
# default is a rollback journal with full sync: ~4 fsyncs per step). The pool
# settings repeat DBOS's defaults, which `db_engine_kwargs` replaces, except the
# pre-ping: a connection to a local file does not go stale, and the ping was one
# more statement in every transaction of DBOS's background polls.
_SQLITE_ENGINE = {
    "connect_args": {"factory": WalConnection},
    "pool_timeout": 30,
    "max_overflow": 0,
    "pool_size": 20,
    "pool_pre_ping": False,
}


# DBOS sweeps its system database for delayed workflows and workflow timeouts once a
# second (a write transaction each time). Forgeline uses neither, so a sweep every
# 10 s is plenty and an idle server stays idle. The name is DBOS's own module
# setting; a DBOS without it keeps its default.
_BACKGROUND_JOBS_INTERVAL_S = 10.0


def _slow_background_jobs() -> None:
    from dbos import _workflow_commands

    if hasattr(_workflow_commands, "_BACKGROUND_JOBS_INTERVAL_SEC"):
        _workflow_commands._BACKGROUND_JOBS_INTERVAL_SEC = _BACKGROUND_JOBS_INTERVAL_S


def launch(config: EngineConfig) -> None:
    """Configure and launch DBOS on the calling thread (it adopts this event loop)."""
    _quiet_logging(config.log_file)
    settings = {
        "name": "forgeline",
        "system_database_url": config.system_database_url,
        "application_version": config.version,
        "executor_id": config.executor_id,
        "log_level": "CRITICAL",
        "notification_listener_polling_interval_sec": 0.1,
        "run_admin_server": False,
    }
    if config.system_database_url.startswith("sqlite"):
        settings["db_engine_kwargs"] = _SQLITE_ENGINE
    DBOS(config=settings)  # type: ignore[arg-type]
    if not config.listen:
        DBOS.listen_queues([])
    _slow_background_jobs()
    started = time.monotonic()
    DBOS.launch()
    log.debug("DBOS launched in %.3f s", time.monotonic() - started)


def destroy() -> None:
    """Shut DBOS down (its workflow registry stays for the next launch)."""
    DBOS.destroy(destroy_registry=False)
    logger = logging.getLogger("dbos")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


def _quiet_logging(log_file: Path) -> None:
    """DBOS logs tracebacks of cancelled workflows; keep them out of the user's terminal."""
    logger = logging.getLogger("dbos")
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)


def workflow_id() -> str:
    """The id of the workflow the caller runs in.

    Raises:
        ForgelineError: The caller is not inside a workflow.
    """
    current = DBOS.workflow_id
    if current is None:
        raise ForgelineError("not inside a workflow")
    return current


async def recv(topic: str, *, timeout_s: float) -> object | None:
    """The next message sent to this workflow on `topic` (None after `timeout_s`)."""
    message: object | None = await DBOS.recv_async(topic, timeout_seconds=timeout_s)
    return message


async def send(workflow_id: str, message: object, topic: str) -> None:
    """Send `message` to a workflow, durably (it may be waiting in `recv`)."""
    await DBOS.send_async(workflow_id, message, topic)


Workflow = Callable[..., Coroutine[Any, Any, Any]]
"""A workflow function (declared with `@DBOS.workflow` in `orchestrator.workflows`)."""


async def start(workflow: Workflow, workflow_id: str, *args: object, awaited: bool = False) -> None:
    """Start a workflow under a fixed id (idempotent: a replay finds it started).

    Args:
        workflow: The workflow function (declared in `orchestrator.workflows`).
        workflow_id: Its id (the task id).
        *args: Its arguments.
        awaited: Whether a parent will read its `result` (a child): its handle is kept
            until then. Otherwise the handle is kept while the workflow runs, for a
            caller of `result` in this process (`forgeline run` waiting for its task).
    """
    with SetWorkflowID(workflow_id):
        handle: WorkflowHandleAsync[object] = await DBOS.start_workflow_async(workflow, *args)
    task = getattr(handle, "task", None)
    if not isinstance(task, asyncio.Future):
        _handles.pop(workflow_id, None)  # an earlier run's task (before a pause)
        return  # started earlier and running elsewhere or done: read from the database
    _handles[workflow_id] = task
    if not awaited:
        task.add_done_callback(lambda _t: _handles.pop(workflow_id, None))


# The asyncio tasks of the workflows this process started, so whoever waits for one
# (a parent for its child, the CLI for its task) awaits it instead of polling the database.
_handles: dict[str, asyncio.Future[object]] = {}


async def result(workflow_id: str, *, poll_s: float = CANCELLED_POLL_S) -> object:
    """A workflow's result, once it has one (at once when it ran in this process).

    A parent waiting for its child records nothing in DBOS: a replay waits again and
    reads the same result, so DBOS's "getStatus" and "getResult" steps (three system
    database transactions and their thread hops per child) would only repeat it. A
    cancelled or failed child is read after DBOS's usual poll interval: a pause
    cancels the children, then the parent, which must not see them first.

    Raises:
        NotFoundError: No workflow has this id.
    """
    task = _handles.get(workflow_id)
    if task is not None:
        await asyncio.wait({task})
        _handles.pop(workflow_id, None)
        if not task.cancelled() and task.exception() is None:
            return task.result()
        await asyncio.sleep(CANCELLED_POLL_S)
    # Outside the workflow's context, DBOS records no step for these calls.
    unrecorded = contextvars.Context()
    return await asyncio.create_task(_stored_result(workflow_id, poll_s), context=unrecorded)


async def _stored_result(workflow_id: str, poll_s: float) -> object:
    try:
        stored: WorkflowHandleAsync[object] = await DBOS.retrieve_workflow_async(workflow_id)
    except DBOSNonExistentWorkflowError:
        raise NotFoundError(f"no workflow {workflow_id}") from None
    return await stored.get_result(polling_interval_sec=poll_s)


async def cancel(workflow_id: str) -> None:
    """Cancel a workflow (and stop it at its next step); a missing one is ignored."""
    await DBOS.cancel_workflow_async(workflow_id)


async def resume(workflow_id: str) -> None:
    """Resume a cancelled or interrupted workflow from its last recorded step.

    Raises:
        NotFoundError: The workflow was never started (e.g. a child its parent never reached).
    """
    try:
        await DBOS.resume_workflow_async(workflow_id)
    except DBOSNonExistentWorkflowError:
        raise NotFoundError(f"no workflow {workflow_id}") from None


async def pending() -> list[tuple[str, str]]:
    """(workflow id, executor id) of every workflow not yet finished."""
    found = await DBOS.list_workflows_async(status=["PENDING"], load_input=False, load_output=False)
    return [(w.workflow_id, w.executor_id or "local") for w in found]
