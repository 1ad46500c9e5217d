"""The seven agents shipped with Forgeline."""

from __future__ import annotations

import pytest

from forgeline.agents.definition import AgentDefinition
from forgeline.agents.loader import BUILTIN_AGENTS, load_agents, load_builtin_agents

EXPECTED_TOOLS = {
    "research": ["Read", "Glob", "Grep", "Bash", "TodoWrite", "Write"],
    "planning": ["Read", "Glob", "Grep", "AskUser", "TodoWrite", "Write"],
    "implementation": ["Read", "Write", "Edit", "Glob", "Grep", "Bash", "TodoWrite"],
    "review": ["Read", "Glob", "Grep", "Bash", "Report"],
    "security": ["Read", "Glob", "Grep", "Bash", "Report"],
    "test": ["Read", "Glob", "Grep", "Bash", "TodoWrite", "Report"],
    "documentation": ["Read", "Write", "Edit", "Glob", "Grep", "Bash", "TodoWrite"],
}
EXPECTED_STEPS = {
    "research": 60,
    "planning": 40,
    "implementation": 150,
    "review": 40,
    "security": 40,
    "test": 40,
    "documentation": 40,
}
OVERWATCHERS = ("review", "security", "test")


def flat(defn: AgentDefinition) -> str:
    """The prompt with line breaks folded, so phrases can be found across lines."""
    return " ".join(defn.system_prompt.split())


@pytest.fixture(scope="module")
def builtins() -> dict[str, AgentDefinition]:
    return load_builtin_agents()


def test_all_seven_load(builtins: dict[str, AgentDefinition]) -> None:
    assert set(builtins) == set(BUILTIN_AGENTS) == set(EXPECTED_TOOLS)
    assert load_agents(home=None) == builtins


@pytest.mark.parametrize("name", BUILTIN_AGENTS)
def test_frontmatter(builtins: dict[str, AgentDefinition], name: str) -> None:
    defn = builtins[name]
    assert defn.name == name
    assert defn.tools == EXPECTED_TOOLS[name]
    assert defn.max_steps == EXPECTED_STEPS[name]
    assert defn.source == "builtin"
    assert defn.model is None
    assert len(defn.description) > 20


@pytest.mark.parametrize("name", BUILTIN_AGENTS)
def test_prompt_shape(builtins: dict[str, AgentDefinition], name: str) -> None:
    prompt = flat(builtins[name])
    lines = builtins[name].system_prompt.splitlines()
    assert lines[0].startswith(f"You are the {name} agent.")
    assert 40 <= len(lines) <= 120
    assert "workspace root is your working directory" in prompt
    assert "subdirectory of the root" in prompt
    assert "research.md" in prompt
    assert "planning.md" in prompt


@pytest.mark.parametrize("name", OVERWATCHERS)
def test_overwatchers_are_read_only_and_report_once(
    builtins: dict[str, AgentDefinition], name: str
) -> None:
    defn = builtins[name]
    assert not {"Write", "Edit", "AskUser"} & set(defn.tools)
    assert "Report" in defn.tools
    assert "calling Report exactly once" in flat(defn)
    for severity in ("blocker", "major", "minor", "nit"):
        assert f"**{severity}**" in flat(defn)
    assert "first user message" in flat(defn)


def test_research_and_planning_write_only_their_document(
    builtins: dict[str, AgentDefinition],
) -> None:
    research = flat(builtins["research"])
    planning = flat(builtins["planning"])
    assert "exactly one file: `research.md`" in research
    assert "exactly one file: `planning.md`" in planning
    for section in (
        "Summary",
        "Relevant code",
        "How it works today",
        "Constraints and conventions",
        "Risks and unknowns",
        "Open questions for planning",
    ):
        assert f"## {section}" in research
    for section in (
        "Goal",
        "Decisions",
        "Step-by-step plan",
        "Tests to add/run",
        "Out of scope",
        "Risks",
    ):
        assert f"## {section}" in planning
    assert "(Recommended)" in planning
    assert "at most 4 questions" in planning


def test_implementation_leaves_commits_to_forgeline(builtins: dict[str, AgentDefinition]) -> None:
    prompt = flat(builtins["implementation"])
    assert "Do not run `git commit`, `git push`" in prompt
    assert "checkpoint" in prompt
    assert "no network" in prompt
    assert "Overwatcher findings" in prompt


def test_test_agent_reports_commands_and_exit_codes(builtins: dict[str, AgentDefinition]) -> None:
    prompt = flat(builtins["test"])
    assert "exit code" in prompt
    assert "Never claim a test passed unless you ran it" in prompt


def test_test_agent_finds_the_projects_test_command(builtins: dict[str, AgentDefinition]) -> None:
    defn = builtins["test"]
    assert defn.system_prompt.startswith("You are the test agent.")
    prompt = flat(defn)
    for source in (
        "[tool.pytest.ini_options]",
        "tox.ini",
        "noxfile.py",
        "Makefile",
        "scripts.test",
        ".github/workflows/*.yml",
        "python -m pytest",
        "pipefail",
    ):
        assert source in prompt, source


def test_documentation_uses_keep_a_changelog(builtins: dict[str, AgentDefinition]) -> None:
    prompt = flat(builtins["documentation"])
    assert "## [Unreleased]" in prompt
    assert "Keep a Changelog" in prompt
    assert "Do not change source code" in prompt
