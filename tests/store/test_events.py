"""The event log: gap-free sequence numbers and idempotent appends."""

from __future__ import annotations

import asyncio
from datetime import UTC

import pytest

from dbfixtures import make_project
from forgeline.domain.errors import NotFoundError
from forgeline.domain.events import EventType, NewEvent
from forgeline.domain.messages import Usage
from forgeline.store import Store, open_store
from forgeline.store.usage import NewUsage


async def test_append_assigns_increasing_seq_and_round_trips(store: Store) -> None:
    project = await make_project(store)
    first = await store.append_event(
        project.id,
        NewEvent(type=EventType.TOOL_CALL, task_id="t1", data={"name": "Read", "n": [1, 2]}),
    )
    second = await store.append_event(project.id, NewEvent(type=EventType.MODEL_TEXT))
    assert (first.seq, second.seq) == (1, 2)
    assert first.type == "tool_call" and first.ts.tzinfo == UTC
    assert await store.list_events(project.id) == [first, second]
    assert await store.list_events(project.id, after_seq=1) == [second]
    assert await store.last_event_seq(project.id) == 2
    assert (await store.get_project(project.id)).last_seq == 2


async def test_fifty_concurrent_appends_over_two_projects_are_gap_free(store: Store) -> None:
    projects = [await make_project(store), await make_project(store)]

    async def append(i: int) -> tuple[str, int]:
        pid = projects[i % 2].id
        event = await store.append_event(pid, NewEvent(type=EventType.MODEL_TEXT, data={"i": i}))
        return pid, event.seq

    results = await asyncio.gather(*(append(i) for i in range(50)))
    for project in projects:
        seqs = sorted(seq for pid, seq in results if pid == project.id)
        assert seqs == list(range(1, 26))
        stored = await store.list_events(project.id)
        assert [e.seq for e in stored] == list(range(1, 26))
        assert sorted(e.data["i"] for e in stored) == sorted(
            i for i in range(50) if projects[i % 2].id == project.id
        )


async def test_two_stores_on_one_database_share_the_sequence(store: Store, db_url: str) -> None:
    project = await make_project(store)
    other = await open_store(db_url)
    try:

        async def burst(writer: Store, tag: str) -> list[int]:
            seqs = []
            for i in range(15):
                ev = NewEvent(type=EventType.MODEL_TEXT, data={"w": tag, "i": i})
                seqs.append((await writer.append_event(project.id, ev)).seq)
            return seqs

        a, b = await asyncio.gather(burst(store, "a"), burst(other, "b"))
    finally:
        await other.close()
    assert a == sorted(a) and b == sorted(b)
    assert sorted(a + b) == list(range(1, 31))


async def test_dedup_key_returns_the_existing_event_without_consuming_a_seq(
    store: Store,
) -> None:
    project = await make_project(store)
    ev = NewEvent(type=EventType.COMMIT, data={"sha": "abc"}, dedup_key="task-1:commit:abc")
    first = await store.append_event(project.id, ev)
    again = await store.append_event(project.id, ev.model_copy(update={"data": {"sha": "zzz"}}))
    assert again == first and again.data == {"sha": "abc"}
    racers = await asyncio.gather(
        *(
            store.append_event(project.id, NewEvent(type=EventType.USAGE, dedup_key="race"))
            for _ in range(10)
        )
    )
    assert len({e.seq for e in racers}) == 1
    later = await store.append_event(project.id, NewEvent(type=EventType.MODEL_TEXT))
    assert later.seq == 3
    other = await make_project(store)
    assert (await store.append_event(other.id, ev)).seq == 1  # keys are per project


async def test_append_event_once_says_whether_the_event_is_new(store: Store) -> None:
    project = await make_project(store)
    ev = NewEvent(type=EventType.GATE, data={"round": 1}, dedup_key="gate:1")
    first, created = await store.append_event_once(project.id, ev)
    again, created_again = await store.append_event_once(project.id, ev)
    plain, plain_created = await store.append_event_once(project.id, NewEvent(type=EventType.GATE))
    assert (created, created_again, plain_created) == (True, False, True)
    assert again == first and plain.seq == 2


async def test_usage_is_recorded_with_its_event_once(store: Store) -> None:
    project = await make_project(store)
    entry = NewUsage(agent="coder", model="m", usage=Usage(input_tokens=7, calls=1))
    ev = NewEvent(type=EventType.USAGE, task_id="t", data={"input_tokens": 7}, dedup_key="u:1")
    first, created = await store.append_event_once(project.id, ev, usage=entry)
    again, created_again = await store.append_event_once(project.id, ev, usage=entry)
    assert (created, created_again) == (True, False) and again == first
    summary = await store.usage_summary(project.id)
    assert (summary.total.input_tokens, summary.total.calls) == (7, 1)
    assert [b.key for b in summary.by_agent] == ["coder"]
    assert await store.last_event_seq(project.id) == 1  # the duplicate consumed no number
    with pytest.raises(NotFoundError):
        await store.append_event_once("missing", ev, usage=entry)


async def test_concurrent_appends_of_one_key_record_it_once(store: Store) -> None:
    project = await make_project(store)
    entry = NewUsage(agent="a", model="m", usage=Usage(output_tokens=1))
    ev = NewEvent(type=EventType.USAGE, data={}, dedup_key="same")
    results = await asyncio.gather(
        *(store.append_event_once(project.id, ev, usage=entry) for _ in range(8))
    )
    assert sorted(created for _event, created in results) == [False] * 7 + [True]
    assert {event.seq for event, _created in results} == {1}
    assert (await store.usage_summary(project.id)).total.output_tokens == 1


async def test_list_events_pages(store: Store) -> None:
    project = await make_project(store)
    for i in range(7):
        await store.append_event(project.id, NewEvent(type=EventType.MODEL_TEXT, data={"i": i}))
    page = await store.list_events(project.id, after_seq=2, limit=3)
    assert [e.seq for e in page] == [3, 4, 5]
    assert await store.list_events(project.id, after_seq=7) == []
    assert await store.list_events("unknown") == []


async def test_events_of_unknown_projects_are_refused(store: Store) -> None:
    with pytest.raises(NotFoundError, match="No project"):
        await store.append_event("missing", NewEvent(type=EventType.MODEL_TEXT))
    with pytest.raises(NotFoundError, match="No project"):
        await store.last_event_seq("missing")
