"""The allowed status transitions of a task.

A replay (after a pause or a crash) re-applies each status in order, so a status may
always be set again. `cancelled` is final; `completed` and `failed` are final too, except
that a paused task's work may still finish. A task resumed whose workflow never
started goes back to `pending`.
"""

from __future__ import annotations

from typing import Final, Literal

TaskStatus = Literal["pending", "running", "waiting", "paused", "completed", "failed", "cancelled"]

TASK_TRANSITIONS: Final[dict[TaskStatus, frozenset[TaskStatus]]] = {
    "pending": frozenset({"running", "paused", "cancelled", "failed"}),
    "running": frozenset({"waiting", "completed", "failed", "paused", "cancelled", "pending"}),
    "waiting": frozenset({"running", "failed", "paused", "cancelled"}),
    "paused": frozenset({"running", "pending", "completed", "failed", "cancelled"}),
    "completed": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}


def can_move(current: TaskStatus, new: TaskStatus) -> bool:
    """Whether a task in `current` may be set to `new` (setting the same status is allowed)."""
    return new == current or new in TASK_TRANSITIONS[current]
