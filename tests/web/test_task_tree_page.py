"""The task tree reaches the page, the API and `forgeline list --json` as data.

The tasks here are made through the store with ids that follow no naming scheme: only
their `parent_id`, `kind` and `round` say that `x1` and `x2` reviewed checkpoint 1 of
`bravo`. Their stored `task_started` events carry no tree data (like events written
before the tree was), so the live log groups them from the page's task list; a task that
starts while the page is open is placed from its `task_started` event.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from api.chromium import chromium
from api.server import FORGELINE, Server, make_git_repo
from forgeline.domain.events import EventType, NewEvent
from forgeline.domain.tasks import TaskKind
from forgeline.store import open_store
from forgeline.workspace.layout import create_workspace
from forgeline.workspace.metadata import RepoSpec

PROJECT = "tree-page"
# id, phase, agent, parent_id, kind, round
TASKS: list[tuple[str, str, str, str | None, TaskKind, int | None]] = [
    ("alpha", "run", "pipeline", None, "pipeline", None),
    ("bravo", "implementation", "implementation", "alpha", "phase", None),
    ("x1", "implementation", "review", "bravo", "checkpoint", 1),
    ("x2", "implementation", "security", "bravo", "checkpoint", 1),
    ("zz-long-name-7", "implementation", "review", "bravo", "checkpoint", 2),
    ("q", "implementation", "test", "bravo", "gate", 1),
    ("n", "documentation", "documentation", "bravo", "documentation", None),
]


def said(tid: str) -> dict[str, str]:
    return {"text": f"said by {tid}"}


def _url(home: Path) -> str:
    return f"sqlite:///{home / 'forgeline.db'}"


async def _seed(home: Path) -> None:
    store = await open_store(_url(home))
    try:
        made = await create_workspace(
            home=home,
            project_id=PROJECT,
            feature_request="Group by data",
            repositories=[RepoSpec(url=str(make_git_repo(home / "origin")))],
        )
        workspace = made.root
        await store.create_project(
            project_id=PROJECT,
            feature_request="Group by data",
            phases=["implementation"],
            workspace=str(workspace),
            slug="group-by-data",
            branch="forgeline/group-by-data",
        )
        await store.update_project(PROJECT, status="running", current_phase="implementation")
        for tid, phase, agent, parent, kind, round_ in TASKS:
            await store.create_task(
                PROJECT, phase, agent, task_id=tid, parent_id=parent, kind=kind, round=round_
            )
            await store.update_task(tid, status="running")
            for type_, text in ((EventType.TASK_STARTED, {}), (EventType.MODEL_TEXT, said(tid))):
                event = NewEvent(type=type_, task_id=tid, data={"agent": agent, **text})
                await store.append_event(PROJECT, event)
    finally:
        await store.close()


async def _start_late_task(home: Path) -> None:
    """A gate overwatcher starting while the page is open (its event says where it runs)."""
    store = await open_store(_url(home))
    try:
        await store.create_task(
            PROJECT, "implementation", "security", task_id="late", parent_id="bravo",
            kind="gate", round=1,
        )  # fmt: skip
        tree = {"agent": "security", "kind": "gate", "parent_id": "bravo", "round": 1}
        text = {"agent": "security", "text": "late words"}
        for type_, data in ((EventType.TASK_STARTED, tree), (EventType.MODEL_TEXT, text)):
            await store.append_event(PROJECT, NewEvent(type=type_, task_id="late", data=data))
    finally:
        await store.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("tree-home")
    asyncio.run(_seed(home))
    running = Server(home)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _places(tasks: list[dict[str, Any]]) -> dict[str, tuple[Any, Any, Any]]:
    return {t["id"]: (t["parent_id"], t["kind"], t["round"]) for t in tasks}


EXPECTED = {tid: (parent, kind, round_) for tid, _, _, parent, kind, round_ in TASKS}


def test_the_api_and_list_json_give_each_task_s_place(server: Server) -> None:
    with server.client() as client:
        listed = client.get(f"/api/projects/{PROJECT}/tasks").json()
        project = client.get(f"/api/projects/{PROJECT}").json()
    assert _places(listed) == EXPECTED
    assert _places(project["tasks"]) == EXPECTED
    env = {**os.environ, "FORGELINE_HOME": str(server.home)}
    env.pop("FORGELINE_DATABASE_URL", None)
    proc = subprocess.run(
        [str(FORGELINE), "list", "--json"], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    [entry] = [p for p in json.loads(proc.stdout)["projects"] if p["id"] == PROJECT]
    assert _places(entry["tasks"]) == EXPECTED


def _group(page: Page, key: str) -> Any:
    return page.locator(f'.group[data-key="{key}"]')


def test_the_log_groups_overwatchers_under_their_round_from_data(
    server: Server, browser: Browser
) -> None:
    page = browser.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{server.url}/projects/{PROJECT}")
        log = page.get_by_role("log")
        expect(log).to_contain_text("said by n")
        impl = _group(page, "bravo")
        checkpoints = impl.locator(".group.checkpoint")
        expect(checkpoints).to_have_count(2)
        first, second = checkpoints.nth(0), checkpoints.nth(1)
        expect(first.locator("> summary")).to_contain_text("Checkpoint 1")
        expect(first.locator(".group.overwatcher > summary")).to_contain_text(
            ["Review", "Security"]
        )
        expect(first).to_contain_text("said by x1")
        expect(first).to_contain_text("said by x2")
        expect(second.locator("> summary")).to_contain_text("Checkpoint 2")
        expect(second).to_contain_text("said by zz-long-name-7")
        gate = impl.locator(".group.gate")
        expect(gate.locator("> summary")).to_contain_text("Final gate, run 1")
        expect(gate).to_contain_text("said by q")
        expect(impl.locator('.group[data-key="n"]')).to_contain_text("said by n")
        # Top-level groups: the run and its implementation task only.
        expect(page.locator("#log > .group")).to_have_count(2)
        # A thread of its own: Playwright's sync API keeps an event loop running here.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, _start_late_task(server.home)).result()
        expect(gate.locator(".group.overwatcher")).to_have_count(2)
        expect(gate).to_contain_text("late words")
    finally:
        page.close()
