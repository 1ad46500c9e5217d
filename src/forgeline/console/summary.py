"""The end-of-run summary: the push and any failure first, then the evidence, the work, the cost.

`summarise` builds the `--json` object (DESIGN §12) from what the log proves: `gate`, `push`
and `command` events, and the tasks' errors. `print_summary` renders it for a person.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from forgeline.console.sanitize import safe as escape  # no control sequences, no markup
from forgeline.console.tasktree import print_tree
from forgeline.domain.events import EventType
from forgeline.domain.tasks import shallowest_first, subtree
from forgeline.environment.records import setup_json
from forgeline.github.summary import print_pull_request
from forgeline.orchestrator.evidence import failure_line, list_evidence
from forgeline.orchestrator.service import Service
from forgeline.store.schemas import ProjectRecord, RepositoryRecord, TaskRecord
from forgeline.tools.base import CommandRecord
from forgeline.workspace import git
from forgeline.workspace.repo import workspace_repo

Json = dict[str, Any]


async def summarise(service: Service, task_id: str) -> Json:
    """Everything `run` reports at the end, as plain data (the `--json` object)."""
    store = service.store
    task = await store.get_task(task_id)
    project = await store.get_project(task.project_id)
    tasks = subtree(await store.list_tasks(project.id), task_id)
    tree = {t.id for t in tasks}
    events = await _events(service, project.id, tree)
    pushes = {e["repo"]: e for e in events.get(EventType.PUSH, [])}
    repos = [
        await _repository(project, repo, pushes.get(repo.name))
        for repo in await store.list_repositories(project.id)
    ]
    # A run that completed has no error, even if a checkpoint overwatcher failed on the way.
    error = None if task.status == "completed" else _error(task, tasks)
    evidence = await list_evidence(store, project.id, task_ids=tree)
    usage = await store.usage_summary(project.id)
    return {
        "status": task.status,
        "error": error,
        "project_id": project.id,
        "task_id": task_id,
        "workspace": project.workspace,
        "branch": repos[0]["branch"] if repos else project.branch,
        "repositories": repos,
        "gate": _gate(events.get(EventType.GATE, []), tasks),
        "evidence": [e.model_dump(exclude={"timed_out"}) for e in evidence],
        "setup": setup_json(service.runtime.settings.home, project.id, [r["name"] for r in repos]),
        "usage": usage.model_dump(mode="json"),
        "models": {t.agent: t.model for t in tasks if t.model},
        "max_cost_usd": project.max_cost_usd,
        "tasks": [task_json(t) for t in tasks],
    }


def task_json(task: TaskRecord) -> Json:
    """One task of the run for `--json`: its state and its place in the task tree."""
    fields = {"id", "phase", "agent", "status", "parent_id", "kind", "round", "error"}
    return task.model_dump(mode="json", include=fields)


async def _events(service: Service, project_id: str, tree: set[str]) -> dict[str, list[Json]]:
    kinds = [EventType.GATE.value, EventType.PUSH.value]
    found: dict[str, list[Json]] = {}
    for event in await service.store.list_events(project_id, limit=10_000, types=kinds):
        if event.task_id in tree:
            found.setdefault(event.type, []).append(event.data)
    return found


async def _repository(project: ProjectRecord, repo: RepositoryRecord, push: Json | None) -> Json:
    path = f"{project.workspace}/{repo.name}"
    target = workspace_repo(Path(project.workspace), repo.name)
    commits = await git.log(target, 50, since=repo.base_sha) if repo.base_sha else []
    return {
        "name": repo.name,
        "path": path,
        "branch": repo.branch or project.branch,
        "commits": [{"sha": c.sha, "subject": c.subject} for c in commits],
        "push": None if push is None else {"ok": push.get("ok"), "detail": push.get("detail")},
        "pull_request": repo.pull_request.model_dump() if repo.pull_request else None,
    }


def _error(task: TaskRecord, tasks: list[TaskRecord]) -> str | None:
    """The reason the run failed: the failed task nearest the root that says why."""
    failed = shallowest_first(t for t in tasks if t.status == "failed" and t.error)
    if failed:
        return failed[0].error
    return task.error


def _gate(gates: list[Json], tasks: list[TaskRecord]) -> Json | None:
    """The last gate round's result, with how many rounds ran; None if no gate was due."""
    if gates:
        last = dict(gates[-1])
        last["rounds"] = len(gates)
        return last
    if any(t.agent == "implementation" for t in tasks):
        return {"passed": False, "rounds": 0, "verdicts": {}, "blockers": [], "test_commands": []}
    return None


