"""The operator's sandbox settings applied to a policy (DESIGN §11)."""

from __future__ import annotations

import dataclasses
import functools
import logging
from pathlib import Path

from forgeline.sandbox.limits import MIB, ResourceLimits
from forgeline.sandbox.spec import SandboxPolicy
from forgeline.settings import Settings

logger = logging.getLogger("forgeline.sandbox")


@functools.cache
def _warn_missing(path: Path) -> None:
    logger.warning("sandbox setting names %s, which does not exist: it is left out", path)


def settings_limits(settings: Settings) -> ResourceLimits:
    """The resource limits `FORGELINE_SANDBOX_MEMORY_MB` and `FORGELINE_SANDBOX_PIDS` set."""
    return ResourceLimits(
        processes=settings.sandbox_pids,
        address_space_bytes=settings.sandbox_memory_mb * MIB,
    )


def with_settings(policy: SandboxPolicy, settings: Settings) -> SandboxPolicy:
    """`policy` plus the operator's toolchain paths, `PATH` entries and limits.

    The policy's own `path_prepend` (e.g. a repository environment's `bin`) stays first
    on `PATH`, before the operator's `FORGELINE_SANDBOX_PATH_ENTRIES`, which come before
    the system's directories. Every toolchain path and entry is made visible read-only.

    Args:
        policy: The policy built for one agent run (or a setup command).
        settings: The process's settings.

    Returns:
        A new policy; `policy` is unchanged.
    """
    entries = tuple(str(path) for path in settings.sandbox_path_entries)
    extra = tuple(p for p in (*settings.sandbox_paths, *settings.sandbox_path_entries))
    for path in extra:
        if not path.exists():
            _warn_missing(path)
    return dataclasses.replace(
        policy,
        readable=(*policy.readable, *(p for p in extra if p not in policy.readable)),
        path_prepend=(*policy.path_prepend, *(e for e in entries if e not in policy.path_prepend)),
        limits=settings_limits(settings),
        network_ports=settings.network_ports,
    )
