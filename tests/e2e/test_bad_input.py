"""Bad input gets a clear message and the documented exit status, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import cli_env, forgeline, make_repo, write_script

FILES = {"app.py": "print('hi')\n", "README.md": "# app\n"}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "app", FILES)


def research_script(tmp_path: Path, turns: list[dict[str, object]]) -> str:
    return f"scripted:{write_script(tmp_path / 'script.yaml', {'research': turns})}"


def run(tmp_path: Path, *args: str) -> tuple[int, str]:
    proc = forgeline("run", *args, env=cli_env(tmp_path / "home"))
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output
    return proc.returncode, output


def test_bad_repository_url(tmp_path: Path) -> None:
    code, out = run(
        tmp_path, "x", "--repo", "ext::sh -c touch% /tmp/pwned", "--model", "scripted:nope.yaml"
    )
    assert code == 2 and "model script not found" in out
    script = research_script(tmp_path, [{"text": "done"}])
    code, out = run(tmp_path, "x", "--repo", "ext::sh -c touch% /tmp/pwned", "--model", script)
    assert code == 1 and "ext::" in out
    code, out = run(tmp_path, "x", "--repo", str(tmp_path / "missing"), "--model", script)
    assert code == 1 and "no such repository" in out


def test_missing_branch(tmp_path: Path, repo: Path) -> None:
    script = research_script(tmp_path, [{"text": "done"}])
    code, out = run(tmp_path, "x", "--repo", str(repo), "--base-branch", "nope", "--model", script)
    assert code == 1 and "nope" in out and "not found" in out
    assert not list((tmp_path / "home" / "workspaces").glob("*/app"))


def test_unreadable_answers_file(tmp_path: Path, repo: Path) -> None:
    script = research_script(tmp_path, [{"text": "done"}])
    code, out = run(
        tmp_path,
        "x",
        "--repo",
        str(repo),
        "--model",
        script,
        "--answers",
        str(tmp_path / "none.yaml"),
    )
    assert code == 2 and "cannot read answers file" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed\n")
    code, out = run(tmp_path, "x", "--repo", str(repo), "--model", script, "--answers", str(bad))
    assert code == 2 and "not valid YAML" in out


def test_no_model_configured(tmp_path: Path, repo: Path) -> None:
    code, out = run(tmp_path, "x", "--repo", str(repo))
    assert code == 2 and "FORGELINE_MODEL" in out and "forgeline demo" in out


def test_bad_phase_name(tmp_path: Path, repo: Path) -> None:
    script = research_script(tmp_path, [{"text": "done"}])
    code, out = run(
        tmp_path, "x", "--repo", str(repo), "--model", script, "--phases", "research,deploy"
    )
    assert code == 2 and "deploy" in out


def test_agent_that_never_writes_its_document(tmp_path: Path, repo: Path) -> None:
    turns = [
        {"text": "Looking.", "tool_calls": [{"name": "Glob", "input": {"pattern": "*.py"}}]},
        {"text": "I am done."},
        {"text": "Still not writing it."},
    ]
    script = research_script(tmp_path, turns)
    code, out = run(
        tmp_path, "x", "--repo", str(repo), "--model", script, "--phases", "research", "--json"
    )
    assert code == 1
    assert "ended without writing research.md" in out


def test_model_that_runs_out_of_turns(tmp_path: Path, repo: Path) -> None:
    script = research_script(
        tmp_path, [{"tool_calls": [{"name": "Glob", "input": {"pattern": "*"}}]}]
    )
    code, out = run(tmp_path, "x", "--repo", str(repo), "--model", script, "--phases", "research")
    assert code == 1 and "no more turns for agent 'research'" in out


def test_refused_tool_calls_are_data_for_the_model(tmp_path: Path, repo: Path) -> None:
    turns = [
        {
            "tool_calls": [
                {"name": "Write", "input": {"file_path": "app/app.py", "content": "hacked"}},
                {"name": "Read", "input": {"file_path": "/etc/passwd"}},
                {"name": "Nope", "input": {}},
            ]
        },
        {
            "tool_calls": [
                {"name": "Write", "input": {"file_path": "research.md", "content": "# R\n"}}
            ]
        },
        {"text": "done"},
    ]
    script = research_script(tmp_path, turns)
    code, out = run(tmp_path, "x", "--repo", str(repo), "--model", script, "--phases", "research")
    assert code == 0, out
    assert (repo / "app.py").read_text() == "print('hi')\n"
