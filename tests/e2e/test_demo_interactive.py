"""`forgeline demo` in a real terminal stops at the planning questions and asks them;
`--auto-answer` (and no terminal, see test_demo.py) answers them itself."""

from __future__ import annotations

from pathlib import Path

from .helpers import FORGELINE, cli_env, read_events
from .terminal import Terminal


def _answers(env: dict[str, str]) -> list[object]:
    return [e["data"] for e in read_events(env) if e["type"] == "question_answered"]


def test_demo_asks_on_a_terminal_and_the_typed_answer_continues(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home", TERM="xterm", COLUMNS="120")
    term = Terminal([FORGELINE, "demo"], env)
    try:
        term.read_until("ask you", timeout=30)
        term.read_until("What should paginate([]) return?", timeout=120)
        term.read_until("choose (a number)", timeout=10)
        assert not _answers(env)  # it waits for the user
        term.type("2\r")
        term.read_until("Which regression test should the fix add?", timeout=10)
        term.read_until("choose (numbers, comma-separated)", timeout=10)
        term.type("1,2\r")
        code = term.wait(timeout=180)
        shown = term.read_until("Where to look", timeout=5)
        assert code == 0, shown[-3000:]
    finally:
        term.kill()
    text = str(_answers(env))
    assert "One empty page" in text and "Agreement with page_count" in text
    assert "keep today's behaviour" not in text


def test_demo_auto_answer_on_a_terminal_does_not_ask(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home", TERM="xterm", COLUMNS="120")
    term = Terminal([FORGELINE, "demo", "--auto-answer"], env)
    try:
        code = term.wait(timeout=180)
        shown = term.read_until("Where to look", timeout=5)
        assert code == 0, shown[-3000:]
    finally:
        term.kill()
    assert "choose (" not in shown and "ask you" not in shown
    assert "keep today's behaviour" in str(_answers(env))
