"""The bubblewrap sandbox that runs the `Bash` tool's commands (DESIGN §9)."""

from forgeline.sandbox.bwrap import SandboxStatus, sandbox_status
from forgeline.sandbox.limits import ResourceLimits
from forgeline.sandbox.runner import CommandResult, run_command
from forgeline.sandbox.supervise import TIMEOUT_EXIT_CODE

__all__ = [
    "TIMEOUT_EXIT_CODE",
    "CommandResult",
    "ResourceLimits",
    "SandboxStatus",
    "run_command",
    "sandbox_status",
]
