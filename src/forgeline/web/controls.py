"""Which of the project page's controls can act now, and why not (the guard rails).

The rules mirror `Service.start_phase`, `pause`, `resume` and `cancel`: a button is enabled
only when the service would accept it; otherwise its `reason` says why, for the page to show
beside it (`aria-describedby`). Re-running a finished phase, and Cancel, ask first.
"""

from __future__ import annotations

from dataclasses import dataclass

from forgeline.domain.tasks import shallowest_first
from forgeline.orchestrator.service import ACTIVE, PHASES, UNFINISHED
from forgeline.store import ProjectRecord, TaskRecord


@dataclass(frozen=True)
class Control:
    """One button: its label, action, whether it can act, and the sentence if not."""

    label: str
    action: str
    phase: str | None = None
    task: str | None = None
    reason: str | None = None
    confirm: str | None = None

    @property
    def enabled(self) -> bool:
        """Whether the button acts."""
        return self.reason is None

    @property
    def key(self) -> str:
        """A stable id fragment (`start-research`, `pause`)."""
        return f"{self.action}-{self.phase}" if self.phase else self.action


def _busy(tasks: list[TaskRecord]) -> TaskRecord | None:
    unfinished = shallowest_first(t for t in tasks if t.status in UNFINISHED)
    return unfinished[0] if unfinished else None


def _start(project: ProjectRecord, tasks: list[TaskRecord], phase: str) -> Control:
    label = f"Start {phase}"
    if phase not in project.phases:
        return Control(label, "start", phase, reason=f"{phase} is not one of this project's phases")
    busy = _busy(tasks)
    if busy is not None:
        return Control(
            label, "start", phase, reason=f"{busy.agent} is {busy.status}: wait for it or cancel it"
        )
    done = {t.phase for t in tasks if t.status == "completed"}
    for earlier in PHASES[: PHASES.index(phase)]:
        if earlier in project.phases and earlier not in done:
            return Control(label, "start", phase, reason=f"finish {earlier} first")
    if phase in done:
        confirm = f"{phase.capitalize()} has finished. Run it again? Its result is replaced."
        return Control(label, "start", phase, confirm=confirm)
    return Control(label, "start", phase)


def _task_controls(task: TaskRecord | None) -> list[Control]:
    if task is None:
        none = "nothing is running"
        return [
            Control("Pause", "pause", reason=none),
            Control("Resume", "resume", reason="nothing is paused"),
            Control("Cancel", "cancel", reason=none),
        ]
    active = task.status in ACTIVE
    return [
        Control(
            "Pause", "pause", task=task.id, reason=None if active else f"{task.agent} is paused"
        ),
        Control(
            "Resume",
            "resume",
            task=task.id,
            reason=None
            if task.status == "paused"
            else f"{task.agent} is {task.status}, not paused",
        ),
        Control(
            "Cancel",
            "cancel",
            task=task.id,
            confirm=f"Cancel {task.agent} for good? A cancelled task cannot be resumed.",
        ),
    ]


def controls(project: ProjectRecord, tasks: list[TaskRecord]) -> list[Control]:
    """The Start, Pause, Resume and Cancel buttons for the project's current state."""
    starts = [_start(project, tasks, phase) for phase in PHASES]
    return [*starts, *_task_controls(_busy(tasks))]
