"""`iterate` (DESIGN §13): another implementation round from the pull requests' review comments.

The round is a durable workflow like every task: it reads the unresolved review comments of
each repository's pull request, runs the implementation phase on the same branch with them
as extra input (overwatchers and the final gate as usual; then documentation, the push and
the pull request body's refresh), and replies in each comment's thread with the commits that
answer it. Each GitHub call is its own durable step, so a crash never posts a reply twice.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Any

from dbos import DBOS, SetWorkflowID

from forgeline.domain.errors import ConflictError
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
from forgeline.orchestrator.durable import durable_step
from forgeline.orchestrator.phases import PhaseError
from forgeline.orchestrator.service import Service
from forgeline.orchestrator.workflows import task_lifecycle
from forgeline.store.schemas import TaskRecord


@DBOS.workflow()
async def iterate_workflow(project_id: str, task_id: str) -> dict[str, Any]:
    """One review round of a project (its task is `iterate-…`)."""
    return await task_lifecycle(project_id, task_id, "implementation", _round)


async def start_iteration(service: Service, project_id: str) -> TaskRecord:
    """Start a review round; refused while the project has work or no pull request.

    Raises:
        NotFoundError: No such project.
        ConflictError: A task of the project is unfinished, or no pull request is open.
    """
    store = service.store
    await store.get_project(project_id)
    if not await service.is_idle(project_id):
        raise ConflictError(f"project {project_id} has a task that has not finished")
    repos = await store.list_repositories(project_id)
    if not any(r.pull_request and r.pull_request.number for r in repos):
        raise ConflictError(
            f"project {project_id} has no pull request to iterate on: run the implementation "
            "on a GitHub repository first"
        )
    task_id = f"iterate-{uuid.uuid4().hex[:10]}"
    task = await store.create_task(
        project_id, "implementation", "implementation", task_id=task_id, kind="iterate"
    )
    await store.update_task(task.id, workflow_id=task.id)
    with SetWorkflowID(task.id):
        await DBOS.start_workflow_async(iterate_workflow, project_id, task.id)
    return task


async def _round(ctx: PhaseContext) -> dict[str, Any]:
    from forgeline.orchestrator.implementation import implement

    found = await durable_step("review_comments", partial(_read_threads, ctx))
    threads = [ThreadToAnswer.model_validate(t) for t in found]
    if not threads:
        raise PhaseError("no unresolved review comments on the project's pull requests")
    result = await implement(
        ctx, review=review_message(threads), review_notes=review_notes(threads)
    )
    replies = []
    for thread in threads:
        text = reply_text(thread, result.get("commits", []), str(result.get("summary", "")))
        replies.append(await durable_step("review_reply", partial(_reply, ctx, thread, text)))
    return {**result, "review": {"comments": len(threads), "replies": replies}}


async def _read_threads(ctx: PhaseContext) -> list[dict[str, Any]]:
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


async def _reply(ctx: PhaseContext, thread: ThreadToAnswer, text: str) -> dict[str, object]:
    from forgeline.github.client import github_client

    settings = ctx.runtime.settings
    async with github_client(settings, auth.provider(settings)) as gh:
        reply_id = await gh.reply(thread.github, thread.number, thread.comment_id, text)
    return {"repo": thread.repo, "comment": thread.comment_id, "reply": reply_id}