def print_summary(console: Console, s: Json) -> None:
    colour = "green" if s["status"] == "completed" else "red"
    console.rule(f"[bold {colour}]{s['status']}")
    if s.get("error"):
        console.print(f"[red]error:[/] {escape(str(s['error']))}")
    _print_pushes(console, s["repositories"])
    _print_setup(console, s.get("setup") or {})
    _print_tests(console, s)
    print_tree(console, s)
    console.print(f"[bold]Workspace[/]  {escape(s['workspace'])}")
    for repo in s["repositories"]:
        console.print(
            f"[bold]{escape(repo['name'])}[/] on {escape(repo['branch'])} "
            f"({len(repo['commits'])} commits)  git -C {escape(repo['path'])} log --oneline"
        )
        for c in repo["commits"]:
            console.print(f"   {c['sha'][:10]} {escape(c['subject'])}")
        print_pull_request(console, repo)
    _usage_table(console, s.get("usage") or {}, s.get("models") or {}, s.get("max_cost_usd"))


def _print_setup(console: Console, setup: dict[str, Json | None]) -> None:
    for name, result in setup.items():
        if result is None:
            continue
        state = "[green]ok[/]" if result["exit_code"] == 0 else "[red]FAILED[/]"
        how = ", reused" if result.get("reused") else ""
        console.print(
            f"[bold]Setup[/] {escape(name)}: {state} `{escape(result['command'])[:120]}` → exit "
            f"{result['exit_code']} ({result['seconds']:g} s{how})"
        )


def _print_pushes(console: Console, repos: list[Json]) -> None:
    for repo in repos:
        push = repo.get("push")
        if push is None:
            continue
        state = "" if push["ok"] else "[red]push FAILED[/]: "
        console.print(f"[bold]Push[/] {escape(repo['name'])}: {state}{escape(push['detail'])}")


def _print_tests(console: Console, s: Json) -> None:
    """Each test command with its exit code, or "tests not run"; then the gate beside it."""
    gate = s.get("gate")
    if gate:
        commands = [CommandRecord.model_validate(c) for c in gate.get("test_commands", [])]
    else:
        commands = [CommandRecord.model_validate(e) for e in s["evidence"] if e["agent"] == "test"]
    for record in commands:
        why = failure_line(record)
        mark = f"[red]FAILED[/] ({escape(why)})" if why else "[green]passed[/]"
        console.print(f"[bold]Test[/] `{escape(record.command)}` → exit {record.exit_code}: {mark}")
    if not commands and (gate or s["evidence"]):
        console.print("[bold]Test[/] [yellow]tests not run[/]")
    if gate:
        verdicts = ", ".join(f"{k}: {v}" for k, v in gate.get("verdicts", {}).items())
        state = "[green]passed[/]" if gate.get("passed") else "[red]failed[/]"
        console.print(
            f"[bold]Final gate[/] {state} after {gate.get('rounds')} round(s) ({verdicts})"
        )
        for blocker in gate.get("blockers", [])[:10]:
            console.print(
                f"   [red]blocker[/] {escape(blocker.get('agent'))}: {escape(blocker['message'])}"
            )


def _usage_table(
    console: Console, usage: Json, models: dict[str, str], budget: float | None
) -> None:
    title = "Usage and cost" + (f" (budget ${budget:.2f})" if budget is not None else "")
    table = Table(title=title, show_lines=False)
    columns = ("agent", "model", "calls", "input", "output", "cache read", "cache write", "cost")
    for col in columns:
        table.add_column(col, justify="left" if col in ("agent", "model") else "right")
    for row in usage.get("by_agent") or []:
        agent = row.get("key", "")
        cells = _usage_cells(row.get("usage") or {})
        table.add_row(escape(agent), escape(models.get(agent, "")), *cells)
    table.add_row("[bold]total[/]", "", *_usage_cells(usage.get("total") or {}))
    console.print(table)


def _usage_cells(u: Json) -> list[str]:
    tokens = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    return [
        str(u.get("calls", 0)),
        *(f"{u.get(k, 0):,}" for k in tokens),
        f"${u.get('cost_usd', 0.0):.4f}",
    ]
