"""CPU and wall time of one agent step's event writes (issue 10).

A step of the agent loop records four events (`model_text`, `usage` with its usage row,
`tool_call`, `tool_result`), each with a dedup key, the way `DurableSink` writes them.
This times N steps on SQLite and on a throwaway PostgreSQL database, first by one
writer, then by 20 concurrent writers (20 projects), and reports CPU time of this
process (`time.process_time`) per step beside the wall time.

Usage: `.venv/bin/python bench/event_write.py [--quick] [--steps N]`
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from benchkit import forgeline_home, ms, table, write_section

from forgeline.domain.events import EventType, NewEvent
from forgeline.domain.messages import Usage
from forgeline.store import Store, open_store
from forgeline.store.usage import NewUsage

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
USAGE = Usage(input_tokens=1200, output_tokens=80, calls=1, cost_usd=0.001)


def _events(task: str, step: int) -> list[NewEvent]:
    usage = {"agent": "coder", "model": "scripted:x", **USAGE.model_dump()}
    kinds: list[tuple[EventType, dict[str, Any]]] = [
        (EventType.MODEL_TEXT, {"text": "Reading the file."}),
        (EventType.USAGE, usage),
        (EventType.TOOL_CALL, {"id": f"c{step}", "name": "Bash", "input": {"command": "cat"}}),
        (EventType.TOOL_RESULT, {"id": f"c{step}", "output": "x" * 1024, "is_error": False}),
    ]
    return [
        NewEvent(type=t, task_id=task, data=d, dedup_key=f"{task}:{step}:{i}")
        for i, (t, d) in enumerate(kinds)
    ]


async def _step(store: Store, project: str, task: str, step: int) -> None:
    entry = NewUsage(agent="coder", model="scripted:x", usage=USAGE)
    for ev in _events(task, step):
        usage = entry if ev.type == EventType.USAGE else None
        await store.append_event_once(project, ev, usage=usage)


async def _project(store: Store, home: Path) -> str:
    record = await store.create_project(
        feature_request="bench", phases=["research"], workspace=str(home), slug="b", branch="b"
    )
    return record.id


async def _writer(store: Store, project: str, steps: int) -> None:
    task = uuid.uuid4().hex[:8]
    for step in range(steps):
        await _step(store, project, task, step)


async def _run(store: Store, home: Path, *, writers: int, steps: int) -> tuple[float, float]:
    projects = [await _project(store, home) for _ in range(writers)]
    await _writer(store, projects[0], 3)  # warm-up (statement caches, pool)
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(_writer(store, p, steps) for p in projects))
    total = writers * steps
    return (time.process_time() - cpu) / total, (time.perf_counter() - wall) / total


async def _fresh_pg() -> tuple[str, str]:
    name = f"bench_events_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name, f"postgresql://postgres@127.0.0.1:5432/{name}"


async def _drop_pg(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _measure(url: str, home: Path, steps: int) -> list[tuple[float, float]]:
    store = await open_store(url)
    try:
        one = await _run(store, home, writers=1, steps=steps)
        many = await _run(store, home, writers=20, steps=max(1, steps // 10))
    finally:
        await store.close()
    return [one, many]


async def _main(steps: int) -> list[list[str]]:
    rows: list[list[str]] = []
    with forgeline_home("bench-events-") as home:
        sqlite = await _measure(f"sqlite:///{home}/forgeline.db", home, steps)
        name, url = await _fresh_pg()
        try:
            postgres = await _measure(url, home, steps)
        finally:
            await _drop_pg(name)
    for db, results in (("SQLite", sqlite), ("PostgreSQL", postgres)):
        for writers, (cpu, wall) in zip((1, 20), results, strict=True):
            rows.append([db, str(writers), ms(cpu), ms(wall)])
    return rows


def main() -> None:
    """Run the benchmark and rewrite its RESULTS.md section."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100 steps instead of 400")
    parser.add_argument("--steps", type=int, default=0)
    args = parser.parse_args()
    steps = args.steps or (100 if args.quick else 400)
    rows = asyncio.run(_main(steps))
    text = table(["database", "writers", "CPU ms/step", "wall ms/step"], rows)
    print(text)
    body = (
        f"{steps} steps by one writer, then {max(1, steps // 10)} steps by each of 20 "
        "concurrent writers (one project each); a step is 4 events with dedup keys and one "
        "usage row. CPU is this process's `time.process_time()` per step (the asyncpg/"
        "aiosqlite threads included); wall is elapsed time / steps.\n\n" + text + "\n"
    )
    write_section("event_write", "Event writes per agent step (issue 10)", body)


if __name__ == "__main__":
    main()
