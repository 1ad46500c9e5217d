"""Running one git command: async subprocess, argument list, safe environment, timeout.

Host git never discovers a repository: a command on a repository gets its git directory
and work tree explicitly (`GIT_DIR`, `GIT_WORK_TREE`, see `repo.GitRepo`), so a `.git`
file, directory or `commondir` an agent planted in a work tree is never read. Every
command also runs with prompts disabled (`GIT_TERMINAL_PROMPT=0`, an askpass that answers
nothing, no controlling terminal), the system config ignored (and the user's global
config too, except for network commands), the `ext::`/`fd::` transports forbidden,
hooks, fsmonitor and the global attributes file disabled, and submodules ignored (never
entered, never recursed into). Diffs never run external diff or textconv programs
(callers pass `--no-ext-diff --no-textconv`), and the repository config, which alone
could define a filter driver, is Forgeline's own (see `git.clone`).
"""

from __future__ import annotations

import functools
import os
import shlex
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from forgeline.process import run_captured
from forgeline.workspace.credentials import NETWORK_COMMANDS, git_auth, is_url, network_target
from forgeline.workspace.git_errors import GitError, failure_detail
from forgeline.workspace.repo import GitRepo
from forgeline.workspace.urls import redact_url

DEFAULT_TIMEOUT_S = 120.0
NETWORK_TIMEOUT_S = 900.0

SAFETY_CONFIG: tuple[tuple[str, str], ...] = (
    ("protocol.ext.allow", "never"),
    ("protocol.fd.allow", "never"),
    ("core.hooksPath", "/dev/null"),
    ("core.fsmonitor", "false"),
    ("core.attributesFile", "/dev/null"),
    ("core.pager", "cat"),
    ("submodule.recurse", "false"),
    ("diff.ignoreSubmodules", "all"),
    ("status.submoduleSummary", "false"),
    ("fetch.recurseSubmodules", "false"),
    ("push.recurseSubmodules", "no"),
    ("gc.auto", "0"),
    ("maintenance.auto", "false"),
)
"""`-c` options on every git command (they reach git's own child processes too)."""
REPOSITORY_FREE = frozenset({"clone", "ls-remote", "version"})
"""The only commands run without a `GitRepo` (they need no repository)."""
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


def git_env(*, repo: GitRepo | None = None, network: bool = False) -> dict[str, str]:
    """The environment a git command runs with.

    Args:
        repo: The repository it works on (sets `GIT_DIR` and `GIT_WORK_TREE`).
        network: A network command (clone, fetch, push): the user's global config (ssh
            command, proxies, URL rewrites) is kept; for every other command it is not read.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in _DROPPED_ENV and not key.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))
    }
    env.update(_FIXED_ENV)
    if not network:
        env["GIT_CONFIG_GLOBAL"] = "/dev/null"
    if repo is not None:
        env.update(repo.environment())
    return env


def safety_options() -> list[str]:
    """`SAFETY_CONFIG` (and `lfs_config`) as git command-line options."""
    config = (*SAFETY_CONFIG, *lfs_config())
    return [part for key, value in config for part in ("-c", f"{key}={value}")]


@functools.cache
def lfs_config() -> tuple[tuple[str, str], ...]:
    """Git LFS's filter, defined by Forgeline, when `git-lfs` is installed (else nothing).

    No repository config ever defines a filter (see `git_clone.check_config`) and the
    user's global config is not read by local commands, so this is the one filter driver
    a repository's `.gitattributes` can select: the installed `git-lfs`, the same for the
    clone's checkout and for every checkpoint (pointers stay pointers).
    """
    lfs = shutil.which("git-lfs")
    if lfs is None:
        return ()
    return (
        ("filter.lfs.process", f"{shlex.quote(lfs)} filter-process"),
        ("filter.lfs.clean", f"{shlex.quote(lfs)} clean -- %f"),
        ("filter.lfs.smudge", f"{shlex.quote(lfs)} smudge -- %f"),
        ("filter.lfs.required", "true"),
    )


async def run(
    *args: str,
    repo: GitRepo | None = None,
    cwd: Path | None = None,
    check: bool = True,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    stdin: str | None = None,
) -> GitResult:
    """Run one git command.

    Args:
        *args: Git's arguments, e.g. `"status", "--porcelain"`.
        repo: The repository to work on; git runs in its work tree with its git directory
            named explicitly. Only `REPOSITORY_FREE` commands (`clone`...) run without one.
        cwd: The directory to run in when there is no `repo` (nothing above it is searched).
        check: Raise `GitError` when git exits non-zero.
        timeout_s: Wall-clock limit; git and its children are killed when it passes.
        stdin: Text fed to git's standard input (else it reads nothing).

    Returns:
        Git's output and exit code.

    Raises:
        GitError: Git is missing, timed out, or (with `check`) failed.
    """
    directory, env = _place(args, repo=repo, cwd=cwd)
    auth, extra_env = await _network_auth(args, repo)
    code, out, err = await _execute(
        (*auth, *args), cwd=directory, timeout_s=timeout_s, stdin=stdin, env={**env, **extra_env}
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


def _place(
    args: tuple[str, ...], *, repo: GitRepo | None, cwd: Path | None
) -> tuple[Path, dict[str, str]]:
    """The directory a command runs in and its environment (explicit repository or none)."""
    network = subcommand(args) in NETWORK_COMMANDS
    if repo is not None:
        if not repo.git_dir.is_dir():
            raise GitError(
                f"no git directory at {repo.git_dir} for {repo.work_tree} (a workspace made by "
                "an older Forgeline keeps it inside the work tree: create the project again)",
                command=args,
            )
        _check_directory(repo.work_tree, args)
        return repo.work_tree, git_env(repo=repo, network=network)
    if cwd is None:
        raise GitError("a git command needs a repository or a directory", command=args)
    _check_directory(cwd, args)
    if subcommand(args) not in REPOSITORY_FREE:
        raise GitError(
            f"git {subcommand(args)} needs an explicit repository (GitRepo): Forgeline's git "
            "never looks for one",
            command=args,
        )
    env = git_env(network=network)
    # Discovery may look at `cwd` itself, never above it.
    env["GIT_CEILING_DIRECTORIES"] = str(cwd.absolute().parent)
    return cwd, env


async def _network_auth(
    args: tuple[str, ...], repo: GitRepo | None
) -> tuple[list[str], dict[str, str]]:
    """For clone/fetch/push: the credential helper options and environment (see credentials)."""
    target = network_target(args)
    if target is None:
        return [], {}
    if repo is not None and not is_url(target):  # a remote's name
        remote = await run("remote", "get-url", target, repo=repo, check=False)
        target = remote.stdout.strip()
    return await git_auth(target)


async def _execute(
    args: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    stdin: str | None,
    env: dict[str, str],
) -> tuple[int, str, str]:
    argv = ("git", *safety_options(), *args)
    data = stdin.encode() if stdin is not None else None
    try:
        done = await run_captured(argv, cwd=cwd, env=env, timeout_s=timeout_s, stdin=data)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH", command=tuple(args)) from None
    except TimeoutError:
        raise GitError(
            f"git {subcommand(args)} timed out after {timeout_s:g}s",
            command=tuple(redact_url(arg) for arg in args),
        ) from None
    return done.code, done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")


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
