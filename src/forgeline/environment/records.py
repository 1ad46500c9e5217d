"""Where environments live, and what is recorded about each repository's setup.

```
$FORGELINE_HOME/envs/<key>/          one built environment, shared by every project with
  venv/                               the same key (command, manifests, tree, interpreter)
  generated/                          files setup made inside the repository (copied back
  ready.json                          into a new project's repository on reuse)
$FORGELINE_HOME/src/<repo-name>/      the alias: inside the sandbox, the code under test
<workspace>/.forgeline/env/<repo>/    environment.json (this project's record), setup.log
```
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from forgeline.domain.errors import ForgelineError
from forgeline.workspace.layout import Workspace, open_workspace


@dataclass(frozen=True)
class EnvPaths:
    """The shared directories of environments under `FORGELINE_HOME`.

    Attributes:
        home: `FORGELINE_HOME` (resolved).
        cache: The package caches (`pip/`, `npm/`), one partition per repository origin.
    """

    home: Path
    cache: Path

    @property
    def envs(self) -> Path:
        return self.home / "envs"

    def key_dir(self, key: str) -> Path:
        return self.envs / key

    def venv(self, key: str) -> Path:
        return self.key_dir(key) / "venv"

    def generated(self, key: str) -> Path:
        return self.key_dir(key) / "generated"

    def ready(self, key: str) -> Path:
        return self.key_dir(key) / "ready.json"

    def package_cache(self, origin: str) -> Path:
        """The caches setup of the repository at `origin` (its URL) reads and writes.

        Setup writes its caches, so a cache shared by every repository would let one
        repository's setup plant a wheel (pip does not check a cached built wheel) or a
        registry answer that another repository's setup then installs: each origin has
        its own partition, shared by every project of that repository.
        """
        if not origin:
            return self.cache
        return self.cache / "origins" / hashlib.sha256(origin.encode()).hexdigest()[:24]

    def alias(self, name: str) -> Path:
        return self.home / "src" / name


class EnvironmentRecord(BaseModel):
    """A project's environment for one repository (`environment.json`).

    Attributes:
        repo: The repository's name.
        command: The setup command as shown (what ran).
        source: "given", "setup.sh" or "detected".
        digest: The manifests digest it was built for.
        key: The shared environment's key (None after a failure).
        exit_code: The setup command's exit code.
        seconds: How long setup took in this project.
        reused: True when an environment built by an earlier project was reused.
        generated: Paths (relative, directories end with "/") setup made in the repository.
        code_path: Where the repository's code is at inside the sandbox (the alias).
        python_home: The virtualenv's base interpreter directory (`pyvenv.cfg` `home`).
        tail: The end of the output when setup failed.
    """

    repo: str
    command: str
    source: str
    digest: str
    key: str | None = None
    exit_code: int
    seconds: float
    reused: bool = False
    generated: list[str] = Field(default_factory=list)
    code_path: str
    python_home: str | None = None
    tail: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.key is not None


@dataclass(frozen=True)
class SetupResult:
    """What the summaries show per repository: `{command, exit_code, seconds}` (§12)."""

    repo: str
    command: str
    exit_code: int
    seconds: float
    reused: bool = False

    def to_json(self) -> dict[str, object]:
        """The `--json` shape."""
        return {
            "repo": self.repo,
            "command": self.command,
            "exit_code": self.exit_code,
            "seconds": self.seconds,
            "reused": self.reused,
        }


def record_dir(ws: Workspace, repo: str) -> Path:
    """`<workspace>/.forgeline/env/<repo>/`."""
    ws.repo_path(repo)  # validates the name
    return ws.meta_dir / "env" / repo


def read_record(ws: Workspace, repo: str) -> EnvironmentRecord | None:
    """The repository's record, or None when setup never ran (or the file is unreadable)."""
    path = record_dir(ws, repo) / "environment.json"
    try:
        return EnvironmentRecord.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None


def write_record(ws: Workspace, record: EnvironmentRecord) -> None:
    """Replace the repository's record atomically."""
    directory = record_dir(ws, record.repo)
    directory.mkdir(parents=True, exist_ok=True)
    temp = directory / "environment.json.tmp"
    temp.write_text(json.dumps(record.model_dump(), indent=2), encoding="utf-8")
    temp.replace(directory / "environment.json")


def read_setup_results(home: Path, project_id: str, repos: list[str]) -> list[SetupResult]:
    """Per repository that had a setup, its command, exit code and seconds (for `--json`).

    Args:
        home: `FORGELINE_HOME`.
        project_id: The project.
        repos: Its repositories' names, in order.

    Returns:
        One result per repository with a recorded setup, in the given order.
    """
    try:
        ws = open_workspace(home, project_id)
    except ForgelineError:  # no workspace: nothing was set up
        return []
    results = []
    for name in repos:
        record = read_record(ws, name)
        if record is not None:
            results.append(
                SetupResult(
                    repo=name,
                    command=record.command,
                    exit_code=record.exit_code,
                    seconds=record.seconds,
                    reused=record.reused,
                )
            )
    return results


def setup_json(
    home: Path, project_id: str, repos: list[str]
) -> dict[str, dict[str, object] | None]:
    """`--json`'s `setup`: per repository `{command, exit_code, seconds}`, None without setup."""
    results = {r.repo: r.to_json() for r in read_setup_results(home, project_id, repos)}
    return {name: results.get(name) for name in repos}
