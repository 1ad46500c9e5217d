"""The gidgethub session under Forgeline's GitHub calls.

Rate limits are honoured (`retry-after`, or `x-ratelimit-remaining: 0` with
`x-ratelimit-reset`) up to `FORGELINE_GITHUB_MAX_WAIT_S`; any other refusal becomes a
`GitHubError` carrying GitHub's own message. `AppAPI` holds the calls a GitHub App
makes as itself, to get installation tokens.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import gidgethub
import gidgethub.apps
import httpx2
from gidgethub.httpx import GitHubAPI

from forgeline import __version__
from forgeline.github.models import GitHubError, GitHubRepo
from forgeline.settings import Settings

T = TypeVar("T")
REQUESTER = f"forgeline/{__version__}"
MAX_ATTEMPTS = 4


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


class RateLimitedAPI(GitHubAPI):
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
async def open_api(settings: Settings) -> AsyncIterator[RateLimitedAPI]:
    """A rate-limit-aware API over a client that is closed afterwards."""
    async with httpx2.AsyncClient(timeout=30.0, trust_env=False) as client:
        yield RateLimitedAPI(
            client, base_url=settings.github_api_url, max_wait_s=settings.github_max_wait_s
        )


class AppAPI:
    """The calls a GitHub App makes as itself (JWT), to get installation tokens."""

    def __init__(self, api: RateLimitedAPI) -> None:
        self.api = api

    async def installation_id(self, repo: GitHubRepo, *, app_id: str, private_key: str) -> int:
        """The App's installation on `repo`."""
        jwt = gidgethub.apps.get_jwt(app_id=app_id, private_key=private_key)
        what = f"find the GitHub App's installation on {repo.full_name}"
        data = await checked(
            what, self.api.getitem(f"/repos/{repo.full_name}/installation", jwt=jwt)
        )
        return int(data["id"])

    async def installation_token(
        self, installation: int, *, app_id: str, private_key: str
    ) -> dict[str, Any]:
        """A new installation access token (`{"token", "expires_at", ...}`)."""
        request = gidgethub.apps.get_installation_access_token(
            self.api, installation_id=str(installation), app_id=app_id, private_key=private_key
        )
        return await checked("get an installation token for the GitHub App", request)


@asynccontextmanager
async def app_api(settings: Settings) -> AsyncIterator[AppAPI]:
    """An `AppAPI` over a client that is closed afterwards."""
    async with open_api(settings) as api:
        yield AppAPI(api)


async def checked(what: str, request: Awaitable[T]) -> T:
    """Await one GitHub request; its failure becomes a `GitHubError` saying what failed."""
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
