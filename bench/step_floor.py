"""Forgeline's own CPU per agent step against the machine's floor (issue 10).

A durable scripted agent run, as a real task runs: inside a `@DBOS.workflow()`, every
model call and tool call a durable step (`orchestrator.journal`), events through `DurableSink`
(store + bus + task log), the budget through `ProjectBudget`. N turns, each one model
call and one tool call, then a final text turn:

- **with Bash**: `Bash` `cat` of a 1 KB file (bubblewrap, the usual policy and limits);
- **without Bash**: `Read` of the same file (no subprocess).

Forgeline's CPU per step is the process's CPU time (`time.process_time()`, every thread)
plus its children's (`RUSAGE_CHILDREN`: bwrap and the sandboxed commands), over the
whole workflow (start to result), divided by N. The floor, measured in the same process
right before: one bare `bwrap ... cat` (CPU of this process spawning it plus the
child's) plus one raw `sqlite3` `INSERT` + `COMMIT` of a 1 KB row into a database in WAL
mode with `synchronous=NORMAL` (with Bash), or the INSERT + COMMIT alone (without).
A second floor, in wall time, is the issue's own ("one bubblewrap spawn plus one
durable write"): the bare spawn's wall time plus one fsynced (`synchronous=FULL`)
INSERT + COMMIT; the wall ratio compares the step's wall time with it.
Goals: <= 1.5x the floor with Bash, <= 2x without. Each database runs in its own child
process (one DBOS engine per process); PostgreSQL uses a throwaway database.

Usage: .venv/bin/python bench/step_floor.py [--quick] [--turns N] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench_sandbox_spawn import bare_argv
from benchkit import ms, table, write_section
from dbos import DBOS
from loop_overhead import FILE_NAME, make_workspace

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
GOALS = {"Bash": 1.5, "Read": 2.0}
"""The issue's goals: "with and without `Bash`: <= 1.5x and <= 2x" the floor."""


def cpu_now() -> float:
    """CPU seconds of this process (all threads) plus its waited-for children."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def floor_spawn(workspace: Path, count: int) -> tuple[float, float]:
    """CPU and wall seconds per bare `bwrap ... cat` (spawn, read its output via a pipe)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SystemExit("bwrap is not installed")
    argv = bare_argv(bwrap)
    started, wall = cpu_now(), time.perf_counter()
    for _ in range(count):
        done = subprocess.run(argv, cwd=workspace, capture_output=True, check=False)
        if done.returncode != 0 or not done.stdout:
            raise SystemExit(f"bare bwrap failed ({done.returncode}): {done.stderr[-500:]!r}")
    return (cpu_now() - started) / count, (time.perf_counter() - wall) / count


def floor_write(directory: Path, count: int, *, synchronous: str = "NORMAL") -> tuple[float, float]:
    """CPU and wall seconds per raw `INSERT` + `COMMIT` of a 1 KB row (SQLite, WAL).

    `synchronous=NORMAL` (Forgeline's setting) survives a killed process; `FULL`
    fsyncs each commit, surviving power loss too (the issue's "durable write").
    """
    conn = sqlite3.connect(directory / f"floor-{synchronous}.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE ev (seq INTEGER PRIMARY KEY, ts TEXT, data TEXT)")
    payload = json.dumps({"output": "x" * 1024})
    started, wall = cpu_now(), time.perf_counter()
    for seq in range(count):
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO ev VALUES (?, ?, ?)", (seq, "2026-12-01T00:00:00", payload))
        conn.execute("COMMIT")
    elapsed, waited = cpu_now() - started, time.perf_counter() - wall
    conn.close()
    return elapsed / count, waited / count


