"""Repository agent files: untrusted, read as of the base commit, never widening (DESIGN §3).

A repository's `.forgeline/agents/*.md` may change an agent's prompt (and lower its
budgets), nothing more. Each file is read from the repository's base commit, the commit
the feature branch started from, so a file an agent writes during the run is never
read. A file that sets `model`, or asks for a tool the agent it replaces does not have,
is refused whole and the trusted agent (built-in, or the operator's from
`$FORGELINE_HOME/agents/`) runs instead. A new, custom agent may use read-only tools only.
Every decision is reported as an `AgentOverride`, which the run shows as an
`agent_override` event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from forgeline.agents.basefiles import (
    RepositorySource,
    TreeEntry,
    blob_text,
    followed,
    tree_entries,
)
from forgeline.agents.definition import AgentDefinition, AgentDefinitionError, parse_agent_file
from forgeline.agents.loader import MAX_AGENT_FILE_BYTES, load_agents
from forgeline.workspace import git

AGENTS_DIR: Final = ".forgeline/agents"
CUSTOM_AGENT_TOOLS: Final[tuple[str, ...]] = ("Read", "Glob", "Grep", "TodoWrite", "Report")
"""The tools a repository's own, new agent may use."""
_BUDGETS: Final = ("max_steps", "max_tokens", "max_cost_usd")


@dataclass(frozen=True)
class AgentOverride:
    """What became of one repository agent file.

    Attributes:
        repo: The repository's name.
        agent: The agent the file defines (its file name's stem when it could not be read).
        path: The file, relative to the repository.
        accepted: Whether the file's agent is used.
        reason: What it changes, or why it was refused.
    """

    repo: str
    agent: str
    path: str
    accepted: bool
    reason: str

    def event_data(self) -> dict[str, object]:
        """The `agent_override` event's data."""
        return {
            "repo": self.repo,
            "agent": self.agent,
            "path": self.path,
            "accepted": self.accepted,
            "reason": self.reason,
        }


@dataclass
class _Layer:
    """The repository files accepted so far, over the trusted agents."""

    trusted: dict[str, AgentDefinition]
    accepted: dict[str, AgentDefinition] = field(default_factory=dict)
    overrides: list[AgentOverride] = field(default_factory=list)


@dataclass(frozen=True)
class ProjectAgents:
    """The agents of a project, and what its repositories' agent files did.

    Attributes:
        agents: Agents by name.
        overrides: One report per repository agent file.
    """

    agents: dict[str, AgentDefinition]
    overrides: list[AgentOverride]

    def about(self, agent: str) -> list[AgentOverride]:
        """The reports on files that define `agent`."""
        return [o for o in self.overrides if o.agent == agent]


async def load_project_agents(
    *, home: Path | None, repositories: Sequence[RepositorySource]
) -> ProjectAgents:
    """Built-in agents, then `$FORGELINE_HOME/agents/`, then the repositories' files.

    Raises:
        AgentDefinitionError: A file in `$FORGELINE_HOME/agents/` is malformed (repository
            files never raise: a bad one is refused and reported).
        git.GitError: A base commit cannot be read.
    """
    agents, overrides = await apply_repository_agents(load_agents(home=home), repositories)
    return ProjectAgents(agents=agents, overrides=overrides)


async def apply_repository_agents(
    trusted: dict[str, AgentDefinition], repositories: Sequence[RepositorySource]
) -> tuple[dict[str, AgentDefinition], list[AgentOverride]]:
    """Layer the repositories' agent files (later repositories win) over trusted agents.

    Args:
        trusted: The built-in and operator agents by name.
        repositories: The project's repositories, in order.

    Returns:
        The agents to use, and a report for every repository agent file found.

    Raises:
        git.GitError: A base commit cannot be read.
    """
    layer = _Layer(trusted=trusted)
    for repo in repositories:
        if repo.base_sha is None:
            continue
        seen: dict[str, str] = {}
        for entry in await tree_entries(repo.git, repo.base_sha, [f"{AGENTS_DIR}/"]):
            if entry.path.endswith(".md") and entry.kind == "blob":
                await _consider(layer, repo, entry, seen)
    return {**trusted, **layer.accepted}, layer.overrides


