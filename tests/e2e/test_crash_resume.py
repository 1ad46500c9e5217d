"""kill -9 in the middle of implementation, then `forgeline resume`: the run finishes with
no model call repeated once it had returned, no duplicate commit, no lost or duplicated event."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from importlib import resources
from pathlib import Path

import yaml

from forgeline.console.demo import REQUEST, make_sample_repo

from .helpers import (
    FORGELINE,
    assert_gap_free,
    cli_env,
    forgeline,
    git,
    has_event,
    read_events,
    summary,
)


def slow_demo_script(path: Path, call_log: Path) -> Path:
    script = yaml.safe_load((resources.files("forgeline.demo") / "script.yaml").read_text())
    script.update(delay=0.25, call_log=str(call_log))
    path.write_text(yaml.safe_dump(script))
    return path


def wait_for_event(env: dict[str, str], type_: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if has_event(env, type_):
            return
        time.sleep(0.05)
    raise AssertionError(f"no {type_} event within {timeout} s")


def test_kill_9_during_implementation_then_resume(tmp_path: Path, database_url: str | None) -> None:
    repo = make_sample_repo(tmp_path)
    calls = tmp_path / "calls.log"
    script = slow_demo_script(tmp_path / "script.yaml", calls)
    env = cli_env(tmp_path / "home", database_url)
    args = [FORGELINE, "run", REQUEST, "--repo", str(repo), "--model", f"scripted:{script}"]
    proc = subprocess.Popen(
        [*args, "--auto-answer", "--json"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_event(env, "commit")
        time.sleep(0.4)  # mid-flight: overwatchers and the implementer are running
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL

    resumed = forgeline("resume", "--auto-answer", "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    result = summary(resumed)
    assert result["status"] == "completed"

    ws_repo = Path(result["workspace"]) / "pagekit"
    subjects = git(ws_repo, "log", "--format=%s", "main..HEAD").splitlines()
    assert len(subjects) == len(set(subjects)) == 3, subjects
    assert_gap_free(read_events(env))

    lines = [tuple(line.split()) for line in calls.read_text().splitlines()]
    ends = Counter(line[1:] for line in lines if line[0] == "end")
    starts = Counter(line[1:] for line in lines if line[0] == "start")
    assert max(ends.values()) == 1, [k for k, n in ends.items() if n > 1]
    repeated = [k for k, n in starts.items() if n > 1]
    # Only calls in flight at the kill are made again: at most one per running agent.
    assert len({(agent, run) for agent, run, _turn in repeated}) == len(repeated)
    for key in repeated:
        first_end = lines.index(("end", *key)) if ("end", *key) in lines else len(lines)
        second_start = [i for i, line in enumerate(lines) if line == ("start", *key)][1]
        assert second_start < first_end or first_end == len(lines)
