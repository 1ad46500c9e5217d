"""The GitHub REST calls Forgeline makes, behind a small protocol of our own.

`GidgetGitHub` implements `GitHub` with `gidgethub` on `httpx2`. Rate limits are honoured
(`retry-after`, or `x-ratelimit-remaining: 0` with `x-ratelimit-reset`) up to
`FORGELINE_GITHUB_MAX_WAIT_S`; a 401 drops the cached token and retries once; any other
refusal becomes a `GitHubError` carrying GitHub's own message.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

import gidgethub
import gidgethub.apps
import httpx2
from gidgethub.httpx import GitHubAPI

from forgeline import __version__
from forgeline.github.auth import TokenProvider
from forgeline.github.models import GitHubError, GitHubRepo, PullRequest, ReviewComment
from forgeline.settings import Settings

T = TypeVar("T")
REQUESTER = f"forgeline/{__version__}"
MAX_ATTEMPTS = 4


class GitHub(Protocol):
    """What Forgeline asks of GitHub."""

    async def find_open_pull(self, repo: GitHubRepo, head: str) -> PullRequest | None:
        """The open pull request from branch `head` of `repo`, if any."""
        ...

    async def create_pull(
        self, repo: GitHubRepo, *, title: str, head: str, base: str, body: str, draft: bool
    ) -> PullRequest:
        """Open a pull request."""
        ...

    async def update_pull(self, repo: GitHubRepo, number: int, *, body: str) -> PullRequest:
        """Replace a pull request's body."""
        ...

    async def review_comments(self, repo: GitHubRepo, number: int) -> list[ReviewComment]:
        """Every review comment of a pull request, oldest first."""
        ...

    async def reply(self, repo: GitHubRepo, number: int, comment_id: int, body: str) -> int:
        """Reply in a review comment's thread; returns the new comment's id."""
        ...


def retry_wait(status: int, headers: Mapping[str, str], *, now: float) -> float | None:
    """Seconds to wait before retrying a rate-limited call, or None when it is not one."""
    if status not in (403, 429):
        return None
    after = headers.get("retry-after")
    if after is not None:
        try:
            return max(0.0, float(after))
        except ValueError:
            return None
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
        try:
            return max(0.0, float(headers["x-ratelimit-reset"]) - now + 1.0)
        except ValueError:
            return None
    return None


class _API(GitHubAPI):
    """gidgethub's httpx API with rate-limit waits."""

    def __init__(self, client: httpx2.AsyncClient, *, base_url: str, max_wait_s: float) -> None:
        super().__init__(client, REQUESTER, base_url=base_url.rstrip("/"))
        self.max_wait_s = max_wait_s

    async def handle_rate_limit_error(
        self, *, method: str, url: str, exception: gidgethub.HTTPException, attempt: int
    ) -> bool:
        headers = {k.lower(): v for k, v in exception.headers.items()}
        wait = retry_wait(int(exception.status_code), headers, now=time.time())
        if wait is None or attempt >= MAX_ATTEMPTS or wait > self.max_wait_s:
            return False
        await self.sleep(wait)
        return True


@asynccontextmanager
async def _api(settings: Settings) -> AsyncIterator[_API]:
    async with httpx2.AsyncClient(timeout=30.0, trust_env=False) as client:
        yield _API(client, base_url=settings.github_api_url, max_wait_s=settings.github_max_wait_s)


class AppAPI:
    """The calls a GitHub App makes as itself (JWT), to get installation tokens."""

    def __init__(self, api: _API) -> None:
        self.api = api

    async def installation_id(self, repo: GitHubRepo, *, app_id: str, private_key: str) -> int:
        """The App's installation on `repo`."""
        jwt = gidgethub.apps.get_jwt(app_id=app_id, private_key=private_key)
        what = f"find the GitHub App's installation on {repo.full_name}"
        data = await _call(what, self.api.getitem(f"/repos/{repo.full_name}/installation", jwt=jwt))
        return int(data["id"])

    async def installation_token(
        self, installation: int, *, app_id: str, private_key: str
    ) -> dict[str, Any]:
        """A new installation access token (`{"token", "expires_at", ...}`)."""
        request = gidgethub.apps.get_installation_access_token(
            self.api, installation_id=str(installation), app_id=app_id, private_key=private_key
        )
        return await _call("get an installation token for the GitHub App", request)


