"""A resolved finding names the commit it was resolved at: the head its passing gate reviewed."""

from __future__ import annotations

from pathlib import Path

from dbfixtures import make_project, sqlite_url
from forgeline.domain.events import EventType, NewEvent
from forgeline.store import open_store
from forgeline.tools.base import Finding
from forgeline.web.reviewpage import Resolution, resolutions

IMPL = "run-1-implementation"


async def test_a_passing_gate_resolves_at_the_heads_before_it(tmp_path: Path) -> None:
    store = await open_store(sqlite_url(tmp_path))
    try:
        project = (await make_project(store)).id

        async def emit(kind: EventType, task: str, **data: object) -> None:
            await store.append_event(project, NewEvent(type=kind, task_id=task, data=data))

        async def finding(task: str, round_: int) -> int:
            made = Finding(severity="major", message="No test", path="t.py")
            return (await store.add_finding(project, task, "review", made, round=round_)).id

        await emit(EventType.COMMIT, IMPL, repo="app", sha="a" * 40)
        early = await finding(f"{IMPL}-checkpoint-1-review", 0)
        await emit(EventType.GATE, IMPL, passed=False, round=1)
        await emit(EventType.COMMIT, IMPL, repo="app", sha="b" * 40)
        await emit(EventType.COMMIT, IMPL, repo="lib", sha="c" * 40)
        await emit(EventType.GATE, IMPL, passed=True, round=2)
        await emit(EventType.COMMIT, f"{IMPL}-documentation", repo="app", sha="d" * 40)
        await store.resolve_findings(project, [early])
        still_open = await finding("run-2-implementation-gate-1-review", 1)
        found = await resolutions(store, project, await store.list_findings(project))
    finally:
        await store.close()
    assert found == {early: [Resolution("app", "b" * 40), Resolution("lib", "c" * 40)]}
    assert still_open not in found
