"""The task tree: each task's kind, parent and round, and the walks the UI, CLI and service share.

A `forgeline run` task (kind `pipeline`) is the parent of its phase tasks (`phase`); an
implementation task is the parent of its overwatchers (`checkpoint`, with the checkpoint
number as round, or `gate`, with the gate round) and of its `documentation` task. A
GitHub review round is an `iterate` task. Nothing here reads a task's id for its place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, NamedTuple, Protocol, TypeVar, get_args

TaskKind = Literal["pipeline", "phase", "checkpoint", "gate", "documentation", "iterate"]
TASK_KINDS: frozenset[str] = frozenset(get_args(TaskKind))
OVERWATCHER_KINDS: frozenset[str] = frozenset({"checkpoint", "gate"})


class TreeTask(Protocol):
    """What the tree helpers read of a task (a `TaskRecord` has all of it)."""

    @property
    def id(self) -> str: ...

    @property
    def parent_id(self) -> str | None: ...

    @property
    def kind(self) -> str: ...

    @property
    def round(self) -> int | None: ...


T = TypeVar("T", bound=TreeTask)


class GroupKey(NamedTuple):
    """Tasks with the same key are shown together (e.g. one checkpoint's overwatchers)."""

    parent_id: str | None
    kind: str
    round: int | None


def group_key(task: TreeTask) -> GroupKey:
    """The group a task belongs to: its parent, its kind and its round."""
    return GroupKey(task.parent_id, task.kind, task.round)


def is_overwatcher(task: TreeTask) -> bool:
    """Whether the task reviews a checkpoint or a gate round."""
    return task.kind in OVERWATCHER_KINDS


def children_of(tasks: Iterable[T], parent_id: str) -> list[T]:
    """The tasks whose parent is `parent_id`, in the given order."""
    return [t for t in tasks if t.parent_id == parent_id]


def descendants(tasks: Iterable[T], root_id: str) -> list[T]:
    """Every task below `root_id` (children, their children, ...), in the given order."""
    listed = list(tasks)
    below: set[str] = set()
    frontier = {root_id}
    while frontier:
        found = {t.id for t in listed if t.parent_id in frontier and t.id not in below}
        below |= found
        frontier = found
    return [t for t in listed if t.id in below]


def subtree(tasks: Iterable[T], root_id: str) -> list[T]:
    """The task `root_id` (when listed) and its descendants, in the given order."""
    listed = list(tasks)
    below = {t.id for t in descendants(listed, root_id)}
    return [t for t in listed if t.id == root_id or t.id in below]


def depth(task: TreeTask, by_id: Mapping[str, TreeTask]) -> int:
    """How many ancestors of `task` are in `by_id` (0 for a root); safe against cycles."""
    seen = {task.id}
    count = 0
    parent = task.parent_id
    while parent is not None and parent in by_id and parent not in seen:
        seen.add(parent)
        count += 1
        parent = by_id[parent].parent_id
    return count


def root_id(task_id: str, by_id: Mapping[str, TreeTask]) -> str:
    """The id of the topmost ancestor of `task_id` in `by_id` (itself when it has none)."""
    seen = {task_id}
    current = task_id
    while current in by_id:
        parent = by_id[current].parent_id
        if parent is None or parent not in by_id or parent in seen:
            break
        seen.add(parent)
        current = parent
    return current


def deepest_first(tasks: Iterable[T]) -> list[T]:
    """The tasks ordered children before parents (stable among equals)."""
    listed = list(tasks)
    by_id: dict[str, TreeTask] = {t.id: t for t in listed}
    return sorted(listed, key=lambda t: depth(t, by_id), reverse=True)


def shallowest_first(tasks: Iterable[T]) -> list[T]:
    """The tasks ordered parents before children (stable among equals)."""
    listed = list(tasks)
    by_id: dict[str, TreeTask] = {t.id: t for t in listed}
    return sorted(listed, key=lambda t: depth(t, by_id))
