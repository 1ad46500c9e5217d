"""The guard rails: which buttons act in each state, why not, and which ask first."""

from __future__ import annotations

from datetime import UTC, datetime

from forgeline.store import ProjectRecord, TaskRecord
from forgeline.web.controls import Control, controls

NOW = datetime.now(UTC)


def _project(phases: list[str]) -> ProjectRecord:
    return ProjectRecord.model_construct(
        id="p", name="p", feature_request="x", phases=phases, model=None, status="created",
        current_phase=None, workspace="w", slug="p", branch="b", last_seq=0,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def _task(
    id_: str, phase: str, status: str, *, parent_id: str | None = None, kind: str = "phase"
) -> TaskRecord:
    return TaskRecord.model_validate(
        {"id": id_, "project_id": "p", "phase": phase, "agent": phase, "status": status,
         "parent_id": parent_id, "kind": kind, "round": None,
         "workflow_id": None, "error": None, "result": None, "created_at": NOW,
         "updated_at": NOW, "finished_at": None}
    )  # fmt: skip


def _by_label(items: list[Control]) -> dict[str, Control]:
    return {c.label: c for c in items}


def test_a_new_project_can_only_start_research() -> None:
    got = _by_label(controls(_project(["research", "planning", "implementation"]), []))
    assert got["Start research"].enabled
    assert got["Start planning"].reason == "finish research first"
    assert got["Start implementation"].reason == "finish research first"
    assert not got["Pause"].enabled and not got["Resume"].enabled and not got["Cancel"].enabled


def test_a_finished_phase_asks_before_running_again() -> None:
    project = _project(["research", "planning"])
    got = _by_label(controls(project, [_task("research-1", "research", "completed")]))
    assert got["Start research"].enabled and got["Start research"].confirm
    assert got["Start planning"].enabled and got["Start planning"].confirm is None
    assert (
        got["Start implementation"].reason == "implementation is not one of this project's phases"
    )


def test_while_running_only_pause_and_cancel_act() -> None:
    project = _project(["research"])
    child = _task("research-1-x", "review", "running", parent_id="research-1", kind="checkpoint")
    tasks = [_task("research-1", "research", "running"), child]
    got = _by_label(controls(project, tasks))
    assert got["Start research"].reason == "research is running: wait for it or cancel it"
    assert got["Pause"].enabled and got["Pause"].task == "research-1"
    assert got["Resume"].reason == "research is running, not paused"
    assert got["Cancel"].enabled and "cannot be resumed" in (got["Cancel"].confirm or "")


def test_a_paused_task_can_resume_or_cancel() -> None:
    got = _by_label(controls(_project(["research"]), [_task("research-1", "research", "paused")]))
    assert got["Resume"].enabled and got["Cancel"].enabled
    assert got["Pause"].reason == "research is paused"
