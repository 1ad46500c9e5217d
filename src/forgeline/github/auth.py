"""GitHub credentials: `GITHUB_TOKEN`, or a GitHub App's installation tokens.

An App authenticates with a JWT (RS256, signed with its private key), finds the
installation on a repository (`GET /repos/{owner}/{repo}/installation`) and exchanges the
JWT for an installation token (`POST /app/installations/{id}/access_tokens`). Tokens are
cached in memory until shortly before they expire, and dropped on a 401 so the next call
gets a fresh one. The provider is also the credential source git uses for GitHub remotes
(user name `x-access-token`), so tokens never appear in a URL or on disk.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from forgeline.github.models import GitHubError, GitHubRepo
from forgeline.github.repos import github_repo
from forgeline.settings import Settings
from forgeline.workspace import credentials
from forgeline.workspace.credentials import Credential

TOKEN_USERNAME = "x-access-token"  # noqa: S105 (GitHub's user name for token auth)
REFRESH_MARGIN_S = 120.0
NO_CREDENTIALS = (
    "no GitHub credentials: set GITHUB_TOKEN, or FORGELINE_GITHUB_APP_ID and "
    "FORGELINE_GITHUB_PRIVATE_KEY_FILE for a GitHub App"
)


@dataclass(frozen=True)
class Token:
    """A token for GitHub's API and git, and when it stops working (None: never)."""

    value: str = field(repr=False)
    expires_at: float | None = None

    def fresh(self, now: float) -> bool:
        """Whether the token is still good for a while."""
        return self.expires_at is None or self.expires_at - REFRESH_MARGIN_S > now


class TokenProvider:
    """Tokens per repository, from the settings; also a git credential source."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._installations: dict[str, int] = {}
        self._tokens: dict[int, Token] = {}

    @property
    def configured(self) -> bool:
        """Whether any GitHub credentials are set."""
        return self._app() is not None or self._static() is not None

    async def token(self, repo: GitHubRepo) -> Token:
        """A token that may act on `repo`.

        Raises:
            GitHubError: No credentials are configured, the App is not installed on the
                repository, or GitHub refused to issue a token.
        """
        app = self._app()
        if app is not None:
            return await self._installation_token(repo, *app)
        static = self._static()
        if static is None:
            raise GitHubError(NO_CREDENTIALS)
        return static

    def invalidate(self, repo: GitHubRepo) -> None:
        """Forget the cached token for `repo` (after GitHub answered 401)."""
        installation = self._installations.pop(repo.full_name, None)
        if installation is not None:
            self._tokens.pop(installation, None)

    async def credential_for(self, url: str) -> Credential | None:
        """The git credential for a GitHub remote (`credentials.CredentialSource`)."""
        repo = github_repo(url, github_url=self.settings.github_url)
        if repo is None or not self.configured:
            return None
        try:
            token = await self.token(repo)
        except GitHubError:
            return None  # git then fails with its own "authentication failed"
        return Credential(username=TOKEN_USERNAME, password=token.value)

    def _static(self) -> Token | None:
        secret = self.settings.github_token
        value = secret.get_secret_value().strip() if secret is not None else ""
        return Token(value=value) if value else None

    def _app(self) -> tuple[str, Path] | None:
        app_id, key_file = self.settings.github_app_id, self.settings.github_private_key_file
        if not app_id or key_file is None:
            return None
        return app_id, key_file

    async def _installation_token(self, repo: GitHubRepo, app_id: str, key_file: Path) -> Token:
        installation = self._installations.get(repo.full_name)
        cached = self._tokens.get(installation) if installation is not None else None
        if cached is not None and cached.fresh(time.time()):
            return cached
        from forgeline.github.rest import app_api

        key = _private_key(key_file)
        async with app_api(self.settings) as api:
            if installation is None:
                installation = await api.installation_id(repo, app_id=app_id, private_key=key)
                self._installations[repo.full_name] = installation
            data = await api.installation_token(installation, app_id=app_id, private_key=key)
        token = Token(value=str(data["token"]), expires_at=_expiry(data.get("expires_at")))
        self._tokens[installation] = token
        return token


def _private_key(path: Path) -> str:
    try:
        return path.expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GitHubError(f"cannot read FORGELINE_GITHUB_PRIVATE_KEY_FILE {path}: {exc}") from None


def _expiry(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


_provider: TokenProvider | None = None


def install(settings: Settings) -> TokenProvider:
    """Make the process's token provider and register it as git's GitHub credential source."""
    global _provider
    _provider = TokenProvider(settings)
    credentials.set_sources([_provider])
    return _provider


def provider(settings: Settings) -> TokenProvider:
    """The process's provider when installed with these settings, else a new one."""
    if _provider is not None and _provider.settings is settings:
        return _provider
    return install(settings)
