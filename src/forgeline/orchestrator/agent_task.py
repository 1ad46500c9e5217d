"""One agent run inside a workflow: its definition, model, tools, scopes and sandbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from forgeline.agents.basefiles import RepositorySource
from forgeline.agents.context import ContextPolicy
from forgeline.agents.definition import AgentDefinition
from forgeline.agents.loader import (
    WorkspaceRepo,
    build_system_prompt,
    format_workspace_overview,
    project_rules,
)
from forgeline.agents.loop import AgentResult, Budget, Hooks, run_agent
from forgeline.agents.repository import load_project_agents
from forgeline.domain.errors import UserError
from forgeline.domain.events import EventType, ListSink, NewEvent
from forgeline.domain.messages import Message
from forgeline.environment.view import EnvironmentView
from forgeline.llm import default_model_spec
from forgeline.llm.pricing import context_window
from forgeline.orchestrator.budget import ProjectBudget
from forgeline.orchestrator.durable import DurableQuestions, DurableSink
from forgeline.orchestrator.environments import agent_view, ensure_environments
from forgeline.orchestrator.evidence import Emit, EvidenceHooks
from forgeline.orchestrator.ports import PhaseEngine
from forgeline.orchestrator.runtime import Runtime
from forgeline.sandbox.policy import with_settings
from forgeline.sandbox.spec import SandboxPolicy
from forgeline.store.schemas import ProjectRecord, RepositoryRecord, TaskRecord
from forgeline.tools.base import ToolContext
from forgeline.workspace.layout import Workspace


@dataclass
class AgentTask:
    """What one agent run needs to know.

    Attributes:
        project: The project.
        repos: Its repositories.
        ws: Its workspace.
        task: The task (and workflow) the agent runs in.
        agent: The agent's name.
        root: The agent's workspace root (overwatchers get their own worktrees).
        writable: What Write/Edit may change.
        sandbox_writable: What Bash may change.
        sandbox_readable: Extra read-only paths Bash may see (e.g. a worktree's git dir).
        messages: The conversation, continued by each run of the task.
        read_files: Files the agent has read (path -> mtime_ns), kept across its runs so
            a later gate round may Edit a file read in an earlier one.
    """

    project: ProjectRecord
    repos: list[RepositoryRecord]
    ws: Workspace
    task: TaskRecord
    agent: str
    root: Path
    writable: tuple[Path, ...] = ()
    sandbox_writable: tuple[Path, ...] = ()
    sandbox_readable: tuple[Path, ...] = ()
    messages: list[Message] = field(default_factory=list)
    read_files: dict[Path, int] = field(default_factory=dict)

    @property
    def task_id(self) -> str:
        return self.task.id


async def definition_for(
    runtime: Runtime, task: AgentTask, *, sink: DurableSink
) -> AgentDefinition:
    """The task's agent; an `agent_override` event for each repository file defining it."""
    loaded = await load_project_agents(home=runtime.settings.home, repositories=sources(task))
    for override in loaded.about(task.agent):
        data = override.event_data()
        await sink.emit(NewEvent(type=EventType.AGENT_OVERRIDE, task_id=task.task_id, data=data))
    if task.agent not in loaded.agents:
        known = ", ".join(sorted(loaded.agents))
        raise UserError(f"no agent named '{task.agent}' (known: {known})")
    return loaded.agents[task.agent]


def sources(task: AgentTask) -> list[RepositorySource]:
    """The task's repositories, whose agent files and rules are read at their base commit."""
    return [
        RepositorySource(
            name=r.name,
            path=task.ws.repo_path(r.name),
            base_sha=r.base_sha,
            git_dir=task.ws.git_dir(r.name),
        )
        for r in task.repos
    ]


def overview(task: AgentTask) -> str:
    repos = [
        WorkspaceRepo(
            name=r.name,
            path=task.root / r.name,
            branch=r.branch or task.project.branch,
            base_branch=r.base_branch,
        )
        for r in task.repos
    ]
    text = format_workspace_overview(root=task.root, repositories=repos)
    return f"{text}\n\nFeature request: {task.project.feature_request}"


OVERWATCHER_AGENTS = frozenset({"review", "security", "test", "documentation"})
"""Agents that take `FORGELINE_OVERWATCHER_MODEL` (usually a cheaper model)."""


def model_spec(runtime: Runtime, task: AgentTask, defn: AgentDefinition) -> str:
    """The project's model for this agent, else the agent file's, else (overwatchers) the
    overwatcher setting, else the project's model, else the default."""
    chosen = task.project.agent_models.get(task.agent)
    if chosen:
        return chosen
    if defn.model:
        return defn.model
    overwatcher = runtime.settings.overwatcher_model
    if overwatcher and task.agent in OVERWATCHER_AGENTS:
        return overwatcher
    return task.project.model or default_model_spec(runtime.settings)


def sandbox_policy(runtime: Runtime, task: AgentTask) -> SandboxPolicy:
    settings = runtime.settings
    hidden = tuple(p for p in (settings.home, Path("/root"), Path("/home")) if p.exists())
    policy = SandboxPolicy(
        workspace=task.root,
        writable=task.sandbox_writable,
        readable=task.sandbox_readable,
        hidden=hidden,
        network=settings.allow_network or task.project.allow_network,
        enabled=settings.sandbox == "on",
    )
    return with_settings(policy, settings)


async def prepare_environments(
    runtime: Runtime, engine: PhaseEngine, task: AgentTask, sink: DurableSink
) -> EnvironmentView:
    """Set up what is missing (phase agents only), then the agent's view of the environments."""
    if task.root.resolve() == task.ws.root.resolve():
        await ensure_environments(
            runtime, engine, ws=task.ws, repos=task.repos, sink=sink, task_id=task.task_id
        )
    return await agent_view(
        runtime, engine, ws=task.ws, repos=task.repos, root=task.root, task_id=task.task_id
    )


async def run_agent_task(
    runtime: Runtime,
    engine: PhaseEngine,
    task: AgentTask,
    *,
    sink: DurableSink,
    hooks: Hooks | None = None,
) -> AgentResult:
    """Run the task's agent to its end, durably, continuing `task.messages`."""
    defn = await definition_for(runtime, task, sink=sink)
    env = await prepare_environments(runtime, engine, task, sink)
    rules = await project_rules(sources(task))
    workspace = overview(task) + env.overview()
    system = build_system_prompt(defn, rules=rules, workspace_overview=workspace)
    spec = model_spec(runtime, task, defn)
    await runtime.store.update_task(task.task_id, model=spec)  # shown in the API and CLI
    model = await runtime.models.build(spec, agent=task.agent, task=task.task)
    ctx = ToolContext(
        workspace=task.root.resolve(),
        agent=task.agent,
        writable=task.writable,
        sandbox=env.apply(sandbox_policy(runtime, task)),
        sink=ListSink(),
        task_id=task.task_id,
        max_output_chars=runtime.settings.max_tool_output_chars,
        bash_default_timeout_ms=runtime.settings.bash_default_timeout_ms,
        bash_max_timeout_ms=runtime.settings.bash_max_timeout_ms,
        read_files=task.read_files,
    )
    if "AskUser" in defn.tools:
        ctx.ask_user = DurableQuestions(
            runtime, engine, project_id=task.project.id, task_id=task.task_id, sink=sink
        )
    budget = Budget(
        max_steps=defn.max_steps, max_tokens=defn.max_tokens, max_cost_usd=defn.max_cost_usd
    )
    evidence = EvidenceHooks(
        hooks,
        emit=_emitter(sink, task.task_id),
        agent=task.agent,
        repos=[r.name for r in task.repos],
    )
    result = await run_agent(
        agent=task.agent,
        model=model,
        system=system,
        tools=defn.tools,
        ctx=ctx,
        messages=task.messages,
        sink=sink,
        steps=engine.step,
        budget=budget,
        hooks=evidence,
        policy=ContextPolicy(
            window=context_window(spec, overrides=runtime.settings.context_windows)
        ),
        spend=ProjectBudget(
            runtime, project_id=task.project.id, task_id=task.task_id, agent=task.agent
        ),
    )
    await evidence.flush(result.commands)
    return result


def _emitter(sink: DurableSink, task_id: str) -> Emit:
    async def emit(type_: EventType, data: dict[str, object]) -> None:
        await sink.emit(NewEvent(type=type_, task_id=task_id, data=data))

    return emit
