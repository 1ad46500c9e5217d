"""The setup step of every phase (DESIGN §11), and each agent's view of the environments.

Before each phase agent runs, every repository's manifests digest is compared with the one
its environment was built for; a repository without an environment, or whose manifests
changed, is set up (`setup_started`, `setup_output`..., `setup_completed`/`setup_failed`).
Each check and each setup is a durable step: a replay never sets up twice.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from forgeline.domain.errors import ForgelineError
from forgeline.domain.events import EventType, NewEvent
from forgeline.environment.detect import SetupPlan, resolve_setup
from forgeline.environment.interpreter import default_python
from forgeline.environment.manifests import manifests_digest
from forgeline.environment.records import (
    EnvironmentRecord,
    EnvPaths,
    read_record,
    record_dir,
    write_record,
)
from forgeline.environment.runner import SetupRequest, run_setup
from forgeline.environment.stream import OutputStream
from forgeline.environment.view import CodeDir, EnvironmentView, build_view
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.durable import DurableSink
from forgeline.orchestrator.ports import PhaseEngine
from forgeline.orchestrator.runtime import Runtime
from forgeline.store.schemas import RepositoryRecord
from forgeline.workspace.layout import Workspace


class SetupFailed(ForgelineError):
    """A repository's setup command failed; the message has its command, exit code and tail."""


@dataclass(frozen=True)
class PendingSetup:
    """A repository whose environment must be (re)built."""

    name: str
    plan: SetupPlan
    digest: str
    origin: str = ""


def plan_digest(repo: Path, plan: SetupPlan) -> str:
    """The manifests digest; a detected command is named by its source (it follows them)."""
    command = "(detected)" if plan.source == "detected" else plan.command
    return manifests_digest(repo, command=command)


def env_paths(runtime: Runtime) -> EnvPaths:
    settings = runtime.settings
    return EnvPaths(home=settings.home.expanduser().resolve(), cache=settings.shared_cache_dir)


def hidden_paths(runtime: Runtime) -> tuple[Path, ...]:
    return tuple(p for p in (runtime.settings.home, Path("/root"), Path("/home")) if p.exists())


async def ensure_environments(
    runtime: Runtime,
    engine: PhaseEngine,
    *,
    ws: Workspace,
    repos: list[RepositoryRecord],
    sink: DurableSink,
    task_id: str,
) -> None:
    """Set up every repository whose environment is missing or out of date.

    Raises:
        SetupFailed: A setup command failed (the task stops with its message).
    """
    check = partial(_pending, runtime, ws, repos)
    for item in await engine.step("environment_check", check):
        data = {"repo": item.name, "command": item.plan.shown, "source": item.plan.source}
        await sink.emit(NewEvent(type=EventType.SETUP_STARTED, task_id=task_id, data=data))
        setup = partial(_setup, runtime, ws, item, task_id)
        record = await engine.step("setup", setup)
        await _finish(sink, task_id, record)


async def _pending(
    runtime: Runtime, ws: Workspace, repos: list[RepositoryRecord]
) -> list[PendingSetup]:
    python = default_python(runtime.settings.setup_python)
    paths = env_paths(runtime)
    pending = []
    for repo in repos:
        path = ws.repo_path(repo.name)
        plan = await resolve_setup(
            ws.repo(repo.name), base_sha=repo.base_sha, given=repo.setup, python=python
        )
        if plan is None:
            continue
        digest = plan_digest(path, plan)
        record = read_record(ws, repo.name)
        fresh = record is not None and record.ok and record.digest == digest
        if fresh and record is not None and record.key and paths.ready(record.key).is_file():
            continue
        pending.append(PendingSetup(name=repo.name, plan=plan, digest=digest, origin=repo.url))
    return pending


