"""Warm sandboxes: a command's whole sandbox set up before the command is known.

An agent run sends many commands under one policy, and setting a sandbox up costs more
than running a short command in it: `bwrap` joins a fresh pids cgroup (the write waits
for a kernel RCU grace period; `sandbox.direct`), then bubblewrap builds the namespaces, the mounts
and the seccomp filter. None of that depends on the command. So after each command the
runner parks the next one's sandbox (`spawn_parked`): the same start, cgroup, limits
and `bwrap` arguments as a cold start (those built for the command just run), and inside
the same `/bin/bash -o pipefail -c` with the same pid, environment, limits and options,
whose script reads the command from a pipe and `eval`s it (`reader_program`). What the
command (or `ps`) can tell apart: a syntax error is reported at `eval:`, not `-c:`; the
shell's arguments are that script; the last simple command is forked, not `exec`ed.

A parked sandbox is used only for a command that would get the very same sandbox now:
the same `bwrap` arguments (built again for every command from the policy and the file
system as they are, `WarmKey`), the same limits, and every path those arguments name
still the same file (`path_identity`: device and inode), so a directory replaced since
(a hidden one, a work tree) is never seen through an old mount. Otherwise the command
starts cold, as do commands longer than `MAX_WARM_COMMAND` bytes and commands whose
environment could make the reader's bash run anything at start-up (`BASH_ENV`...).
One sandbox is parked per key, at most `MAX_PARKED` in all; one parked for longer than
`MAX_IDLE_S` is dropped at the next command; `WARM.close()` (also run at exit) kills
them all and removes their cgroups.
A parked sandbox dies with this process (`--die-with-parent`, and its reader sees EOF).
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from forgeline.sandbox.bwrap import SandboxFds, sandbox_argv, sandbox_fds
from forgeline.sandbox.cgroup import PidsCgroup
from forgeline.sandbox.direct import Ready, ready_now, settle, start_parked
from forgeline.sandbox.env import SHELL
from forgeline.sandbox.limits import ResourceLimits
from forgeline.sandbox.netports import port_launcher
from forgeline.sandbox.spec import SandboxPolicy
from forgeline.sandbox.supervise import kill_group

MAX_WARM_COMMAND = 4096
"""Longest command (bytes) sent to a parked sandbox: bash reads a pipe a byte at a time."""

MAX_PARKED = 16
MAX_IDLE_S = 300.0

_COMMAND = "BASH_EXECUTION_STRING"
_STARTUP_ENV = frozenset({"BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4"})
_PLACEHOLDER_FDS = SandboxFds(seccomp=-1, gitconfig=-1)
_LAUNCHER_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}

Identity = tuple[tuple[str, int, int] | None, ...]


@dataclass(frozen=True)
class SandboxLaunch:
    """How to build one policy's sandbox: everything but the program run inside.

    Attributes:
        bwrap: The `bwrap` executable.
        policy: What the command may see and touch.
        env: The command's whole (clean) environment.
        home: The sandbox's `HOME`.
    """

    bwrap: str
    policy: SandboxPolicy
    env: Mapping[str, str]
    home: str

    def program(self, fds: SandboxFds, inner: Sequence[str]) -> list[str]:
        """The program to start: [port launcher,] `bwrap`, `inner`."""
        argv = sandbox_argv(self.bwrap, self.policy, env=self.env, home=self.home, fds=fds)
        policy = self.policy
        if policy.network and policy.network_ports is not None:
            argv = [*port_launcher(policy.network_ports), *argv]
        return [*argv, *inner]


@dataclass(frozen=True)
class WarmKey:
    """What a parked sandbox must match: its program (without descriptors) and limits.

    Attributes:
        program: `SandboxLaunch.program` with placeholder descriptors and no inner program.
        limits: The command's rlimits (and the cgroup's `pids.max`).
    """

    program: tuple[str, ...]
    limits: ResourceLimits


def warm_key(launch: SandboxLaunch, limits: ResourceLimits) -> WarmKey:
    """The key of the sandbox `launch` would build now under `limits`."""
    return WarmKey(program=tuple(launch.program(_PLACEHOLDER_FDS, ())), limits=limits)


def path_identity(argv: Sequence[str]) -> Identity:
    """Device and inode of every absolute path among `argv`'s options (None: missing)."""
    found: list[tuple[str, int, int] | None] = []
    for arg in argv:
        if arg == "--":
            break
        if not arg.startswith("/"):
            continue
        try:
            info = os.stat(arg)
        except (OSError, ValueError):
            found.append(None)
        else:
            found.append((arg, info.st_dev, info.st_ino))
    return tuple(found)


