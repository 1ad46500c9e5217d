"""Usage accounting and overwatcher findings."""

from __future__ import annotations

import pytest

from dbfixtures import make_project
from forgeline.domain.errors import NotFoundError, UserError
from forgeline.domain.messages import Usage
from forgeline.store import Store
from forgeline.tools.base import Finding


async def test_usage_summary_adds_up_per_agent_and_per_model(store: Store) -> None:
    project = await make_project(store)
    other = await make_project(store)
    rows = [
        (
            "research",
            "anthropic:a",
            Usage(input_tokens=100, output_tokens=10, cost_usd=0.5, calls=1),
        ),
        (
            "research",
            "anthropic:a",
            Usage(input_tokens=50, cache_read_tokens=7, cost_usd=0.25, calls=2),
        ),
        (
            "planning",
            "openai:b",
            Usage(output_tokens=5, cache_write_tokens=3, cost_usd=1.0, calls=1),
        ),
        ("review", "anthropic:a", Usage(input_tokens=1, cost_usd=0.125, calls=1)),
    ]
    for agent, model, usage in rows:
        await store.record_usage(project.id, "t", agent, model, usage)
    await store.record_usage(other.id, None, "research", "x", Usage(input_tokens=999))
    summary = await store.usage_summary(project.id)
    expected_total = Usage()
    for _agent, _model, usage in rows:
        expected_total = expected_total + usage
    assert summary.total == expected_total
    assert summary.total.total_tokens == 176
    assert [
        (b.key, b.usage.input_tokens, b.usage.cost_usd, b.usage.calls) for b in summary.by_agent
    ] == [
        ("planning", 0, 1.0, 1),
        ("research", 150, 0.75, 3),
        ("review", 1, 0.125, 1),
    ]
    assert [(b.key, b.usage.total_tokens, b.usage.cost_usd) for b in summary.by_model] == [
        ("anthropic:a", 168, 0.875),
        ("openai:b", 8, 1.0),
    ]
    empty = await store.usage_summary("nobody")
    assert empty.total == Usage() and empty.by_agent == [] and empty.by_model == []
    with pytest.raises(NotFoundError):
        await store.record_usage("missing", None, "a", "m", Usage())


async def test_spend_reads_the_budget_and_this_projects_cost_only(store: Store) -> None:
    project = await make_project(store)
    other = await make_project(store)
    fresh = await store.spend(project.id)
    assert (fresh.max_cost_usd, fresh.spent_usd) == (None, 0.0)
    await store.update_project(project.id, max_cost_usd=2.0)
    await store.record_usage(project.id, "t", "a", "m", Usage(cost_usd=0.5, calls=1))
    await store.record_usage(project.id, None, "b", "m", Usage(cost_usd=0.25, calls=1))
    await store.record_usage(other.id, None, "a", "m", Usage(cost_usd=9.0, calls=1))
    spend = await store.spend(project.id)
    assert (spend.max_cost_usd, spend.spent_usd) == (2.0, 0.75)
    assert spend.spent_usd == (await store.usage_summary(project.id)).total.cost_usd
    with pytest.raises(NotFoundError):
        await store.spend("missing")


async def test_findings_are_listed_and_resolved(store: Store) -> None:
    project = await make_project(store)
    other = await make_project(store)
    blocker = await store.add_finding(
        project.id,
        "t-review",
        "review",
        Finding(severity="blocker", path="a.py", line=3, message="crash"),
        commit_sha="abc",
        round=1,
    )
    nit = await store.add_finding(
        project.id, "t-sec", "security", Finding(severity="nit", message="m")
    )
    foreign = await store.add_finding(
        other.id, None, "test", Finding(severity="major", message="x")
    )
    assert (blocker.status, blocker.path, blocker.line, blocker.round) == ("open", "a.py", 3, 1)
    assert [f.id for f in await store.list_findings(project.id)] == [blocker.id, nit.id]
    assert [f.id for f in await store.list_findings(project.id, agent="security")] == [nit.id]
    assert await store.resolve_findings(project.id, [blocker.id, foreign.id, 123456]) == 1
    assert await store.resolve_findings(project.id, [blocker.id]) == 0
    assert await store.resolve_findings(project.id, []) == 0
    assert [f.id for f in await store.list_findings(project.id, status="open")] == [nit.id]
    assert [f.id for f in await store.list_findings(project.id, status="resolved")] == [blocker.id]
    assert (await store.list_findings(other.id))[0].status == "open"
    with pytest.raises(UserError):
        await store.list_findings(project.id, status="closed")  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        await store.add_finding("missing", None, "review", Finding(severity="nit", message="m"))
