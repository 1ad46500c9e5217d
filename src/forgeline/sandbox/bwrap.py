"""The bubblewrap command line, and whether bubblewrap can run here.

Mount order matters: bubblewrap applies mounts in the order given, so the system is
bound read-only first, then every hidden directory is covered by an empty tmpfs, then
the workspace is bound back read-only and each writable directory read-write. Mounts
are sorted by depth (parents before children) so a path inside a hidden directory can
be bound back, and a hidden path inside the workspace stays hidden. Finally the hidden
tmpfs mounts are made read-only, so a write there fails instead of silently vanishing.

The host's Unix-socket directories (`/run`, `/var/run`) are hidden like `$HOME`, and the
seccomp filter of `sandbox.seccomp` (given to bubblewrap through an inherited pipe)
refuses every new Unix socket, wherever one is bound. Data bubblewrap reads from file
descriptors (the filter, the private `HOME`'s `.gitconfig`) come in `SandboxFds`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from forgeline.domain.errors import SandboxUnavailable
from forgeline.sandbox.cgroup import pids_cgroup_parent
from forgeline.sandbox.env import GITCONFIG, SANDBOX_TMP, SHELL, ripgrep_binary, user_bin_dir
from forgeline.sandbox.seccomp import unix_socket_filter
from forgeline.sandbox.spec import Bind, SandboxPolicy

ALWAYS_HIDDEN: tuple[Path, ...] = (Path("/root"), Path("/home"), Path("/run"), Path("/var/run"))
"""Hidden from every sandboxed command, with the host user's `$HOME` (`/run` and
`/var/run` for the Unix sockets of the host's services)."""

RESOLV_CONF = Path("/etc/resolv.conf")
"""Often a link into `/run`; its target is shown again when the network is allowed."""

_PIPE_CAPACITY = 65_536

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


@dataclass(frozen=True)
class SandboxFds:
    """Inherited file descriptors bubblewrap reads before it runs the command.

    Attributes:
        seccomp: The compiled seccomp filter (`--seccomp`).
        gitconfig: The private `HOME`'s `.gitconfig` (`--file`).
    """

    seccomp: int
    gitconfig: int

    @property
    def all(self) -> tuple[int, ...]:
        """Every descriptor, for `pass_fds`."""
        return (self.seccomp, self.gitconfig)


def _data_fd(data: bytes) -> int:
    """The read end of a pipe that holds `data` and then ends."""
    if len(data) > _PIPE_CAPACITY:
        raise ValueError("too much data for one pipe")
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, data)
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    return read_fd


@contextlib.contextmanager
def sandbox_fds() -> Iterator[SandboxFds]:
    """The descriptors one `bwrap` run reads, closed on exit (after the spawn).

    Raises:
        SandboxUnavailable: No seccomp filter is known for this machine.
    """
    opened: list[int] = []
    try:
        opened.append(_data_fd(unix_socket_filter()))
        opened.append(_data_fd(GITCONFIG.encode()))
        yield SandboxFds(seccomp=opened[0], gitconfig=opened[1])
    finally:
        for fd in opened:
            os.close(fd)


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
    try:
        ran = _probe(bwrap)
        version = subprocess.run(
            [bwrap, "--version"], capture_output=True, text=True, timeout=5, check=False
        )
    except SandboxUnavailable as exc:
        return SandboxStatus(available=False, detail=str(exc), bwrap=bwrap)
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


def _probe(bwrap: str) -> subprocess.CompletedProcess[str]:
    """Run `/bin/true` in a sandbox like a command's, seccomp filter included."""
    with sandbox_fds() as fds:
        probe = [
            bwrap,
            *("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", SANDBOX_TMP),
            *_isolation_flags(network=False),
            *("--seccomp", str(fds.seccomp), "--clearenv", "--", "/bin/true"),
        ]
        return subprocess.run(
            probe,
            capture_output=True,
            text=True,
            timeout=_STATUS_TIMEOUT_S,
            check=False,
            pass_fds=fds.all,
        )


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


def _readable(policy: SandboxPolicy) -> tuple[Path, ...]:
    if policy.network and RESOLV_CONF.is_symlink():  # e.g. into /run/systemd/resolve
        return (*policy.readable, RESOLV_CONF.resolve())
    return policy.readable


def _mounts(policy: SandboxPolicy, *, home: str, gitconfig_fd: int) -> list[list[str]]:
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
            protected, empty = _protected_git_files(resolved)
            ops += protected
            hidden += empty
    for path in _readable(policy):
        resolved = path.resolve()
        if resolved.exists():
            ops.append(["--ro-bind", str(resolved), str(resolved)])
    bound, empty = _bind_ops(policy.binds)
    ops += bound
    hidden += empty
    ops.sort(key=lambda op: len(Path(op[-1]).parts))
    rg = ripgrep_binary()
    if rg is not None:
        ops.append(["--ro-bind", str(rg), f"{user_bin_dir(home)}/rg"])
    ops.append(["--file", str(gitconfig_fd), f"{home}/.gitconfig"])
    # Last, once every mount point inside them exists: hidden directories are read-only.
    ops += [["--remount-ro", str(path)] for path in hidden]
    return ops