def warm_env(env: Mapping[str, str]) -> bool:
    """Whether it may be parked: nothing makes bash run code at start-up (`BASH_ENV`...)."""
    return not any(name in _STARTUP_ENV or name.startswith("BASH_FUNC_") for name in env)


def warm_command(command: bytes) -> bool:
    """Whether a parked sandbox's reader takes `command` whole (short, no NUL byte)."""
    return len(command) <= MAX_WARM_COMMAND and b"\0" not in command


def reader_program(fd: int) -> list[str]:
    """`SHELL` with a script that reads the command from `fd` into `BASH_EXECUTION_STRING`
    (where `bash -c` keeps it), closes `fd` and `eval`s it (no second shell is started)."""
    script = f'IFS= read -r -d "" {_COMMAND} <&{fd} || exit 125; exec {fd}<&-; eval "${_COMMAND}"'
    return [*SHELL, script]


class StaleSandbox(Exception):
    """The parked sandbox died before it got its command: start the command cold."""


@dataclass
class Parked:
    """One parked sandbox: its `bwrap` process, pipes and cgroup.

    Attributes:
        key: The sandbox it is (its program without descriptors, and limits).
        popen: The `bwrap` process (or a launcher that execs it), leader of its own session.
        pidfd: A descriptor that becomes readable when the process exits.
        output_fd: The read end of the command's stdout and stderr.
        command_fd: The write end of the pipe the reader reads the command from.
        cgroup: The command's pids cgroup, if any.
        identity: `path_identity` of its arguments when it was parked.
        ready: Its set-up (`sandbox.direct`): cgroup, limits, then bwrap's options.
        parked_at: `time.monotonic()` when it was parked.
    """

    key: WarmKey
    popen: subprocess.Popen[bytes]
    pidfd: int
    output_fd: int
    command_fd: int
    cgroup: PidsCgroup | None
    identity: Identity
    ready: Ready | None = None
    parked_at: float = field(default_factory=time.monotonic)

    @property
    def pid(self) -> int:
        """The process's pid (also its process group's id)."""
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once reaped (negative: killed by that signal)."""
        return self.popen.returncode

    def send(self, command: bytes) -> None:
        """Give the reader its command (NUL-terminated) and close the pipe.

        Raises:
            StaleSandbox: The reader is gone (the sandbox died while parked).
        """
        data = command + b"\0"
        try:
            while data:
                data = data[os.write(self.command_fd, data) :]
        except OSError as exc:
            raise StaleSandbox(str(exc)) from exc
        finally:
            self._close_fd("command_fd")

    async def wait(self) -> int:
        """Wait for the process to exit (through its pidfd), reap it, return its status."""
        if self.popen.returncode is None:
            loop = asyncio.get_running_loop()
            exited: asyncio.Future[None] = loop.create_future()

            def on_exit() -> None:
                if not exited.done():
                    exited.set_result(None)

            loop.add_reader(self.pidfd, on_exit)
            try:
                await exited
            finally:
                loop.remove_reader(self.pidfd)
            self.popen.wait()
        return self.popen.returncode

    def release(self) -> None:
        """Close the descriptors this process still holds (the output's read end is the
        caller's once it has connected it)."""
        for name in ("command_fd", "pidfd", "output_fd"):
            self._close_fd(name)

    def _close_fd(self, name: str) -> None:
        fd = getattr(self, name)
        if fd >= 0:
            setattr(self, name, -1)
            with contextlib.suppress(OSError):
                os.close(fd)

    def discard(self) -> None:
        """Kill the parked sandbox, reap it and remove its cgroup (blocking, a few ms)."""
        kill_group(self.popen.pid)
        settle(self.ready)
        self.popen.wait()
        self.release()
        if self.cgroup is not None:
            self.cgroup.destroy_sync()


def spawn_parked(key: WarmKey) -> Parked:
    """Start the sandbox `key` describes (as `warm_key` built it), waiting for its command.

    Raises:
        OSError: The process could not be started.
        SandboxUnavailable: No seccomp filter is known for this machine.
    """
    command_r, command_w = os.pipe()
    output_r, output_w = os.pipe()
    cgroup = PidsCgroup.create(max_pids=key.limits.processes)
    try:
        with sandbox_fds() as fds:
            program = [*_with_fds(key.program, fds), *reader_program(command_r)]
            identity = path_identity(key.program)  # before bubblewrap mounts anything
            popen, pidfd, ready = start_parked(
                program,
                limits=key.limits,
                cgroup=cgroup,
                pass_fds=(*fds.all, command_r),
                output_fd=output_w,
                env=_LAUNCHER_ENV,
            )
    except BaseException:
        for fd in (command_w, output_r):
            os.close(fd)
        if cgroup is not None:
            cgroup.destroy_sync()
        raise
    finally:
        os.close(command_r)
        os.close(output_w)
    return Parked(key, popen, pidfd, output_r, command_w, cgroup, identity, ready)


def _with_fds(template: tuple[str, ...], fds: SandboxFds) -> list[str]:
    """`template` (from `warm_key`) with `fds` for `_PLACEHOLDER_FDS`.

    Before `--clearenv` every argument is an option, a number of ours or an absolute
    path, so `--seccomp` and `--file` there are the options themselves.
    """
    out = list(template)
    end = out.index("--clearenv") if "--clearenv" in out else len(out)
    for index in range(end - 1):
        if out[index] == "--seccomp" and out[index + 1] == str(_PLACEHOLDER_FDS.seccomp):
            out[index + 1] = str(fds.seccomp)
        elif out[index] == "--file" and out[index + 1] == str(_PLACEHOLDER_FDS.gitconfig):
            out[index + 1] = str(fds.gitconfig)
    return out


class WarmPool:
    """The parked sandboxes of this process, one per `WarmKey`, least recently used first."""

    def __init__(self) -> None:
        self.enabled = True
        """False: every command starts cold, as before warm sandboxes (benchmarks)."""
        self._lock = threading.Lock()
        self._parked: collections.OrderedDict[WarmKey, Parked] = collections.OrderedDict()
        self._reapers: list[threading.Thread] = []
        self._orphans: list[Parked] = []

    def take(self, key: WarmKey, identity: Identity) -> Parked | None:
        """The parked sandbox for `key`, if it is alive and its paths are unchanged."""
        if not self.enabled:
            return None
        with self._lock:
            parked = self._parked.pop(key, None)
            stale = self._expired()
        alive = parked is not None and (not ready_now(parked.ready) or parked.popen.poll() is None)
        if parked is not None and (parked.identity != identity or not alive):
            stale.append(parked)
            parked = None
        self._discard_later(stale)
        return parked

    def park(self, key: WarmKey, spawn: Callable[[], Parked]) -> None:
        """Park a sandbox made by `spawn` (for about `key`), unless one is parked already."""
        if not self.enabled:
            return
        with self._lock:
            if key in self._parked:
                return
        parked = spawn()
        with self._lock:
            evicted = [parked] if parked.key in self._parked else []
            if not evicted:
                self._parked[parked.key] = parked
            evicted += self._expired()
            while len(self._parked) > MAX_PARKED:
                evicted.append(self._parked.popitem(last=False)[1])
        self._discard_later(evicted)

    def parked(self) -> list[Parked]:
        """The sandboxes parked now (for tests and diagnostics)."""
        with self._lock:
            return list(self._parked.values())

    def expire(self) -> None:
        """Discard the sandboxes parked for longer than `MAX_IDLE_S`."""
        with self._lock:
            stale = self._expired()
        self._discard_later(stale)

    def close(self) -> None:
        """Kill every parked sandbox and remove its cgroup (blocking); the pool stays usable."""
        with self._lock:
            parked = list(self._parked.values())
            self._parked.clear()
            reapers, self._reapers = self._reapers, []
        for one in parked:
            one.discard()
        for reaper in reapers:
            reaper.join()

    def forget(self) -> None:
        """Drop every entry without touching the processes (a forked child's copy; kept
        referenced, so they are never garbage-collected as if still ours to wait for)."""
        self._lock = threading.Lock()
        self._orphans = list(self._parked.values())
        self._parked.clear()
        self._reapers = []

    def _expired(self) -> list[Parked]:
        deadline = time.monotonic() - MAX_IDLE_S
        old = [key for key, one in self._parked.items() if one.parked_at < deadline]
        return [self._parked.pop(key) for key in old]

    def _discard_later(self, parked: list[Parked]) -> None:
        if not parked:
            return
        reaper = threading.Thread(target=_discard_all, args=(parked,), daemon=True)
        with self._lock:
            reaper.start()
            self._reapers = [r for r in self._reapers if r.is_alive()] + [reaper]


def _discard_all(parked: list[Parked]) -> None:
    for one in parked:
        one.discard()


WARM = WarmPool()
"""This process's parked sandboxes."""

atexit.register(WARM.close)
os.register_at_fork(after_in_child=WARM.forget)
