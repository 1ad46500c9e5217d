"""Shared helpers of the workflow benchmarks: machine facts, timing, the results file."""

from __future__ import annotations

import fcntl
import os
import platform
import re
import shlex
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS = BENCH_DIR / "RESULTS.md"
HEADER = (
    "# Forgeline workflow and server benchmarks\n\n"
    "Written by the scripts in `bench/` (see bench/README.md). Each section is replaced "
    "when its script runs again. Compare ratios within one run, not across machines.\n"
)


def machine() -> dict[str, str]:
    """nproc, CPU model, RAM, Python version and the date, as strings."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count() or 0),
        "cpu": cpu,
        "ram": f"{_meminfo_kib('MemTotal') / 1024 / 1024:.1f} GiB",
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def _meminfo_kib(field: str) -> int:
    text = Path("/proc/meminfo").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def proc_status_kib(pid: int | str, field: str) -> int:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM); 0 when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else 0


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (`pct` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (also readable in a terminal)."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def command_line() -> str:
    """The command that ran this script, as typed from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        shown = str(script.relative_to(ROOT))
    except ValueError:
        shown = str(script)
    return shlex.join([".venv/bin/python", shown, *sys.argv[1:]])


def write_section(key: str, title: str, body: str) -> None:
    """Replace (or append) this script's section of the results file, under a lock."""
    info = machine()
    facts = (
        f"- Command: `{command_line()}`\n"
        f"- Machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram']} RAM, "
        f"Python {info['python']}, {info['date']}\n"
    )
    text_body = f"## {title}\n\n{facts}\n{body.rstrip()}\n"
    section = f"<!-- section:{key} -->\n{text_body}<!-- end:{key} -->\n"
    RESULTS.touch(exist_ok=True)
    with RESULTS.open("r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        text = handle.read() or HEADER
        pattern = re.compile(
            rf"<!-- section:{re.escape(key)} -->\n.*?<!-- end:{re.escape(key)} -->\n", re.DOTALL
        )
        if pattern.search(text):
            text = pattern.sub(lambda _m: section, text)
        else:
            text = text.rstrip("\n") + "\n\n" + section
        handle.seek(0)
        handle.write(text)
        handle.truncate()


def proc_cpu_s(pid: int | str) -> float:
    """User + system CPU seconds of a process (all its threads); 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
