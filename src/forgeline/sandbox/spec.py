"""What a sandboxed command may see and touch: the policy every sandbox runs under."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from forgeline.sandbox.limits import ResourceLimits


@dataclass(frozen=True)
class Bind:
    """A directory shown at another path inside the sandbox.

    Attributes:
        source: The host directory.
        target: Where the command sees it (created inside hidden trees as needed).
        writable: Whether the command may write through it (git metadata stays read-only).
    """

    source: Path
    target: Path
    writable: bool = False


DEFAULT_NETWORK_PORTS: tuple[int, ...] = (53, 80, 443)
"""With the network on, the TCP ports a command may connect to by default: DNS, HTTP, HTTPS."""


@dataclass(frozen=True)
class SandboxPolicy:
    """What a sandboxed command may see and touch.

    Attributes:
        workspace: The workspace root; the command's working directory.
        writable: Directories the command may write (everything else is read-only).
        readable: Extra paths made visible read-only after hiding (e.g. a worktree's
            git directory inside a hidden tree, a repository environment, a toolchain).
        hidden: Directories made invisible (e.g. `$FORGELINE_HOME`, other workspaces).
        network: Whether the command may use the network.
        network_ports: With the network, the only TCP ports it may connect to (Landlock;
            `sandbox.netports`); None: every port.
        enabled: False only when the operator set `FORGELINE_SANDBOX=off`.
        path_prepend: Directories put first on the command's `PATH`, in this order
            (e.g. an environment's `bin`); add them to `readable` if they are hidden.
        limits: Resource limits (processes, memory, ...); None means the defaults.
        binds: Directories shown at another path (a repository's environment alias).
        environment: Extra variables for the command (`VIRTUAL_ENV`...); secret-looking
            names are still dropped.
    """

    workspace: Path
    writable: tuple[Path, ...] = ()
    readable: tuple[Path, ...] = ()
    hidden: tuple[Path, ...] = ()
    network: bool = False
    network_ports: tuple[int, ...] | None = DEFAULT_NETWORK_PORTS
    enabled: bool = True
    path_prepend: tuple[str, ...] = ()
    limits: ResourceLimits | None = None
    binds: tuple[Bind, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
