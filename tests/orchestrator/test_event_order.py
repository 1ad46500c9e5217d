"""A workflow's events are stored completely and in emit order by the time its result
is; a write that fails reaches the workflow."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from forgeline.console.demo import make_sample_repo
from forgeline.domain.errors import NotFoundError
from forgeline.domain.events import Event, EventType, NewEvent
from forgeline.orchestrator import engine
from forgeline.orchestrator.durable import DurableSink
from forgeline.orchestrator.service import Service
from forgeline.workspace.layout import Workspace, open_workspace, read_log
from forgeline.workspace.metadata import RepoSpec

TURNS = 12


def research_script(path: Path) -> Path:
    """Turns of two tool calls each, then research.md."""
    steps: list[dict[str, object]] = []
    for i in range(TURNS):
        calls = [
            {"name": "Grep", "input": {"pattern": "def ", "output_mode": "count"}},
            {"name": "Read", "input": {"file_path": "pagekit/pagekit/pager.py"}},
        ]
        steps.append({"text": f"Step {i}.", "tool_calls": calls})
    document = "# Research\n\n## Summary\nLooked around.\n"
    write = {"name": "Write", "input": {"file_path": "research.md", "content": document}}
    steps += [{"tool_calls": [write]}, {"text": "Done."}]
    path.write_text(yaml.safe_dump({"agents": {"research": steps}}), encoding="utf-8")
    return path


def _check_causal_order(events: list[Event]) -> None:
    phase = {EventType.PHASE_STARTED, EventType.PHASE_COMPLETED}
    types = [e.type for e in events if e.type not in phase]
    assert types[0] == EventType.TASK_STARTED, types
    assert types[-1] == EventType.TASK_COMPLETED, types
    called: set[str] = set()
    for event in events:
        if event.type == EventType.TOOL_CALL:
            called.add(str(event.data["id"]))
        if event.type == EventType.TOOL_RESULT:
            assert str(event.data["id"]) in called, "a tool's result came before its call"


async def test_every_event_is_stored_in_order_when_the_task_completes(
    tmp_path: Path, service: Service
) -> None:
    project = await service.create_project(
        feature_request="Explain paginate()",
        repositories=[RepoSpec(url=str(make_sample_repo(tmp_path)))],
        phases=["research"],
        model=f"scripted:{research_script(tmp_path / 'script.yaml')}",
    )
    task = await service.start_phase(project.id, "research")
    async with asyncio.timeout(60):
        await engine.result(task.id)
    assert (await service.get_task(task.id)).status == "completed"
    # Read at once: a task's workflow returns only after its events are written.
    events = [e for e in await service.store.list_events(project.id) if e.task_id == task.id]
    _check_causal_order(events)
    assert sum(e.type == EventType.TOOL_RESULT for e in events) == 2 * TURNS + 1
    assert [e.seq for e in events] == sorted(e.seq for e in events)
    logged = read_log(open_workspace(service.runtime.settings.home, project.id), task.id)
    assert [r["seq"] for r in logged] == [e.seq for e in events]


async def test_a_failed_event_write_is_raised_to_the_workflow(service: Service) -> None:
    runtime = service.runtime
    ws = Workspace(home=runtime.settings.home, project_id="no-such-project")
    sink = DurableSink(runtime, project_id="no-such-project", workflow_id="wf-1", ws=ws)
    event = NewEvent(type=EventType.MODEL_TEXT, task_id="wf-1", data={"text": "hello"})
    with pytest.raises(NotFoundError):
        await sink.emit(event)