async def agent_run(project_id: str, workspace: str, tool: str, turns: int) -> int:
    """One durable agent run of `turns` tool turns plus the final turn; its step count."""
    from forgeline.agents.loop import Outcome, run_agent
    from forgeline.domain.messages import Message
    from forgeline.llm.scripted import Script, ScriptedModel, ScriptedToolCall, ScriptedTurn
    from forgeline.orchestrator.budget import ProjectBudget
    from forgeline.orchestrator.durable import DurableSink
    from forgeline.orchestrator.journal import Journal
    from forgeline.orchestrator.runtime import current
    from forgeline.sandbox.policy import with_settings
    from forgeline.sandbox.spec import SandboxPolicy
    from forgeline.tools.base import ToolContext
    from forgeline.workspace.layout import Workspace

    runtime, task_id = current(), DBOS.workflow_id or "bench"
    root = Path(workspace)
    # A trailing comment (Bash) or an offset (Read) makes each call distinct.
    calls = [
        {"command": f"cat {FILE_NAME} #{i}"}
        if tool == "Bash"
        else {"file_path": str(root / FILE_NAME), "offset": 1 + i % 16}
        for i in range(turns)
    ]
    script = [ScriptedTurn(tool_calls=[ScriptedToolCall(name=tool, input=c)]) for c in calls]
    script.append(ScriptedTurn(text="done"))
    model = ScriptedModel(Script(agents={"bench": script}), agent="bench", label="bench")
    policy = with_settings(SandboxPolicy(workspace=root, writable=(root,)), runtime.settings)
    ctx = ToolContext(workspace=root, agent="bench", sandbox=policy, task_id=task_id)
    ws = Workspace(home=runtime.settings.home, project_id=project_id)
    result = await run_agent(
        agent="bench",
        model=model,
        system="You are a benchmark.",
        tools=[tool],
        ctx=ctx,
        messages=[Message(role="user", text="Read the file many times.")],
        sink=DurableSink(runtime, project_id=project_id, workflow_id=task_id, ws=ws),
        steps=Journal(runtime.store, project_id=project_id, workflow_id=task_id).step,
        spend=ProjectBudget(runtime, project_id=project_id, task_id=task_id, agent="bench"),
    )
    if result.outcome != Outcome.COMPLETED or result.steps != turns + 1:
        raise RuntimeError(f"the benchmark run did not complete: {result.outcome} {result.reason}")
    return result.steps


@DBOS.workflow()
async def bench_step_workflow(project_id: str, workspace: str, tool: str, turns: int) -> int:
    """The agent run as a workflow of its own (as every agent task is)."""
    return await agent_run(project_id, workspace, tool, turns)


async def durable_cpu(project_id: str, workspace: Path, tool: str, turns: int) -> dict[str, float]:
    """CPU and wall seconds per step of one durable run (workflow start to result)."""
    from forgeline.orchestrator.runtime import current

    task = await current().store.create_task(project_id, "research", "bench")
    cpu, wall = cpu_now(), time.perf_counter()
    handle = await _start(task.id, project_id, workspace, tool, turns)
    await handle.get_result()
    return {"cpu": (cpu_now() - cpu) / turns, "wall": (time.perf_counter() - wall) / turns}


async def _start(task_id: str, project_id: str, workspace: Path, tool: str, turns: int) -> Any:
    from dbos import SetWorkflowID

    with SetWorkflowID(task_id):
        return await DBOS.start_workflow_async(
            bench_step_workflow, project_id, str(workspace), tool, turns
        )


