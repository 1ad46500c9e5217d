"""Pause in the middle of implementation, find the task with `forgeline list` (or the resume
message), then `forgeline resume TASK` finishes the run."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from pathlib import Path

from forgeline.console.demo import REQUEST, make_sample_repo

from .helpers import FORGELINE, cli_env, forgeline, git, summary
from .test_crash_resume import slow_demo_script, wait_for_event


def test_pause_mid_implementation_list_then_resume(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    assert "No projects yet" in forgeline("list", env=env).stdout
    repo = make_sample_repo(tmp_path)
    script = slow_demo_script(tmp_path / "script.yaml", tmp_path / "calls.log")
    args = ["run", REQUEST, "--repo", str(repo), "--model", f"scripted:{script}"]
    proc = subprocess.Popen(
        [FORGELINE, *args, "--auto-answer", "--phases", "implementation"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    wait_for_event(env, "commit")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    match = re.search(r"forgeline resume (\S+)", out)
    assert match, out
    task_id = match.group(1)

    nothing = forgeline("resume", env=env)
    assert nothing.returncode == 0, nothing.stdout
    assert "Nothing to resume" not in nothing.stdout
    assert task_id in nothing.stdout and "Paused tasks" in nothing.stdout

    [project] = json.loads(forgeline("list", "--json", env=env).stdout)["projects"]
    tasks = {t["id"]: t for t in project["tasks"]}
    assert tasks[task_id]["status"] == "paused"
    assert tasks[f"{task_id}-implementation"]["status"] == "paused"
    assert project["status"] == "paused"
    created = [t["created_at"] for t in project["tasks"]]
    assert created == sorted(created, reverse=True)

    resumed = forgeline("resume", task_id, "--auto-answer", "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    result = summary(resumed)
    assert result["status"] == "completed" and result["gate"]["passed"]
    subjects = git(Path(result["workspace"]) / "pagekit", "log", "--format=%s", "main..HEAD")
    assert subjects.splitlines().count("Fix paginate() dropping the last partial page") == 1
    listing = forgeline("list", env=env).stdout
    assert project["id"] in listing and re.search(rf"{task_id}\s+completed", listing)
