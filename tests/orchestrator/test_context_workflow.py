"""Compaction inside a real durable workflow: a small window makes the overwatchers compact
(a durable step each time), and the run still completes with every call inside the window."""

from __future__ import annotations

import asyncio
from pathlib import Path

from forgeline.console.demo import make_sample_repo
from forgeline.orchestrator.boot import start_runtime
from forgeline.orchestrator.service import Service
from forgeline.settings import Settings
from forgeline.workspace.metadata import RepoSpec

from .test_budget import script

WINDOW = 9_000


async def test_overwatchers_compact_durably_and_the_run_completes(tmp_path: Path) -> None:
    path = script(tmp_path / "script.yaml")
    model = f"scripted:{path}"
    settings = Settings(home=tmp_path / "home", context_windows={model: WINDOW})
    runtime = await start_runtime(settings, role="test")
    try:
        service = Service(runtime)
        project = await service.create_project(
            feature_request="Fix paginate() dropping the last partial page",
            repositories=[RepoSpec(url=str(make_sample_repo(tmp_path)))],
            phases=["implementation"],
            model=model,
        )
        task = await service.start_phase(project.id, "implementation")
        async with asyncio.timeout(90):
            while (await service.get_task(task.id)).status not in {"completed", "failed"}:
                await asyncio.sleep(0.1)
        done = await service.get_task(task.id)
        assert done.status == "completed", done.error
        events = await service.store.list_events(project.id, types=["context_compacted"])
        assert any(e.data["compacted"] for e in events), [e.data for e in events]
        assert all(e.data["after_tokens"] < e.data["before_tokens"] for e in events)
        assert all(e.data["window"] == WINDOW for e in events)
        usage = await service.store.list_events(project.id, types=["usage"])
        assert max(e.data["input_tokens"] for e in usage) < WINDOW
    finally:
        await runtime.stop()
