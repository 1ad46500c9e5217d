"""Which repository URLs are on GitHub, and which `owner/name` they name."""

from __future__ import annotations

import re

from forgeline.github.models import GitHubRepo

_PART = re.compile(r"^[A-Za-z0-9_.-]+$")


def github_repo(url: str, *, github_url: str) -> GitHubRepo | None:
    """The GitHub repository a clone URL names, or None when it is not on GitHub.

    A URL is on GitHub when it starts with `github_url` (`FORGELINE_GITHUB_URL`, any
    scheme) followed by `/owner/name` (`.git` and a trailing slash allowed).

    Args:
        url: A repository URL without credentials.
        github_url: The GitHub web address, e.g. `https://github.com`.
    """
    base = github_url.rstrip("/") + "/"
    if not url.lower().startswith(base.lower()):
        return None
    parts = [p for p in url[len(base) :].split("/") if p]
    if len(parts) != 2:
        return None
    owner, name = parts[0], parts[1].removesuffix(".git")
    if not (_PART.match(owner) and _PART.match(name)) or name in (".", ".."):
        return None
    return GitHubRepo(owner=owner, name=name)
