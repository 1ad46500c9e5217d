"""Error types shared across Forgeline.

`UserError` is a problem the user can fix (bad input, bad configuration): it is shown
as a clear message, never as a traceback. `RetryableError` is transient and may be
retried by the caller.
"""

from __future__ import annotations

import re


class ForgelineError(Exception):
    """Base class of every Forgeline error."""


class UserError(ForgelineError):
    """A problem with the user's input or configuration; shown as a message."""


class NotFoundError(UserError):
    """A named resource (project, task, question) does not exist."""


class ConflictError(UserError):
    """The request conflicts with the current state (e.g. a phase already running)."""


class RetryableError(ForgelineError):
    """A transient failure (rate limit, overload, cut connection)."""


class ModelError(ForgelineError):
    """A model provider failed in a way that retrying will not fix."""


class ContextOverflowError(ModelError):
    """The provider refused a request as longer than the model's context window.

    `limit` is the window the provider reported (None when its message did not say).
    """

    @property
    def limit(self) -> int | None:
        found = re.search(r"(?:> |maximum context length is )(\d+)", str(self))
        return int(found.group(1)) if found else None


class ToolError(ForgelineError):
    """A tool call was refused or failed; its message is returned to the model."""


class SandboxUnavailable(ForgelineError):
    """The bubblewrap sandbox cannot run on this machine."""
