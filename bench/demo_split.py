"""Split the demo's wall time into model time, tool time and Forgeline's own time.

Runs `forgeline demo` in-process (scripted model, no LLM) in a temporary
FORGELINE_HOME, then reads every durable step of every workflow from the step
journal in `forgeline.db` (`steps`: name, started_at, created_at = when it ended).

Two views, because overwatchers run concurrently with each other:

* summed step time: the durations of all steps of a kind, over all workflows
  (can exceed the wall time);
* wall-clock attribution: every millisecond of the pipeline's wall time is given to
  one bucket, by priority: a model call in flight > a tool call in flight > another
  Forgeline durable step (git, store) > waiting for the (automatic) answer >
  the rest, which is Forgeline's untracked own time (event writes, DBOS workflow
  checkpoints, workflow starts, Python).

Usage: .venv/bin/python bench/demo_split.py [--quick] [--runs N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _wfcommon import median, table, write_section

BUCKETS = ("model", "tool", "step", "answer", "own")
LABELS = {
    "model": "model calls (scripted)",
    "tool": "tool calls",
    "step": "other durable steps (git, store)",
    "answer": "waiting for the auto-answer",
    "own": "Forgeline untracked (events, workflows, Python)",
}


@dataclass
class Step:
    workflow: str
    name: str
    start: float
    end: float

    @property
    def kind(self) -> str:
        if self.name == "model":
            return "model"
        if self.name.startswith("tool:"):
            return "tool"
        return "step"


@dataclass
class RunResult:
    total_s: float
    pipeline_s: float
    wall: dict[str, float]
    summed: dict[str, float]
    counts: dict[str, int]
    by_name: dict[str, float] = field(default_factory=dict)


def read_steps(home: Path) -> list[Step]:
    """Every recorded durable step (the step journal's rows)."""
    with contextlib.closing(sqlite3.connect(home / "forgeline.db")) as db:
        rows = db.execute("SELECT workflow_id, name, started_at, created_at FROM steps").fetchall()
    return [Step(w, n, _epoch(s), _epoch(e)) for w, n, s, e in rows]


def _epoch(ts: object) -> float:
    return datetime.fromisoformat(str(ts)).replace(tzinfo=UTC).timestamp()


def read_answer_waits(home: Path) -> list[tuple[float, float]]:
    """(asked, answered) times of each question batch, from the event log."""
    with contextlib.closing(sqlite3.connect(home / "forgeline.db")) as db:
        rows = db.execute(
            "SELECT type, ts FROM events WHERE type IN ('question_asked', 'question_answered') "
            "ORDER BY seq"
        ).fetchall()
    waits: list[tuple[float, float]] = []
    asked: float | None = None
    for type_, ts in rows:
        moment = datetime.fromisoformat(str(ts)).replace(tzinfo=UTC).timestamp()
        if type_ == "question_asked":
            asked = moment
        elif asked is not None:
            waits.append((asked, moment))
            asked = None
    return waits


def attribute(
    steps: list[Step], waits: list[tuple[float, float]], window: tuple[float, float]
) -> dict[str, float]:
    """Give each instant of `window` to the highest-priority bucket active then."""
    marks: list[tuple[float, int, str]] = []
    for s in steps:
        marks += [(s.start, 1, s.kind), (s.end, -1, s.kind)]
    for a, b in waits:
        marks += [(a, 1, "answer"), (b, -1, "answer")]
    marks.sort(key=lambda m: (m[0], m[1]))
    active: dict[str, int] = defaultdict(int)
    out = dict.fromkeys(BUCKETS, 0.0)
    last = window[0]
    for moment, delta, kind in marks:
        clipped = min(max(moment, window[0]), window[1])
        if clipped > last:
            out[_top(active)] += clipped - last
            last = clipped
        active[kind] += delta
    if window[1] > last:
        out[_top(active)] += window[1] - last
    return out


def _top(active: dict[str, int]) -> str:
    for kind in BUCKETS[:-1]:
        if active.get(kind, 0) > 0:
            return kind
    return "own"


def one_run(base: Path) -> RunResult:
    """Run the demo once in a fresh home and split its time."""
    from forgeline.console.demo import demo_command
    from forgeline.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="demo-", dir=base))
    os.environ["FORGELINE_HOME"] = str(home)
    sink = io.StringIO()
    started = time.time()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        code = asyncio.run(
            demo_command(
                json_output=True,
                auto_answer=True,
                settings=Settings(home=home, database_url=None),
            )
        )
    ended = time.time()
    if code != 0:
        raise SystemExit(f"the demo failed (exit {code}):\n{sink.getvalue()[-2000:]}")
    steps = read_steps(home)
    window = (min(s.start for s in steps), max(s.end for s in steps))
    summed: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    by_name: dict[str, float] = defaultdict(float)
    for s in steps:
        summed[s.kind] += s.end - s.start
        counts[s.kind] += 1
        by_name[s.name] += s.end - s.start
    return RunResult(
        total_s=ended - started,
        pipeline_s=window[1] - window[0],
        wall=attribute(steps, read_answer_waits(home), window),
        summed=dict(summed),
        counts=dict(counts),
        by_name=dict(by_name),
    )


def report(results: list[RunResult]) -> str:
    """The tables, with the median over runs."""
    total = median([r.total_s for r in results])
    pipeline = median([r.pipeline_s for r in results])
    rows = []
    for b in BUCKETS:
        wall = median([r.wall[b] for r in results])
        summed = (
            median([r.summed.get(b, 0.0) for r in results])
            if b in ("model", "tool", "step")
            else None
        )
        count = results[0].counts.get(b, 0) if b in ("model", "tool", "step") else None
        rows.append(
            [
                LABELS[b],
                f"{wall:.2f}",
                f"{100 * wall / pipeline:.1f}%",
                "" if summed is None else f"{summed:.2f}",
                "" if count is None else str(count),
            ]
        )
    split = table(["bucket", "wall s", "% of pipeline", "summed s", "steps"], rows)
    names = sorted(
        results[0].by_name, key=lambda n: -median([r.by_name.get(n, 0) for r in results])
    )
    top = [
        [n, f"{median([r.by_name.get(n, 0.0) for r in results]) * 1000:.0f}"] for n in names[:14]
    ]
    lines = [
        f"Runs: {len(results)} (medians shown). Demo end to end (in-process `demo_command`, "
        f"incl. runtime start, clone, summary, stop): {total:.2f} s; pipeline (first to last "
        f"durable step): {pipeline:.2f} s; outside the pipeline: {total - pipeline:.2f} s.",
        "",
        "Wall-clock attribution of the pipeline (priority model > tool > step > answer > own) "
        "and summed step time over all workflows (overwatchers overlap):",
        "",
        split,
        "",
        "Summed time per step name (ms, top 14):",
        "",
        table(["step", "summed ms"], top),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run instead of three")
    parser.add_argument("--runs", type=int, default=None, help="number of demo runs")
    args = parser.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory(prefix="forgeline-bench-") as base:
        results = [one_run(Path(base)) for _ in range(runs)]
    body = report(results)
    print(body)
    write_section("demo_split", "demo_split: where the demo's time goes", body)


if __name__ == "__main__":
    main()
