"""How to type `forgeline` in a hint: the bare name when it is on `PATH`, else the exact path."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path


def forgeline_command() -> str:
    """`forgeline` if `PATH` finds this very installation, else the script's full path.

    `scripts/setup.sh` installs into `.venv/`, which is not on `PATH`: a hint saying
    `forgeline resume ...` would then fail with "command not found".
    """
    script = Path(sys.executable).parent / "forgeline"
    if not script.is_file():
        return "forgeline"
    found = shutil.which("forgeline")
    if found is not None and _same(Path(found), script):
        return "forgeline"
    return shlex.quote(str(script))


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
