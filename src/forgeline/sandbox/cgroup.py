"""A per-command pids cgroup: the one process cap that also holds for root.

`RLIMIT_NPROC` is ignored for root, so when this process may create cgroups (cgroup v1
`pids` hierarchy, or cgroup v2 with the `pids` controller enabled for our children),
each command gets its own cgroup with `pids.max` set. The cgroup also lets the runner
find and kill every process the command started, even one that left its process group.
Everything here is best effort: without a usable hierarchy `PidsCgroup.create` returns
None and the command is bounded by its timeout, process group and pid namespace. The
cgroups a process leaves when killed with SIGKILL are removed by the next Forgeline
process (`sweep_stale`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import re
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

STALE_AGE_S = 60.0
"""Age after which a dead process's leftover cgroup is removed (`sweep_stale`)."""

_KILL_BUDGET_S = 2.0
_FIRST_PAUSE_S = 0.0005
_MAX_PAUSE_S = 0.01


def _pauses() -> Iterator[float]:
    """Waits between checks: 0.5 ms doubling to 10 ms (the usual straggler, bubblewrap's
    namespace init, is gone within a millisecond), about 2 s in all."""
    pause, total = _FIRST_PAUSE_S, 0.0
    while total < _KILL_BUDGET_S:
        yield pause
        total += pause
        pause = min(pause * 2, _MAX_PAUSE_S)


@dataclass(frozen=True)
class _Mount:
    root: str
    mountpoint: Path
    fstype: str
    superopts: frozenset[str]


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def _cgroup_mounts() -> list[_Mount]:
    mounts: list[_Mount] = []
    try:
        lines = Path("/proc/self/mountinfo").read_text(encoding="utf-8").splitlines()
    except OSError:
        return mounts
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3 or not tail[0].startswith("cgroup"):
            continue
        mounts.append(
            _Mount(
                root=_unescape(fields[3]),
                mountpoint=Path(_unescape(fields[4])),
                fstype=tail[0],
                superopts=frozenset(tail[2].split(",")),
            )
        )
    return mounts


def _own_cgroups() -> dict[str, str]:
    """Map each hierarchy's controllers ("" for cgroup v2) to this process's path."""
    own: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text(encoding="utf-8").splitlines()
    except OSError:
        return own
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            own[parts[1]] = parts[2]
    return own


def _inside(mount: _Mount, path: str) -> Path | None:
    relative = os.path.relpath(path, mount.root)
    if relative.startswith(".."):
        return None
    return (mount.mountpoint / relative).resolve()


def _candidates() -> list[Path]:
    own = _own_cgroups()
    found: list[Path] = []
    for mount in _cgroup_mounts():
        if mount.fstype == "cgroup" and "pids" in mount.superopts:
            path = next((p for c, p in own.items() if "pids" in c.split(",")), None)
        elif mount.fstype == "cgroup2":
            path = own.get("")
        else:
            continue
        directory = _inside(mount, path) if path is not None else None
        if directory is not None and directory.is_dir():
            found.append(directory)
    return found


def _usable(parent: Path) -> bool:
    subtree = parent / "cgroup.subtree_control"
    if subtree.exists():  # cgroup v2: children get pids.max only if it is delegated
        with contextlib.suppress(OSError):
            return "pids" in subtree.read_text(encoding="ascii").split()
        return False
    probe = parent / f"forgeline-probe-{uuid.uuid4().hex[:12]}"
    try:
        probe.mkdir()
    except OSError:
        return False
    limited = (probe / "pids.max").exists()
    with contextlib.suppress(OSError):
        probe.rmdir()
    return limited


@functools.cache
def pids_cgroup_parent() -> Path | None:
    """The cgroup directory under which command cgroups are made, if any (cached).

    Found once per process, which then also removes the cgroups that Forgeline processes
    killed with SIGKILL left behind (`sweep_stale`).
    """
    for directory in _candidates():
        if os.access(directory, os.W_OK) and _usable(directory):
            sweep_stale(directory)
            return directory
    return None


_OURS = re.compile(r"forgeline-(\d+)-[0-9a-f]{12}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale(parent: Path, *, min_age_s: float = STALE_AGE_S) -> list[Path]:
    """Remove the empty command cgroups of Forgeline processes that are gone.

    A cgroup is removed only when its creator's pid is not alive, it is older than
    `min_age_s` (a live process in another pid namespace fills its cgroup within
    milliseconds) and it is empty (the kernel refuses to remove one that is not).

    Returns:
        The cgroups removed.
    """
    removed: list[Path] = []
    with contextlib.suppress(OSError):
        for entry in parent.iterdir():
            match = _OURS.fullmatch(entry.name)
            if match is None or _alive(int(match[1])):
                continue
            with contextlib.suppress(OSError):
                if time.time() - entry.stat().st_mtime >= min_age_s:
                    entry.rmdir()
                    removed.append(entry)
    return removed


@dataclass(eq=False)
class PidsCgroup:
    """One command's cgroup.

    Attributes:
        path: The cgroup's directory.
        removed: Whether `destroy` removed it (a second `destroy` does nothing).
    """

    path: Path
    removed: bool = field(default=False, init=False)

    @classmethod
    def create(cls, *, max_pids: int) -> PidsCgroup | None:
        """Make a fresh cgroup limited to `max_pids` processes, or None if impossible."""
        parent = pids_cgroup_parent()
        if parent is None:
            return None
        path = parent / f"forgeline-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
        except OSError:
            return None
        try:
            (path / "pids.max").write_text(str(max_pids), encoding="ascii")
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return cls(path=path)

    @property
    def procs_file(self) -> Path:
        """The file a process writes its pid to, to join the cgroup."""
        return self.path / "cgroup.procs"

    def pids(self) -> list[int]:
        """The processes in the cgroup now."""
        try:
            text = self.procs_file.read_text(encoding="ascii")
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def _kill_all(self) -> None:
        """SIGKILL every process in the cgroup."""
        pids = self.pids()
        if not pids:
            return
        kill_file = self.path / "cgroup.kill"
        if kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1", encoding="ascii")
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def _removed(self) -> bool:
        """Remove the cgroup if it is empty (the kernel refuses otherwise)."""
        if self.removed:
            return True
        try:
            self.path.rmdir()
        except FileNotFoundError:
            pass
        except OSError:
            return False
        self.removed = True
        return True

    async def destroy(self) -> None:
        """Kill every process left in the cgroup until it is empty, and remove it.

        The caller has killed the command's process group: the first pause gives what
        it killed (usually bubblewrap's namespace init) time to exit before any is read.
        """
        for attempt, pause in enumerate(_pauses()):
            if self._removed():
                return
            if attempt:
                self._kill_all()
            await asyncio.sleep(pause)

    def destroy_sync(self) -> None:
        """`destroy` for code outside an event loop (exit handlers, threads)."""
        for attempt, pause in enumerate(_pauses()):
            if self._removed():
                return
            if attempt:
                self._kill_all()
            time.sleep(pause)
