"""The GitHub REST calls Forgeline makes, behind a small protocol of our own.

`GidgetGitHub` implements `GitHub` with `gidgethub` on `httpx2`. Rate limits and
errors are handled by the session in `forgeline.github.rest`; a 401 drops the cached
token and retries once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from forgeline.github.auth import TokenProvider
from forgeline.github.models import GitHubError, GitHubRepo, PullRequest, ReviewComment
from forgeline.github.rest import RateLimitedAPI, checked, open_api
from forgeline.settings import Settings

T = TypeVar("T")


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


class GidgetGitHub:
    """`GitHub` over gidgethub, authenticated per repository by a `TokenProvider`."""

    def __init__(self, api: RateLimitedAPI, tokens: TokenProvider) -> None:
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
            return await checked(what, call(token.value))
        except GitHubError as exc:
            if exc.status != 401:
                raise
        self.tokens.invalidate(repo)
        token = await self.tokens.token(repo)
        return await checked(what, call(token.value))


@asynccontextmanager
async def github_client(settings: Settings, tokens: TokenProvider) -> AsyncIterator[GidgetGitHub]:
    """A `GidgetGitHub` over a client that is closed afterwards."""
    async with open_api(settings) as api:
        yield GidgetGitHub(api, tokens)
