"""`forgeline run --project ID --phases …` continues a project in its own workspace (DESIGN §6)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from forgeline.console.demo import REQUEST, make_sample_repo, script_path

from .helpers import FORGELINE, cli_env, forgeline, git, summary
from .terminal import Terminal


def test_research_then_continue_planning_and_implementation(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    researched, project = _research_only(tmp_path, env)
    ws = Path(researched["workspace"])
    assert (ws / "research.md").is_file() and not (ws / "planning.md").exists()

    more = forgeline(
        "run", "--project", project["id"], "--phases", "planning,implementation",
        "--auto-answer", "--json", env=env,
    )  # fmt: skip
    assert more.returncode == 0, more.stderr[-4000:]
    result = summary(more)
    assert result["status"] == "completed" and result["gate"]["passed"]
    assert result["workspace"] == researched["workspace"]
    assert result["branch"] == researched["branch"]
    assert f"Continuing project {project['id']}" in more.stderr
    assert (ws / "planning.md").is_file()
    subjects = git(ws / "pagekit", "log", "--format=%s", "main..HEAD").splitlines()
    assert "Fix paginate() dropping the last partial page" in subjects
    assert git(ws / "pagekit", "branch", "--show-current").strip() == result["branch"]
    [after] = json.loads(forgeline("list", "--json", env=env).stdout)["projects"]
    assert after["id"] == project["id"]
    assert [t["phase"] for t in after["tasks"]].count("research") == 1


def test_bad_combinations_and_unknown_project_are_clear(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    cases = [
        (["run", "--project", "abc", "Do it"], "drop REQUEST"),
        (["run", "--project", "abc", "--repo", "/x", "--pr", "off"], "drop --repo, --pr"),
        (["run", "--project", "abc", "--model", "openai:x"], "drop --model"),
        (["run", "--repo", "/x"], "give the feature REQUEST, or --project ID"),
        (["run", "Do it"], "give at least one --repo, or --project ID"),
        (["run", "--project", "nope", "--phases", "planning"], "no project 'nope'"),
        (["run", "--project", "nope", "--phases", "bogus"], "unknown phase(s) bogus"),
    ]
    for args, message in cases:
        proc = forgeline(*args, env=env, timeout=60)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        text = " ".join((proc.stdout + proc.stderr).split())
        assert message in text, (args, text)
        assert "Traceback" not in text


def test_continue_in_a_terminal_asks_the_planning_questions(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home", TERM="xterm", COLUMNS="120")
    researched, project = _research_only(tmp_path, env)
    argv = [FORGELINE, "run", "--project", project["id"], "--phases", "planning"]
    term = Terminal(argv, env)
    try:
        term.read_until(f"project {project['id']}  planning", timeout=60)
        term.read_until("What should paginate([]) return?", timeout=60)
        term.type("\r")  # Enter: the default, the first option
        term.read_until("Which regression test should the fix add?", timeout=10)
        term.type("2\r")
        code = term.wait(timeout=120)
        assert code == 0, term.output.decode(errors="replace")[-3000:]
    finally:
        term.kill()
    assert (Path(researched["workspace"]) / "planning.md").is_file()


def _research_only(tmp_path: Path, env: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A project whose research ran (`run --phases research`): its summary and list entry."""
    repo = make_sample_repo(tmp_path)
    model = f"scripted:{script_path(tmp_path)}"
    first = forgeline(
        "run", REQUEST, "--repo", str(repo), "--model", model, "--phases", "research", "--json",
        env=env,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-4000:]
    [project] = json.loads(forgeline("list", "--json", env=env).stdout)["projects"]
    return summary(first), project
