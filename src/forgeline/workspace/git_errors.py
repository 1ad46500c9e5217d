"""Turning git's stderr into one clear line for the user."""

from __future__ import annotations

import re

from forgeline.domain.errors import UserError
from forgeline.workspace.urls import redact_url

_MISSING_BRANCH = re.compile(r"Remote branch (\S+) not found in upstream", re.IGNORECASE)
_AUTH = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "terminal prompts disabled",
    "permission denied (publickey",
    "permission denied, please try again",
    "http basic: access denied",
    "invalid username or password",
    "requested url returned error: 401",
    "requested url returned error: 403",
    "host key verification failed",
)
_UNREACHABLE = (
    "could not resolve host",
    "could not resolve hostname",
    "connection refused",
    "connection timed out",
    "failed to connect",
    "network is unreachable",
    "no route to host",
    "operation timed out",
)
_NOT_FOUND = (
    "does not appear to be a git repository",
    "repository not found",
    "requested url returned error: 404",
    "not found",
    "does not exist",
    "no such file or directory",
    "could not read from remote repository",
)
_CHECKED_OUT = "refusing to update checked out branch"
_REJECTED = ("[rejected]", "non-fast-forward", "fetch first", "updates were rejected")
_DUBIOUS = "detected dubious ownership"


class GitError(UserError):
    """A git command failed; the message is one clear line derived from git's stderr.

    Attributes:
        command: The git arguments that ran (without the safety options).
        stderr: Git's stderr, credentials redacted.
        code: Git's exit code; None when git did not run or was killed on timeout.
    """

    def __init__(
        self,
        message: str,
        *,
        command: tuple[str, ...] = (),
        stderr: str = "",
        code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.command = command
        self.stderr = stderr
        self.code = code


def failure_detail(stderr: str, code: int | None) -> str:
    """The most telling line of git's stderr, without its `fatal:`/`error:` prefix.

    Args:
        stderr: Git's stderr.
        code: Git's exit code.

    Returns:
        One line, credentials redacted; `exit code N` when stderr is empty.
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        for prefix in ("fatal:", "error:"):
            if line.lower().startswith(prefix):
                return redact_url(line[len(prefix) :].strip())
    if lines:
        return redact_url(lines[-1])
    return f"exit code {code}"


def clone_error_message(url: str, branch: str | None, stderr: str, code: int | None) -> str:
    """The user-facing message of a failed `git clone`.

    Args:
        url: The URL cloned.
        branch: The branch asked for, if any.
        stderr: Git's stderr.
        code: Git's exit code.

    Returns:
        A one-line message naming the cause: missing branch, authentication, unreachable
        host, missing repository, or git's own words.
    """
    shown = redact_url(url)
    lowered = stderr.lower()
    missing = _MISSING_BRANCH.search(stderr)
    if missing or (branch and "not found in upstream" in lowered):
        name = branch or (missing.group(1) if missing else "?")
        return f"branch '{name}' not found in {shown}"
    if _DUBIOUS in lowered:
        return f"git refuses {shown}: it is owned by another user (see git's safe.directory)"
    if any(pattern in lowered for pattern in _AUTH):
        return f"authentication failed for {shown}"
    if any(pattern in lowered for pattern in _UNREACHABLE):
        return f"could not reach {shown}: {_unreachable_detail(stderr, code)}"
    if any(pattern in lowered for pattern in _NOT_FOUND):
        return f"repository not found or not readable: {shown}"
    return f"git clone of {shown} failed: {failure_detail(stderr, code)}"


def push_error_message(url: str, branch: str, stderr: str, code: int | None) -> str:
    """The user-facing message of a failed `git push`.

    Args:
        url: The remote's URL.
        branch: The branch pushed.
        stderr: Git's stderr.
        code: Git's exit code.

    Returns:
        A one-line message naming the cause.
    """
    shown = redact_url(url)
    lowered = stderr.lower()
    if _CHECKED_OUT in lowered:
        return (
            f"cannot push {branch} to {shown}: that branch is checked out in the "
            "non-bare origin repository (check out another branch there, or push to a bare "
            "repository)"
        )
    if "[remote rejected]" in lowered:
        return f"push of {branch} to {shown} was rejected by the remote: {_remote_reason(stderr)}"
    if any(pattern in lowered for pattern in _REJECTED):
        return (
            f"push of {branch} to {shown} was rejected: the remote branch has commits "
            "that the local branch does not have"
        )
    if any(pattern in lowered for pattern in _AUTH):
        return f"authentication failed for {shown}"
    if any(pattern in lowered for pattern in _UNREACHABLE):
        return f"could not reach {shown}: {_unreachable_detail(stderr, code)}"
    if any(pattern in lowered for pattern in _NOT_FOUND):
        return f"repository not found or not writable: {shown}"
    return f"git push of {branch} to {shown} failed: {failure_detail(stderr, code)}"


def _remote_reason(output: str) -> str:
    """What the remote said (`remote: ...` lines, e.g. a hook's message) and git's reason."""
    lines = [line.strip() for line in output.splitlines()]
    said = [redact_url(ln[len("remote:") :].strip()) for ln in lines if ln.startswith("remote:")]
    reason = re.search(r"\[remote rejected\][^\n]*?\(([^)]*)\)", output)
    parts = [s for s in said if s][:5] + ([reason.group(1)] if reason else [])
    return "; ".join(parts) or "no reason given"


def _unreachable_detail(stderr: str, code: int | None) -> str:
    """The line naming the network problem (e.g. ssh's "Could not resolve hostname")."""
    for line in stderr.splitlines():
        lowered = line.lower()
        for pattern in _UNREACHABLE:
            index = lowered.find(pattern)
            if index >= 0:
                return redact_url(line[index:].strip())
    return failure_detail(stderr, code)
