"""Shared helpers of the runtime benchmarks: machine facts, timing, and RESULTS.md sections.

Each benchmark owns one section of `bench/RESULTS.md`, delimited by HTML comments, and
rewrites only that section; the sections keep a fixed order and the file always ends
with the line pointing at the workflow and server benchmarks.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "RESULTS.md"
SECTION_ORDER = (
    "summary",
    "loop_overhead",
    "grep_large_tree",
    "cli_startup",
    "durable_overhead",
    "findings",
)
TITLE = "# Forgeline benchmark results\n"
INTRO = (
    "Written by the scripts in `bench/` (see `bench/README.md`). Each section is "
    "rewritten by its own script; compare ratios within one run, not absolute times "
    "across machines.\n"
)
FOOTER = ""


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo (or the platform's processor string)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_gib() -> float:
    """Total RAM in GiB from /proc/meminfo (0 when unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / (1024 * 1024)
    except OSError:
        pass
    return 0.0


def machine_lines() -> list[str]:
    """The machine facts every section records."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"- Machine: {os.cpu_count()} CPUs (`nproc`), {cpu_model()}, {ram_gib():.1f} GiB RAM",
        f"- Python {platform.python_version()} ({sys.executable}), {platform.platform()}",
        f"- Date: {now}",
    ]


def command_line() -> str:
    """The command that ran this script, as typed from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        shown = str(script.relative_to(BENCH_DIR.parent))
    except ValueError:
        shown = str(script)
    return " ".join([".venv/bin/python", shown, *(shlex.quote(a) for a in sys.argv[1:])])


def median(values: Sequence[float]) -> float:
    """The median of `values`."""
    return statistics.median(values)


def ms(seconds: float) -> str:
    """Seconds as a millisecond figure for tables."""
    return f"{seconds * 1000:.2f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table (also readable as plain text on a terminal)."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=False)]
    lines = [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in (headers, *rows)
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def write_section(name: str, title: str, body: str) -> None:
    """Replace (or add) this benchmark's section of RESULTS.md.

    Args:
        name: The section key (one of `SECTION_ORDER`).
        title: The section heading.
        body: Markdown after the command and machine lines.
    """
    sections = _read_sections()
    head = [f"## {title}", "", f"Command: `{command_line()}`", "", *machine_lines(), ""]
    sections[name] = "\n".join(head) + "\n" + body.rstrip("\n") + "\n"
    ordered = [n for n in SECTION_ORDER if n in sections]
    ordered += sorted(n for n in sections if n not in SECTION_ORDER)
    parts = [TITLE, INTRO]
    for key in ordered:
        parts.append(f"<!-- section:{key} -->\n{sections[key]}<!-- end:{key} -->\n")
    parts.append(FOOTER)
    RESULTS.write_text("\n".join(parts), encoding="utf-8")
    print(f"\nResults written to {RESULTS} (section {name}).")


def _read_sections() -> dict[str, str]:
    if not RESULTS.exists():
        return {}
    text = RESULTS.read_text(encoding="utf-8")
    pattern = re.compile(r"<!-- section:([\w-]+) -->\n(.*?)<!-- end:\1 -->", re.DOTALL)
    return {match.group(1): match.group(2) for match in pattern.finditer(text)}


@contextmanager
def forgeline_home(prefix: str) -> Iterator[Path]:
    """A temporary `FORGELINE_HOME` (set in the environment), removed afterwards."""
    previous = os.environ.get("FORGELINE_HOME")
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        os.environ["FORGELINE_HOME"] = str(home)
        try:
            yield Path(tmp)
        finally:
            if previous is None:
                os.environ.pop("FORGELINE_HOME", None)
            else:
                os.environ["FORGELINE_HOME"] = previous
