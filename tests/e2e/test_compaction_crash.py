"""kill -9 in the middle of a compaction, then `forgeline resume`: the run finishes and every
agent's conversation is the one an uninterrupted run has (the same requests, call by call)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from forgeline.console.demo import make_sample_repo

from .helpers import FORGELINE, cli_env, forgeline, read_events, summary

DELAY = 0.1


def _script(path: Path, call_log: Path) -> Path:
    from orchestrator.test_budget import script

    data = yaml.safe_load(script(path).read_text())
    data.update(delay=DELAY, call_log=str(call_log))
    path.write_text(yaml.safe_dump(data))
    return path


def _setup(root: Path) -> tuple[list[str], dict[str, str], Path]:
    root.mkdir()
    calls = root / "calls.log"
    model = f"scripted:{_script(root / 'script.yaml', calls)}"
    env = cli_env(root / "home", FORGELINE_CONTEXT_WINDOWS=json.dumps({model: 9_000}))
    repo = make_sample_repo(root)
    args = ["run", "Fix paginate()", "--repo", str(repo), "--model", model]
    return [*args, "--phases", "implementation", "--json"], env, calls


def _conversations(env: dict[str, str]) -> dict[str, list[Any]]:
    """Per agent, in order: the size of every request and every compaction."""
    seen: dict[str, list[Any]] = {}
    for event in read_events(env):
        data = event["data"]
        if event["type"] == "usage":
            entry: Any = (data.get("purpose"), data["input_tokens"])
        elif event["type"] == "context_compacted":
            entry = (data["before_tokens"], data["after_tokens"], data["compacted"])
        else:
            continue
        seen.setdefault(data["agent"], []).append(entry)
    return seen


def _compaction_starts(calls: Path) -> int:
    return sum(
        1
        for line in calls.read_text().splitlines()
        if line.startswith("start ") and " compact " in line
    )


def _recorded_compactions(env: dict[str, str]) -> int:
    """Compactions whose result the step journal holds (these must never run again)."""
    database = Path(env["FORGELINE_HOME"]) / "forgeline.db"
    with contextlib.closing(sqlite3.connect(database)) as db:
        (count,) = db.execute("SELECT count(*) FROM steps WHERE name = 'compact'").fetchone()
    return int(count)


def _in_compaction(calls: Path) -> bool:
    if not calls.exists():
        return False
    open_ = set()
    for line in calls.read_text().splitlines():
        what, agent, run, index, _ = line.split()
        if index == "compact":
            (open_.add if what == "start" else open_.discard)((agent, run))
    return bool(open_)


def test_kill_9_mid_compaction_then_resume_gives_the_same_conversation(tmp_path: Path) -> None:
    args, env, clean_calls = _setup(tmp_path / "a")
    clean = forgeline(*args, env=env)
    assert clean.returncode == 0, clean.stderr[-3000:]
    expected = _conversations(env)
    assert any(c for entries in expected.values() for c in entries if len(c) == 3 and c[2])

    args, env, calls = _setup(tmp_path / "b")
    proc = subprocess.Popen(
        [FORGELINE, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not _in_compaction(calls) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _in_compaction(calls), "no compaction started"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    started, recorded = _compaction_starts(calls), _recorded_compactions(env)
    assert started > recorded  # at least one was cut short

    resumed = forgeline("resume", "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert summary(resumed)["status"] == "completed"
    assert _conversations(env) == expected
    # Every compaction recorded before the kill is replayed, never run again; the ones
    # cut short (several overwatchers may compact at once) and the rest run once more.
    assert _compaction_starts(calls) == started + _compaction_starts(clean_calls) - recorded
