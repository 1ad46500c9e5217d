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
        with calls.open("a") as log:
            log.write(f"kill - - - {time.time():.6f}\n")
    assert proc.returncode == -signal.SIGKILL

    resumed = forgeline("resume", "--auto-answer", "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    result = summary(resumed)
    assert result["status"] == "completed"

    ws_repo = Path(result["workspace"]) / "pagekit"
    subjects = git(ws_repo, "log", "--format=%s", "main..HEAD").splitlines()
    assert len(subjects) == len(set(subjects)) == 3, subjects
    assert_gap_free(read_events(env))

    # Each line: what, agent, run, turn, time. A call may run again only if it was in
    # flight at the kill: the last call its agent run had started, and not one that had
    # finished well before (a finished call is checkpointed within milliseconds).
    lines = [line.split() for line in calls.read_text().splitlines()]
    kill_at = next(i for i, line in enumerate(lines) if line[0] == "kill")
    kill_time = float(lines[kill_at][4])
    before_kill = lines[:kill_at]
    last_started = {
        tuple(line[1:3]): tuple(line[1:4]) for line in before_kill if line[0] == "start"
    }
    ended = {tuple(line[1:4]): float(line[4]) for line in before_kill if line[0] == "end"}
    in_flight = {
        key for key in last_started.values() if ended.get(key, kill_time) > kill_time - 1.0
    }
    starts = Counter(tuple(line[1:4]) for line in lines if line[0] == "start")
    repeated = {key for key, n in starts.items() if n > 1}
    assert repeated <= in_flight, repeated - in_flight
    assert all(starts[key] == 2 for key in repeated)
