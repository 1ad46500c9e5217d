"""Forgeline's own git commands: what one costs the parent process, and how many a project runs.

1. **Per command**, interleaved rounds of `git --version` (the child's own work is the
   same in every row): the parent's CPU (all its threads) and wall time per command,
   started three ways: `asyncio.create_subprocess_exec` + `communicate` (how
   `workspace.git_run` ran git before issue 10's last round), `forgeline.process.run_captured`
   (`Popen`, a pidfd and the loop's reader callbacks: no transport, stream or watcher
   thread), and the whole `workspace.git_run.run` (safety options, environment, checks).
2. **Per project**, one demo project (the bundled script, all phases, no model delay)
   through `bench/concurrent_projects.py --child 1`, with a `git` first on `PATH` that
   logs each host-side invocation's subcommand and then runs the real git. Sandboxed
   commands get a clean `PATH`, and git starts its own helpers from its exec path, so
   neither is counted.

Usage: .venv/bin/python bench/git_calls.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchkit import BENCH_DIR, table, write_section

from forgeline.process import run_captured
from forgeline.workspace import git_run

ARGV = ["git", "--version"]
SHIM = """#!/bin/sh
sub() {{
  while [ $# -gt 0 ]; do
    case "$1" in -c|-C) shift 2 ;; -*) shift ;; *) echo "$1"; return ;; esac
  done
  echo git
}}
sub "$@" >> "{log}"
exec "{git}" "$@"
"""


def cpu_now() -> float:
    """CPU seconds of this process, every thread."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def via_asyncio(cwd: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        *ARGV,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    await proc.communicate()


async def via_run_captured(cwd: Path) -> None:
    await run_captured(ARGV, cwd=cwd, env=dict(os.environ), timeout_s=30)


async def via_git_run(cwd: Path) -> None:
    await git_run.run("version", cwd=cwd)


async def per_command(rounds: int) -> list[list[str]]:
    """Median parent CPU and wall ms per command, for each way, over interleaved rounds."""
    ways = {
        "asyncio `create_subprocess_exec` (before)": via_asyncio,
        "`process.run_captured` (now)": via_run_captured,
        "`git_run.run` (the whole wrapper, now)": via_git_run,
    }
    cpu: dict[str, list[float]] = collections.defaultdict(list)
    wall: dict[str, list[float]] = collections.defaultdict(list)
    cwd = Path(tempfile.mkdtemp(prefix="forgeline-bench-git-"))
    try:
        for _ in range(rounds):
            for name, way in ways.items():
                c0, w0 = cpu_now(), time.perf_counter()
                for _ in range(20):
                    await way(cwd)
                cpu[name].append((cpu_now() - c0) / 20)
                wall[name].append((time.perf_counter() - w0) / 20)
    finally:
        shutil.rmtree(cwd)
    base = statistics.median(cpu[next(iter(ways))])
    return [
        [
            name,
            f"{statistics.median(cpu[name]) * 1000:.3f}",
            f"{statistics.median(cpu[name]) / base:.2f}x",
            f"{statistics.median(wall[name]) * 1000:.3f}",
        ]
        for name in ways
    ]


def per_project() -> collections.Counter[str]:
    """Host-side git invocations of one demo project, by subcommand."""
    real = shutil.which("git")
    if real is None:
        raise SystemExit("git is not installed")
    with tempfile.TemporaryDirectory(prefix="forgeline-bench-gitcalls-") as base:
        shims, home, log = Path(base, "bin"), Path(base, "home"), Path(base, "git.log")
        shims.mkdir()
        home.mkdir()
        shim = shims / "git"
        shim.write_text(SHIM.format(log=log, git=real), encoding="utf-8")
        shim.chmod(0o755)
        env = {**os.environ, "PATH": f"{shims}:{os.environ.get('PATH', '')}"}
        env["FORGELINE_HOME"] = str(home)
        script = BENCH_DIR / "concurrent_projects.py"
        argv = [sys.executable, str(script), "--child", "1", "--home", str(home)]
        done = subprocess.run(
            [*argv, "--delay", "0"], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0 or '"completed"' not in done.stdout:
            raise SystemExit(f"the demo project failed:\n{done.stderr[-2000:]}")
        lines = log.read_text(encoding="utf-8").splitlines() if log.exists() else []
    return collections.Counter(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    rows = asyncio.run(per_command(args.rounds))
    calls = per_project()
    headers = ["started with", "parent CPU ms/command", "vs before", "wall ms/command"]
    counted = ", ".join(f"{name} {n}" for name, n in calls.most_common())
    body = "\n".join(
        [
            f"`git --version`, {args.rounds} interleaved rounds of 20 commands each; medians "
            "of the rounds. Parent CPU is this process's (every thread); the child's own CPU "
            "is the same in every row.",
            "",
            table(headers, rows),
            "",
            f"Host-side git commands of one demo project (all phases, no model delay): "
            f"**{sum(calls.values())}** ({counted}).",
        ]
    )
    print(body)
    write_section("git_calls", "Forgeline's own git commands (issue 10)", body)


if __name__ == "__main__":
    main()
