"""Ctrl-C pauses a run and says how to resume; `forgeline resume TASK` finishes it."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

from forgeline.console.demo import REQUEST, make_sample_repo

from .helpers import FORGELINE, cli_env, forgeline, summary
from .test_crash_resume import slow_demo_script, wait_for_event


def test_ctrl_c_pauses_and_resume_continues(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    repo = make_sample_repo(tmp_path)
    script = slow_demo_script(tmp_path / "script.yaml", tmp_path / "calls.log")
    proc = subprocess.Popen(
        [
            FORGELINE,
            "run",
            REQUEST,
            "--repo",
            str(repo),
            "--model",
            f"scripted:{script}",
            "--auto-answer",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    wait_for_event(env, "question_answered")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, out
    match = re.search(r"forgeline resume (\S+)", out)
    assert match, out
    assert "Traceback" not in out

    resumed = forgeline("resume", match.group(1), "--auto-answer", "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    assert summary(resumed)["status"] == "completed"
