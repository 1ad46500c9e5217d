"""`forgeline --help` wall time, and the imports that cost the most at startup.

Runs the installed console script (`.venv/bin/forgeline --help`) as a subprocess N times
(median), beside a bare `python -c pass` for the interpreter's own floor, then runs it
once under `python -X importtime` and lists the top 10 imports by cumulative time (and
by own time). Goal: under 0.5 s.

Usage: .venv/bin/python bench/cli_startup.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchkit import forgeline_home, median, ms, table, write_section

GOAL_S = 0.5
SCRIPT = Path(sys.executable).parent / "forgeline"


@dataclass(frozen=True)
class ImportRow:
    name: str
    self_us: int
    cumulative_us: int


def wall_times(argv: list[str], runs: int, *, env: dict[str, str] | None = None) -> list[float]:
    merged = {**os.environ, **(env or {})}
    times = []
    for _ in range(runs + 1):  # the first run warms the page cache and is not counted
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, check=False, env=merged)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{argv} failed: {done.stderr.decode(errors='replace')}")
    return times[1:]


def import_times() -> list[ImportRow]:
    argv = [sys.executable, "-X", "importtime", str(SCRIPT), "--help"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = line.removeprefix("import time:").split("|")
        rows.append(ImportRow(name.rstrip()[1:], int(self_us), int(cumulative_us)))
    return rows


def import_table(rows: list[ImportRow], *, key: str) -> str:
    ranked = sorted(rows, key=lambda r: getattr(r, key), reverse=True)[:10]
    body = [
        [
            ("- " if r.name.startswith(" ") else "") + f"`{r.name.strip()}`",
            f"{r.cumulative_us / 1000:.1f}",
            f"{r.self_us / 1000:.1f}",
        ]
        for r in ranked
    ]
    return table(["module", "cumulative ms", "self ms"], body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs instead of 10")
    args = parser.parse_args()
    runs = 3 if args.quick else 10
    if not SCRIPT.exists():
        raise SystemExit(f"{SCRIPT} not found: install the package (pip install -e .)")
    with forgeline_home("forgeline-bench-cli-"):
        help_s = median(wall_times([str(SCRIPT), "--help"], runs))
        bare_s = median(wall_times([sys.executable, "-c", "pass"], runs))
        typer_s = median(wall_times([sys.executable, "-c", "import typer"], runs))
        asyncio_s = median(wall_times([sys.executable, "-c", "import asyncio"], runs))
        plain_s = median(wall_times([str(SCRIPT), "--help"], runs, env={"TYPER_USE_RICH": "0"}))
        imports = import_times()
    total = sum(r.self_us for r in imports) / 1e6
    shallow = [r for r in imports if not r.name.startswith("    ")]
    verdict = "meets" if help_s < GOAL_S else "MISSES"
    rows = [
        ["`forgeline --help`", ms(help_s)],
        ["`python -c pass` (interpreter floor)", ms(bare_s)],
        ["`python -c 'import typer'`", ms(typer_s)],
        ["`python -c 'import asyncio'`", ms(asyncio_s)],
        ["`TYPER_USE_RICH=0 forgeline --help` (plain click help)", ms(plain_s)],
    ]
    body = "\n".join(
        [
            f"Medians of {runs} runs (after one warm-up run each):",
            "",
            table(["command", "wall ms"], rows),
            "",
            f"`forgeline --help`: **{help_s:.3f} s** ({verdict} the {GOAL_S} s goal). Under "
            f"`-X importtime` the imports add up to {total * 1000:.0f} ms "
            f"({len(imports)} modules).",
            "",
            "Top 10 imports by cumulative time, top level and their direct imports "
            "(indented), `-X importtime`, one run:",
            "",
            import_table(shallow, key="cumulative_us"),
            "",
            "Top 10 modules by own (self) time:",
            "",
            import_table(imports, key="self_us"),
        ]
    )
    print(body)
    write_section("cli_startup", "CLI startup (issue 2)", body)


if __name__ == "__main__":
    main()
