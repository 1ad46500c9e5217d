"""The push (DESIGN §12): each repository's feature branch to its `origin`.

`push_repository` is the one place a branch is pushed; it returns a `PushResult` whose
`detail` is git's own reason when the push failed. A failed push fails the run.
"""

from __future__ import annotations

from functools import partial

from forgeline.domain.events import EventType
from forgeline.domain.results import PushResult, RepositoryPush
from forgeline.orchestrator.context import PhaseContext
from forgeline.workspace import git
from forgeline.workspace.clone_extras import push_lfs


async def push_repository(repo: git.GitRepo, branch: str) -> PushResult:
    """Push `branch` of the clone `repo` to its origin (skipped without one)."""
    if await git.remote_url(repo) is None:
        return PushResult(ok=True, skipped=True, detail="not pushed: no origin remote")
    try:
        await push_lfs(repo, branch=branch)
        return PushResult(ok=True, detail=await git.push(repo, branch=branch))
    except git.GitError as exc:
        return PushResult(ok=False, detail=str(exc))


async def push_all(ctx: PhaseContext) -> list[RepositoryPush]:
    """Push every repository of the project (each a durable step), emitting a `push` event."""
    pushes = []
    for repo in ctx.repos:
        branch = repo.branch or ctx.project.branch
        step = partial(push_repository, ctx.ws.repo(repo.name), branch)
        result = await ctx.step("push", step)
        push = RepositoryPush(repo=repo.name, branch=branch, **result.model_dump())
        pushes.append(push)
        await ctx.emit(EventType.PUSH, push.model_dump())
    return pushes


def failed_pushes_message(pushes: list[RepositoryPush]) -> str | None:
    """The run's error when a push failed, naming each repository and git's reason."""
    failed = [p for p in pushes if not p.ok]
    if not failed:
        return None
    return "the push failed: " + "; ".join(f"{p.repo}: {p.detail}" for p in failed)
