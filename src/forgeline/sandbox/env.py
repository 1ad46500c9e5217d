"""The clean environment every sandboxed command starts with.

A command never inherits the Forgeline process's environment: it gets a minimal set of
variables (`PATH`, `HOME`, `TMPDIR`, `LANG`, `TERM`) plus whatever the caller passes,
minus anything that looks like a secret. Provider keys and API tokens must never reach
a command the model wrote. Its private `HOME` starts with a `.gitconfig` that gives git
an identity (`GITCONFIG`), so a test suite that commits works; a repository's own
config or `git -c` still wins over it.
"""

from __future__ import annotations

import fnmatch
import functools
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

SYSTEM_PATH_DIRS: tuple[str, ...] = (
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
)
"""The only directories on a sandboxed command's `PATH` (plus `$HOME/.local/bin`)."""

SECRET_NAME_PATTERNS: tuple[str, ...] = (
    "*KEY*",
    "*TOKEN*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*CREDENTIAL*",
    "ANTHROPIC_*",
    "OPENAI_*",
    "FORGELINE_*",
    "AWS_*",
    "GH_*",
    "GITHUB_*",
)
"""Names (matched case-insensitively) that are never passed to a command."""

SHELL: tuple[str, ...] = ("/bin/bash", "-o", "pipefail", "-c")
"""How a command is run: `pytest | tail -5` fails when pytest fails (DESIGN §12)."""

SANDBOX_TMP = "/tmp"  # noqa: S108 (inside the sandbox this is a private, empty tmpfs)
"""The command's `TMPDIR`."""

_FIXED_NAMES = frozenset({"HOME", "TMPDIR"})

GIT_NAME = "Forgeline Agent"
GIT_EMAIL = "agent@forgeline.invalid"
GITCONFIG = f"""\
[user]
\tname = {GIT_NAME}
\temail = {GIT_EMAIL}
[init]
\tdefaultBranch = main
"""
"""The private `HOME`'s `.gitconfig` (global level: lower than a repository's config)."""


def is_secret_name(name: str) -> bool:
    """Whether an environment variable name looks like it holds a secret.

    Args:
        name: The variable's name.

    Returns:
        True when the name matches one of `SECRET_NAME_PATTERNS`.
    """
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern) for pattern in SECRET_NAME_PATTERNS)


def user_bin_dir(home: str) -> str:
    """The per-command bin directory (`$HOME/.local/bin`) that holds `rg`."""
    return f"{home}/.local/bin"


def clean_env(
    *,
    home: str,
    extra: Mapping[str, str] | None = None,
    path_prepend: tuple[str, ...] = (),
) -> dict[str, str]:
    """Build a command's whole environment.

    Args:
        home: The private, empty home directory the command sees.
        extra: Variables the caller wants to add; secret-looking names are dropped and
            `HOME`/`TMPDIR` cannot be overridden.
        path_prepend: Directories put on `PATH` before the system's.

    Returns:
        The environment, with no variable inherited from this process.
    """
    env = {
        "PATH": ":".join((*path_prepend, *SYSTEM_PATH_DIRS, user_bin_dir(home))),
        "HOME": home,
        "TMPDIR": SANDBOX_TMP,
        "LANG": "C.UTF-8",
        "TERM": "dumb",
    }
    for name, value in (extra or {}).items():
        if name in _FIXED_NAMES or is_secret_name(name) or not _valid_name(name):
            continue
        env[name] = value
    return env


def _valid_name(name: str) -> bool:
    return bool(name) and "=" not in name and "\0" not in name


@functools.cache
def ripgrep_binary() -> Path | None:
    """The `rg` binary to expose in `$HOME/.local/bin`, when the system has none.

    Returns:
        The venv's `rg` (from the `ripgrep` wheel) or another one found on `PATH`; None
        when a system directory already has `rg` or none can be found.
    """
    if any(Path(directory, "rg").is_file() for directory in SYSTEM_PATH_DIRS):
        return None
    candidate = Path(sys.executable).parent / "rg"
    if candidate.is_file():
        return candidate.resolve()
    found = shutil.which("rg")
    return Path(found).resolve() if found else None
