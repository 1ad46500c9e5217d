"""`forgeline run` and `forgeline resume`: start or continue work, follow it, summarise it."""

from __future__ import annotations

import asyncio
import json
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from forgeline.console.answers import AnswerSource
from forgeline.console.follow import Progress, follow
from forgeline.console.launcher import forgeline_command
from forgeline.console.sanitize import clean_terminal_logging, safe
from forgeline.console.session import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PAUSED,
    EXIT_USAGE,
    CommandExit,
    answer_source,
    cli_session,
    make_console,
)
from forgeline.console.summary import print_summary, summarise
from forgeline.domain.errors import ForgelineError, NotFoundError, UserError
from forgeline.domain.tasks import root_id
from forgeline.settings import Settings

if TYPE_CHECKING:
    from forgeline.orchestrator.service import Service
    from forgeline.store.schemas import ProjectRecord, TaskRecord


@dataclass
class RunOptions:
    request: str | None
    repos: list[str]
    project: str | None = None
    base_branch: str | None = None
    phases: str = "research,planning,implementation"
    model: str | None = None
    answers: Path | None = None
    auto_answer: bool = False
    json_output: bool = False
    allow_network: bool = False
    pr: str | None = None
    max_cost: float | None = None
    setups: list[str] = field(default_factory=list)
    settings: Settings | None = None
    intro: str = ""


def check_setups(setups: list[str], repos: list[str]) -> None:
    """`--setup` is per repository: never more of them than `--repo`s."""
    if len(setups) > len(repos):
        raise UserError(
            f"{len(setups)} --setup commands for {len(repos)} --repo: give at most one per "
            "repository, in --repo order ('auto' keeps a repository's default)"
        )
    for command in setups:
        if "\0" in command:
            raise UserError("a --setup command cannot contain a NUL character")


def check_combination(options: RunOptions) -> None:
    """A new project needs REQUEST and --repo; `--project` takes neither (DESIGN §6)."""
    if options.project is None:
        if not (options.request or "").strip():
            raise UserError("give the feature REQUEST, or --project ID to continue a project")
        if not options.repos:
            raise UserError("give at least one --repo, or --project ID to continue a project")
        return
    given = {
        "REQUEST": options.request is not None,
        "--repo": bool(options.repos),
        "--base-branch": options.base_branch is not None,
        "--setup": bool(options.setups),
        "--model": options.model is not None,
        "--allow-network": options.allow_network,
        "--pr": options.pr is not None,
    }
    extra = [name for name, present in given.items() if present]
    if extra:
        raise UserError(
            f"--project continues a project as it was made: drop {', '.join(extra)} "
            "(only --phases, --answers/--auto-answer, --max-cost and --json apply)"
        )


async def run_command(options: RunOptions) -> int:
    """Create the project (or continue `--project`), run its phases, follow them.

    Returns the exit status.
    """
    from forgeline.llm import default_model_spec, validate_model_spec
    from forgeline.orchestrator.boot import start_runtime
    from forgeline.orchestrator.budget import check_budget
    from forgeline.orchestrator.service import Service, parse_phases, parse_pr_mode

    console = make_console(options.json_output)
    clean_terminal_logging()
    settings = options.settings or Settings()
    try:
        check_combination(options)
        phases = parse_phases(options.phases)
        parse_pr_mode(options.pr or "draft")
        check_budget(options.max_cost)
        if options.project is None:
            validate_model_spec(options.model or default_model_spec(settings))
        answers = answer_source(options.answers, options.auto_answer, console)
        check_setups(options.setups, options.repos)
    except ForgelineError as exc:
        console.print(f"[red]error:[/] {safe(exc)}")
        return EXIT_USAGE
    runtime = await start_runtime(settings, role="cli", listen=False)
    try:
        service = Service(runtime)
        try:
            task = await _start(service, options, phases, console)
        except UserError as exc:
            console.print(f"[red]error:[/] {safe(exc)}")
            return EXIT_USAGE if options.project else EXIT_FAILED
        except ForgelineError as exc:
            console.print(f"[red]error:[/] {safe(exc)}")
            return EXIT_FAILED
        return await _follow_task(service, task.id, answers, console, options.json_output)
    finally:
        await runtime.stop()


async def _start(
    service: Service, options: RunOptions, phases: list[str], console: Console
) -> TaskRecord:
    """Continue `--project` in its workspace, or make a new project; start the phases."""
    if options.project is not None:
        task = await service.continue_pipeline(
            options.project, phases, max_cost_usd=options.max_cost
        )
        project = await service.store.get_project(options.project)
        console.print(f"[bold]Continuing[/] project {project.id}  {', '.join(phases)}")
        console.print(f"[dim]workspace {safe(project.workspace)}[/]")
        return task
    project = await _create(service, options, phases)
    if options.intro:
        console.print(options.intro)
    console.print(f"[bold]Project[/] {project.id}  [dim]workspace {safe(project.workspace)}[/]")
    return await service.start_pipeline(project.id, phases)


async def _create(service: Service, options: RunOptions, phases: list[str]) -> ProjectRecord:
    from forgeline.llm import default_model_spec, validate_model_spec
    from forgeline.workspace.layout import RepoSpec

    setups = [*options.setups, *[None] * len(options.repos)]
    specs = [
        RepoSpec(url=r, branch=options.base_branch, setup=setup)
        for r, setup in zip(options.repos, setups, strict=False)
    ]
    return await service.create_project(
        feature_request=options.request or "",
        repositories=specs,
        phases=phases,
        model=validate_model_spec(options.model or default_model_spec(service.runtime.settings)),
        allow_network=options.allow_network,
        pr_mode=options.pr or "draft",
        max_cost_usd=options.max_cost,
    )


