"""Server-Sent Events: every event once, in order, and resumable with Last-Event-ID."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx2

from .server import Server


def _read_events(
    client: httpx2.Client, path: str, *, until: str, headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    """Read the stream until an event of type `until`; check that `id` matches `seq`."""
    events: list[dict[str, Any]] = []
    current: dict[str, str] = {}
    with client.stream("GET", path, headers=headers or {}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line == "":
                if "data" in current:
                    event = json.loads(current["data"])
                    assert int(current["id"]) == event["seq"]
                    assert current["event"] == event["type"]
                    events.append(event)
                    if event["type"] == until:
                        return events
                current = {}
            elif not line.startswith(":"):
                field, _, value = line.partition(": ")
                current[field] = value
    raise AssertionError(f"the stream ended before {until}")


def test_events_stream_then_resume_with_last_event_id(
    server: Server, client: httpx2.Client, repo: Path
) -> None:
    body = {
        "project_id": "sse-1",
        "feature_request": "Stream me",
        "repositories": [{"url": str(repo)}],
    }
    client.post("/projects/initialize", json=body).raise_for_status()
    client.post("/agents/research/start", json={"project_id": "sse-1"}).raise_for_status()

    events = _read_events(client, "/api/projects/sse-1/events", until="phase_completed")
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1))
    types = [e["type"] for e in events]
    for expected in ("task_started", "model_text", "tool_call", "tool_result", "task_completed"):
        assert expected in types
    call = next(e for e in events if e["type"] == "tool_call")
    assert call["data"]["name"] == "Glob"

    middle = seqs[len(seqs) // 2]
    again = _read_events(
        client,
        "/api/projects/sse-1/events",
        until="phase_completed",
        headers={"Last-Event-ID": str(middle)},
    )
    assert [e["seq"] for e in again] == seqs[middle:]
    assert again == events[middle:]

    by_query = _read_events(
        client, f"/api/projects/sse-1/events?after={middle}", until="phase_completed"
    )
    assert [e["seq"] for e in by_query] == seqs[middle:]


def test_live_events_arrive_after_the_stored_ones(
    server: Server, client: httpx2.Client, repo: Path
) -> None:
    body = {"project_id": "sse-2", "feature_request": "Live", "repositories": [{"url": str(repo)}]}
    client.post("/projects/initialize", json=body).raise_for_status()

    def edit() -> None:
        with server.client() as other:
            other.put("/api/projects/sse-2/documents/planning", json={"content": "draft"})

    timer = threading.Timer(0.5, edit)
    timer.start()
    try:
        live = _read_events(client, "/api/projects/sse-2/events", until="document_updated")
    finally:
        timer.join()
    assert [e["seq"] for e in live] == [1]
    assert live[0]["data"] == {"document": "planning", "size": 5, "by": "user"}


def test_bad_last_event_id_is_422(client: httpx2.Client, repo: Path) -> None:
    body = {"project_id": "sse-3", "feature_request": "Bad", "repositories": [{"url": str(repo)}]}
    client.post("/projects/initialize", json=body).raise_for_status()
    response = client.get("/api/projects/sse-3/events", headers={"Last-Event-ID": "abc"})
    assert response.status_code == 422
    assert "abc" in response.json()["detail"]


def test_the_stream_ends_when_the_project_is_finished_and_idle(
    server: Server, client: httpx2.Client, repo: Path
) -> None:
    body = {
        "project_id": "sse-idle",
        "feature_request": "Idle",
        "repositories": [{"url": str(repo)}],
    }
    client.post("/projects/initialize", json=body).raise_for_status()
    client.post("/agents/research/start", json={"project_id": "sse-idle"}).raise_for_status()
    lines: list[str] = []
    with client.stream("GET", "/api/projects/sse-idle/events", timeout=60) as response:
        for line in response.iter_lines():
            lines.append(line)
    # The stream closed by itself: the whole phase, then `idle` as the last event.
    events = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    assert "phase_completed" in events and events[-1] == "idle"
