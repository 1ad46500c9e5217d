"""The end-of-run summary: where to look, what was done, what it cost."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from forgeline.orchestrator.service import Service
from forgeline.workspace import git


async def summarise(service: Service, task_id: str) -> dict[str, Any]:
    """Everything `run` reports at the end, as plain data (the `--json` object)."""
    store = service.store
    task = await store.get_task(task_id)
    project = await store.get_project(task.project_id)
    tasks = [t for t in await store.list_tasks(project.id) if t.id.startswith(task_id)]
    failed = next((t for t in tasks if t.status == "failed"), None)
    usage = await store.usage_summary(project.id)
    repos = []
    for repo in await store.list_repositories(project.id):
        path = f"{project.workspace}/{repo.name}"
        commits = await git.log(Path(path), 50, since=repo.base_sha) if repo.base_sha else []
        repos.append(
            {
                "name": repo.name,
                "path": path,
                "branch": repo.branch or project.branch,
                "commits": [{"sha": c.sha, "subject": c.subject} for c in commits],
            }
        )
    gate = _gate(tasks)
    return {
        "status": task.status if not failed else "failed",
        "error": failed.error if failed else task.error,
        "project_id": project.id,
        "task_id": task_id,
        "workspace": project.workspace,
        "branch": project.branch,
        "repositories": repos,
        "gate": gate,
        "usage": usage.model_dump(mode="json") if hasattr(usage, "model_dump") else usage,
    }


def _gate(tasks: list[Any]) -> dict[str, Any] | None:
    for t in tasks:
        if (
            t.phase == "implementation"
            and t.agent == "implementation"
            and isinstance(t.result, dict)
        ):
            gate = t.result.get("gate")
            if isinstance(gate, dict):
                return gate
    return None


def print_summary(console: Console, s: dict[str, Any]) -> None:
    colour = "green" if s["status"] == "completed" else "red"
    console.rule(f"[bold {colour}]{s['status']}")
    if s.get("error"):
        console.print(f"[red]{s['error']}[/]")
    console.print(f"[bold]Workspace[/]  {s['workspace']}")
    console.print(f"[bold]Branch[/]     {s['branch']}")
    for repo in s["repositories"]:
        console.print(
            f"[bold]{repo['name']}[/] ({len(repo['commits'])} commits)  "
            f"git -C {repo['path']} log --oneline"
        )
        for c in repo["commits"]:
            console.print(f"   {c['sha'][:10]} {c['subject']}")
    gate = s.get("gate")
    if gate:
        verdicts = ", ".join(f"{k}: {v}" for k, v in gate.get("verdicts", {}).items())
        state = "passed" if gate.get("passed") else "failed"
        console.print(f"[bold]Final gate[/] {state} in round {gate.get('round')} ({verdicts})")
        for cmd in gate.get("test_commands", []):
            console.print(f"   test ran `{cmd.get('command')}` → exit {cmd.get('exit_code')}")
    _usage_table(console, s.get("usage") or {})


def _usage_table(console: Console, usage: dict[str, Any]) -> None:
    table = Table(title="Usage and cost", show_lines=False)
    for col in ("agent", "calls", "input", "output", "cache read", "cache write", "cost"):
        table.add_column(col, justify="left" if col == "agent" else "right")
    for row in usage.get("by_agent") or []:
        table.add_row(row.get("key", ""), *_usage_cells(row.get("usage") or {}))
    table.add_row("[bold]total[/]", *_usage_cells(usage.get("total") or {}))
    console.print(table)


def _usage_cells(u: dict[str, Any]) -> list[str]:
    tokens = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    return [
        str(u.get("calls", 0)),
        *(f"{u.get(k, 0):,}" for k in tokens),
        f"${u.get('cost_usd', 0.0):.4f}",
    ]
