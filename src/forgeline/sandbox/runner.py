"""Run one shell command in the bubblewrap sandbox, with limits and a wall-clock timeout.

`run_command` starts a bash launcher (pids cgroup, rlimits) which execs `bwrap`, which runs
`/bin/bash -o pipefail -c <command>` in the workspace under a seccomp filter (no Unix
sockets). The command runs in its own session and
process group and, sandboxed, in its own pid namespace whose init dies with `bwrap`.
When the command ends, times out or is cancelled, the whole group (and the cgroup) is
killed, so nothing it started outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from forgeline.domain.errors import SandboxUnavailable, UserError
from forgeline.sandbox.bwrap import bwrap_argv, sandbox_fds, sandbox_home, sandbox_status
from forgeline.sandbox.cgroup import PidsCgroup
from forgeline.sandbox.env import GITCONFIG, SHELL, clean_env, ripgrep_binary, user_bin_dir
from forgeline.sandbox.limits import ResourceLimits, launcher_argv
from forgeline.sandbox.netports import port_launcher
from forgeline.sandbox.output import OutputCollector
from forgeline.tools.base import SandboxPolicy

logger = logging.getLogger("forgeline.sandbox")

TIMEOUT_EXIT_CODE = 124
"""The exit code reported for a command killed at its timeout (like `timeout(1)`)."""

_CHUNK = 64 * 1024
_DRAIN_GRACE_S = 2.0


@dataclass(frozen=True)
class CommandResult:
    """The outcome of one command.

    Attributes:
        exit_code: The command's exit status; 128+N when killed by signal N;
            `TIMEOUT_EXIT_CODE` (124) when killed at the timeout.
        output: stdout and stderr interleaved, head and tail kept when too long.
        timed_out: Whether the command was killed at the wall-clock timeout.
        truncated: Whether the middle of the output was cut.
        duration_s: Wall-clock seconds from start to the end of the cleanup.
        killed_reason: Why Forgeline killed the command ("timeout after 5 s"), or None.
        sandboxed: False when the command ran without bubblewrap (`FORGELINE_SANDBOX=off`).
    """

    exit_code: int
    output: str
    timed_out: bool
    truncated: bool
    duration_s: float
    killed_reason: str | None = None
    sandboxed: bool = True


def _unavailable_message(detail: str) -> str:
    return (
        f"The bubblewrap sandbox cannot run on this machine ({detail}). Install bubblewrap "
        "(apt-get install bubblewrap) or, to run commands without a sandbox, set "
        "FORGELINE_SANDBOX=off."
    )


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


OutputCallback = Callable[[bytes], None]


async def _pump(
    stream: asyncio.StreamReader, collector: OutputCollector, on_output: OutputCallback | None
) -> None:
    while chunk := await stream.read(_CHUNK):
        collector.feed(chunk)
        if on_output is not None:
            on_output(chunk)


async def _finish_reader(reader: asyncio.Task[None]) -> None:
    """Wait briefly for EOF (everything holding the pipe is dead), then give up."""
    done, _ = await asyncio.wait({reader}, timeout=_DRAIN_GRACE_S)
    if not done:
        reader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await reader


@dataclass
class _Prepared:
    argv: list[str]
    env: dict[str, str]
    cwd: str
    home_dir: str | None  # a host temp dir to remove afterwards (sandbox off)
    pass_fds: tuple[int, ...] = ()


async def _prepare(
    command: str,
    policy: SandboxPolicy,
    *,
    env: Mapping[str, str] | None,
    stack: contextlib.ExitStack,
) -> _Prepared:
    workspace = policy.workspace.resolve()
    if not workspace.is_dir():
        raise UserError(f"The workspace {workspace} does not exist or is not a directory.")
    if policy.enabled:
        cached = sandbox_status.cache_info().currsize > 0
        status = sandbox_status() if cached else await asyncio.to_thread(sandbox_status)
        if not status.available or status.bwrap is None:
            raise SandboxUnavailable(_unavailable_message(status.detail))
        fds = stack.enter_context(sandbox_fds())
        home = sandbox_home()
        clean = clean_env(
            home=home, extra=_extra_env(policy, env), path_prepend=policy.path_prepend
        )
        argv = bwrap_argv(status.bwrap, policy, command=command, env=clean, home=home, fds=fds)
        if policy.network and policy.network_ports is not None:
            argv = [*port_launcher(policy.network_ports), *argv]
        return _Prepared(argv=argv, env=clean, cwd=str(workspace), home_dir=None, pass_fds=fds.all)
    logger.warning(
        "FORGELINE_SANDBOX=off: running a command WITHOUT the bubblewrap sandbox in %s "
        "(it can read and write anything this process can): %s",
        workspace,
        command,
    )
    home = await asyncio.to_thread(_make_host_home)
    clean = clean_env(home=home, extra=_extra_env(policy, env), path_prepend=policy.path_prepend)
    return _Prepared(argv=[*SHELL, command], env=clean, cwd=str(workspace), home_dir=home)


def _extra_env(policy: SandboxPolicy, env: Mapping[str, str] | None) -> dict[str, str]:
    return {**dict(policy.environment), **(env or {})}


def _make_host_home() -> str:
    home = tempfile.mkdtemp(prefix="forgeline-home-")
    Path(home, ".gitconfig").write_text(GITCONFIG, encoding="utf-8")
    rg = ripgrep_binary()
    if rg is not None:
        bin_dir = Path(user_bin_dir(home))
        bin_dir.mkdir(parents=True)
        (bin_dir / "rg").symlink_to(rg)
    return home


async def _wait(proc: asyncio.subprocess.Process, timeout_s: float) -> bool:
    """Wait for the process; on timeout kill its group and return True."""
    try:
        await asyncio.wait_for(proc.wait(), timeout_s)
    except TimeoutError:
        _kill_group(proc.pid)
        await proc.wait()
        return True
    return False


async def _cleanup(
    proc: asyncio.subprocess.Process, cgroup: PidsCgroup | None, reader: asyncio.Task[None]
) -> None:
    """Kill whatever the command left behind and collect the rest of its output."""
    _kill_group(proc.pid)
    if proc.returncode is None:
        await proc.wait()
    if cgroup is not None:
        await cgroup.destroy()
    await _finish_reader(reader)


async def run_command(
    command: str,
    policy: SandboxPolicy,
    *,
    timeout_s: float,
    max_output_chars: int = 30_000,
    env: Mapping[str, str] | None = None,
    limits: ResourceLimits | None = None,
    on_output: OutputCallback | None = None,
) -> CommandResult:
    """Run `command` with `/bin/bash -o pipefail -c` in the workspace, sandboxed unless off.

    Args:
        command: The shell command (interpreted by bash inside the sandbox only).
        policy: What the command may see and touch, and whether the sandbox is on.
        timeout_s: Wall-clock limit; the whole command is killed when it passes.
        max_output_chars: Most characters of output kept (head and tail).
        env: Extra environment variables; secret-looking names are dropped.
        limits: Resource limits (default: the policy's, else `ResourceLimits()`).
        on_output: Called with each raw chunk of output as it arrives (setup streams it).

    Returns:
        The exit code, output and how the command ended.

    Raises:
        SandboxUnavailable: The policy asks for the sandbox and bubblewrap cannot run.
        UserError: The workspace does not exist.
        asyncio.CancelledError: The caller was cancelled (the command is killed first).
    """
    if timeout_s <= 0:
        raise ValueError("timeout_s must be positive")
    limits = limits or policy.limits or ResourceLimits()
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        prepared = await _prepare(command, policy, env=env, stack=stack)
        result = await _run_prepared(prepared, limits, timeout_s, max_output_chars, on_output)
    exit_code, output, truncated, timed_out = result
    return CommandResult(
        exit_code=exit_code,
        output=output,
        timed_out=timed_out,
        truncated=truncated,
        duration_s=round(time.monotonic() - started, 3),
        killed_reason=f"timeout after {timeout_s:g} s" if timed_out else None,
        sandboxed=policy.enabled,
    )


async def _run_prepared(
    prepared: _Prepared,
    limits: ResourceLimits,
    timeout_s: float,
    max_output_chars: int,
    on_output: OutputCallback | None = None,
) -> tuple[int, str, bool, bool]:
    cgroup: PidsCgroup | None = None
    try:
        cgroup = PidsCgroup.create(max_pids=limits.processes)  # a mkdir and a write: < 1 ms
        argv = launcher_argv(
            prepared.argv, limits=limits, cgroup_procs=cgroup.procs_file if cgroup else None
        )
        return await _execute(argv, prepared, cgroup, timeout_s, max_output_chars, on_output)
    finally:
        if prepared.home_dir is not None:
            await asyncio.to_thread(shutil.rmtree, prepared.home_dir, True)
        if cgroup is not None:
            await asyncio.shield(cgroup.destroy())


async def _open_pipe() -> tuple[int, asyncio.StreamReader, asyncio.ReadTransport]:
    """A pipe whose write end is the command's stdout and stderr; we own the read end."""
    read_fd, write_fd = os.pipe()
    stream = asyncio.StreamReader(limit=_CHUNK)
    loop = asyncio.get_running_loop()
    try:
        pipe = os.fdopen(read_fd, "rb", buffering=0)
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), pipe)
    return write_fd, stream, transport


async def _execute(
    argv: list[str],
    prepared: _Prepared,
    cgroup: PidsCgroup | None,
    timeout_s: float,
    max_output_chars: int,
    on_output: OutputCallback | None = None,
) -> tuple[int, str, bool, bool]:
    collector = OutputCollector(max_output_chars)
    write_fd, stream, transport = await _open_pipe()
    try:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=write_fd,
                stderr=write_fd,
                cwd=prepared.cwd,
                env=prepared.env,
                start_new_session=True,
                pass_fds=prepared.pass_fds,
            )
        finally:
            os.close(write_fd)
        reader = asyncio.create_task(_pump(stream, collector, on_output))
        try:
            timed_out = await _wait(proc, timeout_s)
        except BaseException:
            _kill_group(proc.pid)
            await asyncio.shield(_cleanup(proc, cgroup, reader))
            raise
        await _cleanup(proc, cgroup, reader)
    finally:
        transport.close()
    assert proc.returncode is not None
    output, truncated = collector.render()
    exit_code = TIMEOUT_EXIT_CODE if timed_out else _exit_code(proc.returncode)
    return exit_code, output, truncated, timed_out
