"""Which repository URLs are on GitHub, and which `owner/name` they name."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from forgeline.github.models import GitHubRepo

_PART = re.compile(r"^[A-Za-z0-9_.-]+$")
_SCP = re.compile(r"^[A-Za-z0-9._~+-]+@(?P<host>[^:/]+):(?P<path>[^/].*)$")


def github_repo(url: str, *, github_url: str) -> GitHubRepo | None:
    """The GitHub repository a clone URL names, or None when it is not on GitHub.

    A URL is on GitHub when it starts with `github_url` (`FORGELINE_GITHUB_URL`, any
    scheme) followed by `/owner/name` (`.git` and a trailing slash allowed); an SSH URL
    (`git@host:owner/name.git`, `ssh://git@host/owner/name`) is when its host is that of
    `github_url` (the push then uses SSH keys; pull requests still go through the API).

    Args:
        url: A repository URL without credentials.
        github_url: The GitHub web address, e.g. `https://github.com`.
    """
    path = _path_on_github(url, github_url)
    if path is None:
        return None
    parts = [p for p in path.split("/") if p]
    if len(parts) != 2:
        return None
    owner, name = parts[0], parts[1].removesuffix(".git")
    if not (_PART.match(owner) and _PART.match(name)) or name in (".", ".."):
        return None
    return GitHubRepo(owner=owner, name=name)


def _path_on_github(url: str, github_url: str) -> str | None:
    base = github_url.rstrip("/") + "/"
    if url.lower().startswith(base.lower()):
        return url[len(base) :]
    host = (urlsplit(github_url).hostname or "").lower()
    scp = _SCP.match(url)
    if scp and scp.group("host").lower() == host:
        return scp.group("path")
    if url.lower().startswith("ssh://"):
        parts = urlsplit(url)
        if (parts.hostname or "").lower() == host:
            return parts.path
    return None
