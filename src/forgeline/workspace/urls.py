"""Repository URLs: which ones Forgeline accepts, and the names their clones get.

Accepted: an existing local git repository (returned as an absolute path), `file://`,
`http://`, `https://`, `ssh://` URLs and scp-like `user@host:path`. Refused: anything git
could read as an option (a leading `-`), remote-helper forms such as `ext::` and `fd::`
(which run commands), unknown schemes, whitespace and control characters.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from forgeline.domain.errors import UserError

ALLOWED_SCHEMES = ("file", "http", "https", "ssh")
MAX_URL_LENGTH = 4096

_TRANSPORT_PREFIX = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)::")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>\[[^\]/]+\]|[^/:\[\]]+):(?P<path>.*)$")
_HOST = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])$")
_USER = re.compile(r"^[A-Za-z0-9._~+-]+$")
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_HTTP_USERINFO = re.compile(r"(?i)\b(https?://)[^/@\s]+@")
_PASSWORD = re.compile(r"(://[^/:@\s]+):[^/@\s]+@")


def validate_repo_url(url: str) -> str:
    """Check a repository URL or local path and return its canonical form.

    Args:
        url: What the user gave: a local path, `file://`, `http(s)://`, `ssh://` or
            scp-like `user@host:org/repo.git`. Surrounding whitespace is ignored.

    Returns:
        The URL unchanged, or for a local path its absolute resolved path.

    Raises:
        UserError: The URL is empty, malformed, of a refused form, or a local path that
            does not exist or is not a git repository.
    """
    text = url.strip()
    if not text:
        raise UserError("repository URL is empty")
    if len(text) > MAX_URL_LENGTH:
        raise UserError(f"repository URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise UserError(f"repository URL contains whitespace or control characters: {text!r}")
    if text.startswith("-"):
        raise UserError(f"repository URL must not start with '-': {text}")
    transport = _TRANSPORT_PREFIX.match(text)
    if transport:
        raise UserError(
            f"'{transport.group(1)}::' transport URLs are not allowed: {redact_url(text)}"
        )
    scheme = _SCHEME.match(text)
    if scheme:
        return _validate_scheme_url(text, scheme.group(1).lower())
    if _is_scp_like(text):
        return _validate_scp_like(text)
    return str(_local_repository(text, shown=text))


def repo_name(url: str) -> str:
    """The directory name of a repository's clone.

    The last path component of the URL without `.git`, reduced to `[A-Za-z0-9._-]`
    (never empty, never starting with `.` or `-`).

    Args:
        url: A URL or path as returned by `validate_repo_url`.

    Returns:
        A safe single path component, `repo` when nothing usable is left.
    """
    path = _url_path(url).replace("\\", "/").rstrip("/")
    parts = [part for part in path.split("/") if part]
    while parts and parts[-1] in (".git", ".", ".."):
        parts.pop()
    last = parts[-1] if parts else ""
    if last.lower().endswith(".git"):
        last = last[: -len(".git")]
    cleaned = _NAME_UNSAFE.sub("-", last).lstrip(".-").rstrip(".")
    return cleaned or "repo"


def redact_url(text: str) -> str:
    """Hide credentials embedded in URLs (`https://user:token@host` -> `https://***@host`).

    Args:
        text: A URL or any text that may contain URLs (e.g. git's stderr).

    Returns:
        The text with http(s) user info and any `:password@` part replaced by `***`.
    """
    return _PASSWORD.sub(r"\1:***@", _HTTP_USERINFO.sub(r"\1***@", text))


def is_local_repository(path: Path) -> bool:
    """Whether a directory is a git repository (a work tree with `.git`, or bare).

    Args:
        path: The directory to look at.

    Returns:
        True when `path/.git` exists, or `path` has the layout of a bare repository.
    """
    if (path / ".git").exists():
        return True
    return (path / "HEAD").is_file() and (path / "objects").is_dir() and (path / "refs").is_dir()


def _validate_scheme_url(text: str, scheme: str) -> str:
    if scheme not in ALLOWED_SCHEMES:
        allowed = ", ".join(f"{name}://" for name in ALLOWED_SCHEMES)
        raise UserError(
            f"unsupported URL scheme '{scheme}': use {allowed} or a local path ({redact_url(text)})"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UserError(f"malformed repository URL {redact_url(text)}: {exc}") from None
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise UserError(f"file:// URLs must name a local path: {text}")
        _local_repository(unquote(parts.path), shown=text)
        return text
    host = parts.hostname or ""
    if not host or not _HOST.match(host if ":" not in host else f"[{host}]"):
        raise UserError(f"repository URL has no valid host: {redact_url(text)}")
    if parts.username is not None and parts.username.startswith("-"):
        raise UserError(f"repository URL has an invalid user name: {redact_url(text)}")
    if port is not None and not 0 < port < 65536:
        raise UserError(f"repository URL has an invalid port: {redact_url(text)}")
    if parts.path in ("", "/"):
        raise UserError(f"repository URL has no repository path: {redact_url(text)}")
    return text


def _is_scp_like(text: str) -> bool:
    colon = text.find(":")
    slash = text.find("/")
    return colon > 0 and (slash == -1 or colon < slash)


def _validate_scp_like(text: str) -> str:
    match = _SCP_LIKE.match(text)
    if not match:
        raise UserError(f"malformed scp-like repository URL: {text}")
    user, host, path = match.group("user"), match.group("host"), match.group("path")
    if user is not None and (not _USER.match(user) or user.startswith("-")):
        raise UserError(f"repository URL has an invalid user name: {text}")
    if not _HOST.match(host):
        raise UserError(f"repository URL has an invalid host '{host}': {text}")
    if not path or path.startswith("-"):
        raise UserError(f"repository URL has no valid repository path: {text}")
    return text


def _local_repository(raw: str, *, shown: str) -> Path:
    try:
        path = Path(raw).expanduser().resolve()
    except (OSError, RuntimeError) as exc:
        raise UserError(f"no such repository: {shown} ({exc})") from None
    try:
        exists, is_dir = path.exists(), path.is_dir()
        is_repo = is_dir and is_local_repository(path)
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise UserError(f"no such repository: {shown} ({exc.strerror})") from None
    if not exists:
        raise UserError(f"no such repository: {shown}")
    if not is_dir:
        raise UserError(f"not a git repository (not a directory): {shown}")
    if not is_repo:
        raise UserError(f"not a git repository: {shown}")
    return path


def _url_path(url: str) -> str:
    if _SCHEME.match(url):
        return unquote(urlsplit(url).path)
    if _is_scp_like(url):
        match = _SCP_LIKE.match(url)
        return match.group("path") if match else url
    return url
