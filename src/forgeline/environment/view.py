"""What an agent's sandbox gets from the environments: paths shown, `PATH`, `VIRTUAL_ENV`."""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from forgeline.environment.generated import absolute_gitfile, prepare_worktree
from forgeline.environment.interpreter import base_prefix
from forgeline.environment.records import EnvironmentRecord, EnvPaths
from forgeline.sandbox.spec import Bind, SandboxPolicy


@dataclass(frozen=True)
class CodeDir:
    """One repository as an agent sees it.

    Attributes:
        record: The repository's environment record.
        repo: The implementer's working tree (where setup ran).
        code: What this agent's commands look at: the working tree itself, or an
            overwatcher's checkpoint worktree of it.
    """

    record: EnvironmentRecord
    repo: Path
    code: Path


@dataclass(frozen=True)
class EnvironmentView:
    """The environments' additions to an agent's sandbox policy."""

    readable: tuple[Path, ...] = ()
    binds: tuple[Bind, ...] = ()
    path_prepend: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()

    def apply(self, policy: SandboxPolicy) -> SandboxPolicy:
        """The policy with these additions."""
        return dataclasses.replace(
            policy,
            readable=(*policy.readable, *self.readable),
            binds=(*policy.binds, *self.binds),
            path_prepend=(*self.path_prepend, *policy.path_prepend),
            environment=(*policy.environment, *self.environment),
        )

    def overview(self) -> str:
        """Lines for the agent's workspace overview ("" without environments)."""
        if not self.notes:
            return ""
        return "\n\nRepository environments (set up by Forgeline; use them, do not install):\n" + (
            "\n".join(self.notes)
        )


@dataclass(frozen=True)
class _Entry:
    prefixes: tuple[str, ...]
    bins: tuple[str, ...]
    venv: str | None


def bash_env_script(entries: list[_Entry]) -> str:
    """A `BASH_ENV` file: inside a repository (after `cd`, and in every new shell), that
    repository's environment comes first on `PATH`, so `python` is always the right one."""
    cases = []
    for entry in entries:
        patterns = "|".join(f"{shlex.quote(p + '/')}*" for p in entry.prefixes)
        path = ":".join(shlex.quote(b) for b in entry.bins)
        venv = f"; export VIRTUAL_ENV={shlex.quote(entry.venv)}" if entry.venv else ""
        cases.append(f'    {patterns}) export PATH={path}:"$__forgeline_path"{venv};;')
    body = "\n".join(cases)
    return (
        "# Forgeline: each repository's environment first on PATH while inside it.\n"
        '__forgeline_path="$PATH"\n'
        '__forgeline_env() {\n  case "$PWD/" in\n' + body + "\n  esac\n}\n"
        'cd() { builtin cd "$@" && __forgeline_env; }\n'
        'pushd() { builtin pushd "$@" && __forgeline_env; }\n'
        'popd() { builtin popd "$@" && __forgeline_env; }\n'
        "__forgeline_env\n"
    )


def build_view(
    paths: EnvPaths,
    dirs: list[CodeDir],
    *,
    sandbox_on: bool,
    bash_env: Path | None = None,
    gitfiles: Path | None = None,
) -> EnvironmentView:
    """The view of every repository with a working environment, in repository order.

    Args:
        paths: The shared environment directories.
        dirs: The repositories (with their records) this agent sees.
        sandbox_on: False with `FORGELINE_SANDBOX=off` (nothing can be bound then).
        bash_env: Where to write the `BASH_ENV` file used with several environments.
        gitfiles: A directory for the aliases' `.git` files (git works inside the alias).

    Returns:
        The additions; an overwatcher's worktree also gets the files setup generated.
    """
    readable: list[Path] = []
    binds: list[Bind] = []
    notes: list[str] = []
    entries: list[_Entry] = []
    for item in dirs:
        rec = item.record
        if not rec.ok or rec.key is None:
            continue
        alias = Path(rec.code_path) if sandbox_on else None
        readable += [paths.key_dir(rec.key), *_interpreter(rec)]
        if item.code != item.repo:
            snapshot = paths.generated(rec.key)
            binds += prepare_worktree(snapshot, item.code, rec.generated, alias=alias)
        if alias is not None:
            binds.append(Bind(source=item.code, target=alias))
            binds += _gitfile(item.code, alias, gitfiles)
        entry = _entry(paths.venv(rec.key), item, alias)
        notes.append(_note(rec, entry.bins, alias or item.code))
        if entry.bins:
            entries.append(entry)
    env = _variables(entries, bash_env, readable) if notes else []
    return EnvironmentView(
        readable=tuple(readable),
        binds=tuple(binds),
        path_prepend=tuple(b for e in entries for b in e.bins),
        environment=tuple(env),
        notes=tuple(notes),
    )


def _gitfile(code: Path, alias: Path, directory: Path | None) -> list[Bind]:
    if directory is None:
        return []
    written = absolute_gitfile(code, directory / alias.name)
    return [Bind(source=written, target=alias / ".git")] if written else []


def _entry(venv: Path, item: CodeDir, alias: Path | None) -> _Entry:
    shown = alias or item.code
    bins = _bins(venv, item.repo, shown)
    venvs = [str(Path(b).parent) for b in bins if Path(b).name == "bin"]
    prefixes = (str(item.code), str(alias)) if alias else (str(item.code),)
    return _Entry(prefixes=prefixes, bins=tuple(bins), venv=next(iter(venvs), None))


def _variables(
    entries: list[_Entry], bash_env: Path | None, readable: list[Path]
) -> list[tuple[str, str]]:
    # No `__pycache__` lands in a repository (it would be committed where not ignored).
    env = [("PYTHONDONTWRITEBYTECODE", "1")]
    venv = next((e.venv for e in entries if e.venv), None)
    if venv:
        env.append(("VIRTUAL_ENV", venv))
    if bash_env is not None and len(entries) > 1:
        bash_env.parent.mkdir(parents=True, exist_ok=True)
        bash_env.write_text(bash_env_script(entries), encoding="utf-8")
        env.append(("BASH_ENV", str(bash_env)))
        readable.append(bash_env)
    return env


def _interpreter(rec: EnvironmentRecord) -> list[Path]:
    if not rec.python_home:
        return []
    prefix = base_prefix(Path(rec.python_home) / "python3")
    return [prefix] if prefix is not None else []


def _bins(venv: Path, repo: Path, shown: Path) -> list[str]:
    found = []
    if (venv / "bin").is_dir():
        found.append(str(venv / "bin"))
    for rel in (".venv/bin", "venv/bin", "node_modules/.bin"):
        if (repo / rel).is_dir():
            found.append(str(shown / rel))
    return found


def _note(rec: EnvironmentRecord, bins: Sequence[str], shown: Path) -> str:
    where = ", ".join(bins) or "no bin directory"
    return (
        f"- {rec.repo}: set up with `{rec.command.splitlines()[0][:160]}`; on PATH: {where}. "
        f"Inside Bash the repository is also at {shown} (editable installs point there)."
    )
