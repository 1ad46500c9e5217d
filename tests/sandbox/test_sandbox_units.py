"""Pure parts of the sandbox: output capping, secret filtering, bwrap argument order."""

from __future__ import annotations

from pathlib import Path

import pytest

from forgeline.sandbox.bwrap import SandboxFds, bwrap_argv
from forgeline.sandbox.env import clean_env, is_secret_name
from forgeline.sandbox.limits import ResourceLimits, launcher_argv
from forgeline.sandbox.output import OutputCollector
from forgeline.tools.base import SandboxPolicy

FDS = SandboxFds(seccomp=10, gitconfig=11)


def test_short_output_is_kept_whole() -> None:
    collector = OutputCollector(100)
    collector.feed(b"hello\n")
    collector.feed(b"world\n")
    assert collector.render() == ("hello\nworld\n", False)


def test_output_at_exactly_the_limit_is_not_cut() -> None:
    collector = OutputCollector(10)
    collector.feed(b"0123456789")
    assert collector.render() == ("0123456789", False)


def test_long_output_keeps_head_and_tail_within_the_limit() -> None:
    collector = OutputCollector(1000)
    for index in range(10_000):
        collector.feed(f"line {index:05d}\n".encode())
    text, truncated = collector.render()
    assert truncated
    assert len(text) <= 1000
    assert text.startswith("line 00000\nline 00001\n")
    assert text.endswith("line 09998\nline 09999\n")
    head_len = (1000 - 64) // 2
    tail_len = 1000 - 64 - head_len
    assert f"\n... {110_000 - head_len - tail_len} characters cut ...\n" in text


def test_multibyte_characters_split_across_chunks_are_decoded() -> None:
    collector = OutputCollector(100)
    data = "héllo ✓".encode()
    for byte in data:
        collector.feed(bytes([byte]))
    assert collector.render() == ("héllo ✓", False)


def test_invalid_bytes_are_replaced() -> None:
    collector = OutputCollector(100)
    collector.feed(b"ok \xff\xfe done \xe2\x9c")
    assert collector.render() == ("ok \ufffd\ufffd done \ufffd", False)


def test_tiny_limits_still_fit() -> None:
    collector = OutputCollector(5)
    collector.feed(b"abcdefghijklmnop")
    text, truncated = collector.render()
    assert truncated
    assert len(text) <= 5


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        OutputCollector(0)


@pytest.mark.parametrize(
    "name",
    [
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "FORGELINE_API_TOKEN",
        "FORGELINE_DATABASE_URL",
        "AWS_ACCESS_KEY_ID",
        "GH_TOKEN",
        "GITHUB_TOKEN",
        "github_app_id",
        "MY_SECRET",
        "DB_PASSWORD",
        "SSH_PRIVATE_KEY",
        "npm_token",
    ],
)
def test_secret_looking_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "CI", "PYTHONDONTWRITEBYTECODE", "GIT_AUTHOR_NAME"])
def test_ordinary_names(name: str) -> None:
    assert not is_secret_name(name)


def test_clean_env_drops_secrets_and_keeps_home_fixed() -> None:
    env = clean_env(
        home="/home/sandbox",
        extra={"CI": "1", "OPENAI_API_KEY": "x", "HOME": "/root", "TMPDIR": "/var", "A=B": "c"},
    )
    assert env["CI"] == "1"
    assert env["HOME"] == "/home/sandbox"
    assert env["TMPDIR"] == "/tmp"
    assert "OPENAI_API_KEY" not in env
    assert "A=B" not in env
    assert env["PATH"].split(":")[-1] == "/home/sandbox/.local/bin"


def _mount_targets(argv: list[str]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    index = 0
    while index < len(argv):
        flag = argv[index]
        if flag in ("--tmpfs", "--remount-ro", "--dev", "--proc"):
            pairs.append((flag, argv[index + 1]))
            index += 2
        elif flag in ("--ro-bind", "--bind"):
            pairs.append((flag, argv[index + 2]))
            index += 3
        else:
            index += 1
    return pairs


def test_hidden_first_then_bound_back(tmp_path: Path) -> None:
    home = tmp_path / "fhome"
    workspace = home / "workspaces" / "p1"
    repo = workspace / "repo"
    repo.mkdir(parents=True)
    policy = SandboxPolicy(workspace=workspace, writable=(repo,), hidden=(home,))
    argv = bwrap_argv(
        "/usr/bin/bwrap",
        policy,
        command="echo hi",
        env={"HOME": "/h"},
        home="/home/sandbox",
        fds=FDS,
    )
    mounts = _mount_targets(argv)
    assert mounts.index(("--tmpfs", str(home))) < mounts.index(("--ro-bind", str(workspace)))
    assert mounts.index(("--ro-bind", str(workspace))) < mounts.index(("--bind", str(repo)))
    assert mounts[-1] == ("--remount-ro", str(home))
    assert argv[-6:] == ["--", "/bin/bash", "-o", "pipefail", "-c", "echo hi"]
    assert argv[argv.index("--seccomp") + 1] == "10"
    assert argv[argv.index("--file") + 1 : argv.index("--file") + 3] == [
        "11",
        "/home/sandbox/.gitconfig",
    ]
    assert "--share-net" not in argv
    assert argv[argv.index("--chdir") + 1] == str(workspace)


def test_network_flag(tmp_path: Path) -> None:
    policy = SandboxPolicy(workspace=tmp_path, network=True)
    argv = bwrap_argv("bwrap", policy, command="true", env={}, home="/home/sandbox", fds=FDS)
    assert argv.index("--share-net") > argv.index("--unshare-all")


def test_launcher_argv_carries_limits_and_program() -> None:
    argv = launcher_argv(
        ["/bin/bash", "-c", "echo"], limits=ResourceLimits(processes=7), cgroup_procs=None
    )
    assert "nproc=7" in argv
    assert "--cgroup-procs" not in argv
    assert argv[-4:] == ["--", "/bin/bash", "-c", "echo"]
