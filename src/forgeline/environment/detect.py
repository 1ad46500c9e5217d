"""Which setup command a repository gets (DESIGN §11): given, `.forgeline/setup.sh`, or detected."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from forgeline.workspace import git
from forgeline.workspace.repo import GitRepo

SetupSource = Literal["given", "setup.sh", "detected"]
TEST_GROUPS: tuple[str, ...] = ("test", "tests", "testing", "dev")
"""Optional-dependency groups (extras) and PEP 735 dependency groups installed by detection."""

NO_SETUP = frozenset({"", "none"})
"""A given setup that means "no setup for this repository"."""
AUTO_SETUP = "auto"
"""A given setup that means "the default: `.forgeline/setup.sh`, else detection"."""

SETUP_SCRIPT = ".forgeline/setup.sh"
_GROUP_NAME = re.compile(r"[-_.]+")


@dataclass(frozen=True)
class SetupPlan:
    """The setup command of one repository.

    Attributes:
        command: What runs with `bash -c` in the repository (the detected Python setup
            refers to `$VIRTUAL_ENV`, the environment's virtualenv).
        source: Where it came from.
        shown: How events and summaries name it (the script's path for `setup.sh`).
    """

    command: str
    source: SetupSource
    shown: str


async def resolve_setup(
    repo: GitRepo, *, base_sha: str | None, given: str | None, python: str
) -> SetupPlan | None:
    """The first of: the given command, `.forgeline/setup.sh` at the base commit, detection.

    Args:
        repo: The repository (its work tree and git directory).
        base_sha: The commit the work started from (the script is read as of it).
        given: The `--setup` / API value; None or "auto" for the default, "" or "none"
            for no setup.
        python: The interpreter a detected Python setup builds its virtualenv with.

    Returns:
        The plan, or None when the repository needs no setup.
    """
    if given is not None and given.strip() != AUTO_SETUP:
        if given.strip().lower() in NO_SETUP:
            return None
        return SetupPlan(command=given, source="given", shown=given)
    script = await _script_at(repo, base_sha)
    if script is not None:
        return SetupPlan(command=script, source="setup.sh", shown=f"{SETUP_SCRIPT} (base commit)")
    command = detect_command(repo.work_tree, python=python)
    if command is None:
        return None
    return SetupPlan(command=command, source="detected", shown=command)


async def _script_at(repo: GitRepo, base_sha: str | None) -> str | None:
    if not base_sha:
        return None
    result = await git.run("show", f"{base_sha}:{SETUP_SCRIPT}", repo=repo, check=False)
    if not result.ok or not result.stdout.strip():
        return None
    return result.stdout


def detect_command(repo: Path, *, python: str) -> str | None:
    """The detected setup of a Python and/or Node repository, or None for neither."""
    parts = [p for p in (python_command(repo, python=python), node_command(repo)) if p]
    return " && ".join(parts) if parts else None


def node_command(repo: Path) -> str | None:
    """`npm ci` with a lockfile, else `npm install`; None without `package.json`."""
    if not (repo / "package.json").is_file():
        return None
    locked = (repo / "package-lock.json").is_file() or (repo / "npm-shrinkwrap.json").is_file()
    verb = "ci" if locked else "install"
    return f"npm {verb} --no-audit --no-fund --prefer-offline"


def python_command(repo: Path, *, python: str) -> str | None:
    """A virtualenv at `$VIRTUAL_ENV` with the project editable and its test/dev extras."""
    pyproject = _pyproject(repo)
    installable = (
        "project" in pyproject
        or "build-system" in pyproject
        or (repo / "setup.py").is_file()
        or (repo / "setup.cfg").is_file()
    )
    files = sorted(p.name for p in repo.glob("requirements*.txt") if p.is_file())
    extra_files = [f for f in files if "test" in f.lower() or "dev" in f.lower()]
    if not installable and "requirements.txt" in files:
        extra_files.insert(0, "requirements.txt")
    if not installable and not extra_files and not pyproject:
        return None
    args: list[str] = []
    if installable:
        args += ["-e", f".[{','.join(TEST_GROUPS)}]"]
    for name in extra_files:
        args += ["-r", name]
    args += dependency_groups(pyproject)
    venv = f'{shlex.quote(python)} -m venv "$VIRTUAL_ENV"'
    if not args:
        return venv
    install = '"$VIRTUAL_ENV/bin/python" -m pip install --progress-bar off'
    return f"{venv} && {install} {shlex.join(args)}"


def _pyproject(repo: Path) -> dict[str, Any]:
    path = repo / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return {"invalid": True}  # pip will say what is wrong with it


def _normal(name: str) -> str:
    return _GROUP_NAME.sub("-", name).lower()


def dependency_groups(pyproject: dict[str, Any]) -> list[str]:
    """The requirements of the PEP 735 groups named test, tests, testing or dev.

    Args:
        pyproject: The parsed `pyproject.toml`.

    Returns:
        Requirement strings, `include-group` entries resolved, duplicates removed.
    """
    table = pyproject.get("dependency-groups")
    if not isinstance(table, dict):
        return []
    groups = {_normal(str(k)): v for k, v in table.items() if isinstance(v, list)}
    found: list[str] = []
    for name in TEST_GROUPS:
        for requirement in _expand(groups, name, seen=set()):
            if requirement not in found:
                found.append(requirement)
    return found


def _expand(groups: dict[str, list[Any]], name: str, *, seen: set[str]) -> list[str]:
    if name in seen or name not in groups:
        return []
    seen.add(name)
    out: list[str] = []
    for entry in groups[name]:
        if isinstance(entry, str):
            out.append(entry)
        elif isinstance(entry, dict) and isinstance(entry.get("include-group"), str):
            out += _expand(groups, _normal(entry["include-group"]), seen=seen)
    return out
