"""Starting a parked sandbox's `bwrap` without a launcher shell in front of it.

A cold start runs a short shell script (`limits.launcher_argv`) that joins the pids
cgroup, sets the rlimits and `exec`s `bwrap`: one more program started per command. A
parked sandbox does the same with no shell: `bwrap` is started with `--args FD` and
reads its options from a pipe, which blocks it before it has done anything (before it
clones the sandbox's processes). Meanwhile a worker thread of this process writes its
pid to the cgroup's `cgroup.procs` (best effort, like the launcher; the write can wait
for a kernel RCU grace period, hence the thread), sets the very limits the launcher's
`ulimit`s set (`limits.rlimit_values`, with `prlimit`), and only then writes the
options. So everything in the sandbox starts in the cgroup and under the limits, as
from the launcher. When the set-up fails, the process group is killed before the pipe
is closed, so `bwrap` never runs with part of its options.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import resource
import signal
import subprocess
from collections.abc import Mapping, Sequence

from forgeline.sandbox.cgroup import PidsCgroup
from forgeline.sandbox.limits import ResourceLimits, launcher_argv, rlimit_values
from forgeline.sandbox.supervise import kill_group

Ready = concurrent.futures.Future[None]


_WORKERS = 4
"""Set-ups run at once at most (one thread is reused while commands come one at a time;
concurrent ones do not queue behind each other's cgroup join)."""


class _Worker:
    """The threads that set up started sandboxes (replaced in a forked child)."""

    def __init__(self) -> None:
        self.pool = concurrent.futures.ThreadPoolExecutor(_WORKERS, "forgeline-sandbox-setup")

    def renew(self) -> None:
        self.pool = concurrent.futures.ThreadPoolExecutor(_WORKERS, "forgeline-sandbox-setup")


_WORKER = _Worker()
os.register_at_fork(after_in_child=_WORKER.renew)


def direct_argv(program: Sequence[str]) -> tuple[list[str], bytes] | None:
    """Split `[bwrap, *options, "--", *inner]` into the argument list that reads the options
    from a descriptor and those options (NUL-terminated), or None when `program` does not
    start with `bwrap` (the Landlock port launcher goes first) or has no `--`."""
    if not program or os.path.basename(program[0]) != "bwrap" or "--" not in program:
        return None
    end = len(program) - 1 - program[::-1].index("--")  # the last: inner has none
    joined = "\0".join(program[1:end])
    if joined.count("\0") != max(end - 2, 0):
        raise ValueError("embedded null byte")
    options = os.fsencode(joined + "\0") if end > 1 else b""
    return [program[0], *program[end:]], options


def start_parked(
    program: Sequence[str],
    *,
    limits: ResourceLimits,
    cgroup: PidsCgroup | None,
    pass_fds: tuple[int, ...],
    output_fd: int,
    env: Mapping[str, str],
) -> tuple[subprocess.Popen[bytes], int, Ready | None]:
    """Start `program` leading its own session: `bwrap` directly when it comes first (and
    the limits are valid), else behind the launcher shell.

    Returns:
        The process, a pidfd of it, and the set-up's future (None: the launcher does it;
        failed: the process was killed). Reap the process only once the set-up is done.

    Raises:
        OSError: The process could not be started.
    """
    split = direct_argv(program)
    if split is None or not _settable(limits):
        procs = cgroup.procs_file if cgroup is not None else None
        argv = launcher_argv(list(program), limits=limits, cgroup_procs=procs)
        popen = _popen(argv, pass_fds, output_fd, env)
        return popen, _pidfd(popen), None
    argv, options = split
    args_r, args_w = os.pipe()
    try:
        popen = _popen(
            [argv[0], "--args", str(args_r), *argv[1:]], (*pass_fds, args_r), output_fd, env
        )
    except BaseException:
        os.close(args_w)
        raise
    finally:
        os.close(args_r)
    try:
        pidfd = _pidfd(popen)
        ready = _WORKER.pool.submit(
            _set_up, popen.pid, os.dup(pidfd), limits, cgroup, options, args_w
        )
    except BaseException:
        kill_group(popen.pid)
        os.close(args_w)
        popen.wait()
        raise
    return popen, pidfd, ready


def _settable(limits: ResourceLimits) -> bool:
    """Whether `prlimit` can set these limits (else the launcher fails, exit 126, as cold)."""
    try:
        rlimit_values(limits)
    except ValueError:
        return False
    return True


def _popen(
    argv: list[str], pass_fds: tuple[int, ...], output_fd: int, env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=output_fd,
        stderr=output_fd,
        cwd="/",
        env=env,
        start_new_session=True,
        pass_fds=pass_fds,
    )


def _pidfd(popen: subprocess.Popen[bytes]) -> int:
    try:
        return os.pidfd_open(popen.pid)
    except OSError:
        kill_group(popen.pid)
        popen.wait()
        raise


def _set_up(
    pid: int,
    pidfd: int,
    limits: ResourceLimits,
    cgroup: PidsCgroup | None,
    options: bytes,
    args_w: int,
) -> None:
    """Cgroup, limits, then the options: `bwrap` goes on only once all is in place.

    Nobody reaps the process before this returns, so `pid` is still it.
    """
    try:
        if cgroup is not None:
            with contextlib.suppress(OSError):
                cgroup.procs_file.write_text(str(pid), encoding="ascii")
        for which, value in rlimit_values(limits):
            resource.prlimit(pid, which, (value, value))
        view = memoryview(options)
        while view:
            view = view[os.write(args_w, view) :]
    except BaseException:
        # First: an end of its options must never reach a live bwrap (which has started
        # nothing yet: it waits for them).
        with contextlib.suppress(OSError):
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        raise
    finally:
        os.close(args_w)
        os.close(pidfd)


def ready_now(ready: Ready | None) -> bool:
    """Whether the set-up is over (or there is none), without waiting."""
    return ready is None or ready.done()


async def set_up(ready: Ready | None) -> bool:
    """Wait for the set-up; whether it succeeded."""
    if ready is None:
        return True
    if not ready.done():
        with contextlib.suppress(Exception):
            await asyncio.shield(asyncio.wrap_future(ready))  # never cancel the set-up
    return ready.exception() is None


def settle(ready: Ready | None) -> None:
    """Wait for the set-up (blocking; it is quick), before reaping the process."""
    if ready is not None:
        concurrent.futures.wait([ready])
