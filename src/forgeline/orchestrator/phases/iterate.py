"""`iterate` (DESIGN §13): another implementation round from the pull requests' review comments.

The round is a durable workflow like every task: it reads the unresolved review comments of
each repository's pull request, runs the implementation phase on the same branch with them
as extra input (overwatchers and the final gate as usual; then documentation, the push and
the pull request body's refresh), and replies in each comment's thread with the commits that
answer it. Each GitHub call is its own durable step, so a crash never posts a reply twice.
"""

from __future__ import annotations

from functools import partial

from forgeline.domain.results import ImplementationResult, JsonObject, ReviewRound
from forgeline.github import auth
from forgeline.github.repos import github_repo
from forgeline.github.review import (
    ThreadToAnswer,
    reply_text,
    review_message,
    review_notes,
    unresolved,
)
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.phases.common import PhaseError
from forgeline.orchestrator.phases.implementation import implement


async def run(ctx: PhaseContext) -> ImplementationResult:
    """The round's body: implementation with the review comments, then the replies."""
    found = await ctx.step("review_comments", partial(_read_threads, ctx))
    threads = [ThreadToAnswer.model_validate(t) for t in found]
    if not threads:
        raise PhaseError("no unresolved review comments on the project's pull requests")
    result = await implement(
        ctx, review=review_message(threads), review_notes=review_notes(threads)
    )
    commits = [c.model_dump() for c in result.commits]
    replies: list[JsonObject] = []
    for thread in threads:
        text = reply_text(thread, commits, result.summary)
        replies.append(await ctx.step("review_reply", partial(_reply, ctx, thread, text)))
    return result.model_copy(update={"review": ReviewRound(comments=len(threads), replies=replies)})


async def _read_threads(ctx: PhaseContext) -> list[JsonObject]:
    from forgeline.github.client import github_client  # gidgethub only when GitHub is used

    settings = ctx.runtime.settings
    repos = await ctx.runtime.store.list_repositories(ctx.project_id)
    threads: list[ThreadToAnswer] = []
    async with github_client(settings, auth.provider(settings)) as gh:
        for repo in repos:
            found = github_repo(repo.url, github_url=settings.github_url)
            number = repo.pull_request.number if repo.pull_request else None
            if found is None or number is None:
                continue
            comments = await gh.review_comments(found, number)
            threads += unresolved(comments, repo=repo.name, github=found, number=number)
    return [t.model_dump() for t in threads]


async def _reply(ctx: PhaseContext, thread: ThreadToAnswer, text: str) -> JsonObject:
    from forgeline.github.client import github_client

    settings = ctx.runtime.settings
    async with github_client(settings, auth.provider(settings)) as gh:
        reply_id = await gh.reply(thread.github, thread.number, thread.comment_id, text)
    return {"repo": thread.repo, "comment": thread.comment_id, "reply": reply_id}
