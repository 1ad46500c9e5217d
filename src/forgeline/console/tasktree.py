"""The run's task tree for a person: phases under the run, overwatchers under their round.

Read from each task's `parent_id`, `kind` and `round` (the `tasks` of the `--json`
summary), never from task ids.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from pydantic import BaseModel
from rich.console import Console

from forgeline.console.sanitize import safe as escape
from forgeline.domain.tasks import GroupKey, TaskKind, children_of, group_key, is_overwatcher

STATE = {"completed": "green", "failed": "red", "cancelled": "red", "paused": "yellow"}


class TreeRow(BaseModel):
    """One task as the summary lists it."""

    id: str
    agent: str
    status: str
    parent_id: str | None
    kind: TaskKind
    round: int | None


def tree_lines(tasks: list[TreeRow], root_id: str) -> list[str]:
    """Indented lines: each task under its parent, one line per checkpoint or gate round."""
    root = next((t for t in tasks if t.id == root_id), None)
    if root is None:
        return []
    return [_line(root, 0), *_below(tasks, root, 1)]


def _below(tasks: list[TreeRow], parent: TreeRow, level: int) -> list[str]:
    lines: list[str] = []
    children = children_of(tasks, parent.id)
    for key, rows in groupby(children, key=group_key):
        members = list(rows)
        if is_overwatcher(members[0]):
            lines.append(_round_line(key, members, level))
            continue
        for child in members:
            lines.extend([_line(child, level), *_below(tasks, child, level + 1)])
    return lines


def _state(task: TreeRow) -> str:
    colour = STATE.get(task.status)
    status = escape(task.status)
    return f"[{colour}]{status}[/]" if colour else status


def _line(task: TreeRow, level: int) -> str:
    return f"{'  ' * level}{escape(task.agent)} {_state(task)}  [dim]{escape(task.id)}[/]"


def _round_line(key: GroupKey, members: list[TreeRow], level: int) -> str:
    label = f"checkpoint {key.round}" if key.kind == "checkpoint" else f"gate round {key.round}"
    states = ", ".join(f"{escape(t.agent)} {_state(t)}" for t in members)
    return f"{'  ' * level}{label}: {states}"


def print_tree(console: Console, summary: dict[str, Any]) -> None:
    """The `Tasks` section of the end-of-run summary."""
    rows = [TreeRow.model_validate(t) for t in summary.get("tasks") or []]
    lines = tree_lines(rows, summary["task_id"])
    if not lines:
        return
    console.print("[bold]Tasks[/]")
    for line in lines:
        console.print(f"   {line}")
