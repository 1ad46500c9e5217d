"""No absolute host paths in API answers (DESIGN §7): paths relative to FORGELINE_HOME."""

from __future__ import annotations

from pathlib import Path

HOME_MARK = "$FORGELINE_HOME"


def relative_to_home(home: Path, path: str) -> str:
    """`path` relative to the home (e.g. `workspaces/<id>`); its last part when outside it."""
    candidate = Path(path)
    for base in _bases(home):
        if candidate.is_relative_to(base):
            return candidate.relative_to(base).as_posix()
    return candidate.name


def scrub(home: Path, text: str | None) -> str | None:
    """`text` with every mention of the home directory written as `$FORGELINE_HOME`."""
    if not text:
        return text
    for base in _bases(home):
        text = text.replace(str(base), HOME_MARK)
    return text


def _bases(home: Path) -> list[Path]:
    """The home as configured and as resolved (symlinks), longest first."""
    bases = {home.absolute(), home.resolve()}
    return sorted(bases, key=lambda p: len(str(p)), reverse=True)
