"""Pure parts of the sandbox: output capping, secret filtering, bwrap argument order."""

from __future__ import annotations

import resource
import subprocess
import tempfile
from pathlib import Path

import pytest

from forgeline.sandbox.bwrap import SandboxFds, bwrap_argv
from forgeline.sandbox.direct import direct_argv
from forgeline.sandbox.env import clean_env, is_secret_name
from forgeline.sandbox.limits import (
    BASH,
    DASH,
    LauncherShell,
    ResourceLimits,
    launcher_argv,
    rlimit_values,
)
from forgeline.sandbox.output import OutputCollector
from forgeline.sandbox.spec import SandboxPolicy

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


def test_launcher_argv_carries_limits_and_program(tmp_path: Path) -> None:
    limits = ResourceLimits(processes=7, address_space_bytes=3 * 1024**3)
    argv = launcher_argv(["/bin/bash", "-c", "echo"], limits=limits, cgroup_procs=None, shell=BASH)
    assert argv[:2] == ["/bin/bash", "-c"]
    assert "ulimit -u 7 && ulimit -v 3145728 && ulimit -f 1048576 && " in argv[2]
    assert "$0" not in argv[2]
    assert argv[-3:] == ["/bin/bash", "-c", "echo"]
    procs = tmp_path / "cgroup.procs"
    joined = launcher_argv(["/bin/true"], limits=limits, cgroup_procs=procs, shell=DASH)
    assert joined[0] == "/bin/dash" and "ulimit -p 7 && " in joined[2]
    assert joined[2].startswith('{ echo $$ > "$0"; }') and joined[3:] == [str(procs), "/bin/true"]


@pytest.mark.parametrize("shell", [DASH, BASH], ids=["dash", "bash"])
def test_launcher_applies_every_limit_and_joins(shell: LauncherShell) -> None:
    """The launcher really runs: the program sees the limits; the pid lands in the file."""
    limits = ResourceLimits(processes=9, address_space_bytes=512 * 1024**2, open_files=99)
    show = "echo $$; ulimit -Hu; ulimit -Su; ulimit -v; ulimit -n; ulimit -c; ulimit -f"
    with tempfile.NamedTemporaryFile("r") as procs:
        argv = launcher_argv(
            ["/bin/bash", "-c", show], limits=limits, cgroup_procs=Path(procs.name), shell=shell
        )
        out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()
        assert procs.read().strip() == out[0]  # exec kept the pid that joined
    assert out[1:] == ["9", "9", str(512 * 1024), "99", "0", str(1024**2)]  # bash: 1 KiB blocks


def test_a_limit_that_cannot_be_set_stops_the_launch() -> None:
    argv = launcher_argv(
        ["/bin/echo", "ran"], limits=ResourceLimits(open_files=-5), cgroup_procs=None
    )
    ran = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert ran.returncode == 126 and "ran" not in ran.stdout


@pytest.mark.parametrize("shell", [DASH, BASH], ids=["dash", "bash"])
def test_prlimit_sets_what_the_launcher_sets(shell: LauncherShell) -> None:
    """`rlimit_values` (the direct start's `prlimit`s) equal the launcher's `ulimit`s."""
    limits = ResourceLimits(processes=9, address_space_bytes=512 * 1024**2 + 5, open_files=99)
    show = "ulimit -Hu; ulimit -Su; ulimit -Hv; ulimit -v; ulimit -n; ulimit -c; ulimit -Hf"
    argv = launcher_argv(["/bin/bash", "-c", show], limits=limits, cgroup_procs=None, shell=shell)
    launched = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    child = subprocess.Popen(
        ["/bin/bash", "-c", f"read -r _; {show}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    for which, value in rlimit_values(limits, shell):
        resource.prlimit(child.pid, which, (value, value))
    direct, _ = child.communicate("go\n")
    assert direct == launched


def test_direct_argv_reads_the_options_from_a_descriptor() -> None:
    program = ["/usr/bin/bwrap", "--setenv", "A", "--", "--", "/bin/bash", "-c", "x"]
    assert direct_argv(program) == (
        ["/usr/bin/bwrap", "--", "/bin/bash", "-c", "x"],
        b"--setenv\0A\0--\0",
    )
    assert direct_argv(["/usr/bin/python3", "-c", "x", "/usr/bin/bwrap", "--", "x"]) is None
    with pytest.raises(ValueError, match="null byte"):
        direct_argv(["/usr/bin/bwrap", "--setenv", "A", "b\0--bind", "--", "x"])
