"""CPU per call of the store's hot task/project calls (issue 10).

Times N calls of each of `get_project`, `update_project`, `list_repositories`,
`create_task`, `get_task`, `list_tasks`, `update_task` (guarded) and `last_event_seq`
on SQLite and on a throwaway PostgreSQL database, one caller at a time, and prints this
process's CPU time (`time.process_time`, driver threads included) and wall time per
call. It prints only (no RESULTS.md section).

Usage: `.venv/bin/python bench/store_calls.py [--calls N]`
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
from benchkit import forgeline_home, ms, table

from forgeline.store import NewRepository, Store, open_store

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
Call = Callable[[int], Awaitable[object]]


async def _time(calls: int, fn: Call) -> tuple[float, float]:
    for i in range(5):  # warm-up (statement caches, pool)
        await fn(i)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(calls):
        await fn(i)
    return (time.process_time() - cpu) / calls, (time.perf_counter() - wall) / calls


async def _measure(store: Store, home: Path, calls: int) -> list[tuple[str, float, float]]:
    repos = [NewRepository(url="https://example.com/a.git", name="a")]
    project = await store.create_project(
        feature_request="bench",
        phases=["research", "planning"],
        workspace=str(home),
        slug="b",
        branch="b",
        repositories=repos,
    )
    pid = project.id
    tasks = [(await store.create_task(pid, "research", "coder")).id for _ in range(20)]
    statuses = ("running", "waiting")
    cases: list[tuple[str, Call]] = [
        ("get_project", lambda i: store.get_project(pid)),
        ("update_project", lambda i: store.update_project(pid, current_phase=f"p{i}")),
        ("list_repositories", lambda i: store.list_repositories(pid)),
        ("create_task", lambda i: store.create_task(pid, "planning", "coder")),
        ("get_task", lambda i: store.get_task(tasks[i % 20])),
        ("list_tasks (phase, 20)", lambda i: store.list_tasks(pid, phase="research")),
        (
            "update_task (guarded)",
            lambda i: store.update_task(tasks[i % 20], status=statuses[i % 2], guarded=True),
        ),
        ("last_event_seq", lambda i: store.last_event_seq(pid)),
    ]
    return [(name, *await _time(calls, fn)) for name, fn in cases]


async def _pg_database(action: str, name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(f'{action} DATABASE "{name}"' + (" WITH (FORCE)" * (action == "DROP")))
    finally:
        await conn.close()


async def _run(url: str, home: Path, calls: int) -> list[tuple[str, float, float]]:
    store = await open_store(url)
    try:
        return await _measure(store, home, calls)
    finally:
        await store.close()


async def _main(calls: int) -> list[list[str]]:
    rows: list[list[str]] = []
    with forgeline_home("bench-store-") as home:
        sqlite = await _run(f"sqlite:///{home}/forgeline.db", home, calls)
        name = f"bench_store_{uuid.uuid4().hex[:8]}"
        await _pg_database("CREATE", name)
        try:
            postgres = await _run(f"postgresql://postgres@127.0.0.1:5432/{name}", home, calls)
        finally:
            await _pg_database("DROP", name)
    for db, results in (("SQLite", sqlite), ("PostgreSQL", postgres)):
        rows.extend([db, call, ms(cpu), ms(wall)] for call, cpu, wall in results)
    return rows


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    rows = asyncio.run(_main(args.calls))
    print(table(["database", "call", "CPU ms/call", "wall ms/call"], rows))


if __name__ == "__main__":
    main()
