"""Per-call overhead of durability: run_agent with durable steps vs without, SQLite and PostgreSQL.

A scripted model makes N turns that each call `Glob` on an empty directory (a distinct
pattern each time, so loop detection stays quiet), then a final text turn. The same run
goes once with `steps=run_directly` and once inside a DBOS workflow with
`steps=Journal(...).step` (each model call and each tool call is a durable step of the
step journal, as in a real task), with the
runtime started by `start_runtime(Settings(home=tmp, database_url=...), role="bench")`.
PostgreSQL uses a throwaway database on postgresql://postgres@127.0.0.1:5432, dropped
afterwards. Each database runs in its own child process (one DBOS engine per process).

Usage: .venv/bin/python bench/durable_overhead.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchkit import forgeline_home, median, ms, table, write_section
from dbos import DBOS

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def agent_run(workspace: str, turns: int, *, project_id: str | None = None) -> float:
    """Seconds for one run of `turns` Glob turns plus the final turn."""
    from forgeline.agents.loop import Outcome, run_agent, run_directly
    from forgeline.domain.events import ListSink
    from forgeline.domain.messages import Message
    from forgeline.llm.scripted import Script, ScriptedModel, ScriptedToolCall, ScriptedTurn
    from forgeline.orchestrator.engine import workflow_id
    from forgeline.orchestrator.journal import Journal
    from forgeline.orchestrator.runtime import current
    from forgeline.tools.base import ToolContext

    script_turns = [
        ScriptedTurn(
            tool_calls=[
                ScriptedToolCall(name="Glob", input={"pattern": f"*.x{i}", "path": "empty"})
            ]
        )
        for i in range(turns)
    ]
    script_turns.append(ScriptedTurn(text="done"))
    model = ScriptedModel(Script(agents={"bench": script_turns}), agent="bench", label="bench")
    ctx = ToolContext(workspace=Path(workspace), agent="bench")
    steps = run_directly
    if project_id is not None:
        journal = Journal(current().store, project_id=project_id, workflow_id=workflow_id())
        steps = journal.step
    started = time.perf_counter()
    result = await run_agent(
        agent="bench",
        model=model,
        system="You are a benchmark.",
        tools=["Glob"],
        ctx=ctx,
        messages=[Message(role="user", text="Look for files.")],
        sink=ListSink(),
        steps=steps,
    )
    elapsed = time.perf_counter() - started
    if result.outcome != Outcome.COMPLETED or result.steps != turns + 1:
        raise RuntimeError(f"the benchmark run did not complete: {result.outcome} {result.reason}")
    return elapsed


@DBOS.workflow()
async def bench_durable_workflow(project_id: str, workspace: str, turns: int) -> float:
    """The agent run inside a workflow, every model and tool call a durable step."""
    return await agent_run(workspace, turns, project_id=project_id)


async def child(database: str, turns: int, reps: int) -> dict[str, Any]:
    """Measure direct and durable runs on one database (runs in a child process)."""
    from forgeline.orchestrator.boot import start_runtime
    from forgeline.settings import Settings

    home = Path(os.environ["FORGELINE_HOME"])
    workspace = home.parent / "ws"
    (workspace / "empty").mkdir(parents=True)
    url = None if database == "sqlite" else PG_URL.format(name=database)
    runtime = await start_runtime(Settings(home=home, database_url=url), role="bench")
    try:
        project = await runtime.store.create_project(
            feature_request="bench", phases=["research"], workspace=str(home), slug="b", branch="b"
        )
        await agent_run(str(workspace), 5)  # warm up imports and caches
        await _durable(project.id, str(workspace), 5)
        direct, durable, outside = [], [], []
        for _ in range(reps):
            direct.append(await agent_run(str(workspace), turns))
            started = time.perf_counter()
            durable.append(await _durable(project.id, str(workspace), turns))
            outside.append(time.perf_counter() - started)
    finally:
        await runtime.stop()
    return {"direct": direct, "durable": durable, "outside": outside}


async def _durable(project_id: str, workspace: str, turns: int) -> float:
    handle = await DBOS.start_workflow_async(bench_durable_workflow, project_id, workspace, turns)
    inside: float = await handle.get_result()
    return inside


def run_child(database: str, turns: int, reps: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="forgeline-bench-durable-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        env = {**os.environ, "FORGELINE_HOME": str(home)}
        argv = [sys.executable, __file__, "--child", database, "--turns", str(turns)]
        argv += ["--reps", str(reps)]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {database} run failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def postgres(turns: int, reps: int) -> dict[str, Any]:
    import psycopg

    name = f"forgeline_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        return run_child(name, turns, reps)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def row(label: str, data: dict[str, Any], turns: int) -> list[str]:
    direct, durable = median(data["direct"]), median(data["durable"])
    outside = median(data["outside"])
    extra_turn = (durable - direct) / turns
    return [
        label,
        ms(direct / turns),
        ms(durable / turns),
        ms(extra_turn),
        ms(extra_turn / 2),
        ms(outside - durable),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50 turns, 1 repetition")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--turns", type=int, default=200, help=argparse.SUPPRESS)
    parser.add_argument("--reps", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(child(args.child, args.turns, args.reps))))
        return
    turns, reps = (50, 1) if args.quick else (200, 3)
    with forgeline_home("forgeline-bench-durable-main-"):
        results = {"SQLite": run_child("sqlite", turns, reps), "PostgreSQL": postgres(turns, reps)}
    headers = [
        "database",
        "direct ms/turn",
        "durable ms/turn",
        "extra ms/turn",
        "extra ms/step",
        "workflow start+end ms",
    ]
    rows = [row(label, data, turns) for label, data in results.items()]
    body = "\n".join(
        [
            f"{turns} turns per run (each: one model call and one `Glob` call on an empty "
            f"directory, i.e. two steps), then a final turn; medians of {reps} runs.",
            "",
            table(headers, rows),
            "",
            "`direct` is `run_agent(..., steps=run_directly)`; `durable` is the same run "
            "inside a `@DBOS.workflow()` with the step journal's steps (timed inside the "
            "workflow). `extra ms/turn` is the durability cost of one model call plus one "
            "tool call; `extra ms/step` is half that. `workflow start+end` is the time "
            "outside the agent run: starting the workflow and fetching its result. "
            "Events go to a `ListSink` (the real `DurableSink`'s writes are not included).",
        ]
    )
    print(body)
    write_section("durable_overhead", "Durable-step overhead (issue 3)", body)


if __name__ == "__main__":
    main()
