"""The bubblewrap command line, and whether bubblewrap can run here.

Mount order matters: bubblewrap applies mounts in the order given, so the system is
bound read-only first, then every hidden directory is covered by an empty tmpfs, then
the workspace is bound back read-only and each writable directory read-write. Mounts
are sorted by depth (parents before children) so a path inside a hidden directory can
be bound back, and a hidden path inside the workspace stays hidden. Finally the hidden
tmpfs mounts are made read-only, so a write there fails instead of silently vanishing.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from forgeline.sandbox.cgroup import pids_cgroup_parent
from forgeline.sandbox.env import SANDBOX_TMP, ripgrep_binary, user_bin_dir
from forgeline.tools.base import SandboxPolicy

ALWAYS_HIDDEN: tuple[Path, ...] = (Path("/root"), Path("/home"))
"""Hidden from every sandboxed command, with the host user's `$HOME`."""

_STATUS_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class SandboxStatus:
    """Whether the bubblewrap sandbox can run on this machine.

    Attributes:
        available: True when `bwrap` exists and ran a trivial command.
        detail: The bubblewrap version, or why it cannot run.
        bwrap: The `bwrap` executable's path, when found.
    """

    available: bool
    detail: str
    bwrap: str | None = None


def _isolation_flags(*, network: bool) -> list[str]:
    flags = ["--unshare-all"]
    if network:
        flags.append("--share-net")
    return [*flags, "--die-with-parent", "--new-session", "--cap-drop", "ALL"]


@functools.cache
def sandbox_status() -> SandboxStatus:
    """Check once per process that `bwrap` exists and can run a trivial command."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return SandboxStatus(available=False, detail="bwrap was not found on PATH")
    probe = [
        bwrap,
        *("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", SANDBOX_TMP),
        *_isolation_flags(network=False),
        *("--clearenv", "--", "/bin/true"),
    ]
    try:
        ran = subprocess.run(
            probe, capture_output=True, text=True, timeout=_STATUS_TIMEOUT_S, check=False
        )
        version = subprocess.run(
            [bwrap, "--version"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxStatus(available=False, detail=f"{bwrap} could not run: {exc}", bwrap=bwrap)
    if ran.returncode != 0:
        reason = (ran.stderr or ran.stdout).strip() or f"exit status {ran.returncode}"
        return SandboxStatus(available=False, detail=f"{bwrap} failed: {reason}", bwrap=bwrap)
    detail = f"{version.stdout.strip() or 'bubblewrap (unknown version)'} at {bwrap}"
    if pids_cgroup_parent() is not None:
        detail += "; process cap: pids cgroup"
    else:
        detail += "; process cap: pid namespace and timeout only (no writable pids cgroup)"
    return SandboxStatus(available=True, detail=detail, bwrap=bwrap)


def sandbox_home() -> str:
    """Where a sandboxed command's private, empty `HOME` is mounted."""
    home = Path("/home")
    if home.is_dir() and not home.is_symlink():
        return "/home/sandbox"
    return f"{SANDBOX_TMP}/home"


def _host_home() -> tuple[Path, ...]:
    try:
        return (Path.home(),)
    except (RuntimeError, KeyError):  # no HOME and no passwd entry
        return ()


def _hidden_paths(policy: SandboxPolicy) -> list[Path]:
    paths: list[Path] = []
    for path in (*ALWAYS_HIDDEN, *_host_home(), *policy.hidden):
        resolved = path.resolve()
        if resolved.is_dir() and resolved != Path("/") and resolved not in paths:
            paths.append(resolved)
    return paths


def _mounts(policy: SandboxPolicy, *, home: str) -> list[list[str]]:
    workspace = str(policy.workspace.resolve())
    hidden = _hidden_paths(policy)
    ops: list[list[str]] = [["--tmpfs", SANDBOX_TMP]]
    ops += [["--tmpfs", str(path)] for path in hidden]
    ops.append(["--tmpfs", home])
    ops.append(["--ro-bind", workspace, workspace])
    for path in policy.writable:
        resolved = path.resolve()
        if resolved.is_dir():
            ops.append(["--bind", str(resolved), str(resolved)])
            ops += _protected_git_files(resolved)
    for path in policy.readable:
        resolved = path.resolve()
        if resolved.exists():
            ops.append(["--ro-bind", str(resolved), str(resolved)])
    ops.sort(key=lambda op: len(Path(op[-1]).parts))
    rg = ripgrep_binary()
    if rg is not None:
        ops.append(["--ro-bind", str(rg), f"{user_bin_dir(home)}/rg"])
    # Last, once every mount point inside them exists: hidden directories are read-only.
    ops += [["--remount-ro", str(path)] for path in hidden]
    return ops


def _protected_git_files(repo: Path) -> list[list[str]]:
    """A writable repository's git config and hooks stay read-only: a filter driver or
    hook planted there would otherwise run outside the sandbox on Forgeline's own git calls."""
    ops = []
    for name in ("config", "hooks", "info"):
        target = repo / ".git" / name
        if target.exists() and not target.is_symlink():
            ops.append(["--ro-bind", str(target), str(target)])
    return ops


def bwrap_argv(
    bwrap: str, policy: SandboxPolicy, *, command: str, env: Mapping[str, str], home: str
) -> list[str]:
    """The full `bwrap` argument list that runs `command` under `policy`.

    Args:
        bwrap: The `bwrap` executable.
        policy: What the command may see and touch.
        command: The user's command, run as `/bin/bash -c command` inside.
        env: The command's whole environment (already clean).
        home: The sandbox's `HOME` path (from `sandbox_home`).

    Returns:
        An argument list (never a shell string).
    """
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for op in _mounts(policy, home=home):
        argv += op
    argv += _isolation_flags(network=policy.network)
    argv += ["--chdir", str(policy.workspace.resolve()), "--clearenv"]
    for name, value in env.items():
        argv += ["--setenv", name, value]
    return [*argv, "--", "/bin/bash", "-c", command]
