"""Run one shell command in the bubblewrap sandbox, with limits and a wall-clock timeout.

`run_command` starts `bwrap` (in a fresh pids cgroup, under the rlimits: `sandbox.direct`;
with the network's port rules, behind the Landlock launcher and a shell launcher), which
runs `/bin/bash -o pipefail -c <command>` in the workspace under a seccomp filter (no Unix
sockets). Usually that sandbox was set up after the previous command of the same policy
and waits for its command (`sandbox.warm`); otherwise it is started cold, then and there.
Without the sandbox, a shell launcher sets the rlimits and runs the shell.
The command runs in its own session and process group and, sandboxed, in its own pid
namespace whose init dies with `bwrap`. When the command ends, times out or is
cancelled, the whole group (and the cgroup) is killed, so nothing it started outlives it
(`sandbox.supervise`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from forgeline.domain.errors import SandboxUnavailable, UserError
from forgeline.sandbox.bwrap import sandbox_fds, sandbox_home, sandbox_status
from forgeline.sandbox.cgroup import PidsCgroup
from forgeline.sandbox.direct import set_up, start_parked
from forgeline.sandbox.env import GITCONFIG, SHELL, clean_env, ripgrep_binary, user_bin_dir
from forgeline.sandbox.limits import ResourceLimits, launcher_argv
from forgeline.sandbox.output import OutputCollector
from forgeline.sandbox.spec import SandboxPolicy
from forgeline.sandbox.supervise import OutputCallback, OutputPipe, kill_group, outcome, supervise
from forgeline.sandbox.warm import (
    WARM,
    Parked,
    SandboxLaunch,
    StaleSandbox,
    WarmKey,
    path_identity,
    spawn_parked,
    warm_command,
    warm_env,
    warm_key,
)

logger = logging.getLogger("forgeline.sandbox")


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


@dataclass
class _Prepared:
    argv: list[str]  # sandboxed: empty, built from `launch` on a cold start
    env: dict[str, str]
    cwd: str
    home_dir: str | None  # a host temp dir to remove afterwards (sandbox off)
    command: str
    launch: SandboxLaunch | None = None


async def _prepare(
    command: str, policy: SandboxPolicy, *, env: Mapping[str, str] | None
) -> _Prepared:
    workspace = policy.workspace.resolve()
    if not workspace.is_dir():
        raise UserError(f"The workspace {workspace} does not exist or is not a directory.")
    if policy.enabled:
        cached = sandbox_status.cache_info().currsize > 0
        status = sandbox_status() if cached else await asyncio.to_thread(sandbox_status)
        if not status.available or status.bwrap is None:
            raise SandboxUnavailable(_unavailable_message(status.detail))
        home = sandbox_home()
        clean = clean_env(
            home=home, extra=_extra_env(policy, env), path_prepend=policy.path_prepend
        )
        launch = SandboxLaunch(bwrap=status.bwrap, policy=policy, env=clean, home=home)
        return _Prepared([], clean, str(workspace), None, command, launch)
    logger.warning(
        "FORGELINE_SANDBOX=off: running a command WITHOUT the bubblewrap sandbox in %s "
        "(it can read and write anything this process can): %s",
        workspace,
        command,
    )
    home = await asyncio.to_thread(_make_host_home)
    clean = clean_env(home=home, extra=_extra_env(policy, env), path_prepend=policy.path_prepend)
    return _Prepared([*SHELL, command], clean, str(workspace), home, command)


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
    prepared = await _prepare(command, policy, env=env)
    run = _Run(limits, timeout_s, max_output_chars, on_output)
    if prepared.launch is None:
        result = await _run_prepared(prepared, run)
    else:
        result = await _run_sandboxed(prepared, prepared.launch, run)
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


@dataclass(frozen=True)
class _Run:
    limits: ResourceLimits
    timeout_s: float
    max_output_chars: int
    on_output: OutputCallback | None


async def _run_sandboxed(
    prepared: _Prepared, launch: SandboxLaunch, run: _Run
) -> tuple[int, str, bool, bool]:
    """Run in a parked sandbox when one matches, else cold; then park the next one."""
    command = os.fsencode(prepared.command)
    if b"\0" in command:
        raise ValueError("embedded null byte")
    if not warm_env(launch.env):
        return await _run_cold(prepared, launch, run)
    key = warm_key(launch, run.limits)
    parked = WARM.take(key, path_identity(key.program)) if warm_command(command) else None
    try:
        if parked is not None:
            with contextlib.suppress(StaleSandbox):
                return await _run_parked(parked, command, run)
        return await _run_cold(prepared, launch, run)
    finally:
        _park_next(key)


async def _run_cold(
    prepared: _Prepared, launch: SandboxLaunch, run: _Run
) -> tuple[int, str, bool, bool]:
    """Start the sandbox with the command inside (`bash -o pipefail -c <command>`), as a
    parked one is started (`sandbox.direct`), and run it."""
    output_r, output_w = os.pipe()
    cgroup = PidsCgroup.create(max_pids=run.limits.processes)  # a mkdir and a write
    try:
        with sandbox_fds() as fds:
            program = launch.program(fds, [*SHELL, prepared.command])
            popen, pidfd, ready = start_parked(
                program,
                limits=run.limits,
                cgroup=cgroup,
                pass_fds=fds.all,
                output_fd=output_w,
                env=prepared.env,
            )
    except BaseException:
        os.close(output_r)
        if cgroup is not None:
            await asyncio.shield(cgroup.destroy())
        raise
    finally:
        os.close(output_w)
    started = Parked(WarmKey((), run.limits), popen, pidfd, output_r, -1, cgroup, (), ready)
    return await _run_parked(started, None, run)


def _park_next(key: WarmKey) -> None:
    """Park the next command's sandbox now, while the caller has other work (best effort).

    It is the sandbox this command's arguments describe (built before it ran): when the
    command changed what they depend on, the next command's key differs and it starts cold.
    """
    try:
        WARM.park(key, lambda: spawn_parked(key))
    except (OSError, SandboxUnavailable) as exc:
        logger.debug("could not park a sandbox: %s", exc)


async def _run_parked(
    parked: Parked, command: bytes | None, run: _Run
) -> tuple[int, str, bool, bool]:
    """Send `command` to a parked sandbox (None: a cold one, running its command already)
    and supervise it; StaleSandbox: it could not take the command."""
    collector = OutputCollector(run.max_output_chars)
    read_fd, parked.output_fd = parked.output_fd, -1  # the pipe below owns it now
    try:
        output = OutputPipe(read_fd, collector, run.on_output)
    except BaseException:
        await asyncio.shield(_discard(parked))
        raise
    try:
        try:
            if not await set_up(parked.ready) and command is not None:
                raise StaleSandbox("its set-up failed")
            if command is not None:
                parked.send(command)
        except BaseException:
            await asyncio.shield(_discard(parked))
            raise
        timed_out = await supervise(parked, parked.cgroup, output, run.timeout_s)
    finally:
        output.close()
        parked.release()
        if parked.cgroup is not None:
            await asyncio.shield(parked.cgroup.destroy())
    return outcome(parked, collector, timed_out)


async def _discard(parked: Parked) -> None:
    """Kill a parked sandbox that will not run its command, and remove its cgroup."""
    kill_group(parked.pid)
    await set_up(parked.ready)  # before it is reaped
    await parked.wait()
    parked.release()
    if parked.cgroup is not None:
        await parked.cgroup.destroy()


async def _run_prepared(
    prepared: _Prepared, run: _Run, *, pass_fds: tuple[int, ...] = ()
) -> tuple[int, str, bool, bool]:
    cgroup: PidsCgroup | None = None
    try:
        cgroup = PidsCgroup.create(max_pids=run.limits.processes)  # a mkdir and a write
        argv = launcher_argv(
            prepared.argv, limits=run.limits, cgroup_procs=cgroup.procs_file if cgroup else None
        )
        return await _execute(argv, prepared, cgroup, run, pass_fds)
    finally:
        if prepared.home_dir is not None:
            await asyncio.to_thread(shutil.rmtree, prepared.home_dir, True)
        if cgroup is not None:
            await asyncio.shield(cgroup.destroy())


async def _execute(
    argv: list[str],
    prepared: _Prepared,
    cgroup: PidsCgroup | None,
    run: _Run,
    pass_fds: tuple[int, ...],
) -> tuple[int, str, bool, bool]:
    collector = OutputCollector(run.max_output_chars)
    read_fd, write_fd = os.pipe()
    try:
        output = OutputPipe(read_fd, collector, run.on_output)
    except BaseException:
        os.close(write_fd)
        raise
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
                pass_fds=pass_fds,
            )
        finally:
            os.close(write_fd)
        timed_out = await supervise(proc, cgroup, output, run.timeout_s)
    finally:
        output.close()
    return outcome(proc, collector, timed_out)
