"""Dependency manifests: which files decide a repository's environment, and their digest."""

from __future__ import annotations

import hashlib
from pathlib import Path

MANIFEST_NAMES: tuple[str, ...] = (
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "Pipfile",
    "Pipfile.lock",
    "poetry.lock",
    "uv.lock",
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "Cargo.toml",
    "Cargo.lock",
    "go.mod",
    "go.sum",
    "Gemfile",
    "Gemfile.lock",
)
"""Files at a repository's root whose change means setup must run again."""

REQUIREMENTS_GLOB = "requirements*.txt"


def manifest_files(repo: Path) -> list[str]:
    """The manifests present at the repository's root, sorted by name."""
    names = [name for name in MANIFEST_NAMES if (repo / name).is_file()]
    names += [p.name for p in repo.glob(REQUIREMENTS_GLOB) if p.is_file()]
    return sorted(set(names))


def manifests_digest(repo: Path, *, command: str) -> str:
    """A digest of the setup command and every manifest's name and content.

    Args:
        repo: The repository's working tree.
        command: The setup command (a changed command means a new environment).

    Returns:
        A hex digest; equal digests mean the environment need not be set up again.
    """
    digest = hashlib.sha256(b"forgeline-env-1\0" + command.encode() + b"\0")
    for name in manifest_files(repo):
        digest.update(name.encode() + b"\0")
        digest.update(hashlib.sha256((repo / name).read_bytes()).digest())
    return digest.hexdigest()
