"""A failing setup stops the run clearly: the command, its exit code and its last lines."""

from __future__ import annotations

from pathlib import Path

from e2e.helpers import cli_env, forgeline, make_repo, read_events, summary, write_script

FAILING = "echo preparing the environment; echo 'error: no such toolchain' >&2; exit 3"


def test_a_failing_setup_stops_the_task_with_command_exit_code_and_tail(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app", {"README.md": "# app\n"})
    script = write_script(tmp_path / "s.yaml", {"implementation": [{"text": "never runs"}]})
    env = cli_env(tmp_path / "home")
    run = ["run", "Anything", "--repo", str(repo), "--phases", "implementation"]
    run += ["--model", f"scripted:{script}", "--setup", FAILING]
    proc = forgeline(*run, "--json", env=env)
    assert proc.returncode == 1, proc.stderr[-3000:]
    result = summary(proc)
    assert result["status"] == "failed"
    error = result["error"]
    assert "setup of app failed" in error and "exited with 3" in error
    assert FAILING in error and "error: no such toolchain" in error
    assert result["setup"]["app"] == {
        "repo": "app",
        "command": FAILING,
        "exit_code": 3,
        "seconds": result["setup"]["app"]["seconds"],
        "reused": False,
    }
    assert "setup app failed" in proc.stderr and "no such toolchain" in proc.stderr
    types = [e["type"] for e in read_events(env)]
    assert "setup_failed" in types
    assert "model_text" not in types and "tool_call" not in types  # no agent ran


def test_more_setup_commands_than_repositories_is_bad_usage(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "app", {"README.md": "# app\n"})
    env = cli_env(tmp_path / "home")
    script = write_script(tmp_path / "s.yaml", {"implementation": [{"text": "never runs"}]})
    args = ["run", "x", "--repo", str(repo), "--setup", "true", "--setup", "true"]
    proc = forgeline(*args, "--model", f"scripted:{script}", env=env)
    assert proc.returncode == 2
    assert "2 --setup commands for 1 --repo" in proc.stdout + proc.stderr
