"""Credentials for git over HTTP(S): kept out of every URL, handed to git by a helper.

A repository URL may carry credentials (`https://user:token@host/org/repo.git`). They are
stripped before the URL is cloned or stored anywhere (`.git/config`, metadata, database,
events), and held in this process's memory only. Tokens from other sources (a GitHub token
or App installation token, see `forgeline.github.auth`) are looked up the same way.

Git receives a credential only for its own network commands (clone, fetch, push,
ls-remote), through a credential helper scoped to the remote's origin that prints two
environment variables set on that one git process: the secret is never written to disk,
never on a command line, and never in the environment of Forgeline or of the sandbox.

After a restart, credentials that came inside a URL are gone (by design, nothing stores
them): a later push to that remote fails with git's authentication error until the user
sets a token source (e.g. `GITHUB_TOKEN`) or gives the URL again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from forgeline.domain.errors import UserError

USERNAME_VAR = "FORGELINE_GIT_USERNAME"
PASSWORD_VAR = "FORGELINE_GIT_PASSWORD"  # noqa: S105 (a variable name)
NETWORK_COMMANDS = frozenset({"clone", "fetch", "push", "ls-remote", "pull"})

# Answers `get` only, reading the two variables git was started with; ignores store/erase.
_HELPER = (
    '!f() { cat >/dev/null; test "$1" = get || exit 0; '
    f'printf "username=%s\\npassword=%s\\n" "${USERNAME_VAR}" "${PASSWORD_VAR}"; }}; f'
)


@dataclass(frozen=True)
class Credential:
    """A user name and secret for one remote. The secret never appears in `repr`."""

    username: str
    password: str = field(repr=False)


class CredentialSource(Protocol):
    """Something that can supply a credential for a remote URL (e.g. a GitHub token)."""

    async def credential_for(self, url: str) -> Credential | None:
        """The credential for `url` (without user info), or None when it has none."""
        ...


@dataclass
class CredentialRegistry:
    """The process's credentials: those given inside URLs, then the dynamic sources."""

    remembered: dict[str, Credential] = field(default_factory=dict)
    sources: list[CredentialSource] = field(default_factory=list)

    def remember(self, url: str) -> str:
        """Strip the credentials from `url`, keep them in memory, return the clean URL."""
        clean, credential = strip_credentials(url)
        if credential is not None:
            self.remembered[_key(clean)] = credential
        return clean

    async def credential_for(self, url: str) -> Credential | None:
        """The credential git should use for `url`, if any."""
        clean, embedded = strip_credentials(url)
        if embedded is not None:
            return embedded
        if not _is_http(clean):
            return None
        known = self.remembered.get(_key(clean)) or self._same_origin(clean)
        if known is not None:
            return known
        for source in self.sources:
            found = await source.credential_for(clean)
            if found is not None:
                return found
        return None

    def _same_origin(self, url: str) -> Credential | None:
        origin = _origin(url)
        found = [c for key, c in self.remembered.items() if _origin(key) == origin]
        return found[-1] if found else None


_registry = CredentialRegistry()


def registry() -> CredentialRegistry:
    """The process-wide registry."""
    return _registry


def set_sources(sources: Sequence[CredentialSource]) -> None:
    """Replace the dynamic credential sources (done once when the runtime starts)."""
    _registry.sources = list(sources)


def remember(url: str) -> str:
    """Strip and remember the credentials of a URL the user gave; return the clean URL."""
    return _registry.remember(url)


def strip_credentials(url: str) -> tuple[str, Credential | None]:
    """Split `https://user:secret@host/path` into `https://host/path` and the credential.

    Only `http(s)://` URLs carry secrets; any other URL (ssh's `git@host:path` names a
    user, not a secret) is returned unchanged.

    Raises:
        UserError: The user info holds a newline or NUL (git's credential protocol
            cannot carry it).
    """
    if not _is_http(url):
        return url, None
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    username, secret = unquote(user), unquote(password)
    if any(ch in username + secret for ch in "\n\r\x00"):
        raise UserError("the credentials in the repository URL contain a control character")
    clean = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    if not secret:  # `https://TOKEN@host`: the token is the user name (GitHub's form)
        return clean, Credential(username="x-access-token", password=username)
    return clean, Credential(username=username, password=secret)


def network_target(args: Sequence[str]) -> str | None:
    """For git's network commands, the URL or remote name it talks to; else None."""
    positional = _positional(args)
    if not positional or positional[0] not in NETWORK_COMMANDS:
        return None
    rest = positional[1:]
    if positional[0] == "clone" and "--" in args:
        after = list(args[list(args).index("--") + 1 :])
        return after[0] if after else None
    return rest[0] if rest else "origin"


def is_url(target: str) -> bool:
    """Whether a push/fetch target is a URL (not a remote name)."""
    return "://" in target


async def git_auth(url: str) -> tuple[list[str], dict[str, str]]:
    """The `-c` options and environment that let one git command authenticate to `url`.

    Always resets inherited helpers; adds Forgeline's helper when a credential is known.
    """
    options = ["-c", "credential.helper="]
    credential = await _registry.credential_for(url)
    if credential is None:
        return options, {}
    scope = _origin(strip_credentials(url)[0])
    options += ["-c", f"credential.{scope}.helper={_HELPER}"]
    env = {USERNAME_VAR: credential.username, PASSWORD_VAR: credential.password}
    return options, env


def _positional(args: Sequence[str]) -> list[str]:
    words: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-c", "-C") and not words:
            index += 2
            continue
        if not arg.startswith("-"):
            words.append(arg)
        index += 1
    return words


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _key(url: str) -> str:
    path = urlsplit(url).path.rstrip("/").removesuffix(".git")
    return _origin(url) + path


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{quote(parts.netloc.lower(), safe=':[]')}"
