"""GitHub's webhook (DESIGN §13): a submitted pull request review starts one review round.

The delivery's `X-Hub-Signature-256` (HMAC-SHA256 of the body with
`FORGELINE_GITHUB_WEBHOOK_SECRET`) is checked by `gidgethub.sansio`; each `X-GitHub-Delivery`
is handled once. A review that approves, or comes from a bot (Forgeline's own replies make
GitHub record a review), starts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from forgeline.domain.errors import ForgelineError
from forgeline.github import auth
from forgeline.github.repos import github_repo
from forgeline.github.review import unresolved
from forgeline.orchestrator.service import Service
from forgeline.store.schemas import RepositoryRecord

if TYPE_CHECKING:
    from gidgethub.sansio import Event

REVIEW_EVENT = "pull_request_review"


class WebhookRefused(ForgelineError):
    """The delivery is not from GitHub, or malformed; `status` is the HTTP status to answer."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class WebhookOutcome:
    """What Forgeline did with a delivery."""

    status: str
    detail: str
    task_id: str | None = None


def verify(headers: dict[str, str], body: bytes, secret: str | None) -> Event:
    """The delivery as an event, once its signature is checked.

    Raises:
        WebhookRefused: No secret is configured (404), the signature is missing or wrong
            (401), or the delivery is malformed (400).
    """
    from gidgethub import BadRequest, ValidationFailure
    from gidgethub.sansio import Event

    if not secret:
        raise WebhookRefused(
            "the GitHub webhook is off: set FORGELINE_GITHUB_WEBHOOK_SECRET", status=404
        )
    if "x-hub-signature-256" not in headers:
        raise WebhookRefused("missing X-Hub-Signature-256", status=401)
    try:
        return Event.from_http(headers, body, secret=secret)
    except ValidationFailure as exc:
        raise WebhookRefused(f"bad webhook signature: {exc}", status=401) from None
    except (BadRequest, KeyError, ValueError) as exc:
        raise WebhookRefused(f"malformed webhook delivery: {exc}", status=400) from None


async def handle(service: Service, event: Event) -> WebhookOutcome:
    """Start a review round for a submitted review of one of our pull requests."""
    if event.event == "ping":
        return WebhookOutcome("pong", "webhook reached Forgeline")
    skip = _not_a_round(event)
    if skip:
        return WebhookOutcome("ignored", skip)
    if not await service.store.record_delivery(event.delivery_id, event.event):
        return WebhookOutcome("duplicate", f"delivery {event.delivery_id} was already handled")
    repo = await _our_repository(service, event.data)
    if repo is None:
        return WebhookOutcome("ignored", "no Forgeline project has this pull request")
    if not await _has_open_threads(service, repo):
        return WebhookOutcome("ignored", "the review left no unresolved comment")
    try:
        task = await service.start_iteration(repo.project_id)
    except ForgelineError:  # e.g. a task still runs (409): GitHub's "Redeliver" may retry
        await service.store.forget_delivery(event.delivery_id)
        raise
    return WebhookOutcome("started", f"review round for project {repo.project_id}", task.id)


def _not_a_round(event: Event) -> str | None:
    if event.event != REVIEW_EVENT:
        return f"event '{event.event}' is not handled"
    data: Any = event.data
    review = data.get("review") or {} if isinstance(data, dict) else {}
    if data.get("action") != "submitted":
        return f"review action '{data.get('action')}' is not handled"
    if (review.get("user") or {}).get("type") == "Bot":
        return "the review is a bot's"
    if str(review.get("state", "")).lower() == "approved":
        return "the review approves"
    return None


async def _our_repository(service: Service, data: Any) -> RepositoryRecord | None:
    full_name = str((data.get("repository") or {}).get("full_name", ""))
    number = (data.get("pull_request") or {}).get("number")
    base = service.runtime.settings.github_url
    for repo in await service.store.repositories_with_pull_requests():
        found = github_repo(repo.url, github_url=base)
        pull = repo.pull_request
        if found and pull and found.full_name == full_name and pull.number == number:
            return repo
    return None


async def _has_open_threads(service: Service, repo: RepositoryRecord) -> bool:
    from forgeline.github.client import github_client

    settings = service.runtime.settings
    found = github_repo(repo.url, github_url=settings.github_url)
    number = repo.pull_request.number if repo.pull_request else None
    if found is None or number is None:
        return False
    async with github_client(settings, auth.provider(settings)) as gh:
        comments = await gh.review_comments(found, number)
    return bool(unresolved(comments, repo=repo.name, github=found, number=number))
