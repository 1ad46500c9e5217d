"""`FORGELINE_SANDBOX_*` settings (DESIGN §11): toolchains from hidden places, PATH, limits."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from e2e.helpers import cli_env, forgeline, make_repo, read_events, write_script
from forgeline.sandbox import run_command
from forgeline.sandbox.policy import with_settings
from forgeline.sandbox.spec import SandboxPolicy
from forgeline.settings import Settings


def settings(**env: str) -> Settings:
    """Settings read from these `FORGELINE_*` variables, as the process would."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return Settings()


def test_paths_are_colon_separated_or_json_and_absolute() -> None:
    parsed = settings(
        FORGELINE_SANDBOX_PATHS="/opt/a:/root/.pyenv/versions/3.12.4",
        FORGELINE_SANDBOX_PATH_ENTRIES='["/opt/a/bin"]',
        FORGELINE_SANDBOX_MEMORY_MB="8192",
        FORGELINE_SANDBOX_PIDS="1024",
    )
    assert parsed.sandbox_paths == (Path("/opt/a"), Path("/root/.pyenv/versions/3.12.4"))
    assert parsed.sandbox_path_entries == (Path("/opt/a/bin"),)
    assert (parsed.sandbox_memory_mb, parsed.sandbox_pids) == (8192, 1024)
    assert settings(FORGELINE_SANDBOX_PATHS="").sandbox_paths == ()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FORGELINE_SANDBOX_PATHS", "opt/tool:/usr", "must be absolute, without ':': opt/tool"),
        ("FORGELINE_SANDBOX_PATH_ENTRIES", '["/a", ', "not a JSON list of paths"),
        ("FORGELINE_SANDBOX_PATH_ENTRIES", '["/a:/b"]', "without ':': /a:/b"),
        ("FORGELINE_SANDBOX_MEMORY_MB", "0", "greater than or equal to 64"),
        ("FORGELINE_SANDBOX_PIDS", "lots", "valid integer"),
    ],
)
def test_bad_values_are_refused_clearly(name: str, value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        settings(**{name: value})


def test_the_policy_keeps_its_own_path_entries_first(tmp_path: Path) -> None:
    own = SandboxPolicy(workspace=tmp_path, readable=(Path("/env"),), path_prepend=("/env/bin",))
    merged = with_settings(
        own,
        settings(FORGELINE_SANDBOX_PATHS="/opt/t", FORGELINE_SANDBOX_PATH_ENTRIES="/opt/t/bin"),
    )
    assert merged.path_prepend == ("/env/bin", "/opt/t/bin")
    assert merged.readable == (Path("/env"), Path("/opt/t"), Path("/opt/t/bin"))
    assert merged.limits is not None and merged.limits.processes == 256
    assert own.path_prepend == ("/env/bin",)


async def test_a_toolchain_inside_a_hidden_directory_is_bound_back(tmp_path: Path) -> None:
    home = tmp_path / "userhome"
    tool = home / ".tool" / "1.0"
    (tool / "bin").mkdir(parents=True)
    (tool / "share").mkdir()
    (tool / "share" / "greeting").write_text("hi from the toolchain\n")
    (tool / "bin" / "greet").write_text(f"#!/bin/sh\ncat {tool}/share/greeting\n")
    (tool / "bin" / "greet").chmod(0o755)
    (home / ".secret").write_text("hunter2\n")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    base = SandboxPolicy(workspace=workspace, hidden=(home,))
    policy = with_settings(
        base,
        settings(
            FORGELINE_SANDBOX_PATHS=str(tool), FORGELINE_SANDBOX_PATH_ENTRIES=str(tool / "bin")
        ),
    )
    command = f"greet; echo $PATH; cat {home}/.secret; touch {tool}/x"
    result = await run_command(command, policy, timeout_s=10)
    lines = result.output.splitlines()
    assert lines[0] == "hi from the toolchain"
    assert lines[1].startswith(f"{tool}/bin:/usr/local/sbin:")
    assert "hunter2" not in result.output
    assert "Read-only file system" in result.output
    assert "greet: command not found" in (await run_command("greet", base, timeout_s=10)).output


async def test_the_host_python_from_a_hidden_prefix_runs(tmp_path: Path) -> None:
    """This process's own interpreter (pyenv under /root here) works once listed."""
    prefix = Path(sys.base_prefix).resolve()
    version = ".".join(map(str, sys.version_info[:3]))
    policy = with_settings(
        SandboxPolicy(workspace=tmp_path),
        settings(
            FORGELINE_SANDBOX_PATHS=str(prefix), FORGELINE_SANDBOX_PATH_ENTRIES=str(prefix / "bin")
        ),
    )
    code = "import platform, sys; print(platform.python_version(), sys.prefix)"
    result = await run_command(f"python3 -c '{code}'", policy, timeout_s=20)
    assert result.output.split() == [version, str(prefix)], result.output


async def test_memory_and_process_limits_come_from_the_settings(tmp_path: Path) -> None:
    policy = with_settings(
        SandboxPolicy(workspace=tmp_path),
        settings(FORGELINE_SANDBOX_MEMORY_MB="768", FORGELINE_SANDBOX_PIDS="77"),
    )
    result = await run_command("ulimit -v; ulimit -u", policy, timeout_s=10)
    assert result.output.split() == [str(768 * 1024), "77"]
    python = "python3 -c 'bytearray(1024 * 1024 * 1024)'"
    assert "MemoryError" in (await run_command(python, policy, timeout_s=10)).output
    default = await run_command(
        "ulimit -v; ulimit -u", SandboxPolicy(workspace=tmp_path), timeout_s=10
    )
    assert default.output.split() == [str(4 * 1024 * 1024), "256"]


def test_every_agent_gets_the_settings_through_forgeline_run(tmp_path: Path) -> None:
    """The CLI's research agent: limits, the hidden host python on PATH, git, pipefail."""
    prefix = Path(sys.base_prefix).resolve()
    repo = make_repo(tmp_path / "app", {"README.md": "# app\n"})
    command = (
        "ulimit -u; ulimit -v; python3 -c 'import sys; print(sys.prefix)'; "
        "git init -q /tmp/t && git -C /tmp/t commit -q --allow-empty -m t && echo committed; "
        "false | tail -1"
    )
    turns = [
        {"tool_calls": [{"name": "Bash", "input": {"command": command}}]},
        {"tool_calls": [{"name": "Write", "input": {"file_path": "research.md", "content": "x"}}]},
        {"text": "Done."},
    ]
    script = write_script(tmp_path / "script.yaml", {"research": turns})
    env = cli_env(
        tmp_path / "home",
        FORGELINE_SANDBOX_PIDS="99",
        FORGELINE_SANDBOX_MEMORY_MB="3000",
        FORGELINE_SANDBOX_PATHS=str(prefix),
        FORGELINE_SANDBOX_PATH_ENTRIES=str(prefix / "bin"),
    )
    args = ["run", "Look", "--repo", str(repo), "--phases", "research", "--json"]
    proc = forgeline(*args, "--model", f"scripted:{script}", env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    [output] = [
        str(e["data"]["content"])
        for e in read_events(env)
        if e["type"] == "tool_result" and e["data"]["name"] == "Bash"
    ]
    assert output.splitlines() == ["99", str(3000 * 1024), str(prefix), "committed", "exit code: 1"]


def test_a_missing_path_is_reported_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "no-such-toolchain"
    chosen = settings(FORGELINE_SANDBOX_PATHS=str(missing))
    with caplog.at_level(logging.WARNING, logger="forgeline.sandbox"):
        for _ in range(3):
            with_settings(SandboxPolicy(workspace=tmp_path), chosen)
    assert [r.getMessage() for r in caplog.records].count(
        f"sandbox setting names {missing}, which does not exist: it is left out"
    ) == 1
