"""The Python a detected setup builds its virtualenv with, and what the sandbox must show of it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from forgeline.sandbox.env import SYSTEM_PATH_DIRS

_VISIBLE_PREFIXES = frozenset({Path("/"), Path("/usr"), Path("/usr/local")})


def default_python(configured: str | None) -> str:
    """`FORGELINE_SETUP_PYTHON`, else the system's `python3`, else Forgeline's own base Python."""
    if configured:
        return configured
    found = shutil.which("python3", path=":".join(SYSTEM_PATH_DIRS))
    if found:
        return found
    return str(Path(getattr(sys, "_base_executable", sys.executable)))


def base_prefix(python: str | Path) -> Path | None:
    """The installation prefix of an interpreter, when the sandbox must be told to show it.

    `/usr/bin/python3` needs nothing; a pyenv or uv interpreter under a hidden home does.
    """
    resolved = Path(python).resolve()
    prefix = resolved.parent.parent
    if prefix in _VISIBLE_PREFIXES or not resolved.exists():
        return None
    return prefix


def python_home(venv: Path) -> Path | None:
    """A virtualenv's `pyvenv.cfg` `home` (its base interpreter's directory), if any."""
    try:
        text = (venv / "pyvenv.cfg").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if name.strip() == "home" and value.strip():
            return Path(value.strip())
    return None
