"""`forgeline list` (DESIGN §6): projects and their tasks, newest first, with ids and states."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

from forgeline.console.launcher import forgeline_command
from forgeline.console.sanitize import safe as escape  # no control sequences, no markup
from forgeline.domain.tasks import TreeTask, depth
from forgeline.settings import Settings
from forgeline.store import Store, open_store
from forgeline.store.schemas import TaskRecord

EXIT_OK = 0


async def list_command(*, json_output: bool, settings: Settings | None = None) -> int:
    """Print every project and its tasks; reads the store only (no engine started)."""
    settings = settings or Settings()
    store = await open_store(settings.resolved_database_url())
    try:
        projects = await project_listing(store)
    finally:
        await store.close()
    if json_output:
        print(json.dumps({"projects": projects}, indent=2, default=str))
    else:
        print_listing(Console(highlight=False), projects)
    return EXIT_OK


async def project_listing(store: Store) -> list[dict[str, Any]]:
    """Projects newest first, each with its tasks newest first."""
    listing = []
    for project in await store.list_projects():
        tasks = sorted(await store.list_tasks(project.id), key=_created, reverse=True)
        listing.append(
            {
                "id": project.id,
                "name": project.name,
                "status": project.status,
                "current_phase": project.current_phase,
                "branch": project.branch,
                "workspace": project.workspace,
                "created_at": project.created_at.isoformat(),
                "tasks": [_task(t) for t in tasks],
            }
        )
    return listing


def _created(task: TaskRecord) -> tuple[str, str]:
    return (task.created_at.isoformat(), task.id)


def _task(task: TaskRecord) -> dict[str, Any]:
    return {
        "id": task.id,
        "phase": task.phase,
        "agent": task.agent,
        "status": task.status,
        "error": task.error,
        "parent_id": task.parent_id,
        "kind": task.kind,
        "round": task.round,
        "created_at": task.created_at.isoformat(),
    }


def print_listing(console: Console, projects: list[dict[str, Any]]) -> None:
    if not projects:
        start = f"{forgeline_command()} run REQUEST --repo PATH"
        console.print(f"No projects yet. Start one with: {start}")
        return
    for project in projects:
        console.print(
            f"[bold]{project['id']}[/]  {project['status']:<10} {escape(project['name'])}  "
            f"[dim]{project['created_at'][:19]}  {escape(project['workspace'])}[/]"
        )
        for task in project["tasks"]:
            console.print(
                f"   {task['id']:<48} {task['status']:<10} {task['phase']}/{task['agent']}"
            )


def paused_roots(tasks: list[TaskRecord]) -> list[TaskRecord]:
    """The paused tasks a user resumes: those under no other paused task."""
    by_id: dict[str, TreeTask] = {t.id: t for t in tasks}
    return [t for t in tasks if depth(t, by_id) == 0]