async def child(database: str, turns: int, profile: str | None) -> dict[str, Any]:
    """Floor and durable runs on one database (runs in a child process)."""
    from forgeline.orchestrator.boot import start_runtime
    from forgeline.settings import Settings

    home = Path(os.environ["FORGELINE_HOME"])
    scratch = Path(tempfile.mkdtemp(dir=home.parent))
    workspace = make_workspace(scratch)
    url = None if database == "sqlite" else PG_URL.format(name=database)
    runtime = await start_runtime(Settings(home=home, database_url=url), role="bench")
    out: dict[str, Any] = {}
    try:
        project = await runtime.store.create_project(
            feature_request="bench", phases=["research"], workspace=str(home), slug="b", branch="b"
        )
        for tool in GOALS:
            await durable_cpu(project.id, workspace, tool, 5)  # warm up
        out["spawn"], out["spawn_wall"] = floor_spawn(workspace, max(50, turns // 4))
        out["write"], _ = floor_write(scratch, turns * 4)
        _, out["synced_wall"] = floor_write(scratch, max(50, turns // 2), synchronous="FULL")
        for tool in os.environ.get("BENCH_TOOLS", ",".join(GOALS)).split(","):
            out[tool] = await _measured(project.id, workspace, tool, turns, profile)
    finally:
        await runtime.stop()
    return out


async def _measured(
    project_id: str, workspace: Path, tool: str, turns: int, profile: str | None
) -> dict[str, float]:
    if not profile:
        return await durable_cpu(project_id, workspace, tool, turns)
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        return await durable_cpu(project_id, workspace, tool, turns)
    finally:
        profiler.disable()
        profiler.dump_stats(f"{profile}.{tool}")


def run_child(database: str, turns: int, profile: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="forgeline-bench-floor-", dir="/var/tmp") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        env = {**os.environ, "FORGELINE_HOME": str(home)}
        argv = [sys.executable, __file__, "--child", database, "--turns", str(turns)]
        argv += ["--profile", f"{profile}.{database[:6]}"] if profile else []
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {database} run failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def postgres(turns: int, profile: str | None) -> dict[str, Any]:
    import psycopg

    name = f"forgeline_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        return run_child(name, turns, profile)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def rows(label: str, data: dict[str, Any]) -> list[list[str]]:
    out = []
    for tool, goal in GOALS.items():
        if tool not in data:
            continue  # left out with BENCH_TOOLS
        bash = tool == "Bash"
        floor = data["write"] + (data["spawn"] if bash else 0.0)
        wall_floor = data["synced_wall"] + (data["spawn_wall"] if bash else 0.0)
        ratio = data[tool]["cpu"] / floor
        verdict = "met" if ratio <= goal else "not met"
        out.append(
            [
                label,
                "with `Bash`" if bash else "without (`Read`)",
                ms(data[tool]["cpu"]),
                ms(floor),
                f"**{ratio:.2f}x** (<= {goal}x: {verdict})",
                ms(data[tool]["wall"]),
                ms(wall_floor),
                f"{data[tool]['wall'] / wall_floor:.2f}x",
            ]
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 turns")
    parser.add_argument("--turns", type=int, default=None)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--profile", help="write cProfile stats to FILE.<db>.<tool>")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    turns = args.turns or (50 if args.quick else 200)
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, turns, args.profile))))
        return
    results = {"SQLite": run_child("sqlite", turns, args.profile)}
    if not args.sqlite_only:
        results["PostgreSQL"] = postgres(turns, args.profile)
    report(results, turns)


def report(results: dict[str, Any], turns: int) -> None:
    headers = [
        "database",
        "step",
        "own CPU ms/step",
        "CPU floor ms",
        "CPU ratio",
        "wall ms/step",
        "wall floor ms",
        "wall ratio",
    ]
    body_rows = [r for label, data in results.items() for r in rows(label, data)]
    first = next(iter(results.values()))
    body = "\n".join(
        [
            f"{turns} turns per run (each one model call and one tool call), then a final "
            "turn; one run per kind after a 5-turn warm-up, in one process per database.",
            "",
            table(headers, body_rows),
            "",
            f"CPU floor (SQLite child): bare `bwrap ... cat` {ms(first['spawn'])} ms CPU "
            f"(this process + the child), raw `sqlite3` INSERT + COMMIT (WAL, "
            f"`synchronous=NORMAL`) {ms(first['write'])} ms CPU. Wall floor, the issue's "
            "definition (one bubblewrap spawn plus one durable write): bare `bwrap ... cat` "
            f"{ms(first['spawn_wall'])} ms wall, INSERT + COMMIT with `synchronous=FULL` "
            f"(fsynced) {ms(first['synced_wall'])} ms wall. Own CPU is process CPU "
            "(all threads) plus children's over the whole workflow, divided by the turns: "
            "the step journal, events (`DurableSink`: store, bus, task log), budget, "
            "scripted model, tool and sandbox. PostgreSQL's server CPU is not in it.",
        ]
    )
    print(body)
    write_section("step_floor", "Own CPU per agent step against the floor (issue 10)", body)


if __name__ == "__main__":
    main()
