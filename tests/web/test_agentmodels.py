"""The model shown per agent is the one `model_spec` runs it on, in every combination."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest

from forgeline.agents.definition import AgentDefinition
from forgeline.orchestrator.agent_task import AgentTask, model_spec
from forgeline.orchestrator.runtime import Runtime
from forgeline.settings import Settings
from forgeline.store import ProjectRecord
from forgeline.web.agentmodels import (
    AGENT_FILE,
    CHOSEN,
    DEFAULT,
    KEEP,
    OVERWATCHER,
    PROJECT,
    agent_model_rows,
    effective_model,
)

NOW = datetime.now(UTC)
AGENTS = ("research", "implementation", "review", "documentation", "linter")


def _project(model: str | None, agent_models: dict[str, str]) -> ProjectRecord:
    return ProjectRecord.model_construct(
        id="p", name="p", feature_request="x", phases=["research"], model=model,
        status="created", current_phase=None, workspace="w", slug="p", branch="b", last_seq=0,
        agent_models=agent_models, created_at=NOW, updated_at=NOW,
    )  # fmt: skip


def _run_spec(
    settings: Settings, project: ProjectRecord, agent: str, file_model: str | None
) -> str:
    """What the orchestrator picks at run time (only `settings`, `project`, `agent` are read)."""
    runtime = object.__new__(Runtime)
    runtime.settings = settings
    task = object.__new__(AgentTask)
    task.project, task.agent = project, agent
    return model_spec(runtime, task, AgentDefinition.model_construct(name=agent, model=file_model))


@pytest.mark.parametrize("overwatcher", [None, "anthropic:claude-haiku-4-5"])
def test_the_shown_model_is_the_run_model(tmp_path: Path, overwatcher: str | None) -> None:
    settings = Settings(home=tmp_path, model="openai:gpt-4o", overwatcher_model=overwatcher)
    combos = itertools.product(
        AGENTS, [None, "openai:gpt-4.1"], [None, "anthropic:claude-sonnet-4-5"], [None, "openai:o3"]
    )
    for agent, file_model, project_model, chosen in combos:
        project = _project(project_model, {agent: chosen} if chosen else {})
        shown = effective_model(
            settings, agent=agent, agent_file_model=file_model,
            project_model=project_model, agent_models=project.agent_models,
        )  # fmt: skip
        assert shown.spec == _run_spec(settings, project, agent, file_model), (agent, shown)


def test_each_source_is_named(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, model="openai:gpt-4o", overwatcher_model="openai:o3-mini")

    def source(agent: str, file_model: str | None = None, project: str | None = None) -> str:
        return effective_model(
            settings, agent=agent, agent_file_model=file_model, project_model=project,
            agent_models={"test": "openai:o3"},
        ).source  # fmt: skip

    assert source("test") == CHOSEN
    assert source("review", "openai:gpt-4.1") == AGENT_FILE
    assert source("review") == OVERWATCHER
    assert source("research", project="openai:gpt-4.1") == PROJECT
    assert source("research") == DEFAULT


def test_rows_list_operator_agents_and_hide_scripted_paths(tmp_path: Path) -> None:
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "linter.md").write_text(
        "---\nname: linter\ndescription: Checks style\ntools: [Read]\n"
        "model: openai:gpt-4.1\n---\nYou are the linter agent.\n"
    )
    settings = Settings(home=tmp_path, model="openai:gpt-4o", allow_scripted=True)
    script = tmp_path / "secret-dir" / "s.yaml"
    rows = agent_model_rows(settings, _project(None, {"review": f"scripted:{script}"}))
    by_agent = {r.agent: r for r in rows}
    assert [r.agent for r in rows][:7] == [
        "research", "planning", "implementation", "review", "security", "test", "documentation",
    ]  # fmt: skip
    assert by_agent["linter"].fallback.spec == "openai:gpt-4.1"
    assert by_agent["linter"].fallback.source == AGENT_FILE
    review = by_agent["review"]
    assert review.value == KEEP and review.effective.spec == "scripted:s.yaml"
    assert all(str(tmp_path) not in m for r in rows for m in r.options)
