"""Finding a sandboxed command's processes from the outside, by their command line."""

from __future__ import annotations

import os
from pathlib import Path


def processes_with(marker: str) -> list[int]:
    """Pids of live (non-zombie) processes whose command line contains `marker`.

    The arguments are joined with spaces, so `sleep 1000.5` finds the `sleep` process
    itself, not only a shell whose command string holds it.
    """
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if marker.encode() in cmdline and not is_zombie(int(entry)):
            found.append(int(entry))
    return found


def is_zombie(pid: int) -> bool:
    """Whether `pid` has exited (a zombie not yet reaped, or gone altogether)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return True
    return "State:\tZ" in status
