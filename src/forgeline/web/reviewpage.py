"""What the project page shows as a review: per repository the files, tree and commits;
findings by round; the gate; the commands run (evidence); the model per agent."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from forgeline.api.documents import repository_diffs
from forgeline.api.paths import scrub
from forgeline.domain.errors import ForgelineError
from forgeline.domain.events import EventType
from forgeline.orchestrator.evidence import Evidence, list_evidence
from forgeline.store import FindingRecord, RepositoryRecord, Store
from forgeline.web.commits import CommitView, commit_agents, repo_commits
from forgeline.web.filetree import TreeNode, file_tree
from forgeline.web.providers import shown_model
from forgeline.web.review import FileDiff, attach_findings, parse_diff
from forgeline.workspace.layout import open_workspace


@dataclass
class RepoReview:
    """One repository's change."""

    repo: str
    files: list[FileDiff] = field(default_factory=list)
    tree: TreeNode = field(default_factory=lambda: TreeNode(""))
    commits: list[CommitView] = field(default_factory=list)
    note: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class FindingRound:
    """The findings of one round (0: checkpoints while implementing; N: gate round N)."""

    round: int
    findings: list[FindingRecord]

    @property
    def title(self) -> str:
        """`Checkpoints` for round 0, else `Gate round N`."""
        return "Checkpoints" if self.round == 0 else f"Gate round {self.round}"


async def repo_reviews(
    store: Store, home: Path, project_id: str, findings: list[FindingRecord]
) -> tuple[list[RepoReview], set[int]]:
    """Each repository's review, and the ids of the findings placed at a diff line."""
    repositories = await store.list_repositories(project_id)
    try:
        diffs = await repository_diffs(home, project_id, repositories)
    except ForgelineError as exc:
        return [RepoReview("(workspace)", error=scrub(home, str(exc)))], set()
    agents = await commit_agents(store, project_id)
    reviews, placed = [], set()
    for repo, diff in zip(repositories, diffs, strict=True):
        review = await _repo_review(home, project_id, repo, diff, agents)
        placed |= attach_findings(review.files, findings, repo=repo.name)
        for commit in review.commits:
            mine = [f for f in findings if reviewed(f, repo.name, commit.sha)]
            attach_findings(commit.files, mine, repo=repo.name)
        reviews.append(review)
    return reviews, placed


async def _repo_review(
    home: Path,
    project_id: str,
    repo: RepositoryRecord,
    diff: dict[str, Any],
    agents: dict[str, str],
) -> RepoReview:
    files = parse_diff(diff["diff"], prefix=f"r-{repo.name}") if diff["diff"] else []
    review = RepoReview(repo.name, files, file_tree(files), note=diff.get("note"))
    if repo.base_sha:
        path = open_workspace(home, project_id).repo(repo.name)
        try:
            review.commits = await repo_commits(path, repo.name, repo.base_sha, agents)
        except ForgelineError as exc:
            review.error = scrub(home, str(exc))
    return review


def reviewed(finding: FindingRecord, repo: str, sha: str) -> bool:
    """Whether the finding was made on this commit (`commit_sha` is `repo@sha10,...`)."""
    return f"{repo}@{sha[:10]}" in (finding.commit_sha or "").split(",")


def finding_rounds(findings: list[FindingRecord]) -> list[FindingRound]:
    """Findings grouped by round, in round order."""
    groups: dict[int, list[FindingRecord]] = defaultdict(list)
    for finding in findings:
        groups[finding.round].append(finding)
    return [FindingRound(r, groups[r]) for r in sorted(groups)]


@dataclass(frozen=True)
class Resolution:
    """The commit a finding was resolved at: the head its passing gate reviewed."""

    repo: str
    sha: str

    @property
    def short(self) -> str:
        """The abbreviated sha (the commit list's anchor)."""
        return self.sha[:10]


async def resolutions(
    store: Store, project_id: str, findings: list[FindingRecord]
) -> dict[int, list[Resolution]]:
    """For each finding a passing gate resolved, the heads that gate reviewed, by finding id.

    A passing gate resolves the open findings of its implementation task (findings whose task
    id starts with the gate's); the heads are each repository's last commit before the gate.
    """
    kinds = [EventType.COMMIT.value, EventType.GATE.value]
    heads: dict[str, str] = {}
    passed: dict[str, list[Resolution]] = {}
    for event in await store.list_events(project_id, types=kinds, limit=10_000):
        if event.type == EventType.COMMIT.value and event.data.get("sha"):
            heads[str(event.data.get("repo"))] = str(event.data["sha"])
        elif event.type == EventType.GATE.value and event.data.get("passed") and event.task_id:
            passed[event.task_id] = [Resolution(r, sha) for r, sha in sorted(heads.items())]
    found = {}
    for finding in findings:
        gates = [t for t in passed if (finding.task_id or "").startswith(t)]
        if finding.status == "resolved" and gates:
            found[finding.id] = passed[max(gates, key=len)]
    return found


async def latest_gate(store: Store, project_id: str) -> dict[str, Any] | None:
    """The data of the last `gate` event (verdicts, passed, rounds), if the gate ran."""
    events = await store.list_events(project_id, types=[EventType.GATE.value], limit=10_000)
    return events[-1].data if events else None


async def models_by_agent(store: Store, project_id: str) -> dict[str, str]:
    """The model each agent used (from the `usage` events), by agent name."""
    events = await store.list_events(project_id, types=[EventType.USAGE.value], limit=10_000)
    used = {
        str(e.data.get("agent")): str(e.data.get("model")) for e in events if e.data.get("model")
    }
    return {agent: shown_model(model) or model for agent, model in used.items()}


async def evidence(store: Store, project_id: str) -> list[Evidence]:
    """Every command run in the project with its exit code (DESIGN §12)."""
    return await list_evidence(store, project_id)
