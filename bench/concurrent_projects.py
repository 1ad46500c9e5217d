"""Many projects at once in one process: wall time against one project, and memory.

Each project runs the demo script (all phases, scripted model) with a fixed delay
per model call (default 1.0 s, simulating model latency), in ONE process: one
Runtime (role "bench", listen True), `Service.create_project` on fresh sample
repositories, `start_pipeline` for each, questions answered with their first
option as soon as the `question_asked` event arrives. The 1-project run and the
N-project run are separate child processes of this script with the same setup, so
their peak RSS (VmHWM) and CPU time are measured cleanly.

Usage: .venv/bin/python bench/concurrent_projects.py [--quick] [--projects N]
       [--db sqlite|postgres] [--delay S] [--rounds R]

With `--rounds R`, R pairs (a 1-project run, then the N-project run) run one after
another and the median ratio is reported: runs of one build spread by about 0.15x.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _wfcommon import median, proc_status_kib, table, write_section

PHASES = ["research", "planning", "implementation"]
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
CHILD_TIMEOUT_S = 900


def write_script(home: Path, delay: float) -> Path:
    """The bundled demo script with a top-level `delay` per model call."""
    raw = (resources.files("forgeline.demo") / "script.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(raw)
    data["delay"] = delay
    path = home / "bench-script.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


async def answer_questions(service: Any, project_id: str) -> None:
    """Answer every question of the project with its first option, as it is asked."""
    from forgeline.tools.base import Answer

    async for event in service.runtime.events.subscribe(project_id):
        if event.type != "question_asked":
            continue
        for q in event.data["questions"]:
            options = q.get("options") or []
            answer = (
                Answer(question=q["question"], selected=[options[0]["label"]])
                if options
                else Answer(question=q["question"], other="Use your judgement.")
            )
            await service.answer(q["id"], answer)


async def run_project(service: Any, repo: Path, model: str, started: float) -> dict[str, Any]:
    """Create one project, run its pipeline to the end; when it finished and how."""
    from forgeline.console.demo import REQUEST
    from forgeline.workspace.layout import RepoSpec

    project = await service.create_project(
        feature_request=REQUEST, repositories=[RepoSpec(url=str(repo))], phases=PHASES, model=model
    )
    answerer = asyncio.create_task(answer_questions(service, project.id))
    try:
        task = await service.start_pipeline(project.id, PHASES)
        await service.wait(task.id)  # as `forgeline run` waits
        status = (await service.get_task(task.id)).status
    finally:
        answerer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await answerer
    error = (await service.get_task(task.id)).error if status != "completed" else None
    return {"seconds": time.monotonic() - started, "status": status, "error": error}


async def child(projects: int, home: Path, database_url: str | None, delay: float) -> None:
    """One measured run; prints a JSON line."""
    from forgeline.console.demo import make_sample_repo
    from forgeline.orchestrator.boot import start_runtime
    from forgeline.orchestrator.service import Service
    from forgeline.settings import Settings

    settings = Settings(home=home, database_url=database_url)
    script = write_script(home, delay)
    repos = [make_sample_repo(home / "repos") for _ in range(projects)]
    runtime = await start_runtime(settings, role="bench", listen=True)
    try:
        service = Service(runtime)
        baseline = proc_status_kib("self", "VmRSS")
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        results = await asyncio.gather(
            *(run_project(service, r, f"scripted:{script}", started) for r in repos)
        )
        wall = time.monotonic() - started
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        rss_end = proc_status_kib("self", "VmRSS")
    finally:
        await runtime.stop()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = {
        "projects": projects,
        "wall_s": wall,
        "results": results,
        "baseline_kib": baseline,
        "rss_end_kib": rss_end,
        "hwm_kib": proc_status_kib("self", "VmHWM"),
        "cpu_s": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime),
        "children_cpu_s": kids.ru_utime + kids.ru_stime,
    }
    print("RESULT " + json.dumps(out), flush=True)


def run_child(projects: int, base: Path, db: str, delay: float) -> dict[str, Any]:
    """Run one measurement in a fresh process (and a fresh PostgreSQL database)."""
    home = Path(tempfile.mkdtemp(prefix=f"p{projects}-", dir=base))
    url, dbname = None, None
    if db == "postgres":
        dbname = f"forgeline_bench_{uuid.uuid4().hex[:10]}"
        _pg(f'CREATE DATABASE "{dbname}"')
        url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{dbname}"
    args = [sys.executable, __file__, "--child", str(projects), "--home", str(home)]
    args += ["--delay", str(delay)] + (["--database-url", url] if url else [])
    env = {**os.environ, "FORGELINE_HOME": str(home)}
    try:
        proc = subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S
        )
    finally:
        if dbname:
            _pg(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout)[-3000:]
        raise SystemExit(f"the {projects}-project run failed (exit {proc.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    return result


def _pg(statement: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(statement.encode())


def summarise(one: dict[str, Any], many: dict[str, Any], db: str, delay: float) -> str:
    """Tables comparing the 1-project and N-project runs."""
    rows = []
    for run in (one, many):
        n = run["projects"]
        secs = [r["seconds"] for r in run["results"]]
        ok = sum(1 for r in run["results"] if r["status"] == "completed")
        grown = (run["hwm_kib"] - run["baseline_kib"]) / 1024
        rows.append(
            [
                str(n),
                f"{ok}/{n}",
                f"{run['wall_s']:.1f}",
                f"{run['wall_s'] / one['wall_s']:.2f}x",
                f"{median(secs):.1f} / {max(secs):.1f}",
                f"{run['baseline_kib'] / 1024:.0f}",
                f"{run['hwm_kib'] / 1024:.0f}",
                f"{grown:.0f} ({grown / n:.1f}/project)",
                f"{run['cpu_s']:.1f}",
                f"{run['children_cpu_s']:.1f}",
            ]
        )
    headers = [
        "projects",
        "completed",
        "wall s",
        "vs 1",
        "per-project s median/max",
        "baseline RSS MiB",
        "peak RSS MiB",
        "peak - baseline MiB",
        "CPU s (process)",
        "CPU s (subprocesses)",
    ]
    errors = sorted({r["error"] for r in many["results"] if r.get("error")})
    lines = [
        f"Database: {db}. Scripted model with `delay: {delay}` s per call; phases "
        f"{', '.join(PHASES)} (documentation runs inside implementation). Wall time: from "
        "the first create_project to the last pipeline result (clones included). CPU s "
        "(process) is this process's user+sys during the run; subprocesses are git, bwrap "
        "and the sandboxed test runs (their RSS is not in the peak).",
        "",
        table(headers, rows),
    ]
    if errors:
        lines += ["", "Errors: " + "; ".join(errors)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 projects instead of 20")
    parser.add_argument("--projects", type=int, default=None)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--delay", type=float, default=1.0, help="seconds per model call")
    parser.add_argument(
        "--rounds", type=int, default=1, help="interleaved 1-project/N-project pairs (median)"
    )
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--home", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(child(args.child, args.home, args.database_url, args.delay))
        return
    projects = args.projects or (5 if args.quick else 20)
    pairs = []
    with tempfile.TemporaryDirectory(prefix="forgeline-bench-") as base:
        for _ in range(args.rounds):
            one = run_child(1, Path(base), args.db, args.delay)
            pairs.append((one, run_child(projects, Path(base), args.db, args.delay)))
    body = summarise(*median_pair(pairs), args.db, args.delay)
    if len(pairs) > 1:
        body += "\n\n" + rounds_line(pairs)
    print(body)
    write_section(
        f"concurrent_projects-{args.db}",
        f"concurrent_projects ({args.db}): {projects} projects in one process",
        body,
    )


def ratio(pair: tuple[dict[str, Any], dict[str, Any]]) -> float:
    """The N-project run's wall time over the 1-project run's just before it."""
    one, many = pair
    return float(many["wall_s"]) / float(one["wall_s"])


def median_pair(
    pairs: list[tuple[dict[str, Any], dict[str, Any]]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pair with the median ratio (the lower middle one of an even count)."""
    ordered = sorted(pairs, key=ratio)
    return ordered[(len(ordered) - 1) // 2]


def rounds_line(pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> str:
    """Every round's ratio, in the order they ran (the table shows the median round)."""
    each = ", ".join(f"{ratio(p):.2f}x" for p in pairs)
    cpu = ", ".join(f"{p[1]['cpu_s']:.1f}" for p in pairs)
    return (
        f"{len(pairs)} rounds, each a 1-project run then the {pairs[0][1]['projects']}-project "
        f"run; the table is the median round. Ratios: {each} (median "
        f"**{ratio(median_pair(pairs)):.2f}x**); process CPU of the many-project runs: {cpu} s."
    )


if __name__ == "__main__":
    main()
