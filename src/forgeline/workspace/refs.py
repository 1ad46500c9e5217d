"""Checks on branch names and revisions before they reach git's command line.

A revision that begins with `-` would be read by git as an option, so every name a user
or an agent gives is checked here first.
"""

from __future__ import annotations

import re

from forgeline.domain.errors import UserError

_FORBIDDEN_IN_BRANCH = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_FORBIDDEN_IN_REVISION = re.compile(r"[\x00-\x20\x7f]")
MAX_REF_LENGTH = 255


def check_branch_name(name: str) -> str:
    """Validate a branch name with git's `check-ref-format --branch` rules.

    Args:
        name: The branch name, e.g. `main` or `forgeline/add-login`.

    Returns:
        The name, unchanged.

    Raises:
        UserError: The name is not a valid branch name.
    """
    problem = _branch_problem(name)
    if problem:
        raise UserError(f"invalid branch name {name!r}: {problem}")
    return name


def check_revision(rev: str) -> str:
    """Refuse revisions git could take for an option or that hold control characters.

    Args:
        rev: A revision: a sha, a branch, `HEAD~2`, `origin/main`...

    Returns:
        The revision, unchanged.

    Raises:
        UserError: The revision is empty, begins with `-` or holds control characters.
    """
    if not rev:
        raise UserError("empty git revision")
    if rev.startswith("-"):
        raise UserError(f"invalid git revision {rev!r}: must not start with '-'")
    if len(rev) > MAX_REF_LENGTH or _FORBIDDEN_IN_REVISION.search(rev):
        raise UserError(f"invalid git revision {rev!r}")
    return rev


def _branch_problem(name: str) -> str | None:
    if not name:
        return "empty"
    if len(name) > MAX_REF_LENGTH:
        return f"longer than {MAX_REF_LENGTH} characters"
    if name.startswith("-"):
        return "must not start with '-'"
    if name == "@" or "@{" in name:
        return "must not be '@' or contain '@{'"
    if _FORBIDDEN_IN_BRANCH.search(name):
        return "contains a space, a control character or one of ~^:?*[\\"
    if name.startswith("/") or name.endswith(("/", ".")) or "//" in name or ".." in name:
        return "has an empty component, '..', or a leading/trailing '/' or trailing '.'"
    for part in name.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "a component starts with '.' or ends with '.lock'"
    return None