async def iterate_command(
    project_id: str, answers_file: Path | None, auto: bool, json_output: bool
) -> int:
    """Another implementation round from the project's pull request review comments (§13)."""
    try:
        async with cli_session(
            answers_file, auto, json_output, role="cli", listen=False
        ) as session:
            task = await session.attempt(session.service.start_iteration(project_id))
            session.console.print(f"[bold]Iterating[/] on project {safe(project_id)} ({task.id})")
            return await _follow_task(
                session.service, task.id, session.answers, session.console, json_output
            )
    except CommandExit as stop:
        return stop.status


async def _follow_task(
    service: Service, task_id: str, answers: AnswerSource, console: Console, json_output: bool
) -> int:
    task = await service.get_task(task_id)
    done = asyncio.ensure_future(service.wait(task.id))
    paused = _pause_on_interrupt(service, task_id)
    progress = Progress(console)
    try:
        await follow(service, task.project_id, done, progress=progress, answers=answers)
    except ForgelineError as exc:
        console.print(f"[red]error:[/] {safe(exc)}")
        await service.pause(task_id)
        resume = f"{forgeline_command()} resume {task_id}"
        console.print(f"The task is paused. Continue with: [bold]{resume}[/]")
        return EXIT_FAILED
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
    if paused.is_set():
        resume = f"{forgeline_command()} resume {task_id}"
        console.print(f"\n[yellow]Paused.[/] Continue with: [bold]{resume}[/]")
        return EXIT_PAUSED
    summary = await summarise(service, task_id)
    if json_output:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print_summary(console, summary)
    if summary["status"] == "completed":
        return EXIT_OK
    if progress.budget_reason:
        console.print(f"[yellow]Stopped:[/] {_hint(progress.budget_reason, task_id)}")
    return EXIT_FAILED


def _hint(reason: str, task_id: str) -> str:
    """A message's `forgeline resume TASK` hint, with this task and the command as typed."""
    return reason.replace("forgeline resume", f"{forgeline_command()} resume").replace(
        "TASK", task_id
    )


def _pause_on_interrupt(service: Any, task_id: str) -> asyncio.Event:
    """Ctrl-C pauses the task (resumable) instead of killing it mid-step."""
    paused = asyncio.Event()
    loop = asyncio.get_running_loop()
    pausing: set[asyncio.Task[None]] = set()

    def on_sigint() -> None:
        if paused.is_set():
            return
        paused.set()

        async def pause() -> None:
            # Cancelling the workflow ends `done` (its result raises "cancelled").
            await service.pause(task_id)

        pausing.add(loop.create_task(pause()))

    loop.add_signal_handler(signal.SIGINT, on_sigint)
    return paused


async def resume_command(
    task_id: str | None,
    answers_file: Path | None,
    auto: bool,
    json_output: bool,
    *,
    max_cost: float | None = None,
) -> int:
    """Resume one paused task, or every task a crash interrupted, and follow it.

    `max_cost` first sets the task's project budget (to continue past a reached one).
    """
    try:
        async with cli_session(
            answers_file, auto, json_output, role="resume", listen=True
        ) as session:
            service, console = session.service, session.console
            if max_cost is not None:
                await session.attempt(_raise_budget(service, task_id, max_cost))
            roots = await session.attempt(_resume(service, task_id))
            if not roots:
                await _nothing_to_resume(service, console)
                return EXIT_OK
            status = EXIT_OK
            for root in roots:
                console.print(f"[bold]Resuming[/] {root}")
                code = await _follow_task(service, root, session.answers, console, json_output)
                status = max(status, code)
            return status
    except CommandExit as stop:
        return stop.status


async def _nothing_to_resume(service: Service, console: Console) -> None:
    """No interrupted task; name the paused ones, which resume only by id."""
    from forgeline.console.listing import paused_roots

    paused = paused_roots(await service.store.tasks_with_status(["paused"]))
    if not paused:
        console.print("Nothing to resume: no paused or interrupted task.")
        return
    resume = f"{forgeline_command()} resume TASK"
    console.print(f"No interrupted task. Paused tasks (continue one with {resume}):")
    for task in paused:
        console.print(f"   {task.id}  project {task.project_id}  {task.phase}")


async def _raise_budget(service: Service, task_id: str | None, max_cost: float) -> None:
    if task_id is None:
        raise UserError("--max-cost needs the TASK whose project's budget to raise")
    task = await service.get_task(task_id)
    await service.set_budget(task.project_id, max_cost)


async def _resume(service: Any, task_id: str | None) -> list[str]:
    """Resume and return the root tasks to follow."""
    if task_id is not None:
        task = await service.get_task(task_id)
        if task.status == "paused":
            await service.resume(task_id)
        else:
            await service.resume_interrupted()
        return [await _root_of(service, task_id)]
    resumed = await service.resume_interrupted()
    return sorted({await _root_of(service, w) for w in resumed})


async def _root_of(service: Any, task_id: str) -> str:
    """The top of the task tree `task_id` is in (a `forgeline run` task for its children)."""
    try:
        task = await service.get_task(task_id)
    except NotFoundError:
        return task_id  # a workflow with no task row of its own
    tasks = await service.store.list_tasks(task.project_id)
    return root_id(task_id, {t.id: t for t in tasks})
