"""The model each agent runs on, for the model-per-agent selects of the web UI.

`effective_model` follows the same order as `orchestrator.agent_task.model_spec` (which
decides at run time): the project's choice for the agent, else the model in the agent's
file, else `FORGELINE_OVERWATCHER_MODEL` for an overwatcher, else the project's model,
else the server's default. It also says where the model comes from, for the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from forgeline.agents.definition import AgentDefinition, AgentDefinitionError
from forgeline.agents.loader import BUILTIN_AGENTS, load_agents, load_builtin_agents
from forgeline.orchestrator.agent_task import OVERWATCHER_AGENTS
from forgeline.settings import Settings
from forgeline.store import ProjectRecord
from forgeline.web.providers import default_model, model_choices, shown_model

KEEP = "__current__"
"""The option value that keeps a choice the page does not spell out (a scripted model)."""

CHOSEN = "chosen for this project"
AGENT_FILE = "set in the agent's file"
OVERWATCHER = "FORGELINE_OVERWATCHER_MODEL"
PROJECT = "the project's model"
DEFAULT = "the server's default"


@dataclass(frozen=True)
class Effective:
    """A model and where it comes from (`None`: no model is configured at all)."""

    spec: str | None
    source: str


@dataclass(frozen=True)
class AgentModelRow:
    """One agent's select: its choice, what it falls back to, and what it runs on."""

    agent: str
    chosen: str | None
    fallback: Effective
    effective: Effective
    options: tuple[str, ...]

    @property
    def value(self) -> str:
        """The selected option: empty for the default, `KEEP` for a scripted choice."""
        if not self.chosen:
            return ""
        return KEEP if self.chosen.startswith("scripted:") else self.chosen

    @property
    def follows_project(self) -> bool:
        """Whether the fallback is the project's model (it changes with the Model select)."""
        return self.fallback.source in {PROJECT, DEFAULT}


def fallback_model(
    settings: Settings, *, agent: str, agent_file_model: str | None, project_model: str | None
) -> Effective:
    """The model an agent runs on when the project chooses none for it."""
    if agent_file_model:
        return Effective(agent_file_model, AGENT_FILE)
    if settings.overwatcher_model and agent in OVERWATCHER_AGENTS:
        return Effective(settings.overwatcher_model, OVERWATCHER)
    if project_model:
        return Effective(project_model, PROJECT)
    return Effective(default_model(settings), DEFAULT)


def effective_model(
    settings: Settings,
    *,
    agent: str,
    agent_file_model: str | None,
    project_model: str | None,
    agent_models: Mapping[str, str],
) -> Effective:
    """The model the agent runs on next, in `model_spec`'s order."""
    chosen = agent_models.get(agent)
    if chosen:
        return Effective(chosen, CHOSEN)
    return fallback_model(
        settings, agent=agent, agent_file_model=agent_file_model, project_model=project_model
    )


def known_agents(settings: Settings) -> dict[str, AgentDefinition]:
    """The trusted agents (built-in, then the operator's); the built-ins if a file is broken."""
    try:
        agents = load_agents(home=settings.home)
    except AgentDefinitionError:
        agents = load_builtin_agents()
    builtin = [name for name in BUILTIN_AGENTS if name in agents]
    extra = sorted(name for name in agents if name not in BUILTIN_AGENTS)
    return {name: agents[name] for name in [*builtin, *extra]}


def _row(
    settings: Settings, defn: AgentDefinition, project: ProjectRecord | None, choices: list[str]
) -> AgentModelRow:
    project_model = project.model if project else None
    agent_models = project.agent_models if project else {}
    chosen = agent_models.get(defn.name)
    fallback = fallback_model(
        settings, agent=defn.name, agent_file_model=defn.model, project_model=project_model
    )
    offered = choices if not chosen or chosen in choices else [*choices, chosen]
    return AgentModelRow(
        agent=defn.name,
        chosen=chosen,
        fallback=shown(fallback),
        effective=shown(Effective(chosen, CHOSEN) if chosen else fallback),
        options=tuple(m for m in offered if not m.startswith("scripted:")),
    )


def shown(model: Effective) -> Effective:
    """The model as pages show it: a scripted model by its file name, never a host path."""
    return Effective(shown_model(model.spec), model.source)


def agent_model_rows(settings: Settings, project: ProjectRecord | None) -> list[AgentModelRow]:
    """A row per trusted agent for the project (None: a project not created yet)."""
    choices = model_choices(settings, None)
    return [_row(settings, d, project, choices) for d in known_agents(settings).values()]


def agent_model_context(settings: Settings, project: ProjectRecord | None) -> dict[str, Any]:
    """The template variables of `partials/agent_models.html`."""
    return {"agent_rows": agent_model_rows(settings, project), "keep": KEEP}
