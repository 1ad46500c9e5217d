"""Pull requests after the push (DESIGN §13): one per GitHub repository, cross-linked.

Every pushed repository whose URL is on GitHub gets a pull request from its feature branch
to its base branch, draft unless the project says `ready` (`draft` is always sent), unless
the project says `off`. A pull request that is already open for the branch is updated, never
opened twice (found by `head=owner:branch`). All are created first, then each body is
patched with links to the others. The outcome is stored on the repository and emitted as a
`pull_request` event; a refusal (403, 422, ...) fails the run with GitHub's reason, while
missing credentials only skip the pull request, with a message saying what to set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING

from forgeline.domain.events import EventType
from forgeline.domain.results import GateResult, JsonObject
from forgeline.github import auth
from forgeline.github.body import BodyInput, Sibling, plan_summary, pull_body, pull_title
from forgeline.github.models import GitHubError, GitHubRepo, PullRequest
from forgeline.github.repos import github_repo
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.phases.common import PhaseError, read_document
from forgeline.store.schemas import PullRequestInfo, RepositoryRecord

if TYPE_CHECKING:
    from forgeline.github.client import GitHub


@dataclass(frozen=True)
class Target:
    """A pushed repository on GitHub."""

    repo: RepositoryRecord
    github: GitHubRepo
    branch: str


@dataclass(frozen=True)
class Opened:
    """A pull request that exists after the first pass, and whether it existed before."""

    target: Target
    pull: PullRequest
    existed: bool


def github_targets(ctx: PhaseContext, pushed: Sequence[str]) -> list[Target]:
    """The pushed repositories that are on GitHub (`FORGELINE_GITHUB_URL`)."""
    base = ctx.runtime.settings.github_url
    targets = []
    for repo in ctx.repos:
        found = github_repo(repo.url, github_url=base)
        if repo.name in pushed and found is not None:
            targets.append(Target(repo, found, repo.branch or ctx.project.branch))
    return targets


async def publish_pull_requests(
    ctx: PhaseContext, *, pushed: Sequence[str], gate: GateResult | None, extra: str = ""
) -> dict[str, PullRequestInfo]:
    """Open or refresh the project's pull requests after a push (a durable step).

    Args:
        ctx: The implementation phase's context.
        pushed: Names of the repositories whose push succeeded.
        gate: The final gate's result (verdicts, test commands).
        extra: More Markdown for the body (e.g. the review comments an iteration addressed).

    Returns:
        Each GitHub repository's outcome, by repository name.

    Raises:
        PhaseError: GitHub refused a pull request (the reason names the repository).
    """
    targets = github_targets(ctx, pushed)
    if ctx.project.pr_mode == "off" or not targets:
        return {}
    gate_json = gate.model_dump(mode="json") if gate is not None else {}
    step = partial(_publish, ctx, targets, gate_json, extra)
    stored = await ctx.step("pull_requests", step)
    outcomes = {name: PullRequestInfo.model_validate(info) for name, info in stored.items()}
    for name, info in outcomes.items():
        await ctx.emit(EventType.PULL_REQUEST, {"repo": name, **info.model_dump()})
    failed = [f"{name}: {i.detail}" for name, i in outcomes.items() if i.status == "failed"]
    if failed:
        raise PhaseError("the pull request failed: " + "; ".join(failed))
    return outcomes


async def _publish(
    ctx: PhaseContext, targets: list[Target], gate: JsonObject, extra: str
) -> dict[str, JsonObject]:
    from forgeline.github.client import github_client  # gidgethub only when GitHub is used

    settings = ctx.runtime.settings
    tokens = auth.provider(settings)
    if not tokens.configured:
        skipped = PullRequestInfo(
            status="skipped", detail=f"no pull request: {auth.NO_CREDENTIALS}"
        )
        outcomes = {t.repo.name: skipped for t in targets}
    else:
        data = BodyInput(
            project_id=ctx.project_id,
            plan=plan_summary(read_document(ctx.ws.planning_md)),
            gate=gate,
            extra=extra,
        )
        async with github_client(settings, tokens) as gh:
            outcomes = await _open_all(gh, ctx, targets, data)
    for target in targets:
        info = outcomes[target.repo.name].model_dump()
        await ctx.runtime.store.update_repository(target.repo.id, pull_request=info)
    return {name: info.model_dump() for name, info in outcomes.items()}


async def _open_all(
    gh: GitHub, ctx: PhaseContext, targets: list[Target], data: BodyInput
) -> dict[str, PullRequestInfo]:
    outcomes: dict[str, PullRequestInfo] = {}
    opened: list[Opened] = []
    draft = ctx.project.pr_mode == "draft"
    title = pull_title(ctx.project.feature_request)
    for target in targets:
        try:
            opened.append(await _ensure(gh, target, title=title, body=pull_body(data), draft=draft))
        except GitHubError as exc:
            outcomes[target.repo.name] = PullRequestInfo(status="failed", detail=str(exc))
    for item in opened:
        outcomes[item.target.repo.name] = await _finish(gh, item, opened, data)
    return outcomes


async def _ensure(gh: GitHub, target: Target, *, title: str, body: str, draft: bool) -> Opened:
    existing = await gh.find_open_pull(target.github, target.branch)
    if existing is not None:
        return Opened(target, existing, existed=True)
    base = target.repo.base_branch or "main"
    pull = await gh.create_pull(
        target.github, title=title, head=target.branch, base=base, body=body, draft=draft
    )
    return Opened(target, pull, existed=False)


async def _finish(
    gh: GitHub, item: Opened, opened: list[Opened], data: BodyInput
) -> PullRequestInfo:
    """Write the final body (with the sibling links) when it differs from what was sent."""
    siblings = [
        Sibling(repo=o.target.github.full_name, number=o.pull.number, url=o.pull.url)
        for o in opened
        if o is not item
    ]
    pull = item.pull
    status = "updated" if item.existed else "opened"
    if siblings or item.existed:
        body = pull_body(replace(data, siblings=siblings))
        try:
            pull = await gh.update_pull(item.target.github, pull.number, body=body)
        except GitHubError as exc:
            return PullRequestInfo(
                url=pull.url, number=pull.number, draft=pull.draft, status="failed", detail=str(exc)
            )
    return PullRequestInfo(url=pull.url, number=pull.number, draft=pull.draft, status=status)
