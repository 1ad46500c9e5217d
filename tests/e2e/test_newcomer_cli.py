"""What a new user meets first on the terminal: hints that work as printed, readable failures."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
from pathlib import Path

from .helpers import FORGELINE, cli_env, forgeline, make_repo, write_script


def _without_venv_on_path(env: dict[str, str]) -> dict[str, str]:
    """PATH without the venv, nor a link setup may have made in /usr/local/bin or ~/.local/bin."""
    env["PATH"] = "/usr/bin:/bin"
    return env


def test_hints_name_the_command_as_it_can_be_typed(tmp_path: Path) -> None:
    """`.venv/bin` is not on PATH after setup: a hint says the exact path, which works."""
    env = _without_venv_on_path(cli_env(tmp_path / "home"))
    proc = forgeline("list", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"Start one with: {FORGELINE} run REQUEST --repo PATH" in proc.stdout
    hinted = shlex.split(proc.stdout.split("Start one with: ")[1])[0]
    assert subprocess.run([hinted, "--help"], env=env, capture_output=True).returncode == 0

    env["PATH"] = f"{Path(FORGELINE).parent}:{env['PATH']}"
    assert "Start one with: forgeline run" in forgeline("list", env=env).stdout


def test_invalid_tool_arguments_are_shown_with_their_reason(tmp_path: Path) -> None:
    """A failed call whose first line only introduces the reason shows the reason too."""
    repo = make_repo(tmp_path / "r", {"a.txt": "a\n"})
    script = write_script(
        tmp_path / "s.yaml",
        {
            "research": [
                {"tool_calls": [{"name": "Bash", "input": {"command": 123}}]},
                {"tool_calls": [{"name": "Write", "input": {"file_path": "research.md", "content": "x"}}]},  # noqa: E501
                {"text": "done"},
            ]
        },
    )  # fmt: skip
    proc = forgeline(
        "run", "x", "--repo", str(repo), "--model", f"scripted:{script}", "--phases", "research",
        env=cli_env(tmp_path / "home"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "✗ invalid arguments for Bash: - command: Input should be a valid string" in proc.stdout


def test_an_agent_done_line_shows_its_own_tokens_then_the_project_total(tmp_path: Path) -> None:
    """ "planning done" showed the project's running total as if planning had used it all."""
    repo = make_repo(tmp_path / "r", {"a.txt": "a\n"})
    write = {"name": "Write", "input": {"file_path": "", "content": "x"}}
    agents = {
        agent: [
            {"tool_calls": [{**write, "input": {**write["input"], "file_path": f"{agent}.md"}}]},
            {"text": "done"},
        ]
        for agent in ("research", "planning")
    }
    script = write_script(tmp_path / "s.yaml", agents)
    proc = forgeline(
        "run", "x", "--repo", str(repo), "--model", f"scripted:{script}",
        "--phases", "research,planning", env=cli_env(tmp_path / "home"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    done = dict(
        (agent, (int(own.replace(",", "")), int(project.replace(",", ""))))
        for agent, own, project in re.findall(
            r"✓ (\w+) done  ([\d,]+) tokens, \$[\d.]+ · project ([\d,]+) tokens", proc.stdout
        )
    )
    assert done["research"][0] == done["research"][1] > 0, done
    assert 0 < done["planning"][0] < done["planning"][1], done
    assert done["planning"][1] == done["research"][0] + done["planning"][0], done


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_bad_setting_or_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    """Both were tracebacks from pydantic and from the database driver."""
    home = tmp_path / "home"
    bad = forgeline("list", env=cli_env(home, FORGELINE_SANDBOX_MEMORY_MB="lots"))
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: invalid setting FORGELINE_SANDBOX_MEMORY_MB: Input should")
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr

    url = f"postgresql://forgeline@127.0.0.1:{_closed_port()}/none"
    for args in (["list"], ["resume"], ["serve", "--port", str(_closed_port())]):
        down = forgeline(*args, env=cli_env(home, url))
        assert down.returncode == 2, down.stderr
        assert down.stderr.startswith("error: cannot reach a service Forgeline needs"), down.stderr
        assert "FORGELINE_DATABASE_URL" in down.stderr and "Traceback" not in down.stderr
