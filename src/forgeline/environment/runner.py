"""Run one repository's setup in the sandbox, network on, or reuse the environment it built.

The environment is built at `$FORGELINE_HOME/envs/<key>/`, where the key hashes what the
result depends on: the command, the repository's name, its manifests, the tree it runs on
and the interpreter. A second project with the same key reuses it: only the files setup
made inside the repository are copied back, which takes a fraction of a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from forgeline.environment import generated
from forgeline.environment.detect import SetupPlan
from forgeline.environment.interpreter import base_prefix, python_home
from forgeline.environment.passthrough import passthrough_env
from forgeline.environment.records import EnvironmentRecord, EnvPaths
from forgeline.sandbox.netports import url_ports
from forgeline.sandbox.policy import with_settings
from forgeline.sandbox.runner import CommandResult, run_command
from forgeline.sandbox.spec import Bind, SandboxPolicy
from forgeline.settings import Settings
from forgeline.workspace import git
from forgeline.workspace.repo import GitRepo

TAIL_LINES = 40
_OUTPUT_CHARS = 20_000
_LOCK_POLL_S = 0.2


@dataclass(frozen=True)
class SetupRequest:
    """One repository's setup.

    Attributes:
        name: The repository's name.
        git: The repository (work tree and git directory).
        plan: The setup command.
        digest: Its manifests digest.
        paths: The shared environment directories.
        python: The interpreter a detected Python setup uses.
        sandbox_on: False when the operator set `FORGELINE_SANDBOX=off`.
        hidden: What the sandbox hides (Forgeline's home, other users' files).
        timeout_s: `FORGELINE_SETUP_TIMEOUT_S`.
        environ: The process environment the package-manager settings come from.
        settings: The operator's sandbox settings (toolchain paths, `PATH` entries, limits).
        gitfile: Where to write the alias's `.git` file (out of every sandbox's reach).
        origin: The repository's URL: its package caches are its origin's partition.
    """

    name: str
    git: GitRepo
    plan: SetupPlan
    digest: str
    paths: EnvPaths
    python: str
    sandbox_on: bool
    hidden: tuple[Path, ...]
    timeout_s: float
    environ: Mapping[str, str]
    settings: Settings | None = None
    gitfile: Path | None = None
    origin: str = ""

    @property
    def cache(self) -> Path:
        """The package caches this setup may read and write (its origin's partition)."""
        return self.paths.package_cache(self.origin)

    @property
    def repo(self) -> Path:
        """The work tree."""
        return self.git.work_tree

    @property
    def code_path(self) -> Path:
        """Where setup (and later every agent) sees the repository: the alias."""
        return self.paths.alias(self.name) if self.sandbox_on else self.repo.resolve()


async def environment_key(request: SetupRequest) -> str:
    """The content address of what this setup builds."""
    tree = await git.run("rev-parse", "HEAD^{tree}", repo=request.git, check=False)
    status = await git.run("status", "--porcelain", "-z", repo=request.git, check=False)
    parts = {
        "name": request.name,
        "command": request.plan.command,
        "digest": request.digest,
        "tree": tree.stdout.strip(),
        "dirty": hashlib.sha256(status.stdout.encode()).hexdigest() if status.stdout else "",
        "python": _resolved(request.python),
        "code_path": str(request.code_path),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


def _resolved(path: str | Path) -> str:
    return str(Path(path).resolve())


@contextlib.asynccontextmanager
async def _locked(path: Path) -> AsyncIterator[None]:
    """An exclusive lock on `path`, waited for without blocking the event loop."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(_LOCK_POLL_S)
        yield
    finally:
        os.close(fd)


async def run_setup(
    request: SetupRequest, *, on_output: Callable[[bytes], None]
) -> EnvironmentRecord:
    """Set the repository's environment up (or reuse an identical one).

    Args:
        request: What to set up.
        on_output: Receives the command's output as it arrives.

    Returns:
        The record: exit code 0 and a key on success, else the exit code and output tail.
    """
    started = time.monotonic()
    key = await environment_key(request)
    async with _locked(request.paths.envs / f"{key}.lock"):
        if request.paths.ready(key).is_file():
            return await _reuse(request, key, started)
        return await _build(request, key, started, on_output)


async def _reuse(request: SetupRequest, key: str, started: float) -> EnvironmentRecord:
    ready = json.loads(request.paths.ready(key).read_text(encoding="utf-8"))
    paths: list[str] = ready.get("generated", [])
    await generated.snapshot(request.paths.generated(key), paths, request.repo)
    await generated.exclude(request.git, paths)
    return _record(request, key=key, exit_code=0, started=started, paths=paths, reused=True)


async def _build(
    request: SetupRequest, key: str, started: float, on_output: Callable[[bytes], None]
) -> EnvironmentRecord:
    key_dir = request.paths.key_dir(key)
    shutil.rmtree(key_dir, ignore_errors=True)
    key_dir.mkdir(parents=True)
    result = await _execute(request, key, on_output)
    # Everything untracked now came from setup: a phase starts with every change committed.
    paths = await generated.list_generated(request.git)
    if result.exit_code != 0:
        shutil.rmtree(key_dir, ignore_errors=True)
        return _record(
            request, key=None, exit_code=result.exit_code, started=started, tail=_tail(result)
        )
    # The command could write into its environment directory: only what it made in the
    # repository, copied afresh, is ever copied back into another project's clone.
    shutil.rmtree(request.paths.generated(key), ignore_errors=True)
    await generated.snapshot(request.repo, paths, request.paths.generated(key))
    await generated.exclude(request.git, paths)
    ready = {"command": request.plan.shown, "generated": paths, "built_at": time.time()}
    request.paths.ready(key).write_text(json.dumps(ready), encoding="utf-8")
    return _record(request, key=key, exit_code=0, started=started, paths=paths)


def _record(
    request: SetupRequest,
    *,
    key: str | None,
    exit_code: int,
    started: float,
    paths: list[str] | None = None,
    reused: bool = False,
    tail: str = "",
) -> EnvironmentRecord:
    home = _trusted_home(request, key)
    return EnvironmentRecord(
        repo=request.name,
        command=request.plan.shown,
        source=request.plan.source,
        digest=request.digest,
        key=key,
        exit_code=exit_code,
        seconds=round(time.monotonic() - started, 2),
        reused=reused,
        generated=paths or [],
        code_path=str(request.code_path),
        python_home=str(home) if home else None,
        tail=tail,
    )


def _trusted_home(request: SetupRequest, key: str | None) -> Path | None:
    """`pyvenv.cfg`'s `home`, only when it is the interpreter Forgeline built the venv with:
    the file is the setup command's to write, and agents are shown this directory."""
    home = python_home(request.paths.venv(key)) if key else None
    if home is None or Path(_resolved(home)) != Path(_resolved(request.python)).parent:
        return None
    return home


def _tail(result: CommandResult) -> str:
    lines = result.output.rstrip("\n").splitlines()[-TAIL_LINES:]
    if result.timed_out:
        lines.append(f"(setup was killed: {result.killed_reason})")
    return "\n".join(lines)


async def _execute(
    request: SetupRequest, key: str, on_output: Callable[[bytes], None]
) -> CommandResult:
    code = request.code_path
    script = f"cd -- {shlex.quote(str(code))} || exit 1\n{request.plan.command}"
    return await run_command(
        script,
        await setup_policy(request, key),
        timeout_s=request.timeout_s,
        max_output_chars=_OUTPUT_CHARS,
        env=setup_env(request, key),
        on_output=on_output,
    )


async def setup_policy(request: SetupRequest, key: str) -> SandboxPolicy:
    """Network on; writable: the repository, its environment and the package caches."""
    paths = request.paths
    request.cache.mkdir(parents=True, exist_ok=True)
    readable = [p for p in (base_prefix(request.python),) if p is not None]
    readable += git_dirs(request.git)
    binds = [Bind(source=request.repo, target=request.code_path, writable=True)]
    gitfile = generated.absolute_gitfile(request.repo, request.gitfile) if request.gitfile else None
    if gitfile is not None:
        binds.append(Bind(source=gitfile, target=request.code_path / ".git"))
    policy = SandboxPolicy(
        workspace=request.repo.resolve(),
        writable=(request.repo.resolve(), paths.key_dir(key), request.cache),
        readable=tuple(readable),
        hidden=request.hidden,
        network=True,
        enabled=request.sandbox_on,
        binds=tuple(binds) if request.sandbox_on else (),
        path_prepend=(f"{paths.venv(key)}/bin", f"{request.code_path}/node_modules/.bin"),
    )
    policy = with_settings(policy, request.settings) if request.settings else policy
    return _with_url_ports(policy, request.environ)


def _with_url_ports(policy: SandboxPolicy, environ: Mapping[str, str]) -> SandboxPolicy:
    """The ports of the package index and proxy URLs setup gets are allowed too."""
    if policy.network_ports is None:
        return policy
    ports = (*policy.network_ports, *url_ports(passthrough_env(environ)))
    return dataclasses.replace(policy, network_ports=tuple(sorted(set(ports))))


def setup_env(request: SetupRequest, key: str) -> dict[str, str]:
    """The package managers' configuration, caches, and `VIRTUAL_ENV`."""
    cache = request.cache
    return {
        **passthrough_env(request.environ),
        "VIRTUAL_ENV": str(request.paths.venv(key)),
        "PIP_CACHE_DIR": str(cache / "pip"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "npm_config_cache": str(cache / "npm"),
        "npm_config_update_notifier": "false",
        "PYTHONUNBUFFERED": "1",
        "CI": "1",
    }


def git_dirs(repo: GitRepo) -> list[Path]:
    """The repository's git directory (and, for a worktree, the main one) when outside it."""
    found = [repo.git_dir]
    if repo.git_dir.parent.name == "worktrees":
        found.append(repo.git_dir.parent.parent)
    work_tree = Path(_resolved(repo.work_tree))
    return [p for p in found if not Path(_resolved(p)).is_relative_to(work_tree)]