def _protected_git_files(writable: Path) -> tuple[list[list[str]], list[Path]]:
    """In each work tree of a writable directory, `.git` and `.forgeline/` stay read-only.

    A work tree is the directory itself or a child holding a `.git` entry (an overwatcher's
    directory holds one worktree per repository). Its `.git` (the file pointing at the git
    directory, which lives outside every writable mount) is bound read-only, so it can be
    neither rewritten nor renamed; its `.forgeline/` is bound read-only, or covered by an
    empty tmpfs made read-only when it does not exist, so nothing can be created there.

    Returns:
        The mounts, and the tmpfs mount points to remount read-only at the end.
    """
    ops: list[list[str]] = []
    empty: list[Path] = []
    for tree in _work_trees(writable):
        dot_git = tree / ".git"
        if not dot_git.is_symlink():
            ops.append(["--ro-bind", str(dot_git), str(dot_git)])
        meta = tree / ".forgeline"
        target = meta.resolve()
        if meta.exists() and target.is_relative_to(writable):  # a symlink out is not bound
            ops.append(["--ro-bind", str(target), str(target)])
        elif not os.path.lexists(meta):
            ops.append(["--tmpfs", str(meta)])
            empty.append(meta)
        ops += [["--ro-bind", str(sub), str(sub)] for sub in _submodules(tree, writable)]
    return ops, empty


_SUBMODULE_PATH = re.compile(r"^\s*path\s*=\s*(.+?)\s*$", re.MULTILINE)


def _submodules(tree: Path, writable: Path) -> list[Path]:
    """The checked-out submodules of a work tree (from `.gitmodules`): read-only to agents."""
    try:
        text = (tree / ".gitmodules").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    found = []
    for name in _SUBMODULE_PATH.findall(text):
        sub = tree / name
        if sub.is_dir() and not sub.is_symlink() and sub.resolve().is_relative_to(writable):
            found.append(sub.resolve())
    return found


def _work_trees(writable: Path) -> list[Path]:
    if os.path.lexists(writable / ".git"):
        return [writable]
    children = sorted(writable.iterdir()) if writable.is_dir() else []
    return [c for c in children if c.is_dir() and not c.is_symlink() and (c / ".git").is_file()]


def _bind_ops(binds: Sequence[Bind]) -> tuple[list[list[str]], list[Path]]:
    """Directories shown at another path; a writable one keeps `.git` and `.forgeline/`
    read-only at its new place too (the same protection as a writable directory's)."""
    ops: list[list[str]] = []
    empty: list[Path] = []
    for bind in binds:
        source = bind.source.resolve()
        if source != bind.source.absolute() or not _bindable(source, writable=bind.writable):
            continue  # a symlink on the way (it could lead anywhere): never bound
        ops.append(["--bind" if bind.writable else "--ro-bind", str(source), str(bind.target)])
        if bind.writable:
            protected, made = _protected_git_files(source)
            ops += [[*op[:-1], _moved(op[-1], source, bind.target)] for op in protected]
            empty += [Path(_moved(str(p), source, bind.target)) for p in made]
    return ops, empty


def _bindable(source: Path, *, writable: bool) -> bool:
    """A directory, or (read-only) a file."""
    return source.is_dir() or (not writable and source.is_file())


def _moved(path: str, source: Path, target: Path) -> str:
    return str(target / Path(path).relative_to(source))


def sandbox_argv(
    bwrap: str,
    policy: SandboxPolicy,
    *,
    env: Mapping[str, str],
    home: str,
    fds: SandboxFds,
) -> list[str]:
    """The `bwrap` arguments up to and including `--`: everything but the program.

    Args:
        bwrap: The `bwrap` executable.
        policy: What the command may see and touch.
        env: The command's whole environment (already clean).
        home: The sandbox's `HOME` path (from `sandbox_home`).
        fds: The descriptors bubblewrap reads (pass them with `pass_fds`).

    Returns:
        An argument list (never a shell string) ending with `--`.
    """
    argv = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for op in _mounts(policy, home=home, gitconfig_fd=fds.gitconfig):
        argv += op
    argv += _isolation_flags(network=policy.network)
    argv += ["--seccomp", str(fds.seccomp)]
    argv += ["--chdir", str(policy.workspace.resolve()), "--clearenv"]
    for name, value in env.items():
        argv += ["--setenv", name, value]
    return [*argv, "--"]


def bwrap_argv(
    bwrap: str,
    policy: SandboxPolicy,
    *,
    command: str,
    env: Mapping[str, str],
    home: str,
    fds: SandboxFds,
) -> list[str]:
    """The full `bwrap` argument list that runs `command` under `policy`.

    Args:
        bwrap: The `bwrap` executable.
        policy: What the command may see and touch.
        command: The user's command, run as `/bin/bash -o pipefail -c command` inside.
        env: The command's whole environment (already clean).
        home: The sandbox's `HOME` path (from `sandbox_home`).
        fds: The descriptors bubblewrap reads (pass them with `pass_fds`).

    Returns:
        An argument list (never a shell string).
    """
    return [*sandbox_argv(bwrap, policy, env=env, home=home, fds=fds), *SHELL, command]
