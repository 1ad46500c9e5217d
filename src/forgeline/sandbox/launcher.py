"""A tiny launcher run as `python -I -S launcher.py ...` in front of every command.

It joins a pids cgroup (when one is given), sets resource limits, then replaces itself
with the real program. It runs in the new process before `exec`, so nothing the command
starts can escape the limits. Only the standard library is used, and no shell.

Usage::

    launcher.py [--cgroup-procs FILE] [--limit NAME=VALUE ...] -- PROGRAM [ARG ...]

NAME is one of `nproc`, `as`, `fsize`, `nofile`, `core`.
"""

from __future__ import annotations

import os
import resource
import sys

RLIMITS: dict[str, int] = {
    "nproc": resource.RLIMIT_NPROC,
    "as": resource.RLIMIT_AS,
    "fsize": resource.RLIMIT_FSIZE,
    "nofile": resource.RLIMIT_NOFILE,
    "core": resource.RLIMIT_CORE,
}


def _join_cgroup(procs_file: str) -> None:
    try:
        with open(procs_file, "w", encoding="ascii") as handle:
            handle.write(str(os.getpid()))
    except OSError:
        # Best effort: the runner still bounds the command by its timeout and namespace.
        return


def _set_limit(name: str, value: int) -> None:
    which = RLIMITS[name]
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def _parse(argv: list[str]) -> tuple[str | None, list[tuple[str, int]], list[str]]:
    procs_file: str | None = None
    limits: list[tuple[str, int]] = []
    index = 0
    while index < len(argv) and argv[index] != "--":
        option = argv[index]
        if option == "--cgroup-procs":
            procs_file = argv[index + 1]
        elif option == "--limit":
            name, _, raw = argv[index + 1].partition("=")
            if name not in RLIMITS:
                raise ValueError(f"unknown limit {name!r}")
            limits.append((name, int(raw)))
        else:
            raise ValueError(f"unknown option {option!r}")
        index += 2
    program = argv[index + 1 :]
    if not program:
        raise ValueError("no program given after --")
    return procs_file, limits, program


def main(argv: list[str]) -> int:
    """Join the cgroup, apply the limits and exec the program.

    Args:
        argv: The launcher's arguments (without the script name).

    Returns:
        An exit status, only when the program could not be started.
    """
    try:
        procs_file, limits, program = _parse(argv)
    except (ValueError, IndexError) as exc:
        sys.stderr.write(f"forgeline launcher: {exc}\n")
        return 2
    if procs_file:
        _join_cgroup(procs_file)
    try:
        for name, value in limits:
            _set_limit(name, value)
        os.execv(program[0], program)  # noqa: S606 (an argument list, never a shell)
    except OSError as exc:
        sys.stderr.write(f"forgeline launcher: cannot start {program[0]}: {exc}\n")
        return 127
    return 127  # pragma: no cover (execv does not return)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