async def _setup(
    runtime: Runtime, ws: Workspace, item: PendingSetup, task_id: str
) -> EnvironmentRecord:
    settings = runtime.settings
    request = SetupRequest(
        name=item.name,
        git=ws.repo(item.name),
        plan=item.plan,
        digest=item.digest,
        paths=env_paths(runtime),
        python=default_python(settings.setup_python),
        sandbox_on=settings.sandbox == "on",
        hidden=hidden_paths(runtime),
        timeout_s=settings.setup_timeout_s,
        environ=dict(os.environ),
        settings=settings,
        gitfile=record_dir(ws, item.name) / "dotgit",
        origin=item.origin,
    )
    directory = record_dir(ws, item.name)
    directory.mkdir(parents=True, exist_ok=True)
    count = 0

    async def emit(text: str) -> None:
        nonlocal count
        count += 1
        event = NewEvent(
            type=EventType.SETUP_OUTPUT,
            task_id=task_id,
            data={"repo": item.name, "text": text},
            dedup_key=f"{task_id}:setup:{item.name}:{item.digest[:12]}:{count}",
        )
        await runtime.events.emit_once(ws.project_id, event)

    stream = OutputStream(emit, log=directory / "setup.log")
    record = await _run_streaming(request, stream)
    if record.ok:  # setup may write a manifest (npm's lockfile): it is part of the result
        record = record.model_copy(update={"digest": plan_digest(request.repo, item.plan)})
    write_record(ws, record)
    return record


async def _run_streaming(request: SetupRequest, stream: OutputStream) -> EnvironmentRecord:

    pump = asyncio.create_task(stream.pump())
    try:
        return await run_setup(request, on_output=stream.feed)
    finally:
        pump.cancel()
        await asyncio.gather(pump, return_exceptions=True)
        await stream.close()


async def _finish(sink: DurableSink, task_id: str, record: EnvironmentRecord) -> None:
    data = {
        "repo": record.repo,
        "command": record.command,
        "exit_code": record.exit_code,
        "seconds": record.seconds,
        "reused": record.reused,
    }
    if record.ok:
        await sink.emit(NewEvent(type=EventType.SETUP_COMPLETED, task_id=task_id, data=data))
        return
    data["tail"] = record.tail
    await sink.emit(NewEvent(type=EventType.SETUP_FAILED, task_id=task_id, data=data))
    raise SetupFailed(failure_message(record))


def failure_message(record: EnvironmentRecord) -> str:
    """What the user reads when a setup failed: the command, its exit code, its last lines."""
    tail = record.tail.strip() or "(no output)"
    return (
        f"setup of {record.repo} failed: `{record.command}` exited with {record.exit_code} "
        f"after {record.seconds:g} s. Its last lines:\n{tail}"
    )


async def agent_view(
    runtime: Runtime,
    engine: PhaseEngine,
    *,
    ws: Workspace,
    repos: list[RepositoryRecord],
    root: Path,
    task_id: str,
) -> EnvironmentView:
    """The environments as an agent whose workspace root is `root` sees them (a durable step).

    An overwatcher's root is its worktree directory: its environment binds the checkpoint's
    code at each repository's alias, and its worktrees get the files setup generated.
    """

    async def view() -> EnvironmentView:
        dirs = []
        for repo in repos:
            record = read_record(ws, repo.name)
            if record is not None:
                real = ws.repo_path(repo.name)
                dirs.append(CodeDir(record=record, repo=real, code=root / repo.name))
        links = ws.meta_dir / "env" / "gitfiles" / task_id
        sandbox_on = runtime.settings.sandbox == "on"
        bash_env = ws.meta_dir / "env" / "bash_env" / f"{task_id}.sh"
        return build_view(
            env_paths(runtime), dirs, sandbox_on=sandbox_on, bash_env=bash_env, gitfiles=links
        )

    return await engine.step("environment", view)


async def refresh_environments(ctx: PhaseContext) -> None:
    """Set up again the repositories whose manifests a checkpoint changed."""
    await ensure_environments(
        ctx.runtime, ctx.engine, ws=ctx.ws, repos=ctx.repos, sink=ctx.sink, task_id=ctx.task_id
    )
