"""The per-event task log: its exact line format, its place, and what survives a kill."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from forgeline.domain.errors import UserError
from forgeline.workspace import Workspace, append_log, read_log


def test_each_record_is_one_utf8_json_line_at_the_tasks_log_path(tmp_path: Path) -> None:
    ws = Workspace(home=tmp_path, project_id="p")
    append_log(ws, "t-1", {"ts": "given", "seq": 1, "text": "é\nü", "path": Path("/x")})
    append_log(ws, "t-1", {"seq": 2})
    path = tmp_path.resolve() / "workspaces" / "p" / ".forgeline" / "logs" / "t-1.jsonl"
    assert ws.log_path("t-1") == path
    first, second = path.read_bytes().split(b"\n")[:2]
    expected = {"ts": "given", "seq": 1, "text": "é\nü", "path": "/x"}
    assert first == json.dumps(expected, ensure_ascii=False).encode("utf-8")
    assert path.read_bytes().endswith(b"\n") and path.read_bytes().count(b"\n") == 2
    assert json.loads(second)["seq"] == 2 and "ts" in json.loads(second)
    assert [r["seq"] for r in read_log(ws, "t-1")] == [1, 2]


def test_the_log_directory_is_made_again_when_it_was_removed(tmp_path: Path) -> None:
    ws = Workspace(home=tmp_path, project_id="p")
    append_log(ws, "t", {"seq": 1})
    shutil.rmtree(ws.meta_dir)
    append_log(ws, "t", {"seq": 2})
    assert [r["seq"] for r in read_log(ws, "t")] == [2]


def test_workspaces_with_the_same_task_keep_separate_logs(tmp_path: Path) -> None:
    one = Workspace(home=tmp_path / "a", project_id="p")
    two = Workspace(home=tmp_path / "b", project_id="p")
    other = Workspace(home=tmp_path / "a", project_id="q")
    for seq, ws in enumerate((one, two, other, one)):
        append_log(ws, "t", {"seq": seq})
    assert [r["seq"] for r in read_log(one, "t")] == [0, 3]
    assert [r["seq"] for r in read_log(two, "t")] == [1]
    assert [r["seq"] for r in read_log(other, "t")] == [2]


def test_an_unsafe_task_id_is_refused_every_time(tmp_path: Path) -> None:
    ws = Workspace(home=tmp_path, project_id="p")
    for _ in range(2):
        for bad in ("../x", "a/b", ".hidden", ""):
            with pytest.raises(UserError, match="invalid task id"):
                append_log(ws, bad, {})
    assert not (tmp_path / "workspaces").exists()


def test_every_appended_record_survives_a_kill(tmp_path: Path) -> None:
    script = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "from forgeline.workspace import Workspace, append_log\n"
        "ws = Workspace(home=Path(sys.argv[1]), project_id='p')\n"
        "for seq in range(50):\n"
        "    append_log(ws, 't', {'seq': seq})\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=False)
    assert done.returncode == -9
    ws = Workspace(home=tmp_path, project_id="p")
    assert [r["seq"] for r in read_log(ws, "t")] == list(range(50))
