"""Pause, resume and cancel a task while it waits for the user's answers (in-process)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import yaml

from forgeline.domain.errors import ConflictError, UserError
from forgeline.orchestrator.service import Service
from forgeline.tools.base import Answer
from forgeline.workspace.metadata import RepoSpec

QUESTIONS = [
    {
        "header": "Storage",
        "question": "Where should data live?",
        "options": [{"label": "SQLite"}, {"label": "Files"}],
    },
    {"header": "Name", "question": "What should the command be called?"},
]
PLANNING = [
    {"tool_calls": [{"name": "AskUser", "input": {"questions": QUESTIONS}}]},
    {
        "tool_calls": [
            {"name": "Write", "input": {"file_path": "planning.md", "content": "# Plan\n"}}
        ]
    },
    {"text": "planned"},
]


def make_repo(path: Path) -> Path:
    path.mkdir()
    (path / "a.py").write_text("x = 1\n")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=T", "-c", "user.email=t@e", "commit", "-qm", "init"],
    ):
        subprocess.run(["git", *args], cwd=path, check=True, capture_output=True)
    return path


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def planning_task(service: Service, tmp_path: Path) -> tuple[str, str]:
    script = tmp_path / "script.yaml"
    script.write_text(yaml.safe_dump({"agents": {"planning": PLANNING * 2}}))
    project = await service.create_project(
        feature_request="Add an export command",
        repositories=[RepoSpec(url=str(make_repo(tmp_path / "repo")))],
        phases=["planning", "implementation"],
        model=f"scripted:{script}",
    )
    task = await service.start_phase(project.id, "planning")
    return project.id, task.id


def has_status(service: Service, task_id: str, status: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await service.get_task(task_id)).status == status

    return check


async def test_pause_and_resume_while_waiting_for_answers(service: Service, tmp_path: Path) -> None:
    project_id, task_id = await planning_task(service, tmp_path)
    await eventually(has_status(service, task_id, "waiting"))
    assert (await service.store.get_project(project_id)).status == "waiting"
    with pytest.raises(ConflictError):
        await service.start_phase(project_id, "implementation")

    assert (await service.pause(task_id)).status == "paused"
    with pytest.raises(ConflictError):
        await service.pause(task_id)
    assert (await service.resume(task_id)).status == "running"
    await eventually(has_status(service, task_id, "waiting"))

    questions = await service.store.list_questions(project_id)
    assert [q.header for q in questions] == ["Storage", "Name"]
    with pytest.raises(UserError):
        await service.answer(questions[0].id, Answer(question="", selected=["Postgres"]))
    await service.answer(questions[0].id, Answer(question="", selected=["SQLite"]))
    await service.answer(questions[1].id, Answer(question="", other="export"))
    await eventually(has_status(service, task_id, "completed"))

    async def project_completed() -> bool:  # written right after the task's status
        return (await service.store.get_project(project_id)).status == "completed"

    await eventually(project_completed, timeout=5)
    project = await service.store.get_project(project_id)
    assert (project.status, project.current_phase) == ("completed", "planning")
    ws = Path(project.workspace)
    assert (ws / "planning.md").read_text() == "# Plan\n"
    events = await service.store.list_events(project_id)
    types = [e.type for e in events]
    assert types.count("question_asked") == 1 and types.count("question_answered") == 1
    assert "task_paused" in types and "task_resumed" in types
    answered = next(e for e in events if e.type == "question_answered")
    assert answered.data["answers"][1]["answer"] == "Other: export"
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_cancel_while_waiting(service: Service, tmp_path: Path) -> None:
    project_id, task_id = await planning_task(service, tmp_path)
    await eventually(has_status(service, task_id, "waiting"))
    assert (await service.cancel(task_id)).status == "cancelled"
    with pytest.raises(ConflictError):
        await service.resume(task_id)
    assert (await service.store.get_project(project_id)).status == "cancelled"
    # A cancelled phase can be started again from scratch.
    again = await service.start_phase(project_id, "planning")
    await eventually(has_status(service, again.id, "waiting"))
    await service.cancel(again.id)
