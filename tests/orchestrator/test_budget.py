"""The project budget across every agent (DESIGN §15), overwatchers running side by side.

Real workflows with scripted models that cost money (a price for `scripted` models in
the settings, as `FORGELINE_PRICES` gives it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from forgeline.console.demo import make_sample_repo
from forgeline.domain.errors import ConflictError, UserError
from forgeline.orchestrator.agent_task import AgentTask, model_spec
from forgeline.orchestrator.boot import start_runtime
from forgeline.orchestrator.budget import EXPECTED_OUTPUT_TOKENS
from forgeline.orchestrator.service import Service
from forgeline.settings import ModelPrice, Settings
from forgeline.workspace.metadata import RepoSpec

PRICE = ModelPrice(input=5.0, output=5.0)
LIMIT = 0.25
TESTS = "cd pagekit && python3 -m unittest discover -s tests"


def read(line: int) -> dict[str, Any]:
    return {"name": "Read", "input": {"file_path": "pagekit/pagekit/pager.py", "offset": line}}


APPROVE = {"name": "Report", "input": {"verdict": "approve", "findings": []}}


def overwatcher(first: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """A checkpoint run of many calls, then a short gate run."""
    head = [{"tool_calls": [first]}] if first else []
    checkpoint = [
        *head,
        *[{"tool_calls": [read(n)]} for n in range(1, 9)],
        {"tool_calls": [APPROVE]},
        {"text": "ok"},
    ]
    return [*checkpoint, *head, {"tool_calls": [APPROVE]}, {"text": "ok"}]


def script(path: Path) -> Path:
    bash = {"name": "Bash", "input": {"command": TESTS}}
    fix = {
        "name": "Edit",
        "input": {
            "file_path": "pagekit/pagekit/pager.py",
            "old_string": "range(0, len(items) - page_size + 1, page_size)",
            "new_string": "range(0, len(items), page_size)",
        },
    }
    agents = {
        "implementation": [{"tool_calls": [fix]}, {"text": "Fixed."}],
        "review": overwatcher(),
        "security": overwatcher(),
        "test": overwatcher(bash),
        "documentation": [{"text": "No documentation change is needed."}],
    }
    path.write_text(yaml.safe_dump({"agents": agents, "delay": 0.02}))
    return path


@pytest.fixture
async def service(tmp_path: Path, database_url: str | None) -> AsyncIterator[Service]:
    """A runtime on SQLite and on PostgreSQL (the spend is read differently on each)."""
    settings = Settings(
        home=tmp_path / "home", prices={"scripted": PRICE}, database_url=database_url
    )
    runtime = await start_runtime(settings, role="test")
    try:
        yield Service(runtime)
    finally:
        await runtime.stop()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.05)


async def start(service: Service, tmp_path: Path, budget: float | None) -> tuple[str, str]:
    project = await service.create_project(
        feature_request="Fix paginate() dropping the last partial page",
        repositories=[RepoSpec(url=str(make_sample_repo(tmp_path)))],
        phases=["implementation"],
        model=f"scripted:{script(tmp_path / 'script.yaml')}",
        max_cost_usd=budget,
    )
    task = await service.start_phase(project.id, "implementation")
    return project.id, task.id


def status_is(service: Service, task_id: str, status: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await service.get_task(task_id)).status == status

    return check


async def test_parallel_overwatchers_pause_the_project_at_its_budget(
    service: Service, tmp_path: Path
) -> None:
    project_id, task_id = await start(service, tmp_path, LIMIT)
    await eventually(status_is(service, task_id, "paused"))
    await asyncio.sleep(0.3)  # let every agent stop

    store = service.store
    stops = await store.list_events(project_id, types=["budget_exceeded"])
    assert len(stops) >= 1
    assert stops[0].data["agent"] in {"review", "security", "test"}
    assert "$0.25" in stops[0].data["message"] and "--max-cost" in stops[0].data["message"]
    tasks = await store.list_tasks(project_id)
    assert {t.status for t in tasks if t.agent in {"review", "security", "test"}} <= {
        "paused",
        "completed",
    }
    assert {t.agent for t in tasks} >= {"review", "security", "test"}
    usage = await store.usage_summary(project_id)
    calls = [e.data["cost_usd"] for e in await store.list_events(project_id, types=["usage"])]
    one_call = max(calls)
    assert usage.total.cost_usd <= LIMIT + one_call
    # Four agents may each hold one reservation: the prompt plus EXPECTED_OUTPUT_TOKENS.
    reservation = one_call + EXPECTED_OUTPUT_TOKENS * PRICE.output / 1_000_000
    assert usage.total.cost_usd >= LIMIT - 4 * reservation
    overwatchers = {b.key for b in usage.by_agent if b.usage.calls > 0} - {"implementation"}
    assert len(overwatchers) >= 2  # they spent side by side
    spent = await asyncio.gather(*(asyncio.sleep(0.2), store.usage_summary(project_id)))
    assert spent[1].total.cost_usd == usage.total.cost_usd  # nothing runs once paused

    # Resuming needs a higher budget; with one, the project completes.
    with pytest.raises(ConflictError, match="higher budget"):
        await service.resume(task_id)
    with pytest.raises(UserError):
        await service.set_budget(project_id, -1.0)
    await service.set_budget(project_id, 50.0)
    await service.resume(task_id)
    await eventually(status_is(service, task_id, "completed"), timeout=120)
    project = await store.get_project(project_id)
    assert project.max_cost_usd == 50.0


async def test_usage_events_carry_the_spend_against_the_budget(
    service: Service, tmp_path: Path
) -> None:
    project_id, task_id = await start(service, tmp_path, 10.0)
    await eventually(status_is(service, task_id, "completed"), timeout=120)
    events = await service.store.list_events(project_id, types=["usage"])
    budgets = [e.data["budget"] for e in events]
    assert all(b["max_cost_usd"] == 10.0 for b in budgets)
    assert 0 < budgets[-1]["spent_usd"] <= 10.0
    tasks = await service.store.list_tasks(project_id)
    assert {t.model for t in tasks if t.agent == "review"} == {
        f"scripted:{tmp_path / 'script.yaml'}"
    }


async def test_a_budget_must_be_positive(service: Service, tmp_path: Path) -> None:
    with pytest.raises(UserError, match="positive"):
        await start(service, tmp_path, 0.0)


def test_overwatchers_take_the_overwatcher_model(tmp_path: Path) -> None:
    from forgeline.agents.definition import AgentDefinition

    settings = Settings(home=tmp_path, overwatcher_model="anthropic:claude-haiku-4-5")
    runtime: Any = type("R", (), {"settings": settings})()

    def spec(agent: str, file_model: str | None = None, chosen: str | None = None) -> str:
        defn = AgentDefinition.model_construct(name=agent, model=file_model)
        per_agent = {agent: chosen} if chosen else {}
        project = type(
            "P", (), {"model": "anthropic:claude-sonnet-4-5", "agent_models": per_agent}
        )()
        task = AgentTask.__new__(AgentTask)
        task.agent, task.project = agent, project  # type: ignore[assignment]
        return model_spec(runtime, task, defn)

    assert spec("review") == spec("security") == spec("test") == "anthropic:claude-haiku-4-5"
    assert spec("documentation") == "anthropic:claude-haiku-4-5"
    assert spec("implementation") == "anthropic:claude-sonnet-4-5"
    assert spec("review", "openai:gpt-4.1") == "openai:gpt-4.1"  # the agent file wins
    # ... except over the project's own choice for that agent
    assert spec("review", "openai:gpt-4.1", "openai:o3") == "openai:o3"
    assert spec("implementation", chosen="openai:o3") == "openai:o3"


def test_run_max_cost_exits_1_naming_the_budget_and_resume_with_more_completes(
    tmp_path: Path,
) -> None:
    from e2e.helpers import cli_env, forgeline, summary

    repo = make_sample_repo(tmp_path)
    model = f"scripted:{script(tmp_path / 'script.yaml')}"
    env = cli_env(tmp_path / "home", FORGELINE_PRICES='{"scripted": {"input": 5, "output": 5}}')
    args = ["run", "Fix paginate()", "--repo", str(repo), "--model", model]
    run = forgeline(*args, "--phases", "implementation", "--max-cost", "0.12", "--json", env=env)
    assert run.returncode == 1, run.stderr[-3000:]
    stopped = summary(run)
    assert stopped["status"] == "paused"
    assert "budget of $0.12" in run.stderr and "--max-cost" in run.stderr
    task = stopped["task_id"]
    assert f"forgeline resume {task} --max-cost" in " ".join(run.stderr.split())

    same = forgeline("resume", task, "--json", env=env)
    assert same.returncode == 1 and "higher budget" in same.stderr
    bad = forgeline("run", "x", "--repo", str(repo), "--model", model, "--max-cost", "-1", env=env)
    assert bad.returncode == 2 and "positive" in bad.stdout + bad.stderr

    resumed = forgeline("resume", task, "--max-cost", "50", "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert summary(resumed)["status"] == "completed"


def test_the_follow_view_shows_spend_compaction_and_the_budget_stop() -> None:
    import io

    from rich.console import Console

    from forgeline.console.follow import Progress
    from forgeline.domain.events import Event

    out = io.StringIO()
    progress = Progress(Console(file=out, width=200, color_system=None))
    budget = {"spent_usd": 0.05, "max_cost_usd": 0.12}
    progress.show(Event(seq=1, project_id="p", type="usage", data={"budget": budget}))
    compacted = {"agent": "review", "compacted": True, "before_tokens": 9800, "after_tokens": 3100}
    progress.show(Event(seq=2, project_id="p", type="context_compacted", data=compacted))
    stop = {"message": "the project's budget of $0.12 (--max-cost) is reached"}
    progress.show(Event(seq=3, project_id="p", type="budget_exceeded", data=stop))
    lines = out.getvalue().splitlines()
    assert lines[0].strip() == "$ spent $0.0500 of $0.12"
    assert lines[1].strip() == "⇣ review: context compacted, 9,800 → 3,100 tokens"
    assert "budget of $0.12" in lines[2]
    assert progress.budget_reason.startswith("the project's budget")


async def test_the_default_budget_comes_from_the_settings(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", max_cost_usd=3.0)  # FORGELINE_MAX_COST_USD
    runtime = await start_runtime(settings, role="test")
    try:
        service = Service(runtime)
        project = await service.create_project(
            feature_request="x",
            repositories=[RepoSpec(url=str(make_sample_repo(tmp_path)))],
            model="scripted:" + str(script(tmp_path / "s.yaml")),
        )
        assert project.max_cost_usd == 3.0
    finally:
        await runtime.stop()
