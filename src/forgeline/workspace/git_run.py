"""Running one git command: async subprocess, argument list, safe environment, timeout.

Every command runs with prompts disabled (`GIT_TERMINAL_PROMPT=0`, an askpass that answers
nothing, no controlling terminal), the system config ignored, the `ext::`/`fd::` transports
forbidden, and repository hooks and fsmonitor disabled: a repository an agent has written
to cannot make Forgeline run its code outside the sandbox through git.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from forgeline.workspace import credentials
from forgeline.workspace.git_errors import GitError, failure_detail
from forgeline.workspace.urls import redact_url

DEFAULT_TIMEOUT_S = 120.0
NETWORK_TIMEOUT_S = 900.0

_SAFETY_OPTIONS = (
    "-c",
    "protocol.ext.allow=never",
    "-c",
    "protocol.fd.allow=never",
    "-c",
    "core.hooksPath=/dev/null",
    "-c",
    "core.fsmonitor=false",
)
_FIXED_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_ASKPASS": "/bin/true",
    "SSH_ASKPASS": "/bin/true",
    "SSH_ASKPASS_REQUIRE": "never",
    "LC_ALL": "C",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_PAGER": "cat",
    "GIT_EDITOR": "true",
    "GIT_MERGE_AUTOEDIT": "no",
}
# Variables that would point git at another repository or inject configuration.
_DROPPED_ENV = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
    "GIT_CONFIG",
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
    "GIT_EXTERNAL_DIFF",
)


@dataclass(frozen=True)
class GitResult:
    """What a git command printed and how it exited."""

    args: tuple[str, ...]
    stdout: str
    stderr: str
    code: int

    @property
    def ok(self) -> bool:
        """Whether git exited with status 0."""
        return self.code == 0


def git_env() -> dict[str, str]:
    """The environment every git command runs with."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _DROPPED_ENV and not key.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))
    }
    env.update(_FIXED_ENV)
    return env


async def run(
    *args: str,
    cwd: Path,
    check: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    stdin: str | None = None,
) -> GitResult:
    """Run one git command.

    Args:
        *args: Git's arguments, e.g. `"status", "--porcelain"`.
        cwd: The directory to run in.
        check: Raise `GitError` when git exits non-zero.
        timeout_s: Wall-clock limit; git and its children are killed when it passes.
        stdin: Text fed to git's standard input (else it reads nothing).

    Returns:
        Git's output and exit code.

    Raises:
        GitError: Git is missing, timed out, or (with `check`) failed.
    """
    _check_directory(cwd, args)
    auth, extra_env = await _network_auth(args, cwd)
    code, out, err = await _execute(
        (*auth, *args), cwd=cwd, timeout_s=timeout_s, stdin=stdin, extra_env=extra_env
    )
    result = GitResult(args=args, stdout=out, stderr=redact_url(err), code=code)
    if check and not result.ok:
        raise GitError(
            f"git {subcommand(args)} failed: {failure_detail(err, code)}",
            command=tuple(redact_url(arg) for arg in args),
            stderr=result.stderr,
            code=code,
        )
    return result


async def _network_auth(args: tuple[str, ...], cwd: Path) -> tuple[list[str], dict[str, str]]:
    """For clone/fetch/push: the credential helper options and environment (see credentials)."""
    target = credentials.network_target(args)
    if target is None:
        return [], {}
    if not credentials.is_url(target):
        remote = await run("remote", "get-url", target, cwd=cwd, check=False)
        target = remote.stdout.strip()
    return await credentials.git_auth(target)


async def _execute(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    stdin: str | None,
    extra_env: dict[str, str] | None = None,
) -> tuple[int, str, str]:
    argv = ("git", *_SAFETY_OPTIONS, *args)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env={**git_env(), **(extra_env or {})},
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH", command=tuple(args)) from None
    data = stdin.encode() if stdin is not None else None
    try:
        out, err = await asyncio.wait_for(proc.communicate(data), timeout_s)
    except TimeoutError:
        await _kill(proc)
        raise GitError(
            f"git {subcommand(args)} timed out after {timeout_s:g}s",
            command=tuple(redact_url(arg) for arg in args),
        ) from None
    except BaseException:
        await _kill(proc)
        raise
    code = proc.returncode if proc.returncode is not None else -1
    return code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


async def _kill(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        await asyncio.shield(proc.wait())


def subcommand(args: Sequence[str]) -> str:
    """The git subcommand in an argument list, skipping leading `-c key=value` options."""
    index = 0
    while index < len(args):
        if args[index] in ("-c", "-C"):
            index += 2
        elif args[index].startswith("-"):
            index += 1
        else:
            return args[index]
    return "git"


def _check_directory(cwd: Path, args: tuple[str, ...]) -> None:
    if not cwd.is_dir():
        raise GitError(f"not a directory: {cwd}", command=args)
