"""Projects and repositories."""

from __future__ import annotations

from datetime import UTC

import pytest

from dbfixtures import make_project
from forgeline.domain.errors import ConflictError, NotFoundError, UserError
from forgeline.domain.events import EventType, NewEvent
from forgeline.domain.messages import Usage
from forgeline.store import NewRepository, Store
from forgeline.tools.base import Finding, Question


async def test_create_get_and_list_projects(store: Store) -> None:
    first = await make_project(store, feature_request="Add a --verbose flag\n\nwith details")
    second = await make_project(store, project_id="my-project.2")
    assert first.name == "Add a --verbose flag"
    assert first.status == "created" and first.last_seq == 0 and first.current_phase is None
    assert first.phases == ["research", "planning", "implementation"]
    assert first.created_at.tzinfo == UTC
    assert await store.get_project(first.id) == first
    assert [p.id for p in await store.list_projects()] == [second.id, first.id]


async def test_long_first_line_gives_a_truncated_name(store: Store) -> None:
    project = await make_project(store, feature_request="word " * 40)
    assert len(project.name) == 80 and project.name.endswith("…")


async def test_missing_project_is_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError, match="No project with id 'nope'"):
        await store.get_project("nope")
    with pytest.raises(NotFoundError):
        await store.update_project("nope", status="running")
    with pytest.raises(NotFoundError):
        await store.delete_project("nope")
    with pytest.raises(NotFoundError):
        await store.add_repositories("nope", [NewRepository(url="/r", name="r")])


async def test_duplicate_or_invalid_ids_are_refused(store: Store) -> None:
    await make_project(store, project_id="dup")
    with pytest.raises(ConflictError, match="already exists"):
        await make_project(store, project_id="dup")
    for bad in ("../escape", "a" * 65, "-leading", "sp ace"):
        with pytest.raises(UserError, match="Invalid project id"):
            await make_project(store, project_id=bad)


async def test_update_project_changes_fields_and_bumps_updated_at(store: Store) -> None:
    project = await make_project(store)
    updated = await store.update_project(
        project.id, status="running", current_phase="research", phases=["research"]
    )
    assert (updated.status, updated.current_phase, updated.phases) == (
        "running",
        "research",
        ["research"],
    )
    assert updated.updated_at > project.updated_at
    assert await store.get_project(project.id) == updated


async def test_update_project_refuses_bad_status_and_unknown_fields(store: Store) -> None:
    project = await make_project(store)
    with pytest.raises(UserError, match="Invalid project status 'exploded'"):
        await store.update_project(project.id, status="exploded")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="Cannot update project field"):
        await store.update_project(project.id, last_seq=5)  # type: ignore[call-arg]


async def test_repositories_keep_their_order_across_calls(store: Store) -> None:
    project = await make_project(
        store, repositories=(NewRepository(url="https://x/a.git", name="a", base_branch="main"),)
    )
    added = await store.add_repositories(
        project.id, [NewRepository(url="/b", name="b"), NewRepository(url="/c", name="c")]
    )
    assert [r.position for r in added] == [1, 2]
    repos = await store.list_repositories(project.id)
    assert [(r.name, r.position, r.base_branch) for r in repos] == [
        ("a", 0, "main"),
        ("b", 1, None),
        ("c", 2, None),
    ]
    changed = await store.update_repository(repos[1].id, base_sha="abc123", branch="forgeline/x")
    assert (changed.base_sha, changed.branch) == ("abc123", "forgeline/x")
    with pytest.raises(NotFoundError):
        await store.update_repository(999_999, base_sha="x")
    assert await store.list_repositories("unknown") == []


async def test_deleting_a_project_deletes_everything_it_owns(store: Store) -> None:
    project = await make_project(store, repositories=(NewRepository(url="/a", name="a"),))
    other = await make_project(store)
    for pid in (project.id, other.id):
        task = await store.create_task(pid, "planning", "planning")
        await store.add_questions(pid, task.id, "b1", [Question(question="Why?")])
        await store.append_event(pid, NewEvent(type=EventType.TASK_STARTED, task_id=task.id))
        await store.record_usage(pid, task.id, "planning", "m", Usage(input_tokens=1))
        await store.add_finding(pid, task.id, "review", Finding(severity="nit", message="m"))
    await store.delete_project(project.id)
    with pytest.raises(NotFoundError):
        await store.get_project(project.id)
    assert await store.list_repositories(project.id) == []
    assert await store.list_tasks(project.id) == []
    assert await store.list_questions(project.id) == []
    assert await store.list_events(project.id) == []
    assert await store.list_findings(project.id) == []
    assert (await store.usage_summary(project.id)).total.input_tokens == 0
    assert len(await store.list_tasks(other.id)) == 1
    assert len(await store.list_events(other.id)) == 1


async def test_a_nul_byte_is_a_clear_error_not_a_crash(store: Store) -> None:
    """PostgreSQL cannot hold NUL in text: lookups and writes say so (4xx), never a 500."""
    with pytest.raises(UserError):
        await store.get_project("bad\x00id")
