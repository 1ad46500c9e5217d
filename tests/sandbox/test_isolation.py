"""What a sandboxed command can see and touch: files, hidden directories, network, env."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from forgeline.sandbox import run_command
from forgeline.sandbox.spec import SandboxPolicy


@pytest.fixture
def policy(both_starts: SandboxPolicy) -> SandboxPolicy:
    """Every test here runs in a parked (warm) sandbox and in a cold one."""
    return both_starts


async def test_writing_inside_a_writable_dir_works(policy: SandboxPolicy, workspace: Path) -> None:
    result = await run_command("echo made > repo/new.txt && echo ok", policy, timeout_s=10)
    assert result.output == "ok\n"
    assert (workspace / "repo" / "new.txt").read_text(encoding="utf-8") == "made\n"


async def test_workspace_root_is_read_only_when_not_writable(
    policy: SandboxPolicy, workspace: Path
) -> None:
    result = await run_command("echo x > root.txt", policy, timeout_s=10)
    assert result.exit_code != 0
    assert "Read-only file system" in result.output
    assert not (workspace / "root.txt").exists()


async def test_system_is_read_only(policy: SandboxPolicy) -> None:
    result = await run_command("touch /etc/forgeline-test; touch /usr/x", policy, timeout_s=10)
    assert result.exit_code != 0
    assert result.output.count("Read-only file system") == 2
    assert not Path("/etc/forgeline-test").exists()


async def test_host_home_is_hidden_and_home_is_private(
    policy: SandboxPolicy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host_home = tmp_path / "host-home"
    host_home.mkdir()
    (host_home / ".netrc").write_text("machine x password hunter2\n", encoding="utf-8")
    monkeypatch.setenv("HOME", str(host_home))
    command = (
        f"cat {host_home}/.netrc; touch {host_home}/planted; ls -A {host_home} | wc -l; "
        "echo HOME=$HOME; touch $HOME/.bashrc && ls -A $HOME"
    )
    result = await run_command(command, policy, timeout_s=10)
    assert "hunter2" not in result.output
    assert "Read-only file system" in result.output
    assert not (host_home / "planted").exists()
    lines = result.output.splitlines()
    assert "0" in lines  # the host home looks empty
    home = next(line for line in lines if line.startswith("HOME=")).removeprefix("HOME=")
    assert home != str(host_home)
    # The private home is writable and holds only what the command made (and `rg`'s bin
    # dir, and the git identity).
    assert set(lines[lines.index(f"HOME={home}") + 1 :]) <= {".bashrc", ".local", ".gitconfig"}
    assert ".bashrc" in lines
    assert not Path(home, ".bashrc").exists()  # it lived in the sandbox's tmpfs only


async def test_root_and_home_directories_are_hidden(policy: SandboxPolicy) -> None:
    result = await run_command("ls -A /root | wc -l", policy, timeout_s=10)
    assert result.output.strip() == "0"


async def test_tmp_is_private(policy: SandboxPolicy, tmp_path: Path, marker: str) -> None:
    host_file = Path("/tmp") / f"{marker}-host"
    host_file.write_text("host secret\n", encoding="utf-8")
    try:
        command = (
            f"ls -A /tmp; echo ---; cat {host_file}; "
            f"echo inside > /tmp/{marker}-inside && echo wrote"
        )
        result = await run_command(command, policy, timeout_s=10)
    finally:
        host_file.unlink()
    listing, _, rest = result.output.partition("---\n")
    assert marker not in listing
    assert "host secret" not in rest
    assert rest.endswith("wrote\n")
    assert not (Path("/tmp") / f"{marker}-inside").exists()


async def test_other_workspaces_and_forgeline_home_are_hidden(tmp_path: Path) -> None:
    home = (tmp_path / "fhome").resolve()
    mine = home / "workspaces" / "p1"
    other = home / "workspaces" / "p2"
    (mine / "repo").mkdir(parents=True)
    other.mkdir(parents=True)
    (other / "secret.txt").write_text("other project's secret\n", encoding="utf-8")
    (home / "forgeline.db").write_text("database\n", encoding="utf-8")
    (mine / "repo" / "code.py").write_text("print('mine')\n", encoding="utf-8")
    policy = SandboxPolicy(workspace=mine, writable=(mine / "repo",), hidden=(home,))
    command = (
        f"cat {other}/secret.txt; cat {home}/forgeline.db; ls {home}/workspaces; cat repo/code.py"
    )
    result = await run_command(command, policy, timeout_s=10)
    assert "other project's secret" not in result.output
    assert "database" not in result.output
    assert "print('mine')" in result.output
    listing = result.output.splitlines()
    assert "p1" in listing
    assert "p2" not in listing


async def test_hidden_directory_inside_the_workspace_stays_hidden(
    policy: SandboxPolicy, workspace: Path
) -> None:
    logs = workspace / ".forgeline" / "logs"
    logs.mkdir(parents=True)
    (logs / "task.jsonl").write_text('{"secret": 1}\n', encoding="utf-8")
    hidden_policy = SandboxPolicy(
        workspace=workspace, writable=policy.writable, hidden=(workspace / ".forgeline",)
    )
    result = await run_command(
        "ls -A .forgeline | wc -l; cat repo/README.md", hidden_policy, timeout_s=10
    )
    assert result.output == "0\nhello from the repo\n"


@pytest.fixture
async def tcp_server() -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that greets every client with `hello`."""

    async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(greet, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


def _connect(port: int) -> str:
    return f"exec 3<>/dev/tcp/127.0.0.1/{port} && head -c 5 <&3"


async def test_network_is_blocked_by_default(policy: SandboxPolicy, tcp_server: int) -> None:
    result = await run_command(_connect(tcp_server), policy, timeout_s=10)
    assert result.exit_code != 0
    assert "hello" not in result.output


async def test_network_allowed_when_the_policy_says_so(workspace: Path, tcp_server: int) -> None:
    policy = SandboxPolicy(workspace=workspace, network=True, network_ports=(tcp_server,))
    result = await run_command(_connect(tcp_server), policy, timeout_s=10)
    assert result.exit_code == 0, result.output
    assert result.output == "hello"


async def test_network_reaches_only_the_allowed_ports(workspace: Path, tcp_server: int) -> None:
    """The host's loopback services (PostgreSQL, Redis, ...) are off limits (Landlock)."""
    policy = SandboxPolicy(workspace=workspace, network=True)
    result = await run_command(_connect(tcp_server), policy, timeout_s=10)
    assert result.exit_code != 0 and "hello" not in result.output
    everything = SandboxPolicy(workspace=workspace, network=True, network_ports=None)
    result = await run_command(_connect(tcp_server), everything, timeout_s=10)
    assert result.output == "hello"


async def test_provider_keys_never_reach_the_command(
    policy: SandboxPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    secrets = {
        "ANTHROPIC_API_KEY": "sk-ant-secret-1",
        "OPENAI_API_KEY": "sk-openai-secret-2",
        "FORGELINE_API_TOKEN": "forgeline-secret-3",
        "GITHUB_TOKEN": "ghp-secret-4",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    extra = {"AWS_SECRET_ACCESS_KEY": "aws-secret-5", "DB_PASSWORD": "pw-6", "MY_SETTING": "on"}
    result = await run_command("env", policy, timeout_s=10, env=extra)
    for value in [*secrets.values(), "aws-secret-5", "pw-6"]:
        assert value not in result.output
    names = {line.split("=", 1)[0] for line in result.output.splitlines()}
    assert "MY_SETTING" in names
    assert {"PATH", "HOME", "TMPDIR", "LANG", "TERM"} <= names
    assert names <= {"PATH", "HOME", "TMPDIR", "LANG", "TERM", "MY_SETTING", "PWD", "SHLVL", "_"}
