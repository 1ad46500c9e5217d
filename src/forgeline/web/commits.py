"""The commits of a project's change, per repository: message, agent and their own diff."""

from __future__ import annotations

from dataclasses import dataclass

from forgeline.api.diffcap import cap_diff
from forgeline.domain.events import EventType
from forgeline.store import Store
from forgeline.web.review import FileDiff, parse_diff
from forgeline.workspace import git
from forgeline.workspace.git_run import run
from forgeline.workspace.repo import GitRepo

MAX_COMMITS = 50


@dataclass(frozen=True)
class CommitView:
    """One commit of the change."""

    repo: str
    sha: str
    subject: str
    agent: str
    files: list[FileDiff]

    @property
    def short(self) -> str:
        """The abbreviated sha."""
        return self.sha[:10]


async def commit_agents(store: Store, project_id: str) -> dict[str, str]:
    """Which agent made each commit (sha → agent), from the `commit` events and the tasks."""
    agents = {t.id: t.agent for t in await store.list_tasks(project_id)}
    events = await store.list_events(project_id, types=[EventType.COMMIT.value], limit=10_000)
    return {
        str(e.data.get("sha")): agents.get(e.task_id or "", "agent")
        for e in events
        if e.data.get("sha")
    }


async def _commit_diff(repo: GitRepo, sha: str) -> str:
    result = await run("show", "--no-color", "--no-ext-diff", "-M", "--format=", sha, repo=repo)
    return cap_diff(result.stdout).text


async def repo_commits(
    path: GitRepo, name: str, base_sha: str, agents: dict[str, str]
) -> list[CommitView]:
    """The commits after `base_sha` in the repository `path`, oldest first."""
    commits = await git.log(path, MAX_COMMITS, since=base_sha)
    views = []
    for commit in reversed(commits):
        files = parse_diff(await _commit_diff(path, commit.sha), prefix=f"c{commit.sha[:10]}")
        agent = agents.get(commit.sha, commit.author_name)
        views.append(CommitView(name, commit.sha, commit.subject, agent, files))
    return views
