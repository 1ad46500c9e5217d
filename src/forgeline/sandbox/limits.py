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
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

MIB = 1024**2
GIB = 1024**3

LAUNCHER = Path(__file__).with_name("launcher.py")


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


def launcher_argv(
    program: list[str], *, limits: ResourceLimits, cgroup_procs: Path | None
) -> list[str]:
    """The argument list that runs `program` under `limits` (and in a cgroup).

    Args:
        program: The program and its arguments, e.g. `["bwrap", ...]`.
        limits: The limits to set before `exec`.
        cgroup_procs: The `cgroup.procs` file of the command's pids cgroup, if any.

    Returns:
        An argument list for `asyncio.create_subprocess_exec` (never a shell string).
    """
    argv = [sys.executable, "-I", "-S", str(LAUNCHER)]
    if cgroup_procs is not None:
        argv += ["--cgroup-procs", str(cgroup_procs)]
    for name, value in (
        ("nproc", limits.processes),
        ("as", limits.address_space_bytes),
        ("fsize", limits.file_size_bytes),
        ("nofile", limits.open_files),
        ("core", 0),
    ):
        argv += ["--limit", f"{name}={value}"]
    return [*argv, "--", *program]