async def _consider(
    layer: _Layer, repo: RepositorySource, entry: TreeEntry, seen: dict[str, str]
) -> None:
    """Judge one file and record the outcome in `layer`."""
    stem = Path(entry.path).stem
    try:
        defn = await _read(repo, entry)
    except AgentDefinitionError as exc:
        layer.overrides.append(AgentOverride(repo.name, stem, entry.path, False, str(exc)))
        return
    problem = _refusal(defn, layer.trusted.get(defn.name), seen)
    if problem is not None:
        reason = f"refused: {problem}; the {_kind(layer, defn.name)} runs instead"
        layer.overrides.append(AgentOverride(repo.name, defn.name, entry.path, False, reason))
        return
    seen[defn.name] = entry.path
    reason = _acceptance(layer, defn.name)
    layer.accepted[defn.name] = _clamped(defn, layer.trusted.get(defn.name))
    layer.overrides.append(AgentOverride(repo.name, defn.name, entry.path, True, reason))


async def _read(repo: RepositorySource, found: TreeEntry) -> AgentDefinition:
    where = f"{found.path} of {repo.name} (base commit {str(repo.base_sha)[:12]})"
    entry = await followed(repo.git, str(repo.base_sha), found)
    if entry is None:
        raise AgentDefinitionError(
            f"agent file {where}: refused: not a file, or a symlink to outside the repository"
        )
    if entry.size > MAX_AGENT_FILE_BYTES:
        raise AgentDefinitionError(
            f"agent file {where}: refused: too large ({entry.size} bytes; the limit is "
            f"{MAX_AGENT_FILE_BYTES} bytes)"
        )
    try:
        text = await blob_text(repo.git, entry)
    except git.GitError as exc:
        raise AgentDefinitionError(f"agent file {where}: cannot be read: {exc}") from None
    source = f"{repo.name}@{str(repo.base_sha)[:12]}:{found.path}"
    return parse_agent_file(text, source=source, label=where)


def _refusal(
    defn: AgentDefinition, base: AgentDefinition | None, seen: dict[str, str]
) -> str | None:
    """Why a parsed repository agent may not be used, or None."""
    if defn.model is not None:
        return (
            f"it sets `model: {defn.model}`, and a repository may not choose the model "
            "(the operator does, with --model, FORGELINE_MODEL or $FORGELINE_HOME/agents/)"
        )
    allowed = base.tools if base is not None else list(CUSTOM_AGENT_TOOLS)
    extra = [tool for tool in defn.tools if tool not in allowed]
    if extra:
        whose = f"the {defn.name} agent has" if base is not None else "a custom agent may use"
        return f"it asks for tools beyond those {whose} ({', '.join(allowed)}): {', '.join(extra)}"
    if defn.name in seen:
        return f"the agent {defn.name!r} is already defined by {seen[defn.name]}"
    return None


def _clamped(defn: AgentDefinition, base: AgentDefinition | None) -> AgentDefinition:
    """`defn` with no budget above the trusted agent's (an omitted budget keeps it)."""
    if base is None:
        return defn
    limits: dict[str, float | int | None] = {}
    for name in _BUDGETS:
        ours, theirs = getattr(defn, name), getattr(base, name)
        limits[name] = theirs if ours is None else ours if theirs is None else min(ours, theirs)
    return defn.model_copy(update=limits)


def _kind(layer: _Layer, name: str) -> str:
    if name in layer.accepted:
        return f"{name} agent from {layer.accepted[name].source}"
    base = layer.trusted.get(name)
    if base is None:
        return "project without this custom agent"
    return f"{'built-in' if base.source == 'builtin' else 'operator'} {name} agent"


def _acceptance(layer: _Layer, name: str) -> str:
    if name not in layer.trusted:
        return "adds a custom agent (read-only tools)"
    return f"replaces the {_kind(layer, name)}'s prompt"