@asynccontextmanager
async def app_api(settings: Settings) -> AsyncIterator[AppAPI]:
    """An `AppAPI` over a client that is closed afterwards."""
    async with _api(settings) as api:
        yield AppAPI(api)


class GidgetGitHub:
    """`GitHub` over gidgethub, authenticated per repository by a `TokenProvider`."""

    def __init__(self, api: _API, tokens: TokenProvider) -> None:
        self.api = api
        self.tokens = tokens

    async def find_open_pull(self, repo: GitHubRepo, head: str) -> PullRequest | None:
        url = f"/repos/{repo.full_name}/pulls?head={repo.owner}:{head}&state=open"
        data = await self._as(
            repo, "look up its pull request", lambda t: self.api.getitem(url, oauth_token=t)
        )
        return PullRequest.from_json(data[0]) if data else None

    async def create_pull(
        self, repo: GitHubRepo, *, title: str, head: str, base: str, body: str, draft: bool
    ) -> PullRequest:
        payload = {"title": title, "head": head, "base": base, "body": body, "draft": draft}
        url = f"/repos/{repo.full_name}/pulls"
        data = await self._as(
            repo, "open a pull request", lambda t: self.api.post(url, data=payload, oauth_token=t)
        )
        return PullRequest.from_json(data)

    async def update_pull(self, repo: GitHubRepo, number: int, *, body: str) -> PullRequest:
        url = f"/repos/{repo.full_name}/pulls/{number}"
        data = await self._as(
            repo,
            f"update pull request #{number}",
            lambda t: self.api.patch(url, data={"body": body}, oauth_token=t),
        )
        return PullRequest.from_json(data)

    async def review_comments(self, repo: GitHubRepo, number: int) -> list[ReviewComment]:
        url = f"/repos/{repo.full_name}/pulls/{number}/comments?per_page=100"

        async def collect(token: str) -> list[Any]:
            return [item async for item in self.api.getiter(url, oauth_token=token)]

        items = await self._as(repo, f"read the review comments of #{number}", collect)
        return [ReviewComment.from_json(item) for item in items]

    async def reply(self, repo: GitHubRepo, number: int, comment_id: int, body: str) -> int:
        url = f"/repos/{repo.full_name}/pulls/{number}/comments"
        payload = {"body": body, "in_reply_to": comment_id}
        data = await self._as(
            repo,
            f"reply to review comment {comment_id}",
            lambda t: self.api.post(url, data=payload, oauth_token=t),
        )
        return int(data["id"])

    async def _as(self, repo: GitHubRepo, what: str, call: Callable[[str], Awaitable[T]]) -> T:
        """Run `call` with the repository's token; on 401 refresh the token once."""
        what = f"{what} on {repo.full_name}"
        token = await self.tokens.token(repo)
        try:
            return await _call(what, call(token.value))
        except GitHubError as exc:
            if exc.status != 401:
                raise
        self.tokens.invalidate(repo)
        token = await self.tokens.token(repo)
        return await _call(what, call(token.value))


@asynccontextmanager
async def github_client(settings: Settings, tokens: TokenProvider) -> AsyncIterator[GidgetGitHub]:
    """A `GidgetGitHub` over a client that is closed afterwards."""
    async with _api(settings) as api:
        yield GidgetGitHub(api, tokens)


async def _call(what: str, request: Awaitable[T]) -> T:
    try:
        return await request
    except gidgethub.HTTPException as exc:
        raise _error(what, exc) from None
    except httpx2.HTTPError as exc:
        raise GitHubError(f"could not {what}: {type(exc).__name__}: {exc}") from None


def _error(what: str, exc: gidgethub.HTTPException) -> GitHubError:
    status = int(exc.status_code)
    if isinstance(exc, gidgethub.RateLimitExceeded):
        reset = exc.rate_limit.reset_datetime.strftime("%H:%M:%S UTC")
        return GitHubError(
            f"could not {what}: GitHub's rate limit is used up until {reset}", status=status
        )
    return GitHubError(f"could not {what}: GitHub answered {status}: {exc}", status=status)
