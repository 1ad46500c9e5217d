"""Resource limits applied to every command, sandboxed or not.

Limits (defaults in `ResourceLimits`; the operator sets processes and memory with
`FORGELINE_SANDBOX_PIDS` and `FORGELINE_SANDBOX_MEMORY_MB`, see `sandbox.policy`):

- **processes** (256): enforced by a pids cgroup (`pids.max`) when this process may
  create one (cgroup v1 `pids` hierarchy, or a cgroup v2 with the `pids` controller
  delegated to us); also set as `RLIMIT_NPROC`, which the kernel counts per real user
  and ignores for root, so it only bites when Forgeline runs as a dedicated user. In
  every case the command runs in its own process group (and, sandboxed, in its own pid
  namespace), and the whole of it is killed at the wall-clock timeout and when the
  command ends, so a fork storm lasts at most until the timeout.
- **address space** (4 GiB): `RLIMIT_AS` per process.
- **file size** (1 GiB): `RLIMIT_FSIZE`; a bigger write fails (`SIGXFSZ`).
- **open files** (1024): `RLIMIT_NOFILE` per process.
- **core dumps**: disabled (`RLIMIT_CORE` 0), so no core files land in a repository.

They are set on `bwrap` before it starts anything, so nothing the command starts escapes
them: with `prlimit` from this process while `bwrap` waits for its options
(`sandbox.direct`, `rlimit_values`), or, without the sandbox or behind the Landlock port
launcher, by a short shell script in front of the program (`launcher_argv`) that joins
the cgroup, sets every limit with `ulimit` (soft and hard) and `exec`s it. The shell is
dash when installed (about 0.5 ms to start), else bash (about 1 ms); their `ulimit`
options differ (`LauncherShell`), and `rlimit_values` rounds as the shell would.
"""

from __future__ import annotations

import functools
import os
import resource
from dataclasses import dataclass
from pathlib import Path

MIB = 1024**2
GIB = 1024**3
KIB = 1024

# $0 is the cgroup.procs file: joining it is best effort (the runner still bounds the
# command by its timeout, process group and namespace).
_JOIN = '{ echo $$ > "$0"; } 2>/dev/null; '
_EXEC = 'exec "$@"'


@dataclass(frozen=True)
class LauncherShell:
    """A shell that can run the launcher script, and how its `ulimit` is spelt.

    Attributes:
        path: The shell's executable.
        nproc: The `ulimit` option of `RLIMIT_NPROC`.
        block: Bytes per unit of `ulimit -f`.
    """

    path: str
    nproc: str
    block: int


DASH = LauncherShell(path="/bin/dash", nproc="-p", block=512)
BASH = LauncherShell(path="/bin/bash", nproc="-u", block=1024)


@functools.cache
def launcher_shell() -> LauncherShell:
    """Dash when this machine has it (it starts faster), else bash."""
    return DASH if os.access(DASH.path, os.X_OK) else BASH


@dataclass(frozen=True)
class ResourceLimits:
    """Per-command resource limits.

    Attributes:
        processes: Most processes (and threads) alive at once.
        address_space_bytes: Virtual memory per process.
        file_size_bytes: Largest file a process may write.
        open_files: Open file descriptors per process.
    """

    processes: int = 256
    address_space_bytes: int = 4 * GIB
    file_size_bytes: int = 1 * GIB
    open_files: int = 1024


def _capped(which: int, value: int) -> int:
    """`value`, or the hard limit this process (hence the command) already has, if lower."""
    hard = resource.getrlimit(which)[1]
    return value if hard == resource.RLIM_INFINITY else min(value, hard)


def _ulimit(limits: ResourceLimits, shell: LauncherShell) -> str:
    """One `ulimit` per limit (dash takes one option per call); all or nothing."""
    fsize = _capped(resource.RLIMIT_FSIZE, limits.file_size_bytes) // shell.block
    settings = (
        f"{shell.nproc} {_capped(resource.RLIMIT_NPROC, limits.processes)}",
        f"-v {_capped(resource.RLIMIT_AS, limits.address_space_bytes) // KIB}",
        f"-f {fsize}",
        f"-n {_capped(resource.RLIMIT_NOFILE, limits.open_files)}",
        "-c 0",
    )
    return " && ".join(f"ulimit {setting}" for setting in settings) + " || exit 126; "


def rlimit_values(
    limits: ResourceLimits, shell: LauncherShell | None = None
) -> tuple[tuple[int, int], ...]:
    """`(resource, value)` for `prlimit`: the very limits `launcher_argv`'s `ulimit`s set
    (soft and hard), rounded to the units of `shell` (default: `launcher_shell()`).

    Raises:
        ValueError: A negative limit (which `ulimit` refuses too).
    """
    shell = shell or launcher_shell()
    fsize = _capped(resource.RLIMIT_FSIZE, limits.file_size_bytes) // shell.block * shell.block
    values = (
        (resource.RLIMIT_NPROC, _capped(resource.RLIMIT_NPROC, limits.processes)),
        (resource.RLIMIT_AS, _capped(resource.RLIMIT_AS, limits.address_space_bytes) // KIB * KIB),
        (resource.RLIMIT_FSIZE, fsize),
        (resource.RLIMIT_NOFILE, _capped(resource.RLIMIT_NOFILE, limits.open_files)),
        (resource.RLIMIT_CORE, 0),
    )
    if any(value < 0 for _, value in values):
        raise ValueError(f"invalid resource limits: {limits}")
    return values


def launcher_argv(
    program: list[str],
    *,
    limits: ResourceLimits,
    cgroup_procs: Path | None,
    shell: LauncherShell | None = None,
) -> list[str]:
    """The argument list that runs `program` under `limits` (and in a cgroup).

    Args:
        program: The program and its arguments, e.g. `["bwrap", ...]`.
        limits: The limits to set before `exec`.
        cgroup_procs: The `cgroup.procs` file of the command's pids cgroup, if any.
        shell: The launcher's shell (default: `launcher_shell()`).

    Returns:
        An argument list for `asyncio.create_subprocess_exec` (never a shell string:
        the script holds only integers; paths and the program are its arguments).
    """
    shell = shell or launcher_shell()
    join = _JOIN if cgroup_procs is not None else ""
    script = join + _ulimit(limits, shell) + _EXEC
    return [shell.path, "-c", script, str(cgroup_procs or "forgeline-launcher"), *program]
